"""Use case: the evaluation snapshot — the weekly evaluation computed once and stored, so
that "my status" and the component overview are indexed reads, not an evaluation per
request (docs/evaluation.md, "The snapshot").

``refresh_snapshot`` evaluates weeks and pay periods over the evidence range, the
not-returned window by day, and the compliance plan once per level of the org tree; it
derives the snapshot's tables (``services/snapshot_tables.py``) and stores them as a new
generation. The new generation replaces the old one in one transaction (its rows, the
pointer in ``snapshot_state`` and the audit record commit together), so a refresh that
fails or is interrupted leaves the previous snapshot exactly as it was.

Imports do not recompute it: each import that stores rows marks it stale
(``store.snapshot_rows.mark_stale``, in the import's own transaction); readers show the
mark with the snapshot's "as of" until ``dutystation evaluate --refresh`` runs again.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.dataset as ds
from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from dutystation.analytics.engine import memory_errors
from dutystation.bootstrap import Runtime
from dutystation.domain.access import SYSTEM, Actor, Operation
from dutystation.domain.directive import Directive
from dutystation.domain.exemptions import category_group
from dutystation.errors import ConfigError, DutystationError, NoEvidence
from dutystation.services import snapshot_tables as tables
from dutystation.services.audit import Change, denials_recorded
from dutystation.services.authorization import authorize
from dutystation.services.evaluate import (
    MAX_DAYS,
    PART_ROWS,
    EvaluationRequest,
    evaluate,
    evaluate_in_parts,
    load_inputs,
)
from dutystation.services.progress import NullProgress, Progress
from dutystation.services.reporting import returns
from dutystation.services.reporting.inputs import (
    ReportRequest,
    Setting,
    context_for,
    evidence_range,
    load_setting,
    not_returned_scope,
    offices_table,
)
from dutystation.services.reporting.periods import Period, cut_to_evidence, directive_start
from dutystation.services.reporting.seats_inputs import plan_capacity
from dutystation.services.rows_file import RowsFile, scratch_folder
from dutystation.services.snapshot_store import Source, row_count, store_generation
from dutystation.store import snapshot_rows as rows
from dutystation.store.history import org_unit_chains
from dutystation.store.schema import Base, Employee
from dutystation.store.schema_snapshot import (
    SnapshotEmployee,
    SnapshotPayPeriod,
    SnapshotUnit,
    SnapshotUnitWeek,
    SnapshotWeek,
)

STEPS = 5  # evaluate, not-returned window, plan, derive, store


@dataclass(frozen=True)
class SnapshotSummary:
    snapshot_id: int
    period_start: date
    period_end: date
    employees: int
    week_rows: int
    pay_period_rows: int
    units: int
    seconds: float
    stages: dict[str, float]  # seconds per step: evaluations, plan, tables, storing
    notes: tuple[str, ...]


def refresh_snapshot(
    runtime: Runtime,
    *,
    start: date | None = None,
    end: date | None = None,
    progress: Progress | None = None,
    actor: Actor = SYSTEM,
    part_rows: int = PART_ROWS,
) -> SnapshotSummary:
    """Evaluate ``start``..``end`` (default: the whole evidence range, at most
    ``MAX_DAYS`` up to its last day) and make it the current snapshot. ``progress`` hears
    each step (``bytes_done`` counts steps of ``STEPS``) and then the rows stored (a new
    ``start`` whose total is the row count). ``actor`` needs ``import.run`` for the whole
    organisation (the people who import refresh). The evaluation is held ``part_rows``
    rows at a time (``evaluate_in_parts``); the rest is on disk, in a scratch folder
    under ``tmp_dir`` that is deleted at the end.

    Raises ``NoEvidence`` when nothing is stored yet, ``Conflict`` when another refresh is
    running (PostgreSQL), ``StoreError`` when the database refuses; the previous snapshot
    stays current in every case."""
    progress = progress or NullProgress()
    clock, started = time.perf_counter(), datetime.now(UTC)
    attempt = Change("snapshot.refresh", "evaluation_snapshot", None)
    with denials_recorded(runtime.engine, actor, attempt), runtime.engine.connect() as conn:
        authorize(conn, actor, Operation.IMPORT_RUN)
        changes = rows.change_count(conn)
    manifests = runtime.events.manifests()
    if evidence_range(runtime) is None:  # before the directives are checked against units
        raise NoEvidence("no T&A hours or badge events are stored yet; import some first")
    setting = load_setting(runtime, None)
    period = _period(start, end, setting)
    notes: list[str] = list(period.notes)
    stages: dict[str, float] = {}
    with scratch_folder(runtime.settings, "snapshot-") as scratch:
        with memory_errors(
            runtime.settings, "the snapshot", "refresh a shorter range (--from, --to)"
        ):
            derived = _derive(runtime, setting, period, notes, progress, stages, scratch, part_rows)
        counts = {model: row_count(source) for model, source in derived.items()}
        meta: dict[str, Any] = {
            "started_at": started,
            "computed_by": actor.username,
            "period_start": period.start,
            "period_end": period.end,
            "evidence_first": setting.evidence[0],
            "evidence_last": setting.evidence[1],
            "event_batches": len(manifests),
            "last_event_batch": max(manifests, key=lambda m: m.sequence).batch_id
            if manifests
            else None,
            "changes_seen": changes,
            "employees": counts[SnapshotEmployee],
            "week_rows": counts[SnapshotWeek],
            "directives": [describe(d) for d in setting.directives],
            "notes": notes,
        }
        stored_at = time.perf_counter()
        snapshot_id = store_generation(runtime, actor, derived, meta, progress, clock)
    progress.finish()
    stages["storing"] = round(time.perf_counter() - stored_at, 1)
    rows.analyze(runtime.engine)
    return SnapshotSummary(
        snapshot_id=snapshot_id,
        period_start=period.start,
        period_end=period.end,
        employees=counts[SnapshotEmployee],
        week_rows=counts[SnapshotWeek],
        pay_period_rows=counts[SnapshotPayPeriod],
        units=counts[SnapshotUnit],
        seconds=time.perf_counter() - clock,
        stages=stages,
        notes=tuple(notes),
    )


def _derive(
    runtime: Runtime,
    setting: Setting,
    period: Period,
    notes: list[str],
    progress: Progress,
    stages: dict[str, float],
    scratch: Path,
    part_rows: int,
) -> dict[type[Base], Source]:
    """The snapshot's tables, by model. The evaluations go to Parquet files in ``scratch``
    part by part (``evaluate_in_parts``, ``evaluate(sink=)``), and DuckDB derives the
    tables from there within its memory limit: neither the evaluation nor a table is ever
    whole in memory (at 250,000 employees x 26 weeks, 6.5 million rows)."""
    mark = time.perf_counter()

    def step(name: str, done: int) -> None:
        nonlocal mark
        stages[name] = round(time.perf_counter() - mark, 1)
        mark = time.perf_counter()
        progress.advance(rows=0, bytes_done=done)

    progress.start("Evaluating the not-returned window by day", STEPS)
    listed, counted = _not_returned(runtime, setting, notes, scratch / "days.parquet")
    step("not-returned window", 1)
    progress.start("Evaluating weeks and pay periods", STEPS)
    ev_path = scratch / "periods.parquet"
    ev = RowsFile(ev_path, left_out=["name"])
    try:
        result = evaluate_in_parts(
            runtime,
            EvaluationRequest(period.start, period.end, None, ("week", "pay_period")),
            ev.write,
            directives=setting.directives,
            part_rows=part_rows,
        )
    finally:
        ev.close()
    if result.periods_kept:
        notes.append(
            f"{result.periods_kept} of {result.periods_kept + result.periods_computed} weeks "
            "and pay periods read back from kept results (docs/evaluation.md)"
        )
    step("weeks and pay periods", 2)
    with runtime.engine.connect() as conn:
        chains = org_unit_chains_of(conn)
        employee_keys = _employee_keys(conn)
    progress.start("Compliance plan and figures per unit", STEPS)
    plan = _plan(runtime, setting, period, ev_path, chains, notes)
    step("compliance plan", 3)
    con = tables.connect(runtime.settings)
    try:
        tables.register(con, emp=employee_keys, nr=listed, org=tables.org_units(chains))
        tables.parquet_view(con, "ev", ev_path)
        derived: dict[type[Base], Source] = {
            SnapshotWeek: tables.to_file(con, tables.weeks_sql(), scratch / "week.parquet"),
            SnapshotPayPeriod: tables.to_file(
                con, tables.pay_periods_sql(), scratch / "pay_period.parquet"
            ),
            SnapshotEmployee: tables.to_file(
                con, tables.employees_sql(), scratch / "employee.parquet"
            ),
            SnapshotUnitWeek: tables.to_file(
                con, tables.unit_weeks_sql(), scratch / "unit_week.parquet"
            ),
        }
        tables.parquet_view(con, "se", scratch / "employee.parquet")
        tables.register(
            con, plan=plan, ex=_exemption_facts(runtime, min(period.end, setting.evidence[1]))
        )
        derived[SnapshotUnit] = tables.units(con, with_not_returned=counted)
    finally:
        con.close()
    step("tables", 4)
    progress.finish()
    return derived


def describe(directive: Directive) -> dict[str, Any]:
    """What the status pages say about a directive (JSON-ready)."""
    due = directive.deadlines.full_compliance
    return {
        "ref": directive.ref,
        "title": directive.title,
        "issuer": directive.issuer,
        "effective": directive.effective.isoformat(),
        "expires": directive.expires.isoformat() if directive.expires else None,
        "full_compliance": due.isoformat() if due else None,
        "requirement": directive.requirement.describe(),
        "counts_at": str(directive.counts_at),
    }


def org_unit_chains_of(conn: Connection) -> dict[str, tuple[str, ...]]:
    with Session(bind=conn) as session:
        return org_unit_chains(session)


def _period(start: date | None, end: date | None, setting: Setting) -> Period:
    period = cut_to_evidence(start or setting.evidence[0], end or date.max, setting.evidence)
    if period.days > MAX_DAYS:
        # The latest MAX_DAYS days, from a Monday so that no week is cut.
        begin = period.end - timedelta(days=MAX_DAYS - 1)
        begin += timedelta(days=(7 - begin.weekday()) % 7)
        note = f"Only the last {MAX_DAYS} days of evidence are evaluated, from {begin}."
        period = Period(begin, period.end, (*period.notes, note))
    return period


def _employee_keys(conn: Connection) -> pa.Table:
    found = conn.execute(select(Employee.employee_id, Employee.id)).all()
    return pa.table(
        {
            "employee_id": pa.array([r[0] for r in found], pa.string()),
            "employee_pk": pa.array([r[1] for r in found], pa.int32()),
        }
    )


_LISTED = pa.schema([("employee_id", pa.string()), ("org_unit", pa.string())])


def _not_returned(
    runtime: Runtime, setting: Setting, notes: list[str], path: Path
) -> tuple[pa.Table, bool]:
    """The people the ``not-returned`` report lists (``employee_id, org_unit``), from the
    same daily evaluation of its windows, streamed to a Parquet file at ``path`` (a day
    per employee makes 7.5 million rows a month at 250,000); False when no window could
    be evaluated."""
    days = RowsFile(path)
    try:
        found, window = not_returned_scope(ReportRequest("not-returned"), setting)
        evaluate(
            runtime,
            EvaluationRequest(window.start, window.end, None, ("day",)),
            directives=setting.directives,
            sink=days.write,
        )
    except (NoEvidence, ConfigError) as exc:
        notes.append(f"Not returned: not counted ({exc}).")
        return _LISTED.empty_table(), False
    finally:
        days.close()
    context = context_for(ReportRequest("not-returned"), setting, window)
    people = returns.not_returned(ds.dataset(path), context, found).section("people")
    return people.table.select(["employee_id", "org_unit"]).cast(_LISTED), True


def _plan(
    runtime: Runtime,
    setting: Setting,
    period: Period,
    ev: Path,
    chains: dict[str, tuple[str, ...]],
    notes: list[str],
) -> pa.Table:
    """The compliance plan's figures per unit, over the weeks from the directive on (as
    the report reads them; ``ev``: the evaluation's rows file), seats weighed with the
    capacity model."""
    if not setting.directives:
        notes.append("Compliance plan: no directive is loaded.")
        return tables.PLAN_SCHEMA.empty_table()
    since = directive_start(setting.directives)
    dues = [d.deadlines.full_compliance or d.effective for d in setting.directives]
    try:
        capacity = plan_capacity(runtime, setting, period)
    except DutystationError as exc:
        notes.append(f"Compliance plan: seats weighed against headcount ({exc}).")
        capacity = None
    con = tables.connect(runtime.settings)
    try:
        tables.parquet_view(con, "ev", ev, f"WHERE period_start >= DATE '{since}'")
        con.register("offices", offices_table(runtime))
        if capacity is not None:
            con.register("cap", capacity.select(["site_id", "expected"]))
        return tables.plan_figures(con, chains, max(dues), expected=capacity is not None)
    finally:
        con.close()


def _exemption_facts(runtime: Runtime, day: date) -> pa.Table:
    """``employee_id, category_group, kind`` of exemptions approved and covering ``day``
    (``approved``) and requests pending on it (``pending``): counts only are kept."""
    found = load_inputs(runtime)
    facts = [
        (x.employee_id, category_group(x.exemption.category), "approved")
        for x in found.exemptions
        if x.exemption.covers(day)
    ]
    facts += [
        (r.employee_id, category_group(r.category), "pending")
        for r in found.requests
        if r.pending_at(day)
    ]
    columns = list(zip(*facts, strict=True)) if facts else [(), (), ()]
    return pa.table(
        {
            name: pa.array(values, pa.string())
            for name, values in zip(("employee_id", "category_group", "kind"), columns, strict=True)
        }
    )
