"""Kept period results: the evaluation's rows of one whole period, stored under the key of
everything they were computed from (``services/kept_periods.py`` makes the keys).

Layout under ``data_dir/periods``: ``<kind>/<label>/<key>.parquet``, e.g.
``week/2025-W07/3f1c….parquet``. A file is written to a temporary name, flushed and
renamed, so a reader sees a whole file or none; writing a label's new key removes its
other keys (results computed from inputs that have since changed), and the temporary
files of writers that died more than an hour ago. Nothing else refers to these files:
deleting the folder only costs the next evaluation its time.

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
import time
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

_EVIDENCE = b"dutystation.has_evidence"
_KEY = re.compile(r"[0-9a-f]{64}")
_LABEL = re.compile(r"[0-9A-Za-z_-]{1,20}")
_FLAGS = {b"1": True, b"0": False}  # anything else: not known
# A temporary file older than this is a dead writer's (a write takes seconds at most).
_ABANDONED_SECONDS = 3600


class PeriodResults:
    """The kept results under ``root`` (``data_dir/periods``)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, kind: str, label: str, key: str) -> Path:
        # Labels and keys come from our own code; checked anyway, as they become paths.
        if not (_KEY.fullmatch(key) and _LABEL.fullmatch(label) and _LABEL.fullmatch(kind)):
            raise ValueError(f"not a period result name: {kind}/{label}/{key}")
        return self.root / kind / label / f"{key}.parquet"

    def read(self, kind: str, label: str, key: str) -> tuple[Any, bool | None] | None:
        """The rows kept for ``kind``/``label`` under ``key`` and whether the period had any
        evidence (None: not known); None when nothing is kept under that key."""
        path = self._path(kind, label, key)
        try:
            table = pq.read_table(path)
        except FileNotFoundError:  # never written, or replaced since the key was made
            return None
        except (OSError, pa.ArrowInvalid):  # damaged (a disk error, an editor): recompute
            return None
        metadata = table.schema.metadata or {}
        return table.replace_schema_metadata(None), _FLAGS.get(metadata.get(_EVIDENCE, b""))

    def write(self, kind: str, label: str, key: str, rows: Any, has_evidence: bool | None) -> None:
        """Keep ``rows`` (an Arrow table) for ``kind``/``label`` under ``key``, with whether
        the period had evidence (None: not known)."""
        path = self._path(kind, label, key)
        # Level by level: ``mkdir(parents=True)`` gives the parents the umask's mode.
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        for folder in (path.parent.parent, path.parent):
            folder.mkdir(mode=0o700, exist_ok=True)
        flag = {True: b"1", False: b"0", None: b"?"}[has_evidence]
        table = rows.replace_schema_metadata({_EVIDENCE: flag})
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
        abandoned = time.time() - _ABANDONED_SECONDS
        for temporary_file in path.parent.glob(".*.tmp"):
            with contextlib.suppress(FileNotFoundError):
                if temporary_file.stat().st_mtime < abandoned:
                    temporary_file.unlink()

    def clear(self) -> None:
        """Drop every kept result (after a roll-up rebuild: rows made from a roll-up
        that was wrong must not outlive it)."""
        shutil.rmtree(self.root, ignore_errors=True)

    def files(self) -> list[Path]:
        """Every kept file (for ``du``-like reports and tests)."""
        return sorted(self.root.glob("*/*/*.parquet")) if self.root.is_dir() else []
