"""Collective bargaining agreements as the directive meets them (DESIGN.md §2, §7;
docs/agreements.md says the same for users; grievances are in ``domain/grievances.py``).

An agreement covers the members of its bargaining units from ``start`` to ``end`` (both
included). Its clauses carry hybrid-schedule terms, and each clause a dated history of its
**legal status**: OPM called clauses that cap telework levels "likely unlawful and
unenforceable" (2025-02-03) and the unions dispute it, so whether a clause still binds is
itself a dated, sourced fact. On day D a clause has the status of its latest record dated
on or before D; before its first record it is in force (the agreement as signed).

What each status means for the evaluation:

- ``in_force``, ``disputed``: the clause binds; members who meet its terms are
  ``covered_by_agreement``.
- ``grievance_filed``: binds too. Conservative reading: while a grievance about the clause
  is open, the agency's position is not yet settled law, and treating staff as
  non-compliant on terms an arbitrator may restore would have to be undone.
- ``held_unenforceable``: does not bind; the directive applies in full.

``evaluation_agreements`` turns an agreement into the evaluator's ``Agreement`` inputs: one
per bargaining unit and dated piece of a clause whose status binds (pieces where the
directive applies are dropped), each labelled with its status, so the evaluation itself
needs no new rule.

A cap in telework days ("up to N telework days per pay period") is translated to the
minimum it implies on a standard tour of duty: ``10 - N`` on-site days per biweekly pay
period (a 5x8 schedule has 10 workdays). The evaluator prorates and caps that at the
days with hours required, as for any days requirement.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from dutystation.domain.directive import Requirement
from dutystation.domain.inputs import Agreement

# Workdays in a biweekly pay period on the standard 5x8 tour: a telework cap becomes the
# on-site minimum ``STANDARD_WORKDAYS_PER_PAY_PERIOD - cap``.
STANDARD_WORKDAYS_PER_PAY_PERIOD = 10
SIGNED = "the agreement as signed"  # the source of the status a clause starts with


class LegalStatus(StrEnum):
    IN_FORCE = "in_force"
    DISPUTED = "disputed"
    GRIEVANCE_FILED = "grievance_filed"
    HELD_UNENFORCEABLE = "held_unenforceable"

    @property
    def binds(self) -> bool:
        """Whether covered staff are evaluated against the clause (module docstring)."""
        return self is not LegalStatus.HELD_UNENFORCEABLE

    @property
    def words(self) -> str:
        return self.value.replace("_", " ")


class AgreementRuleError(ValueError):
    """A fact about an agreement or grievance breaks a rule; the message is one sentence."""


class AgreementOverlap(AgreementRuleError):
    """Two agreements of one unit, or two clauses of one agreement, would bind together."""


@dataclass(frozen=True)
class HybridTerms:
    """A clause's terms: exactly one of the four. ``max_telework_days_per_pay_period`` is
    the cap form, translated by ``requirement`` (module docstring)."""

    min_onsite_days_per_pay_period: int | None = None
    min_onsite_days_per_week: int | None = None
    min_onsite_share_of_hours: float | None = None
    max_telework_days_per_pay_period: int | None = None

    def __post_init__(self) -> None:
        given = [k for k, v in self.as_dict().items() if v is not None]
        if len(given) != 1:
            raise AgreementRuleError(
                f"a clause has exactly one kind of hybrid terms, one of {', '.join(TERM_KEYS)}"
                + (f"; this one gives {' and '.join(given)}" if given else "; it gives none")
            )
        self.requirement()  # the ranges

    @classmethod
    def of(cls, values: Mapping[str, object]) -> HybridTerms:
        """Terms from key-value pairs (a file, a form, a row); None values are absent."""
        for key in values:
            if key not in TERM_KEYS:
                raise AgreementRuleError(f"{key!r} is not a kind of hybrid terms")

        def whole(key: str) -> int | None:
            value = values.get(key)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
                raise AgreementRuleError(f"{key} must be a whole number")
            return value

        share = values.get("min_onsite_share_of_hours")
        if share is not None and (isinstance(share, bool) or not isinstance(share, int | float)):
            raise AgreementRuleError("min_onsite_share_of_hours must be a number")
        return cls(
            whole("min_onsite_days_per_pay_period"),
            whole("min_onsite_days_per_week"),
            float(share) if share is not None else None,
            whole("max_telework_days_per_pay_period"),
        )

    def as_dict(self) -> dict[str, int | float | None]:
        return {k: getattr(self, k) for k in TERM_KEYS}

    def requirement(self) -> Requirement:
        """The on-site requirement the evaluator measures."""
        if (cap := self.max_telework_days_per_pay_period) is not None:
            if not 0 <= cap < STANDARD_WORKDAYS_PER_PAY_PERIOD:
                raise AgreementRuleError(
                    "max_telework_days_per_pay_period must be from 0 to "
                    f"{STANDARD_WORKDAYS_PER_PAY_PERIOD - 1} (a cap of "
                    f"{STANDARD_WORKDAYS_PER_PAY_PERIOD} sets no on-site minimum)"
                )
            return Requirement(days_per_pay_period=STANDARD_WORKDAYS_PER_PAY_PERIOD - cap)
        checks = (
            ("min_onsite_days_per_pay_period", self.min_onsite_days_per_pay_period, 1, 14),
            ("min_onsite_days_per_week", self.min_onsite_days_per_week, 1, 7),
        )
        for key, value, low, high in checks:
            if value is not None and not low <= value <= high:
                raise AgreementRuleError(f"{key} must be from {low} to {high}")
        share = self.min_onsite_share_of_hours
        if share is not None and not 0 < share <= 1:
            raise AgreementRuleError("min_onsite_share_of_hours must be above 0 and at most 1")
        return Requirement(
            days_per_pay_period=self.min_onsite_days_per_pay_period,
            days_per_week=self.min_onsite_days_per_week,
            onsite_share_of_hours=share,
        )

    def describe(self) -> str:
        if (cap := self.max_telework_days_per_pay_period) is not None:
            return (
                f"up to {cap} telework days per pay period "
                f"(read as {self.requirement().describe()})"
            )
        return self.requirement().describe()


TERM_KEYS = (
    "min_onsite_days_per_pay_period",
    "min_onsite_days_per_week",
    "min_onsite_share_of_hours",
    "max_telework_days_per_pay_period",
)


@dataclass(frozen=True)
class StatusRecord:
    status: LegalStatus
    effective_on: date
    source: str


@dataclass(frozen=True)
class Clause:
    """``ref`` as the agreement numbers it ("Art. 31 §4"); ``statuses`` in recorded order."""

    ref: str
    terms: HybridTerms
    summary: str = ""
    statuses: tuple[StatusRecord, ...] = ()

    def status_on(self, day: date) -> StatusRecord | None:
        """The latest record dated on or before ``day`` (a later-recorded one wins a tie);
        None before the first: the clause is then in force as signed."""
        found = None
        for record in self.statuses:
            if record.effective_on <= day and (
                found is None or record.effective_on >= found.effective_on
            ):
                found = record
        return found


@dataclass(frozen=True)
class AgreementFacts:
    """One agreement as stored: ``end`` is its last day (None: open-ended)."""

    code: str
    title: str
    union: str
    units: tuple[str, ...]
    start: date
    end: date | None
    clauses: tuple[Clause, ...] = ()

    def __post_init__(self) -> None:
        if self.end is not None and self.end < self.start:
            raise AgreementRuleError(
                f"agreement {self.code} expires ({self.end.isoformat()}) before it takes "
                f"effect ({self.start.isoformat()})"
            )
        if not self.units:
            raise AgreementRuleError(f"agreement {self.code} names no bargaining unit")
        refs = [c.ref for c in self.clauses]
        if len(set(refs)) != len(refs):
            raise AgreementRuleError(f"agreement {self.code} lists a clause ref twice")
        for clause in self.clauses:
            for record in clause.statuses:
                check_status_date(self, clause.ref, record.effective_on)
        check_one_binding_clause(self)

    def in_force_on(self, day: date) -> bool:
        return self.start <= day and (self.end is None or day <= self.end)


def check_status_date(agreement: AgreementFacts, ref: str, day: date) -> None:
    if not agreement.in_force_on(day):
        when = "before the agreement takes effect" if day < agreement.start else "after it expires"
        raise AgreementRuleError(
            f"the legal status of {agreement.code} {ref} is dated {day.isoformat()}, {when} "
            f"({agreement.start.isoformat()} to "
            f"{agreement.end.isoformat() if agreement.end else 'open-ended'})"
        )


@dataclass(frozen=True)
class Piece:
    """A run of days over which a clause has one legal status."""

    start: date
    end: date | None  # included; None: open-ended
    status: LegalStatus
    since: date  # the day that status took effect (may be before ``start``)
    source: str


def pieces(agreement: AgreementFacts, clause: Clause) -> list[Piece]:
    """The agreement's term split where the clause's legal status changes."""
    cuts = sorted(
        {r.effective_on for r in clause.statuses if agreement.in_force_on(r.effective_on)}
        | {agreement.start}
    )
    found: list[Piece] = []
    for first, following in itertools.zip_longest(cuts, cuts[1:]):
        last = following - timedelta(days=1) if following is not None else agreement.end
        record = clause.status_on(first)
        if record is None:
            found.append(Piece(first, last, LegalStatus.IN_FORCE, agreement.start, SIGNED))
        else:
            found.append(Piece(first, last, record.status, record.effective_on, record.source))
    merged: list[Piece] = []
    for piece in found:  # a record repeating the status in force continues its piece
        if merged and merged[-1].status is piece.status and merged[-1].since == piece.since:
            merged[-1] = Piece(merged[-1].start, piece.end, piece.status, piece.since, piece.source)
        else:
            merged.append(piece)
    return merged


def check_one_binding_clause(agreement: AgreementFacts) -> None:
    """At most one clause of an agreement binds on any day: the evaluator measures a person
    against one set of hybrid terms (docs/agreements.md)."""
    spans = [(clause.ref, p) for clause in agreement.clauses for p in pieces(agreement, clause)]
    binding = [(ref, p) for ref, p in spans if p.status.binds]
    for (ref_a, a), (ref_b, b) in itertools.combinations(binding, 2):
        if ref_a != ref_b and _overlap(a.start, a.end, b.start, b.end):
            day = max(a.start, b.start)
            raise AgreementOverlap(
                f"clauses {ref_a} and {ref_b} of {agreement.code} would both bind on "
                f"{day.isoformat()}; record one of them as held_unenforceable from then"
            )


def check_units_apart(agreements: Iterable[AgreementFacts]) -> None:
    """Two agreements of one bargaining unit may not be in force on the same day."""
    by_unit: dict[str, list[AgreementFacts]] = {}
    for agreement in agreements:
        for unit in agreement.units:
            by_unit.setdefault(unit, []).append(agreement)
    for unit, items in sorted(by_unit.items()):
        items.sort(key=lambda a: a.start)
        for first, second in itertools.pairwise(items):
            if first.end is None or first.end >= second.start:
                raise AgreementOverlap(
                    f"agreements {first.code} and {second.code} of bargaining unit {unit!r} "
                    f"are both in force on {second.start.isoformat()}; give the first an "
                    "effective_to before it"
                )


def _overlap(a0: date, a1: date | None, b0: date, b1: date | None) -> bool:
    return (a1 is None or b0 <= a1) and (b1 is None or a0 <= b1)


def label(agreement: AgreementFacts, clause: Clause, piece: Piece) -> str:
    """How a reason names the clause: ``EEU-MA-2023 Art. 31 §4, disputed since 2025-02-03``
    (in force as signed reads without a status)."""
    name = f"{agreement.code} {clause.ref}"
    if piece.status is LegalStatus.IN_FORCE and piece.source == SIGNED:
        return name
    return f"{name}, {piece.status.words} since {piece.since.isoformat()}"


def evaluation_agreements(agreement: AgreementFacts) -> list[Agreement]:
    """The evaluator's inputs: per unit and binding piece of each clause; an agreement with
    no clause gives one ``Agreement`` without terms per unit (it covers nobody)."""
    if not agreement.clauses:
        return [
            Agreement(unit, agreement.title, agreement.start, agreement.end, None)
            for unit in agreement.units
        ]
    found = []
    for clause in agreement.clauses:
        requirement = clause.terms.requirement()
        for piece in pieces(agreement, clause):
            if not piece.status.binds:
                continue
            for unit in agreement.units:
                found.append(
                    Agreement(
                        unit,
                        agreement.title,
                        piece.start,
                        piece.end,
                        requirement,
                        legal_status=piece.status.value,
                        name=label(agreement, clause, piece),
                    )
                )
    return found


@dataclass(frozen=True)
class StatusSpan:
    """Who a clause's legal status covers over a run of days (for the coverage summary)."""

    bargaining_unit: str
    agreement: str
    clause: str
    status: LegalStatus
    start: date
    end: date | None


def status_spans(agreements: Sequence[AgreementFacts]) -> list[StatusSpan]:
    """Every clause piece per unit, the ones where the directive applies included."""
    return [
        StatusSpan(unit, a.code, c.ref, p.status, p.start, p.end)
        for a in agreements
        for c in a.clauses
        for p in pieces(a, c)
        for unit in a.units
    ]
