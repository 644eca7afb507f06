"""Use cases for collective bargaining agreements: create and update agreements and their
clauses, record a clause's legal status, import an agreements file, read them, and hand
the evaluation its inputs (docs/agreements.md).

Every change is authorised (``Operation.AGREEMENT_MANAGE``) and audited in the transaction
that makes it; a refusal is recorded as denied. A change that alters what the evaluation
gets (who a binding clause covers, on which days, with which terms and name) marks the
evaluation snapshot stale in that transaction, as an exemption decision does; a title
or a clause that binds nobody changes no status and leaves it.

Rules that span the stored agreements (two agreements of one bargaining unit in force
together, two clauses of one agreement binding together, a status dated outside its
agreement) are checked on the state the change would leave: the change is written,
everything is read back and checked, and any problem rolls the whole transaction back, so
nothing is changed.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine

from dutystation.agreement_files import read_agreements_file
from dutystation.domain.access import Actor, Operation
from dutystation.domain.agreements import (
    AgreementFacts,
    AgreementOverlap,
    AgreementRuleError,
    Clause,
    HybridTerms,
    LegalStatus,
    StatusRecord,
    check_units_apart,
    evaluation_agreements,
)
from dutystation.domain.inputs import Agreement
from dutystation.errors import ConfigError, Conflict, NotFound
from dutystation.services.audit import Change, denials_recorded, record
from dutystation.services.authorization import authorize
from dutystation.store.agreement_rows import (
    StoredAgreement,
    agreement_values,
    clause_values,
    insert_agreement,
    insert_status,
    read_agreements,
    save_clause_row,
    units_on_roster,
    update_agreement_row,
)
from dutystation.store.db import translate_errors, write_transaction
from dutystation.store.snapshot_rows import mark_stale

MANAGE = Operation.AGREEMENT_MANAGE
READ = Operation.AGREEMENT_READ


@dataclass(frozen=True)
class AgreementDraft:
    """What ``create_agreement`` / ``update_agreement`` take. ``effective_to``: the last
    day in force, included (None: open-ended)."""

    code: str
    title: str
    union: str
    units: tuple[str, ...]
    effective_from: date
    effective_to: date | None = None


@dataclass
class ImportOutcome:
    agreements_created: int = 0
    agreements_updated: int = 0
    clauses_saved: int = 0
    statuses_recorded: int = 0

    @property
    def changed(self) -> bool:
        return any(
            (
                self.agreements_created,
                self.agreements_updated,
                self.clauses_saved,
                self.statuses_recorded,
            )
        )


Coverage = list[tuple[str, str, date, date | None, str]]


def _coverage(conn: Connection) -> Coverage:
    """What the stored agreements give the evaluation, in a fixed order: per bargaining
    unit, each binding clause's days, name and terms (``agreements_table`` takes the same)."""
    found = []
    for agreement in stored_agreement_inputs(conn):
        covers = agreement.coverage()
        if covers is not None:
            terms = covers.terms.model_dump_json()
            found.append(
                (agreement.bargaining_unit, covers.agreement, covers.start, covers.end, terms)
            )
    return sorted(found, key=lambda c: (c[0], c[1], c[2], c[3] or date.max, c[4]))


@contextmanager
def _statuses_kept(conn: Connection) -> Iterator[None]:
    """Marks the snapshot stale when the change inside alters the coverage: the statuses
    it shows (``covered_by_agreement`` or not, and why) are then out of date."""
    before = _coverage(conn)
    yield
    if _coverage(conn) != before:
        mark_stale(conn, MANAGE.value)


@contextmanager
def _rules() -> Iterator[None]:
    """Domain rule breaks as the error a user reads: overlaps contradict stored state."""
    try:
        yield
    except AgreementOverlap as exc:
        raise Conflict(f"{exc}; nothing was changed") from None
    except AgreementRuleError as exc:
        raise ConfigError(f"{exc}; nothing was changed") from None


def _facts(draft: AgreementDraft, clauses: tuple[Clause, ...] = ()) -> AgreementFacts:
    code = draft.code.strip()
    if not code or len(code) > 64:
        raise ConfigError("an agreement code is 1 to 64 characters")
    units = tuple(dict.fromkeys(u.strip() for u in draft.units if u.strip()))
    with _rules():
        return AgreementFacts(
            code=code,
            title=draft.title.strip() or code,
            union=draft.union.strip() or "(not named)",
            units=units,
            start=draft.effective_from,
            end=draft.effective_to,
            clauses=clauses,
        )


def _check_store(conn: Connection, units: Sequence[str]) -> None:
    """The final state's rules (module docstring); units must be on the roster."""
    missing = sorted(set(units) - units_on_roster(conn, units))
    if missing:
        raise ConfigError(
            f"bargaining unit {missing[0]!r} is on no roster version; import the roster "
            "first or check the code; nothing was changed"
        )
    with _rules():
        check_units_apart([s.facts for s in read_agreements(conn)])


