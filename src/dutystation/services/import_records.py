"""Import use cases for org units, offices and the roster.

Each import reads its files through ``ingest.sources.open_source``, validates rows with the
pure functions of ``domain.org`` / ``domain.roster``, and then, in ONE serialised database
transaction, loads the stored state, checks references, and writes only what changed:

* any rejected row without ``accept_partial`` -> nothing is stored, a quarantine CSV
  (file, line, column, reason, message; never the values) is written and
  ``ImportRejected`` raised with one line per reason;
* with ``accept_partial`` the good rows land and the summary lists the rejections;
* a loop in the org tree or the supervisor chain refuses the whole file (``InputFileError``);
* re-running an import changes nothing and reports every row as already stored;
* each committed batch writes one audit record (``import.<kind>``: files and counts,
  never row contents) in the same transaction, naming ``actor``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from pathlib import Path

from sqlalchemy import Engine

from dutystation.domain.access import SYSTEM, Actor
from dutystation.domain.org import (
    OfficeRow,
    OrgUnitRow,
    find_cycle,
    validate_office_row,
    validate_org_unit_row,
)
from dutystation.domain.roster import RosterState, apply_roster, blast_radius
from dutystation.domain.roster_rows import (
    RosterRow,
    badge_conflicts,
    unknown_supervisors,
    validate_roster_row,
)
from dutystation.domain.values import Rejection, RowError, parse_id
from dutystation.errors import ImportHeld, InputFileError, Location
from dutystation.ingest.fields import ImportKind
from dutystation.ingest.profiles import Profile
from dutystation.ingest.summary import ImportSummary
from dutystation.services.import_batch import (
    Batch,
    Where,
    dedupe,
    gc_paused,
    loop_error,
    read_rows,
    start_batch,
)
from dutystation.services.progress import Progress
from dutystation.settings import Settings
from dutystation.store.db import write_transaction
from dutystation.store.org_writes import load_offices, load_org_units, save_offices, save_org_units
from dutystation.store.roster_writes import load_keys, load_roster_state, save_roster


@gc_paused()
def import_org_units(
    engine: Engine,
    paths: Sequence[Path],
    profile: Profile | None = None,
    *,
    accept_partial: bool = False,
    progress: Progress | None = None,
    settings: Settings | None = None,
    actor: Actor = SYSTEM,
) -> ImportSummary:
    """Upsert org units by code; parents may come later in the same file."""
    batch, profile, settings = start_batch(ImportKind.ORG_UNITS, paths, profile, settings, actor)
    rows = batch.validate(
        read_rows(batch.kind, paths, profile, settings, progress), validate_org_unit_row
    )
    rows, repeats = dedupe(batch, rows, lambda r: r.code, "org_unit")
    with write_transaction(engine) as conn:
        stored = load_org_units(conn)
        while True:  # a rejected unit makes its children's parent unknown in turn
            known = set(stored) | {r.code for _, r in rows}
            orphans = [i for i, (_, r) in enumerate(rows) if r.parent and r.parent not in known]
            if not orphans:
                break
            rows = batch.drop(rows, orphans, Rejection("unknown_org_unit", "parent"))
        parents = {c: s.row.parent for c, s in stored.items()} | {r.code: r.parent for _, r in rows}
        where = {r.code: w for w, r in rows}
        loop = [where[c] for c in find_cycle(parents) or () if c in where]
        if loop:
            raise loop_error(loop[0], "parent", "org unit parent", [w.line for w in loop])
        batch.check(accept_partial)
        values: list[OrgUnitRow] = [r for _, r in rows]
        changed = save_org_units(conn, values, stored)
        batch.record(conn, changed)
    notes = [f"{changed} org units added or changed"] if changed else []
    return batch.summary(changed, repeats + len(values) - changed, notes)


@gc_paused()
def import_offices(
    engine: Engine,
    paths: Sequence[Path],
    profile: Profile | None = None,
    *,
    accept_partial: bool = False,
    progress: Progress | None = None,
    settings: Settings | None = None,
    actor: Actor = SYSTEM,
) -> ImportSummary:
    """Upsert offices by site_id. Offices are never deleted by an import."""
    batch, profile, settings = start_batch(ImportKind.OFFICES, paths, profile, settings, actor)
    rows = batch.validate(
        read_rows(batch.kind, paths, profile, settings, progress), validate_office_row
    )
    rows, repeats = dedupe(batch, rows, lambda r: r.site_id, "site_id")
    with write_transaction(engine) as conn:
        units = load_org_units(conn)
        unknown = [i for i, (_, r) in enumerate(rows) if any(o not in units for o in r.owners)]
        rows = batch.drop(rows, unknown, Rejection("unknown_org_unit", "org_unit"))
        batch.check(accept_partial)
        values: list[OfficeRow] = [r for _, r in rows]
        changed = save_offices(conn, values, load_offices(conn))
        batch.record(conn, changed)
    notes = [f"{changed} offices added or changed"] if changed else []
    return batch.summary(changed, repeats + len(values) - changed, notes)


@gc_paused()
def import_roster(
    engine: Engine,
    paths: Sequence[Path],
    profile: Profile | None = None,
    *,
    snapshot: bool = False,
    accept_partial: bool = False,
    confirm: bool = False,
    progress: Progress | None = None,
    settings: Settings | None = None,
    actor: Actor = SYSTEM,
) -> ImportSummary:
    """Merge roster rows into the effective-dated history (rules: ``domain.roster``).

    ``snapshot``: the files are the complete roster as of their single effective_date;
    employees missing from it are separated as of that date. A snapshot that would separate
    more than 10 % or move more than 20 % of active employees between org units (settings
    ``roster_hold_separated_share`` / ``roster_hold_moved_share``) raises ``ImportHeld``
    unless ``confirm`` is given (RELIABILITY T28)."""
    batch, profile, settings = start_batch(ImportKind.ROSTER, paths, profile, settings, actor)
    protected: set[str] = set()  # ids on rejected rows: never separated by a snapshot

    def remember(raw: dict[str, str | None]) -> None:
        try:
            if (employee_id := parse_id(raw.get("employee_id"), "employee_id")) is not None:
                protected.add(employee_id)
        except RowError:
            pass

    date_format = profile.source.date_format
    rows = batch.validate(
        read_rows(batch.kind, paths, profile, settings, progress),
        lambda raw: validate_roster_row(raw, date_format=date_format),
        remember,
    )
    day = _snapshot_day(batch, rows, accept_partial) if snapshot else None
    named = {r.employee_id for _, r in rows}
    rows, repeats = dedupe(batch, rows, lambda r: (r.employee_id, r.effective_date), "employee_id")
    rows = batch.drop(
        rows, badge_conflicts([r for _, r in rows]), Rejection("duplicate_badge", "badge_id")
    )
    with write_transaction(engine) as conn:
        state, keys = load_roster_state(conn), load_keys(conn)
        for column, known, reason in (
            ("org_unit", keys.org_units, "unknown_org_unit"),
            ("duty_station", keys.offices, "unknown_office"),
        ):
            bad = [
                i
                for i, (_, r) in enumerate(rows)
                if (v := getattr(r.values, column)) is not None and v not in known
            ]
            rows = batch.drop(rows, bad, Rejection(reason, column))
        bad_sup = unknown_supervisors([r for _, r in rows], state.employees.keys())
        rows = batch.drop(rows, bad_sup, Rejection("unknown_supervisor", "supervisor_id"))
        _check_supervisor_loops(state, rows)
        batch.check(accept_partial)
        values: list[RosterRow] = [r for _, r in rows]
        protected |= named - {r.employee_id for r in values}  # every row of theirs rejected
        if day is not None:
            radius = blast_radius(state, values, day, protected)
            limits = (settings.roster_hold_separated_share, settings.roster_hold_moved_share)
            if radius.exceeds(*limits) and not confirm:
                batch.write_quarantine()
                raise ImportHeld(
                    f"{radius.describe()}; nothing was stored. If the file really is the "
                    "complete roster, run the import again with --confirm."
                )
        outcome = apply_roster(state, values, snapshot_day=day, protected=protected)
        save_roster(conn, state, keys)
        batch.record(conn, outcome.changed_rows)
    notes = [
        f"{n} {what}"
        for n, what in (
            (outcome.hired, "new employees"),
            (len(state.touched) - outcome.hired, "stored employees changed"),
            (outcome.separated, f"employees separated as of {day}"),
        )
        if n
    ]
    return batch.summary(outcome.changed_rows, repeats + outcome.unchanged_rows, notes)


def _snapshot_day(batch: Batch, rows: list[tuple[Where, RosterRow]], accept_partial: bool) -> date:
    """The one effective_date of a snapshot; an empty or mixed-date snapshot is refused
    whole, because separating everyone not listed is only safe for a complete file."""
    if batch.rows_read == 0:
        raise InputFileError(
            Location(batch.paths[0]),
            "the roster snapshot has no rows; importing it would separate every employee",
        )
    if not rows:
        batch.check(accept_partial=False)
    first_where, first = rows[0]
    for where, row in rows:
        if row.effective_date != first.effective_date:
            raise InputFileError(
                Location(where.file, where.line, "effective_date"),
                "a roster snapshot has one effective_date for every row; this one differs "
                f"from line {first_where.line} of {first_where.file.name}",
            )
    return first.effective_date


def _check_supervisor_loops(state: RosterState, rows: list[tuple[Where, RosterRow]]) -> None:
    """Supervisor chains as they will stand: stored current supervisors, overridden by
    each employee's newest row in this import."""
    edges: dict[str, str | None] = {}
    for employee in state.employees.values():
        current = next((v for v in employee.versions if v.end is None), None)
        edges[employee.employee_id] = current.values.supervisor_id if current else None
    where: dict[str, Where] = {}
    for w, row in sorted(rows, key=lambda x: x[1].effective_date):
        edges[row.employee_id] = row.values.supervisor_id
        where[row.employee_id] = w
    cycle = find_cycle(edges)
    lines = [where[e] for e in cycle or () if e in where]
    if lines:  # a loop made only of stored rows is not this file's doing
        raise loop_error(lines[0], "supervisor_id", "supervisor", [w.line for w in lines])


__all__ = ["import_offices", "import_org_units", "import_roster"]
