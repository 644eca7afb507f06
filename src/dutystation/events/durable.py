"""Writes that survive a power cut: temp name, fsync, rename, fsync of the directory.

A rename is atomic on POSIX file systems, but only durable once the directory entry is
flushed; without the directory fsync a crash can bring back the old name."""

from __future__ import annotations

import os
from pathlib import Path


def fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def make_dirs(path: Path) -> None:
    """Create ``path`` and its missing parents, flushing each new entry to its parent."""
    missing: list[Path] = []
    current = path
    while not current.exists():
        missing.append(current)
        current = current.parent
    for directory in reversed(missing):
        directory.mkdir(exist_ok=True)
        fsync_dir(directory.parent)


def publish(temp: Path, final: Path) -> None:
    """Move a fully written file to its final name durably (the directory is synced by
    the caller, once per directory, after the last file)."""
    fsync_file(temp)
    os.replace(temp, final)


def write_atomically(final: Path, data: bytes) -> None:
    """Write ``final`` so that it either keeps its old state or holds all of ``data``."""
    temp = final.with_name(f".{final.name}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(temp, final)
    fsync_dir(final.parent)