def _one(conn: Connection, code: str) -> StoredAgreement:
    found = read_agreements(conn, code.strip())
    if not found:
        raise NotFound(f"no agreement {code!r}")
    return found[0]


def _audit(conn: Connection, actor: Actor, kind: str, subject: str, **change: Any) -> None:
    record(conn, actor, Change(MANAGE.value, kind, subject, **change))


def _attempt(subject: str) -> Change:
    return Change(MANAGE.value, "agreement", subject)


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def create_agreement(engine: Engine, actor: Actor, draft: AgreementDraft) -> AgreementFacts:
    """A new agreement (without clauses: it covers nobody until one is added)."""
    facts = _facts(draft)
    with denials_recorded(engine, actor, _attempt(facts.code)), write_transaction(engine) as conn:
        authorize(conn, actor, MANAGE)
        if read_agreements(conn, facts.code):
            raise Conflict(f"agreement {facts.code!r} exists already; nothing was changed")
        insert_agreement(conn, facts)  # no clause yet: it covers nobody, no status changes
        _check_store(conn, facts.units)
        _audit(conn, actor, "agreement", facts.code, after=_shown(facts))
    return facts


def update_agreement(engine: Engine, actor: Actor, draft: AgreementDraft) -> AgreementFacts:
    """Change an agreement's title, union, units or dates (its clauses stay)."""
    with denials_recorded(engine, actor, _attempt(draft.code)), write_transaction(engine) as conn:
        authorize(conn, actor, MANAGE)
        stored = _one(conn, draft.code)
        facts = _facts(draft, stored.facts.clauses)
        with _statuses_kept(conn):
            update_agreement_row(conn, stored.id, facts)
            _check_store(conn, facts.units)
        _audit(
            conn, actor, "agreement", facts.code, before=_shown(stored.facts), after=_shown(facts)
        )
    return facts


def save_clause(
    engine: Engine,
    actor: Actor,
    code: str,
    ref: str,
    terms: Mapping[str, int | float | None],
    summary: str | None = None,
) -> Clause:
    """Add a clause to agreement ``code``, or change the terms (and the summary, unless
    None) of clause ``ref``. ``terms``: exactly one of ``domain.agreements.TERM_KEYS``."""
    ref = ref.strip()
    if not ref or len(ref) > 64:
        raise ConfigError("a clause ref is 1 to 64 characters (e.g. 'Art. 31 §4')")
    with _rules():
        hybrid = HybridTerms.of({k: v for k, v in terms.items() if v is not None})
    subject = f"{code} {ref}"
    with denials_recorded(engine, actor, _attempt(subject)), write_transaction(engine) as conn:
        authorize(conn, actor, MANAGE)
        stored = _one(conn, code)
        old = next((c for c in stored.facts.clauses if c.ref == ref), None)
        text = summary.strip() if summary is not None else (old.summary if old else "")
        clause = Clause(ref, hybrid, text, old.statuses if old else ())
        with _statuses_kept(conn):
            save_clause_row(conn, stored.id, clause, stored.clause_ids.get(ref))
            _check_clauses(conn, code)
        before = clause_values(old) if old else None
        _audit(conn, actor, "agreement_clause", subject, before=before, after=clause_values(clause))
    return clause


def record_legal_status(
    engine: Engine,
    actor: Actor,
    code: str,
    ref: str,
    status: LegalStatus,
    on: date,
    source: str,
) -> StatusRecord:
    """Clause ``ref`` of agreement ``code`` has ``status`` from ``on``, per ``source``
    ("OPM memo 2025-02-03"). Appended to the clause's history; it never rewrites it."""
    source = source.strip()
    if not source or len(source) > 300:
        raise ConfigError("a legal status needs its source (1 to 300 characters)")
    entry = StatusRecord(status, on, source)
    subject = f"{code} {ref}"
    with denials_recorded(engine, actor, _attempt(subject)), write_transaction(engine) as conn:
        authorize(conn, actor, MANAGE)
        stored = _one(conn, code)
        clause_id = stored.clause_ids.get(ref.strip())
        if clause_id is None:
            raise NotFound(f"agreement {code!r} has no clause {ref!r}")
        with _statuses_kept(conn):
            insert_status(conn, clause_id, entry, actor.username, _now())
            _check_clauses(conn, code)
        _audit(conn, actor, "clause_legal_status", subject, after=_status_shown(entry))
    return entry


def _check_clauses(conn: Connection, code: str) -> None:
    """Reading the agreement back checks its clause rules (``AgreementFacts``)."""
    with _rules():
        read_agreements(conn, code)


