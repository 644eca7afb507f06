"""Writing a report file: it appears whole or not at all, readable by its owner only.

Reports carry personal data (names, statuses, reasons), so a file is created with mode
0600 (``mkstemp``), written beside its destination, flushed to disk and renamed over it: a
reader never sees half a report, and a failed run leaves the previous file untouched."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO


def write_atomically(path: Path, write: Callable[[BinaryIO], None]) -> Path:
    """Call ``write`` with a binary file that becomes ``path`` once it returns."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
