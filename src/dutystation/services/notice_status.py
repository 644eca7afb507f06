"""Use case: how far a directive's notices got, per component (docs/notices.md): recipients,
acknowledgements, reminders, mail sent, waiting and failed. ``status`` is the check of one
directive (``NOTICE_STATUS``); ``acknowledgements_report`` is the ``acknowledgements``
report kind over every directive announced.

Two tables come out of the store, each one GROUP BY in the database (no Python loop over
recipients): per directive and org unit *as at sending*, one row per person counted once
however many notices they received; and per notice and org unit. The report builder
(``services/reporting/acknowledgements.py``) groups them into report rows with DuckDB.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

import pyarrow as pa
from sqlalchemy import Connection, Engine, and_, case, func, select

from dutystation.domain.access import SYSTEM, Actor, Operation
from dutystation.reports.model import Report
from dutystation.services.audit import Change
from dutystation.services.notice_scope import (
    NOTICES,
    OUTBOX,
    RECIPIENTS,
    as_utc,
    authorized_roots,
    org_chains,
    refusals_recorded,
)
from dutystation.services.reporting.acknowledgements import (
    COUNTS_SCHEMA,
    NOTICES_SCHEMA,
    acknowledgements,
)
from dutystation.services.reporting.tables import ReportContext
from dutystation.store.db import translate_errors
from dutystation.store.schema import OrgUnit


def _flag(condition: Any) -> Any:
    return case((condition, 1), else_=0)


def _mail_columns(status: Any) -> list[Any]:
    return [
        func.sum(_flag(status == "sent")),
        func.sum(_flag(status.in_(("pending", "sending")))),
        func.sum(_flag(status == "failed")),
    ]


def _recipients_join() -> Any:
    r, n, o = RECIPIENTS, NOTICES, OUTBOX
    mail = and_(o.c.notice_id == r.c.notice_id, o.c.employee_pk == r.c.employee_pk)
    return r.join(n, n.c.id == r.c.notice_id).outerjoin(o, mail)


def _unit_rows(conn: Connection, directive_ref: str | None) -> list[Sequence[Any]]:
    """Per directive and org unit at sending: people, acknowledged, reminders, mails."""
    r, n, o = RECIPIENTS, NOTICES, OUTBOX
    person = (
        select(
            n.c.directive_ref,
            r.c.employee_pk,
            func.max(r.c.id).label("last_id"),
            func.max(_flag(r.c.acknowledged_at.is_not(None))).label("acked"),
            func.sum(_flag(n.c.kind == "reminder")).label("reminders"),
            *(c.label(k) for c, k in zip(_mail_columns(o.c.status), ("s", "p", "f"), strict=True)),
        )
        .select_from(_recipients_join())
        .group_by(n.c.directive_ref, r.c.employee_pk)
    )
    if directive_ref is not None:
        person = person.where(n.c.directive_ref == directive_ref)
    people = person.subquery()
    # Each person counts in the unit of their latest notice of the directive.
    last = RECIPIENTS.alias("last")
    query = (
        select(
            people.c.directive_ref,
            last.c.org_unit,
            last.c.component,
            func.count(),
            func.sum(people.c.acked),
            func.sum(people.c.reminders),
            func.sum(people.c.s),
            func.sum(people.c.p),
            func.sum(people.c.f),
            func.sum(_flag(last.c.email.is_(None))),
        )
        .join(last, last.c.id == people.c.last_id)
        .group_by(people.c.directive_ref, last.c.org_unit, last.c.component)
    )
    return list(conn.execute(query).all())


def _notice_rows(conn: Connection, directive_ref: str | None) -> list[Sequence[Any]]:
    """Per notice and org unit at sending."""
    r, n, o = RECIPIENTS, NOTICES, OUTBOX
    keys = (n.c.id, n.c.kind, n.c.directive_ref, n.c.deadline_kind, n.c.deadline, n.c.created_at)
    query = (
        select(
            *keys,
            r.c.org_unit,
            func.count(),
            func.sum(_flag(r.c.acknowledged_at.is_not(None))),
            *_mail_columns(o.c.status),
        )
        .select_from(_recipients_join())
        .group_by(*keys, r.c.org_unit)
    )
    if directive_ref is not None:
        query = query.where(n.c.directive_ref == directive_ref)
    return list(conn.execute(query).all())


def _tables(
    conn: Connection, directive_ref: str | None, roots: frozenset[str] | None
) -> tuple[pa.Table, pa.Table, dict[str, str]]:
    chains = org_chains(conn)

    def path(unit: str) -> tuple[str, ...]:
        return chains.get(unit, (unit,))

    def reachable(unit: str) -> bool:
        return roots is None or not roots.isdisjoint(path(unit))

    counts = []
    for ref, unit, component, *numbers in _unit_rows(conn, directive_ref):
        if reachable(unit):
            counts.append([ref, unit, component, "/".join(path(unit)), *map(int, numbers)])
    notices = []
    for notice_id, kind, ref, deadline_kind, deadline, created, unit, *numbers in _notice_rows(
        conn, directive_ref
    ):
        if reachable(unit):
            moment = as_utc(created)
            sent_on = moment.date() if moment is not None else None
            row = [notice_id, kind, ref, deadline_kind, deadline, sent_on, unit]
            notices.append([*row, "/".join(path(unit)), *map(int, numbers)])
    names = {str(c): str(n) for c, n in conn.execute(select(OrgUnit.code, OrgUnit.name))}
    return _arrow(counts, COUNTS_SCHEMA), _arrow(notices, NOTICES_SCHEMA), names


def _arrow(rows: list[list[Any]], schema: pa.Schema) -> pa.Table:
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in schema]
    arrays = [pa.array(c, type=f.type) for c, f in zip(columns, schema, strict=True)]
    return pa.Table.from_arrays(arrays, schema=schema)


def _report(
    counts: pa.Table,
    notices: pa.Table,
    names: dict[str, str],
    org_unit: str | None,
    today: date,
    parameters: dict[str, str],
) -> Report:
    days = [d for d in notices.column("sent_on").to_pylist() if d is not None]
    context = ReportContext(
        start=min(days, default=today),
        end=today,
        as_of=today,
        org_unit=org_unit,
        unit_names=names,
        parameters=parameters,
    )
    return acknowledgements(counts, notices, context)


def status(
    engine: Engine,
    actor: Actor,
    directive_ref: str,
    org_unit: str | None = None,
    *,
    today: date | None = None,
) -> Report:
    """The acknowledgements report of one directive, inside ``org_unit`` and the actor's
    scope (``NOTICE_STATUS``). Rows: components as at sending (with ``org_unit``: the
    units one level below it), a total row per directive."""
    attempt = Change(Operation.NOTICE_STATUS.value, "directive", directive_ref)
    with refusals_recorded(engine, actor, attempt), translate_errors(), engine.connect() as conn:
        roots = authorized_roots(conn, actor, Operation.NOTICE_STATUS, org_unit, org_chains(conn))
        counts, notices, names = _tables(conn, directive_ref, roots)
    shown = {"directive": directive_ref, **({"org unit": org_unit} if org_unit else {})}
    return _report(counts, notices, names, org_unit, today or date.today(), shown)


def acknowledgements_report(
    engine: Engine,
    org_unit: str | None = None,
    *,
    actor: Actor = SYSTEM,
    today: date | None = None,
) -> Report:
    """The ``acknowledgements`` report: every directive announced, per component."""
    attempt = Change(Operation.NOTICE_STATUS.value, "report", "acknowledgements")
    with refusals_recorded(engine, actor, attempt), translate_errors(), engine.connect() as conn:
        roots = authorized_roots(conn, actor, Operation.NOTICE_STATUS, org_unit, org_chains(conn))
        counts, notices, names = _tables(conn, None, roots)
    shown = {"org unit": org_unit} if org_unit else {}
    return _report(counts, notices, names, org_unit, today or date.today(), shown)
