"""The record of one committed batch. Writing it is the commit: a data file that no
manifest lists does not exist for readers."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from dutystation.events.schemas import EventKind

FORMAT_VERSION = 1


@dataclass(frozen=True)
class SourceFile:
    path: str
    sha256: str
    size_bytes: int

    @classmethod
    def of(cls, path: Path) -> SourceFile:
        digest = hashlib.sha256()
        size = 0
        with path.open("rb") as fh:
            while chunk := fh.read(4 << 20):
                digest.update(chunk)
                size += len(chunk)
        return cls(str(path), digest.hexdigest(), size)


@dataclass(frozen=True)
class PartitionFile:
    path: str  # relative to the events directory, e.g. badges/month=2026-03/<batch>.parquet
    month: str  # YYYY-MM
    rows: int


@dataclass(frozen=True)
class Restatement:
    """Roll-up rows of one month that a batch changed after they had been published by an
    earlier batch: a late tap, a corrected timecard. Recorded, never silent."""

    month: str  # YYYY-MM
    first_day: str  # ISO dates of the earliest and latest day changed
    last_day: str
    employees: int
    days_changed: int


@dataclass(frozen=True)
class Manifest:
    batch_id: str
    kind: EventKind
    sequence: int  # strictly increasing per store; T&A corrections: latest sequence wins
    created_at: datetime
    profile: str
    sources: list[SourceFile]
    files: list[PartitionFile]
    rows_read: int = 0
    duplicates: int = 0
    rejected: int = 0
    notes: list[str] = field(default_factory=list)
    # The employee-day roll-up generations this batch wrote (events/rollups.py): each is
    # the whole roll-up of its month as of this batch, replacing the previous one.
    rollups: list[PartitionFile] = field(default_factory=list)
    # Days the batch changed after they were first rolled up (late or corrected events).
    restatements: list[Restatement] = field(default_factory=list)
    # "import", or "rollup-rebuild" for a batch that only rewrote roll-ups from raw events.
    purpose: str = "import"

    def without_rollups(self) -> Manifest:
        """This batch as a reader that ignores roll-ups sees it."""
        return replace(self, rollups=[], restatements=[])

    @property
    def rows_stored(self) -> int:
        return sum(f.rows for f in self.files)

    def to_json(self) -> bytes:
        data: dict[str, Any] = asdict(self)
        data["format"] = FORMAT_VERSION
        data["kind"] = str(self.kind)
        data["created_at"] = self.created_at.isoformat()
        data["rows_stored"] = self.rows_stored
        return json.dumps(data, indent=2, sort_keys=True).encode()

    @classmethod
    def from_json(cls, raw: bytes) -> Manifest:
        data = json.loads(raw)
        if data.get("format") != FORMAT_VERSION:
            raise ValueError(f"unknown manifest format {data.get('format')!r}")
        return cls(
            batch_id=data["batch_id"],
            kind=EventKind(data["kind"]),
            sequence=int(data["sequence"]),
            created_at=datetime.fromisoformat(data["created_at"]),
            profile=data["profile"],
            sources=[SourceFile(**s) for s in data["sources"]],
            files=[PartitionFile(**f) for f in data["files"]],
            rows_read=int(data.get("rows_read", 0)),
            duplicates=int(data.get("duplicates", 0)),
            rejected=int(data.get("rejected", 0)),
            notes=list(data.get("notes", [])),
            rollups=[PartitionFile(**f) for f in data.get("rollups", [])],
            restatements=[Restatement(**r) for r in data.get("restatements", [])],
            purpose=str(data.get("purpose", "import")),
        )
