"""Kept period results: the evaluation's rows of one whole period, stored under the key of
everything they were computed from (``services/kept_periods.py`` makes the keys).

Layout under ``data_dir/periods``: ``<kind>/<label>/<key>.parquet``, e.g.
``week/2025-W07/3f1c….parquet``. A file is written to a temporary name, flushed and
renamed, so a reader sees a whole file or none; writing a label's new key removes its
other keys (results computed from inputs that have since changed). Nothing else refers
to these files: deleting the folder only costs the next evaluation its time.

The rows hold names and statuses, like the snapshot tables: the folder and files are
private to the account that runs dutystation (0700 / 0600). Reasons never name a
confidential exemption category (the evaluation writes "confidential category").
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

_EVIDENCE = b"dutystation.has_evidence"
_KEY = re.compile(r"[0-9a-f]{64}")
_LABEL = re.compile(r"[0-9A-Za-z_-]{1,20}")


class PeriodResults:
    """The kept results under ``root`` (``data_dir/periods``)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, kind: str, label: str, key: str) -> Path:
        # Labels and keys come from our own code; checked anyway, as they become paths.
        if not (_KEY.fullmatch(key) and _LABEL.fullmatch(label) and _LABEL.fullmatch(kind)):
            raise ValueError(f"not a period result name: {kind}/{label}/{key}")
        return self.root / kind / label / f"{key}.parquet"

    def read(self, kind: str, label: str, key: str) -> tuple[Any, bool] | None:
        """The rows kept for ``kind``/``label`` under ``key`` and whether the period had any
        evidence; None when nothing is kept under that key."""
        path = self._path(kind, label, key)
        try:
            table = pq.read_table(path)
        except FileNotFoundError:  # never written, or replaced since the key was made
            return None
        except (OSError, pa.ArrowInvalid):  # damaged (a disk error, an editor): recompute
            return None
        metadata = table.schema.metadata or {}
        return table.replace_schema_metadata(None), metadata.get(_EVIDENCE) == b"1"

    def write(self, kind: str, label: str, key: str, rows: Any, has_evidence: bool) -> None:
        """Keep ``rows`` (an Arrow table) for ``kind``/``label`` under ``key``."""
        path = self._path(kind, label, key)
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        table = rows.replace_schema_metadata({_EVIDENCE: b"1" if has_evidence else b"0"})
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".tmp")
        try:
            with os.fdopen(handle, "wb") as sink:
                pq.write_table(table, sink, compression="zstd")
                sink.flush()
                os.fsync(sink.fileno())
            os.replace(temporary, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)
            raise
        for other in path.parent.glob("*.parquet"):
            if other != path:
                with contextlib.suppress(FileNotFoundError):  # another writer got there first
                    other.unlink()

    def clear(self) -> None:
        """Drop every kept result (after a roll-up rebuild: rows made from a roll-up
        that was wrong must not outlive it)."""
        shutil.rmtree(self.root, ignore_errors=True)

    def files(self) -> list[Path]:
        """Every kept file (for ``du``-like reports and tests)."""
        return sorted(self.root.glob("*/*/*.parquet")) if self.root.is_dir() else []
