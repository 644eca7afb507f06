"""Import use cases for org units, offices and the roster.

Each import reads its files through ``ingest.sources.open_source``, validates rows with the
pure functions of ``domain.org`` / ``domain.roster``, and then, in ONE serialised database
transaction, loads the stored state, checks references, and writes only what changed:

* any rejected row without ``accept_partial`` -> nothing is stored, a quarantine CSV
  (file, line, column, reason, message; never the values) is written and
  ``ImportRejected`` raised with one line per reason;
* with ``accept_partial`` the good rows land and the summary lists the rejections;
* a loop in the org tree or the supervisor chain refuses the whole file (``InputFileError``);
* re-running an import changes nothing and reports every row as already stored.
"""

from __future__ import annotations

import contextlib
import gc
import secrets
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, insert

from dutystation.domain.org import (
    OfficeRow,
    OrgUnitRow,
    Rejection,
    RowError,
    deduplicate,
    find_cycle,
    parse_id,
    validate_office_row,
    validate_org_unit_row,
)
from dutystation.domain.roster import (
    RosterRow,
    RosterState,
    apply_roster,
    badge_conflicts,
    blast_radius,
    unknown_supervisors,
    validate_roster_row,
)
from dutystation.errors import ImportHeld, ImportRejected, InputFileError, Location
from dutystation.ingest.fields import ImportKind
from dutystation.ingest.profiles import Profile, default_profile
from dutystation.ingest.sources import LINE, open_source
from dutystation.ingest.summary import ImportSummary, RejectionClass
from dutystation.reports.spreadsheet_safety import write_safe_csv
from dutystation.services.progress import NullProgress, Progress
from dutystation.settings import Settings, load_settings
from dutystation.store.db import write_transaction
from dutystation.store.org_writes import load_offices, load_org_units, save_offices, save_org_units
from dutystation.store.roster_writes import load_keys, load_roster_state, save_roster
from dutystation.store.schema import ImportBatch

T = TypeVar("T")
_SLICE = 20_000
_MALFORMED = "\x00malformed"  # marker key: no canonical field can have this name


@dataclass(frozen=True, slots=True)
class Where:
    file: Path
    line: int


