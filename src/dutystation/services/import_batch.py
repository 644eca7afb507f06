"""Book-keeping shared by the org-unit, office and roster imports: reading source rows as
Python values, counting and classifying rejections, the quarantine file, the import-log
record and the summary. The use cases themselves are in ``import_records``."""

from __future__ import annotations

import contextlib
import gc
import secrets
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Connection, insert

from dutystation.domain.access import SYSTEM, Actor
from dutystation.domain.org import deduplicate
from dutystation.domain.values import Rejection
from dutystation.errors import ImportRejected, InputFileError, Location
from dutystation.ingest.fields import ImportKind
from dutystation.ingest.limits import limits_from
from dutystation.ingest.profiles import Profile, default_profile
from dutystation.ingest.sources import LINE, open_source
from dutystation.ingest.summary import ImportSummary, RejectionClass
from dutystation.reports.spreadsheet_safety import write_safe_csv
from dutystation.services.audit import Change
from dutystation.services.audit import record as record_audit
from dutystation.services.progress import NullProgress, Progress
from dutystation.settings import Settings, load_settings
from dutystation.store.schema import ImportBatch
from dutystation.store.snapshot_rows import mark_stale

T = TypeVar("T")
_SLICE = 20_000
_MALFORMED = "\x00malformed"  # marker key: no canonical field can have this name


@dataclass(frozen=True, slots=True)
class Where:
    file: Path
    line: int


@dataclass
class Batch:
    """Book-keeping shared by the three imports: rejections, counts, quarantine."""

    kind: ImportKind
    paths: list[Path]
    settings: Settings
    id: str = field(
        default_factory=lambda: f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"
    )
    rows_read: int = 0
    rejected: list[tuple[Where, Rejection]] = field(default_factory=list)
    actor: Actor = SYSTEM  # who runs the import: named in its audit record

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
            raise ImportRejected("\n".join(lines), quarantine, self.classes())

    def record(self, conn: Connection, stored: int) -> None:
        """The import-log row and the audit record, in the batch's own transaction: a
        committed batch always has both, a rolled-back one neither."""
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
        after = {
            "files": [p.name for p in self.paths],
            "rows_read": self.rows_read,
            "rows_stored": stored,
            "rows_rejected": len(self.rejected),
        }
        change = Change(f"import.{self.kind.value}", "import_batch", self.id, None, after)
        record_audit(conn, self.actor, change)
        if stored:
            mark_stale(conn, change.action)  # the evaluation snapshot no longer holds it

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


def read_rows(
    kind: ImportKind,
    paths: Sequence[Path],
    profile: Profile,
    settings: Settings,
    progress: Progress | None,
) -> Iterator[tuple[Where, dict[str, str | None]]]:
    if not paths:
        raise InputFileError(Location(Path("-")), "no input file was given")
    progress = progress or NullProgress()
    limits = limits_from(settings)
    sources = [
        open_source(p, profile, batch_rows=settings.import_batch_rows, limits=limits) for p in paths
    ]
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


def dedupe(
    batch: Batch, rows: list[tuple[Where, T]], key: Callable[[T], Any], column: str
) -> tuple[list[tuple[Where, T]], int]:
    result = deduplicate((r for _, r in rows), key)
    batch.drop(rows, result.conflicting, Rejection("conflicting_duplicate", column))
    kept = sorted(result.kept.values(), key=lambda pair: pair[1])
    return [(rows[i][0], row) for row, i in kept], result.repeats


def loop_error(where: Where, column: str, what: str, lines: list[int]) -> InputFileError:
    shown = ", ".join(str(n) for n in sorted(lines)[:10])
    return InputFileError(
        Location(where.file, where.line, column),
        f"the {what} chain loops back on itself (rows on the loop: lines {shown}); "
        "nothing was stored",
    )


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
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


def start_batch(
    kind: ImportKind,
    paths: Sequence[Path],
    profile: Profile | None,
    settings: Settings | None,
    actor: Actor = SYSTEM,
) -> tuple[Batch, Profile, Settings]:
    settings = settings or load_settings()
    batch = Batch(kind, list(paths), settings, actor=actor)
    return batch, profile or default_profile(kind), settings
