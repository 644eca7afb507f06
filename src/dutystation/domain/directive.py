"""Directives: dated, versioned orders (DESIGN.md §2), and which one binds a person on a day.

The models mirror the policy-file keys one to one; docs/directives.md documents every key
(a test checks it) and ``dutystation.policy_files`` loads them from TOML or YAML. Rules that
span several keys raise ``KeyedValueError`` so the loader can name the key at fault.

Several directives can be in force at once (a government-wide order and a department's
implementing memo). ``binding_directive`` picks, for one person on one day, the strictest
one whose scope holds them; strictness is defined on ``Requirement.strictness``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

from dutystation.domain.vocabulary import Arrangement

EVERY_ORG_UNIT = "*"  # in scope.org_units: every org unit (a government-wide order)
_REF = re.compile(r"([A-Za-z0-9._-]+)@([1-9][0-9]*)")
_OFFSET = re.compile(r"effective\s*\+\s*(\d+)\s*days?")
_ZONED = re.compile(
    r"(\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(?::\d{2})?)\s+([A-Za-z_]+(?:/[A-Za-z0-9_+-]+)+)"
)

Code = Annotated[str, Field(pattern=r"^([A-Za-z0-9._-]{1,64}|\*)$")]
Text = Annotated[str, Field(min_length=1, max_length=500)]


class KeyedValueError(ValueError):
    """A rule across several keys is broken; ``key`` is the dotted key to blame."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"key {key!r}: {problem}")
        self.key = key
        self.problem = problem


class ExemptionCategory(StrEnum):
    DISABILITY_ACCOMMODATION = "disability_accommodation"
    MEDICAL_CONDITION = "medical_condition"
    COMPELLING_REASON = "compelling_reason"
    LACK_OF_OFFICE_SPACE = "lack_of_office_space"
    PHYSICAL_INCAPACITY = "physical_incapacity"
    LEGAL_IMPEDIMENT = "legal_impediment"

    @property
    def confidential(self) -> bool:
        """Medical and disability matters are never named in reports (DESIGN.md §5)."""
        return self in _CONFIDENTIAL


_CONFIDENTIAL = frozenset(
    {
        ExemptionCategory.DISABILITY_ACCOMMODATION,
        ExemptionCategory.MEDICAL_CONDITION,
        ExemptionCategory.PHYSICAL_INCAPACITY,
    }
)


class Certifier(StrEnum):
    SUPERVISOR = "supervisor"
    AGENCY_HEAD = "agency_head"
    COMPONENT_HEAD = "component_head"
    TELEWORK_MANAGING_OFFICER = "telework_managing_officer"


class CountsAt(StrEnum):
    DUTY_STATION = "duty_station"  # only hours at the employee's own duty station
    ANY_AGENCY_OFFICE = "any_agency_office"  # any office of the agency counts


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _no_repeats(values: Sequence[Any], key: str) -> None:
    seen = set()
    for value in values:
        if value in seen:
            raise KeyedValueError(key, f"lists {str(value)!r} twice")
        seen.add(value)


class NotBound(_Model):
    org_unit: Code
    legal_basis: Text


class Scope(_Model):
    org_units: tuple[Code, ...] = Field(min_length=1)
    not_bound: tuple[NotBound, ...] = ()
    arrangements: tuple[Arrangement, ...] = Field(min_length=1)
    presumed_compliant: tuple[Arrangement, ...] = ()

    @model_validator(mode="after")
    def _consistent(self) -> Scope:
        _no_repeats(self.org_units, "scope.org_units")
        _no_repeats([n.org_unit for n in self.not_bound], "scope.not_bound")
        _no_repeats(self.arrangements, "scope.arrangements")
        _no_repeats(self.presumed_compliant, "scope.presumed_compliant")
        for arrangement in self.presumed_compliant:
            if arrangement in self.arrangements:
                raise KeyedValueError(
                    "scope.presumed_compliant",
                    f"{str(arrangement)!r} is also in scope.arrangements; list it in one only",
                )
        for i, entry in enumerate(self.not_bound):
            if entry.org_unit == EVERY_ORG_UNIT or entry.org_unit in self.org_units:
                raise KeyedValueError(
                    f"scope.not_bound[{i}].org_unit",
                    f"{entry.org_unit!r} cannot be both in scope and not bound",
                )
        return self


