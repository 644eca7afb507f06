"""Reading and writing the agreement tables (``schema_agreements``) as domain values.

No authorisation and no audit here: ``services/agreements.py`` does both around these, in
the same transaction. ``agreement.effective_to`` is stored exclusive (the store's
convention) and handed out as the last day in force (the domain's).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, cast

from sqlalchemy import Connection, Table, delete, insert, select, update

from dutystation.domain.agreements import (
    TERM_KEYS,
    AgreementFacts,
    Clause,
    HybridTerms,
    LegalStatus,
    StatusRecord,
)
from dutystation.store.schema import EmployeeAssignment
from dutystation.store.schema_agreements import (
    AgreementClause,
    AgreementRecord,
    ClauseLegalStatus,
    agreement_unit,
)

AGREEMENT = cast(Table, AgreementRecord.__table__)
CLAUSE = cast(Table, AgreementClause.__table__)
LEGAL = cast(Table, ClauseLegalStatus.__table__)
UNIT = agreement_unit


@dataclass(frozen=True)
class RecordedStatus:
    """A legal-status record with who recorded it and when (``show`` prints them)."""

    record: StatusRecord
    recorded_by: str
    recorded_at: datetime


@dataclass(frozen=True)
class StoredAgreement:
    id: int
    facts: AgreementFacts
    clause_ids: Mapping[str, int]  # by ref
    recorded: Mapping[str, tuple[RecordedStatus, ...]]  # by ref, in recorded order


def last_day(effective_to: date | None) -> date | None:
    return effective_to - timedelta(days=1) if effective_to is not None else None


def exclusive(end: date | None) -> date | None:
    return end + timedelta(days=1) if end is not None else None


def read_agreements(conn: Connection, code: str | None = None) -> list[StoredAgreement]:
    """Every agreement (or the one of ``code``), by code. Built without the domain's checks
    on the whole set (``AgreementFacts`` still checks each agreement's own rules)."""
    query = select(AGREEMENT).order_by(AGREEMENT.c.code)
    if code is not None:
        query = query.where(AGREEMENT.c.code == code)
    agreements = conn.execute(query).mappings().all()
    ids = [a["id"] for a in agreements]
    if not ids:
        return []
    units: dict[int, list[str]] = {}
    for agreement_id, unit in conn.execute(
        select(UNIT.c.agreement_id, UNIT.c.bargaining_unit)
        .where(UNIT.c.agreement_id.in_(ids))
        .order_by(UNIT.c.bargaining_unit)
    ):
        units.setdefault(agreement_id, []).append(unit)
    clauses = (
        conn.execute(select(CLAUSE).where(CLAUSE.c.agreement_id.in_(ids)).order_by(CLAUSE.c.id))
        .mappings()
        .all()
    )
    statuses: dict[int, list[RecordedStatus]] = {}
    clause_ids = [c["id"] for c in clauses]
    if clause_ids:
        for row in conn.execute(
            select(LEGAL).where(LEGAL.c.clause_id.in_(clause_ids)).order_by(LEGAL.c.id)
        ).mappings():
            record = StatusRecord(LegalStatus(row["status"]), row["effective_on"], row["source"])
            statuses.setdefault(row["clause_id"], []).append(
                RecordedStatus(record, row["recorded_by"], row["recorded_at"])
            )
    found = []
    for a in agreements:
        mine = [c for c in clauses if c["agreement_id"] == a["id"]]
        built = tuple(
            Clause(
                c["ref"],
                HybridTerms.of({k: c[k] for k in TERM_KEYS if c[k] is not None}),
                c["summary"],
                tuple(s.record for s in statuses.get(c["id"], [])),
            )
            for c in mine
        )
        facts = AgreementFacts(
            code=a["code"],
            title=a["title"],
            union=a["union_name"],
            units=tuple(units.get(a["id"], ())),
            start=a["effective_from"],
            end=last_day(a["effective_to"]),
            clauses=built,
        )
        found.append(
            StoredAgreement(
                a["id"],
                facts,
                {c["ref"]: c["id"] for c in mine},
                {c["ref"]: tuple(statuses.get(c["id"], [])) for c in mine},
            )
        )
    return found


def agreement_values(facts: AgreementFacts) -> dict[str, Any]:
    """The agreement row's columns (what the audit trail shows before and after)."""
    return {
        "code": facts.code,
        "title": facts.title,
        "union_name": facts.union,
        "effective_from": facts.start,
        "effective_to": exclusive(facts.end),
    }


def insert_agreement(conn: Connection, facts: AgreementFacts) -> int:
    new_id = conn.execute(insert(AGREEMENT).values(**agreement_values(facts))).inserted_primary_key
    assert new_id is not None
    agreement_id = int(new_id[0])
    set_units(conn, agreement_id, facts.units)
    return agreement_id


def update_agreement_row(conn: Connection, agreement_id: int, facts: AgreementFacts) -> None:
    values = agreement_values(facts)
    conn.execute(update(AGREEMENT).where(AGREEMENT.c.id == agreement_id).values(**values))
    set_units(conn, agreement_id, facts.units)


def set_units(conn: Connection, agreement_id: int, units: Sequence[str]) -> None:
    conn.execute(delete(UNIT).where(UNIT.c.agreement_id == agreement_id))
    if units:
        conn.execute(
            insert(UNIT), [{"agreement_id": agreement_id, "bargaining_unit": u} for u in units]
        )


def clause_values(clause: Clause) -> dict[str, Any]:
    return {"ref": clause.ref, "summary": clause.summary, **clause.terms.as_dict()}


def save_clause_row(
    conn: Connection, agreement_id: int, clause: Clause, clause_id: int | None
) -> int:
    values = clause_values(clause)
    if clause_id is None:
        new_id = conn.execute(
            insert(CLAUSE).values(agreement_id=agreement_id, **values)
        ).inserted_primary_key
        assert new_id is not None
        return int(new_id[0])
    conn.execute(update(CLAUSE).where(CLAUSE.c.id == clause_id).values(**values))
    return clause_id


def insert_status(
    conn: Connection, clause_id: int, record: StatusRecord, recorded_by: str, at: datetime
) -> None:
    conn.execute(
        insert(LEGAL).values(
            clause_id=clause_id,
            status=record.status.value,
            effective_on=record.effective_on,
            source=record.source,
            recorded_by=recorded_by,
            recorded_at=at,
        )
    )


def units_on_roster(conn: Connection, units: Sequence[str]) -> set[str]:
    """The ``units`` some roster version names (any day)."""
    a = EmployeeAssignment
    query = select(a.bargaining_unit).where(a.bargaining_unit.in_(list(units))).distinct()
    return {str(u) for u in conn.scalars(query)}
