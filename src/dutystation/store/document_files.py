"""Content-addressed files outside the database: ``root/ab/cdef...`` for address
``abcdef...`` (64 hex digits). Written once, whole or not at all (temp file in the same
folder, fsync, atomic rename, folder fsync), mode 0600 in 0700 folders.

The same address is the same content, so a second write of it only refreshes the file's
modification time: ``unreferenced`` spares files younger than a grace period, which
keeps a document saved just before a purge (its record not yet committed) safe.
"""

from __future__ import annotations

import os
import re
import secrets
import time
from collections.abc import Collection, Iterator
from pathlib import Path

from dutystation.errors import NotFound, StoreError
from dutystation.events.durable import fsync_dir
from dutystation.store.medical_crypto import make_private_dirs

ADDRESS = re.compile(r"[0-9a-f]{64}")


def path_for(root: Path, address: str) -> Path:
    if not ADDRESS.fullmatch(address):
        # Addresses come back from callers; anything else could name a path elsewhere.
        raise NotFound(f"no stored document {address[:16]!r}")
    return root / address[:2] / address[2:]


def exists(root: Path, address: str) -> bool:
    return path_for(root, address).is_file()


def touch(root: Path, address: str) -> bool:
    """Refresh the time of a stored file (see ``unreferenced``); False if there is none."""
    try:
        os.utime(path_for(root, address))
    except FileNotFoundError:
        return False
    return True


def write_once(root: Path, address: str, data: bytes) -> bool:
    """Store ``data`` under ``address`` unless it is there already; True if written."""
    final = path_for(root, address)
    if touch(root, address):
        return False
    temp = final.with_name(f".{final.name[:16]}.{secrets.token_hex(4)}.tmp")
    try:
        make_private_dirs(final.parent)
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.fchmod(fd, 0o600)
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temp, final)
        fsync_dir(final.parent)
    except OSError as exc:
        temp.unlink(missing_ok=True)
        raise StoreError(
            f"the document store {root} cannot be written ({exc.strerror or type(exc).__name__}); "
            "nothing was stored"
        ) from None
    return True


def read(root: Path, address: str) -> bytes:
    path = path_for(root, address)
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise NotFound(f"no stored document {address[:16]}") from None
    except OSError as exc:
        raise StoreError(
            f"the document store {root} cannot be read ({exc.strerror or type(exc).__name__})"
        ) from None


def addresses(root: Path) -> Iterator[tuple[str, Path]]:
    """Every stored address and its file (temp files excluded)."""
    if not root.is_dir():
        return
    for folder in sorted(root.iterdir()):
        if not (folder.is_dir() and len(folder.name) == 2):
            continue
        for file in sorted(folder.iterdir()):
            address = folder.name + file.name
            if ADDRESS.fullmatch(address):
                yield address, file


def unreferenced(root: Path, keep: Collection[str], *, grace_seconds: float) -> list[Path]:
    """Files whose address is not in ``keep`` and that nobody wrote within the grace, and
    temp files a killed writer left behind."""
    cutoff = time.time() - grace_seconds
    stored = [path for address, path in addresses(root) if address not in keep]
    leftovers = list(root.glob("??/.*.tmp")) if root.is_dir() else []
    return [path for path in stored + leftovers if path.stat().st_mtime < cutoff]


def remove(paths: Collection[Path]) -> int:
    folders = {path.parent for path in paths}
    for path in paths:
        path.unlink(missing_ok=True)
    for folder in folders:
        fsync_dir(folder)
    return len(paths)


def holds_any(root: Path) -> bool:
    return next(addresses(root), None) is not None