@dataclass
class _Batch:
    """Book-keeping shared by the three imports: rejections, counts, quarantine."""

    kind: ImportKind
    paths: list[Path]
    settings: Settings
    id: str = field(
        default_factory=lambda: f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"
    )
    rows_read: int = 0
    rejected: list[tuple[Where, Rejection]] = field(default_factory=list)

    def reject(self, where: Where, rejection: Rejection) -> None:
        self.rejected.append((where, rejection))

    def validate(
        self,
        rows: Iterable[tuple[Where, dict[str, str | None]]],
        validator: Callable[[dict[str, str | None]], T | Rejection],
        on_reject: Callable[[dict[str, str | None]], None] | None = None,
    ) -> list[tuple[Where, T]]:
        valid: list[tuple[Where, T]] = []
        for where, raw in rows:
            self.rows_read += 1
            result = Rejection("malformed_row", None) if _MALFORMED in raw else validator(raw)
            if isinstance(result, Rejection):
                self.reject(where, result)
                if on_reject is not None:
                    on_reject(raw)
            else:
                valid.append((where, result))
        return valid

    def drop(
        self, rows: list[tuple[Where, T]], indices: Iterable[int], rejection: Rejection
    ) -> list[tuple[Where, T]]:
        bad = set(indices)
        for i in sorted(bad):
            self.reject(rows[i][0], rejection)
        return [r for i, r in enumerate(rows) if i not in bad] if bad else rows

    def classes(self) -> list[RejectionClass]:
        groups: dict[tuple[str, str | None], RejectionClass] = {}
        for where, r in sorted(self.rejected, key=lambda x: (str(x[0].file), x[0].line)):
            group = groups.get((r.reason, r.column))
            if group is None:
                groups[(r.reason, r.column)] = RejectionClass(
                    r.reason, r.message, 1, where.file, where.line, r.column
                )
            else:
                group.count += 1
        return sorted(groups.values(), key=lambda g: (-g.count, g.reason))

    def write_quarantine(self) -> Path | None:
        """Where each rejected row is and why; never the row's values (they may be
        personal data and the file outlives the import)."""
        if not self.rejected:
            return None
        folder = self.settings.quarantine_dir
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{self.id}-{self.kind.value}.csv"
        ordered = sorted(self.rejected, key=lambda x: (str(x[0].file), x[0].line))
        write_safe_csv(
            path,
            ["file", "line", "column", "reason", "message"],
            ([str(w.file), w.line, r.column or "", r.reason, r.message] for w, r in ordered),
        )
        return path

    def check(self, accept_partial: bool) -> None:
        """Refuse the batch (raising inside the transaction rolls it back)."""
        if self.rejected and not accept_partial:
            quarantine = self.write_quarantine()
            lines = [
                f"{self.kind.value} import stored nothing: {len(self.rejected)} of "
                f"{self.rows_read} rows rejected (list: {quarantine}; re-run with "
                "--accept-partial to store the valid rows)"
            ]
            for c in self.classes():
                column = f", column {c.column!r}" if c.column else ""
                lines.append(
                    f"  {c.reason} x{c.count}: {c.message} (first: {c.first_file} line "
                    f"{c.first_line}{column})"
                )
            raise ImportRejected("\n".join(lines), quarantine)

    def record(self, conn: Connection, stored: int) -> None:
        conn.execute(
            insert(ImportBatch),
            {
                "id": self.id,
                "kind": self.kind.value,
                "created_at": datetime.now(UTC),
                "files": "\n".join(p.name for p in self.paths),
                "rows_read": self.rows_read,
                "rows_stored": stored,
                "rows_rejected": len(self.rejected),
            },
        )

    def summary(self, stored: int, duplicates: int, notes: list[str]) -> ImportSummary:
        return ImportSummary(
            kind=self.kind.value,
            files=list(self.paths),
            batch_id=self.id,
            rows_read=self.rows_read,
            rows_stored=stored,
            duplicates=duplicates,
            rejections=self.classes(),
            quarantine_file=self.write_quarantine(),
            stored=True,
            notes=notes,
        )


def _read(
    kind: ImportKind,
    paths: Sequence[Path],
    profile: Profile,
    settings: Settings,
    progress: Progress | None,
) -> Iterator[tuple[Where, dict[str, str | None]]]:
    if not paths:
        raise InputFileError(Location(Path("-")), "no input file was given")
    progress = progress or NullProgress()
    sources = [open_source(p, profile, batch_rows=settings.import_batch_rows) for p in paths]
    progress.start(f"{kind.value} import", sum(s.info.size_bytes for s in sources))
    done = 0
    for source in sources:
        path = source.info.path
        for batch in source.batches():
            names = [n for n in batch.schema.names if n != LINE]
            # Python objects for a slice at a time: a 1M-row batch as lists of str would
            # cost more memory than the whole roster state.
            for start in range(0, batch.num_rows, _SLICE):
                part = batch.slice(start, _SLICE)
                columns = [part.column(n).to_pylist() for n in names]
                lines = part.column(LINE).to_pylist()
                for line, values in zip(lines, zip(*columns, strict=True), strict=True):
                    # A record without any value is a blank line, not a row (C2: normalise).
                    if any(v is not None for v in values):
                        yield Where(path, line), dict(zip(names, values, strict=True))
            # The reader may not count bytes; then the bar jumps per file, not per batch.
            progress.advance(rows=batch.num_rows, bytes_done=done + source.bytes_read)
        # Rows with the wrong number of fields never reach a batch; the reader lists them.
        for line, _detail in source.malformed_rows:
            yield Where(path, line), {_MALFORMED: None}
        done += source.info.size_bytes
        progress.advance(rows=0, bytes_done=done)


def _dedupe(
    batch: _Batch, rows: list[tuple[Where, T]], key: Callable[[T], Any], column: str
) -> tuple[list[tuple[Where, T]], int]:
    result = deduplicate((r for _, r in rows), key)
    batch.drop(rows, result.conflicting, Rejection("conflicting_duplicate", column))
    kept = sorted(result.kept.values(), key=lambda pair: pair[1])
    return [(rows[i][0], row) for row, i in kept], result.repeats


