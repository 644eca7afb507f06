"""What an import reports back to whoever ran it (CLI, API, demo)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class RejectionClass:
    """All rows rejected for one reason: how many, and where the first one is."""

    reason: str  # stable code, e.g. "unknown_employee"
    message: str  # one sentence, no row contents
    count: int
    first_file: Path
    first_line: int
    column: str | None


@dataclass
class ImportSummary:
    kind: str
    files: list[Path]
    batch_id: str | None = None
    rows_read: int = 0
    rows_stored: int = 0
    duplicates: int = 0  # rows already stored (earlier imports) or repeated within the batch
    rejections: list[RejectionClass] = field(default_factory=list)
    quarantine_file: Path | None = None
    stored: bool = False  # False when rows were rejected and --accept-partial was not given
    notes: list[str] = field(default_factory=list)  # e.g. "history updated for 120 employees"

    @property
    def rows_rejected(self) -> int:
        return sum(r.count for r in self.rejections)