class Requirement(_Model):
    """Exactly one of the three keys."""

    onsite_share_of_hours: float | None = Field(default=None, gt=0, le=1)
    days_per_week: int | None = Field(default=None, ge=1, le=7)
    days_per_pay_period: int | None = Field(default=None, ge=1, le=14)

    @model_validator(mode="after")
    def _exactly_one(self) -> Requirement:
        given = [v for v in self.model_dump().values() if v is not None]
        if len(given) != 1:
            raise KeyedValueError(
                "requirement",
                "give exactly one of onsite_share_of_hours, days_per_week, days_per_pay_period",
            )
        return self

    @property
    def strictness(self) -> float:
        """Comparable across kinds, as a share of a standard 5-day week: a share of hours
        as is, d days per week as d/5, d days per pay period as d/10 (docs/directives.md)."""
        if self.onsite_share_of_hours is not None:
            return self.onsite_share_of_hours
        if self.days_per_week is not None:
            return self.days_per_week / 5
        return (self.days_per_pay_period or 0) / 10

    def describe(self) -> str:
        if self.onsite_share_of_hours is not None:
            return f"{self.onsite_share_of_hours:.0%} of hours on site"
        if self.days_per_week is not None:
            return f"{self.days_per_week} days on site per week"
        return f"{self.days_per_pay_period} days on site per pay period"


class Deadlines(_Model):
    policy_revision: AwareDatetime | None = None
    full_compliance: date | None = None
    not_returned_report_days: int | None = Field(default=None, ge=1, le=366)

    @field_validator("policy_revision", mode="before")
    @classmethod
    def _zoned(cls, value: Any) -> Any:
        # "2025-01-24 17:00 America/New_York": OPM gave the deadline in Eastern time.
        if isinstance(value, str) and (match := _ZONED.fullmatch(value.strip())):
            try:
                zone = ZoneInfo(match.group(2))
            except (ZoneInfoNotFoundError, ValueError):
                raise ValueError(f"{match.group(2)!r} is not an IANA time zone") from None
            return datetime.fromisoformat(match.group(1)).replace(tzinfo=zone)
        return value

    @field_validator("full_compliance", mode="before")
    @classmethod
    def _date_or_offset(cls, value: Any) -> Any:
        # Valid offsets were resolved by Directive; any other text is a mistake.
        if isinstance(value, str) and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
            raise ValueError("is neither a date (YYYY-MM-DD) nor 'effective + N days'")
        return value


class Exemptions(_Model):
    categories: tuple[ExemptionCategory, ...] = ()
    certification_required_by: tuple[Certifier, ...] = ()


class DistanceRule(_Model):
    designate_beyond_miles: float = Field(gt=0, le=5000)
    arrangements: tuple[Arrangement, ...] = (Arrangement.REMOTE,)


class DutyStationTest(_Model):
    min_days_per_pay_period: int = Field(default=2, ge=1, le=10)


class Directive(_Model):
    id: Annotated[str, Field(pattern=r"^[A-Za-z0-9._-]{1,64}$")]
    version: int = Field(ge=1)
    issuer: Text
    title: Text
    issued: date
    effective: date
    expires: date | None = None
    supersedes: Annotated[str, Field(pattern=_REF.pattern)] | None = None
    citations: tuple[Text, ...] = ()
    scope: Scope
    requirement: Requirement
    counts_at: CountsAt = CountsAt.DUTY_STATION
    deadlines: Deadlines = Deadlines()
    exemptions: Exemptions = Exemptions()
    distance_rule: DistanceRule | None = None
    duty_station_test: DutyStationTest | None = None

    @model_validator(mode="before")
    @classmethod
    def _resolve_offsets(cls, data: Any) -> Any:
        # deadlines.full_compliance may read "effective + 30 days" (OPM: "about 30 days").
        if not isinstance(data, dict) or not isinstance(data.get("deadlines"), dict):
            return data
        value = data["deadlines"].get("full_compliance")
        if isinstance(value, str) and (match := _OFFSET.fullmatch(value.strip())):
            effective = data.get("effective")
            if isinstance(effective, str):
                effective = date.fromisoformat(effective)
            if isinstance(effective, date):
                resolved = effective + timedelta(days=int(match.group(1)))
                data = {**data, "deadlines": {**data["deadlines"], "full_compliance": resolved}}
        return data

    @model_validator(mode="after")
    def _dates(self) -> Directive:
        when = f"is before the effective date {self.effective.isoformat()}"
        if self.expires is not None and self.expires < self.effective:
            raise KeyedValueError("expires", when)
        full = self.deadlines.full_compliance
        if full is not None and full < self.effective:
            raise KeyedValueError("deadlines.full_compliance", when)
        revision = self.deadlines.policy_revision
        if revision is not None and revision.date() < self.effective:
            raise KeyedValueError("deadlines.policy_revision", when)
        if self.supersedes == self.ref:
            raise KeyedValueError("supersedes", "a directive cannot supersede itself")
        return self

    @property
    def ref(self) -> str:
        """``id@version``: how reports and ``supersedes`` name this directive."""
        return f"{self.id}@{self.version}"

    @property
    def not_returned_report_due(self) -> date | None:
        days = self.deadlines.not_returned_report_days
        return self.effective + timedelta(days=days) if days is not None else None

    def in_force_on(self, day: date) -> bool:
        """From ``effective`` to ``expires`` (both included); see ``in_force`` for supersession."""
        return self.effective <= day and (self.expires is None or day <= self.expires)


