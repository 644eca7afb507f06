"""Two storage faults told apart from a bug, whatever layer met them: the disk is full
(``StoreFull``), or the database file is damaged (``StoreDamaged``). Each entry point
answers them as what they are: 507 and 503 from the API and the dashboard, one sentence and
exit status 1 from the command line (RELIABILITY T11); anything else stays a 500.

The fault is found on the exception or anywhere in its chain (``__cause__``,
``__context__``, a SQLAlchemy error's ``orig``): errors translated with ``raise ... from
None`` keep the original as their context, so a ``StoreError`` raised over an ``OSError``
still tells which one it was. The texts of the originals are never shown: they name files.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator

from dutystation.errors import StoreDamaged, StoreError, StoreFull

DISK_FULL = "the disk that holds dutystation's data is full; nothing was stored"
DAMAGED = (
    "the database is damaged or is not a dutystation database, so nothing was read or "
    "changed; restore it from a backup"
)
_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})
# What DuckDB and Arrow say when a write met ENOSPC: they raise their own exception types,
# with the system's sentence (and DuckDB the errno) in the text.
_FULL_TEXTS = (os.strerror(errno.ENOSPC), os.strerror(errno.EDQUOT), '"errno":"28"')
# SQLite result codes (primary: the low byte of an extended code).
_SQLITE_FULL = 13
_SQLITE_DAMAGED = frozenset({11, 26})  # SQLITE_CORRUPT, SQLITE_NOTADB
# PostgreSQL SQLSTATEs: disk_full; data_corrupted, index_corrupted.
_PG_FULL = "53100"
_PG_DAMAGED = frozenset({"XX001", "XX002"})
_DEPTH = 20  # links followed at most: chains are short, cycles are possible


def chain(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and every exception it was raised from or during, each once."""
    seen: set[int] = set()
    todo: list[BaseException] = [exc]
    while todo and len(seen) < _DEPTH:
        link = todo.pop()
        if id(link) in seen:
            continue
        seen.add(id(link))
        yield link
        for nxt in (link.__cause__, link.__context__, getattr(link, "orig", None)):
            if isinstance(nxt, BaseException):
                todo.append(nxt)


def _full(link: BaseException) -> bool:
    if isinstance(link, StoreFull):
        return True
    if isinstance(link, OSError) and link.errno in _FULL_ERRNOS:
        return True
    code = getattr(link, "sqlite_errorcode", None)
    if isinstance(code, int) and code & 0xFF == _SQLITE_FULL:
        return True
    if getattr(link, "sqlstate", None) == _PG_FULL:
        return True
    if isinstance(link, StoreError):
        return False  # our own sentences: their words are not the system's
    text = str(link)
    return any(words in text for words in _FULL_TEXTS)


def _damaged(link: BaseException) -> bool:
    if isinstance(link, StoreDamaged):
        return True
    code = getattr(link, "sqlite_errorcode", None)
    if isinstance(code, int) and code & 0xFF in _SQLITE_DAMAGED:
        return True
    return getattr(link, "sqlstate", None) in _PG_DAMAGED


def fault_of(exc: BaseException) -> StoreFull | StoreDamaged | None:
    """The storage fault ``exc`` comes from, as the error to raise or answer; None when it
    is neither (a bug, an unreachable server, a lock: their own answers)."""
    links = list(chain(exc))
    for link in links:
        if isinstance(link, StoreFull | StoreDamaged):
            return link
    if any(_full(link) for link in links):
        return StoreFull(DISK_FULL)
    if any(_damaged(link) for link in links):
        return StoreDamaged(DAMAGED)
    return None