def _loop_error(where: Where, column: str, what: str, lines: list[int]) -> InputFileError:
    shown = ", ".join(str(n) for n in sorted(lines)[:10])
    return InputFileError(
        Location(where.file, where.line, column),
        f"the {what} chain loops back on itself (rows on the loop: lines {shown}); "
        "nothing was stored",
    )


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """An import builds millions of small acyclic objects (rows, history versions); the
    cyclic collector would rescan all of them every few thousand allocations and double
    the run time. Process-wide, so it is switched back on however the import ends."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _setup(
    kind: ImportKind, paths: Sequence[Path], profile: Profile | None, settings: Settings | None
) -> tuple[_Batch, Profile, Settings]:
    settings = settings or load_settings()
    return _Batch(kind, list(paths), settings), profile or default_profile(kind), settings


@_gc_paused()
def import_org_units(
    engine: Engine,
    paths: Sequence[Path],
    profile: Profile | None = None,
    *,
    accept_partial: bool = False,
    progress: Progress | None = None,
    settings: Settings | None = None,
) -> ImportSummary:
    """Upsert org units by code; parents may come later in the same file."""
    batch, profile, settings = _setup(ImportKind.ORG_UNITS, paths, profile, settings)
    rows = batch.validate(
        _read(batch.kind, paths, profile, settings, progress), validate_org_unit_row
    )
    rows, repeats = _dedupe(batch, rows, lambda r: r.code, "org_unit")
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
            raise _loop_error(loop[0], "parent", "org unit parent", [w.line for w in loop])
        batch.check(accept_partial)
        values: list[OrgUnitRow] = [r for _, r in rows]
        changed = save_org_units(conn, values, stored)
        batch.record(conn, changed)
    notes = [f"{changed} org units added or changed"] if changed else []
    return batch.summary(changed, repeats + len(values) - changed, notes)


@_gc_paused()
def import_offices(
    engine: Engine,
    paths: Sequence[Path],
    profile: Profile | None = None,
    *,
    accept_partial: bool = False,
    progress: Progress | None = None,
    settings: Settings | None = None,
) -> ImportSummary:
    """Upsert offices by site_id. Offices are never deleted by an import."""
    batch, profile, settings = _setup(ImportKind.OFFICES, paths, profile, settings)
    rows = batch.validate(
        _read(batch.kind, paths, profile, settings, progress), validate_office_row
    )
    rows, repeats = _dedupe(batch, rows, lambda r: r.site_id, "site_id")
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


@_gc_paused()
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
) -> ImportSummary:
    """Merge roster rows into the effective-dated history (rules: ``domain.roster``).

    ``snapshot``: the files are the complete roster as of their single effective_date;
    employees missing from it are separated as of that date. A snapshot that would separate
    more than 10 % or move more than 20 % of active employees between org units raises
    ``ImportHeld`` unless ``confirm`` is given (RELIABILITY T28)."""
    batch, profile, settings = _setup(ImportKind.ROSTER, paths, profile, settings)
    protected: set[str] = set()  # ids on rejected rows: never separated by a snapshot

    def remember(raw: dict[str, str | None]) -> None:
        try:
            if (employee_id := parse_id(raw.get("employee_id"), "employee_id")) is not None:
                protected.add(employee_id)
        except RowError:
            pass

    date_format = profile.source.date_format
    rows = batch.validate(
        _read(batch.kind, paths, profile, settings, progress),
        lambda raw: validate_roster_row(raw, date_format=date_format),
        remember,
    )
    day = _snapshot_day(batch, rows, accept_partial) if snapshot else None
    named = {r.employee_id for _, r in rows}
    rows, repeats = _dedupe(batch, rows, lambda r: (r.employee_id, r.effective_date), "employee_id")
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
            if radius.exceeds() and not confirm:
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


def _snapshot_day(batch: _Batch, rows: list[tuple[Where, RosterRow]], accept_partial: bool) -> date:
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
        raise _loop_error(lines[0], "supervisor_id", "supervisor", [w.line for w in lines])


__all__ = ["import_offices", "import_org_units", "import_roster"]