def parse_ref(ref: str) -> tuple[str, int]:
    match = _REF.fullmatch(ref)
    if match is None:
        raise ValueError(f"{ref!r} is not id@version")
    return match.group(1), int(match.group(2))


def in_force(directives: Iterable[Directive], day: date) -> list[Directive]:
    """Directives in force on ``day``: between effective and expires, and not superseded by
    another directive of the list that is itself effective on ``day``."""
    candidates = [d for d in directives if d.in_force_on(day)]
    replaced = {d.supersedes for d in candidates if d.supersedes}
    return [d for d in candidates if d.ref not in replaced]


def strictness_key(directive: Directive) -> tuple[float, date, str, int]:
    """Higher binds: the stricter requirement, then the later effective date (the more
    recent, usually more specific order), then id and version so the choice is stable."""
    return (directive.requirement.strictness, directive.effective, directive.id, directive.version)


class BindingKind(StrEnum):
    BOUND = "bound"
    NOT_BOUND = "not_bound"  # in a unit a directive names as not bound, with its legal basis
    NOT_IN_SCOPE = "not_in_scope"


@dataclass(frozen=True)
class Binding:
    """Which directive binds one person on one day, and why. For ``NOT_BOUND``,
    ``directive`` is the directive that names the unit and ``legal_basis`` says why."""

    kind: BindingKind
    reason: str
    directive: Directive | None = None
    org_unit: str | None = None
    legal_basis: str | None = None
    presumed_compliant: bool = False
    also_in_force: tuple[str, ...] = ()


def _nearest(scope: Scope, chain: Sequence[str]) -> tuple[str, NotBound | None] | None:
    # The nearest unit of the chain named by the scope decides: a not-bound division
    # inside a component in scope is not bound. "*" is farther than any root.
    not_bound = {n.org_unit: n for n in scope.not_bound}
    for unit in chain:
        if unit in not_bound:
            return unit, not_bound[unit]
        if unit in scope.org_units:
            return unit, None
    return (EVERY_ORG_UNIT, None) if EVERY_ORG_UNIT in scope.org_units else None


def binding_directive(
    directives: Iterable[Directive],
    org_unit_chain: Sequence[str],
    arrangement: Arrangement,
    day: date,
) -> Binding:
    """The directive that binds a person on ``day``. ``org_unit_chain`` is their org unit
    and its ancestors, nearest first, as of ``day``; ``arrangement`` likewise.

    Of the directives in force whose scope holds the person (their unit, or an ancestor,
    is in ``scope.org_units`` and their arrangement is covered or presumed compliant), the
    strictest binds (``strictness_key``). If none holds them but one names their unit as
    not bound, the result is ``NOT_BOUND`` with that legal basis; otherwise
    ``NOT_IN_SCOPE``."""
    applying: list[tuple[Directive, str]] = []
    excused: list[tuple[Directive, NotBound]] = []
    uncovered: list[str] = []
    for directive in in_force(directives, day):
        match = _nearest(directive.scope, org_unit_chain)
        if match is None:
            continue
        unit, not_bound = match
        scope = directive.scope
        if not_bound is not None:
            excused.append((directive, not_bound))
        elif arrangement in scope.arrangements or arrangement in scope.presumed_compliant:
            applying.append((directive, unit))
        else:
            uncovered.append(directive.ref)
    if applying:
        chosen, unit = max(applying, key=lambda pair: strictness_key(pair[0]))
        others = tuple(d.ref for d, _ in applying if d is not chosen)
        presumed = arrangement in chosen.scope.presumed_compliant
        reason = f"bound by {chosen.ref} ({chosen.requirement.describe()}) through {unit}"
        if others:
            reason += f"; also in force, not binding: {', '.join(others)}"
        return Binding(BindingKind.BOUND, reason, chosen, unit, None, presumed, others)
    if excused:
        directive, entry = max(excused, key=lambda pair: strictness_key(pair[0]))
        reason = f"{entry.org_unit} is not bound by {directive.ref}: {entry.legal_basis}"
        return Binding(BindingKind.NOT_BOUND, reason, directive, entry.org_unit, entry.legal_basis)
    if uncovered:
        reason = f"arrangement {arrangement} is not covered by {', '.join(uncovered)}"
    else:
        reason = f"no directive in force on {day.isoformat()} covers this org unit"
    return Binding(BindingKind.NOT_IN_SCOPE, reason)