def import_agreements(engine: Engine, actor: Actor, path: Path) -> ImportOutcome:
    """Store the agreements of an agreements file (``dutystation.agreement_files``), all
    or nothing. Agreements are matched by code and updated to the file; clauses by ref;
    legal-status records the clause does not have yet are appended. Clauses and statuses
    missing from the file stay: a history is never rewritten by an import. Importing the
    same file again changes nothing."""
    parsed = read_agreements_file(path)
    outcome = ImportOutcome()
    attempt = Change(MANAGE.value, "agreements_file", path.name)
    with denials_recorded(engine, actor, attempt), write_transaction(engine) as conn:
        authorize(conn, actor, MANAGE)
        stored = {s.facts.code: s for s in read_agreements(conn)}
        with _statuses_kept(conn):
            for facts in parsed:
                _import_one(conn, actor, facts, stored.get(facts.code), outcome)
            _check_store(conn, sorted({u for f in parsed for u in f.units}))
    return outcome


def _import_one(
    conn: Connection,
    actor: Actor,
    facts: AgreementFacts,
    stored: StoredAgreement | None,
    outcome: ImportOutcome,
) -> None:
    if stored is None:
        agreement_id = insert_agreement(conn, replace(facts, clauses=()))
        outcome.agreements_created += 1
        _audit(conn, actor, "agreement", facts.code, after=_shown(facts))
        clause_ids: Mapping[str, int] = {}
        old_clauses: dict[str, Clause] = {}
    else:
        agreement_id, clause_ids = stored.id, stored.clause_ids
        old_clauses = {c.ref: c for c in stored.facts.clauses}
        if agreement_values(stored.facts) != agreement_values(facts) or set(
            stored.facts.units
        ) != set(facts.units):
            update_agreement_row(conn, agreement_id, facts)
            outcome.agreements_updated += 1
            _audit(
                conn,
                actor,
                "agreement",
                facts.code,
                before=_shown(stored.facts),
                after=_shown(facts),
            )
    now = _now()
    for clause in facts.clauses:
        subject = f"{facts.code} {clause.ref}"
        old = old_clauses.get(clause.ref)
        clause_id = clause_ids.get(clause.ref)
        if old is None or clause_values(old) != clause_values(clause):
            clause_id = save_clause_row(conn, agreement_id, clause, clause_id)
            outcome.clauses_saved += 1
            before = clause_values(old) if old else None
            _audit(
                conn, actor, "agreement_clause", subject, before=before, after=clause_values(clause)
            )
        assert clause_id is not None
        have = set(old.statuses) if old else set()
        for entry in clause.statuses:
            if entry not in have:
                insert_status(conn, clause_id, entry, actor.username, now)
                have.add(entry)
                outcome.statuses_recorded += 1
                _audit(conn, actor, "clause_legal_status", subject, after=_status_shown(entry))
    with _rules():
        read_agreements(conn, facts.code)  # the agreement's own rules, on the merged state


def _shown(facts: AgreementFacts) -> dict[str, Any]:
    return {
        "title": facts.title,
        "union": facts.union,
        "units": list(facts.units),
        "effective_from": facts.start.isoformat(),
        "effective_to": facts.end.isoformat() if facts.end else None,
    }


def _status_shown(entry: StatusRecord) -> dict[str, Any]:
    return {
        "status": entry.status.value,
        "effective_on": entry.effective_on.isoformat(),
        "source": entry.source,
    }


# --- reads ------------------------------------------------------------------------------


def list_agreements(engine: Engine, actor: Actor) -> list[StoredAgreement]:
    with translate_errors(), engine.connect() as conn:
        authorize(conn, actor, READ)
        return read_agreements(conn)


def agreement_to_change(engine: Engine, actor: Actor, code: str) -> StoredAgreement:
    """The agreement as stored, read to merge a partial change into it: refused (to a
    reader, a missing one is "not found", as on GET) and recorded like the change."""
    with denials_recorded(engine, actor, _attempt(code)):
        return show_agreement(engine, actor, code)


def show_agreement(engine: Engine, actor: Actor, code: str) -> StoredAgreement:
    with translate_errors(), engine.connect() as conn:
        authorize(conn, actor, READ, not_found=f"no agreement {code!r}")
        return _one(conn, code)


def stored_agreement_inputs(conn: Connection) -> tuple[Agreement, ...]:
    """The evaluator's agreement inputs (``domain.agreements.evaluation_agreements``): the
    evaluation reads for everyone, so no actor is involved."""
    return tuple(a for s in read_agreements(conn) for a in evaluation_agreements(s.facts))


def agreement_inputs(engine: Engine) -> tuple[Agreement, ...]:
    with translate_errors(), engine.connect() as conn:
        return stored_agreement_inputs(conn)
