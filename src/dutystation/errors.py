"""The one error tree. Each edge translates it once: the CLI prints ``str(error)`` and exits
with ``error.exit_code``; the API (later) answers problem+json.

    DutystationError
    ├── ConfigError            settings or a profile/policy file is wrong
    ├── InputFileError         a whole input file is refused (file, line, column, reason)
    ├── DocumentRejected       an uploaded document is refused (named by position, never name)
    ├── ImportRejected         rows were rejected and the batch was not stored
    ├── ImportHeld             a roster snapshot needs explicit confirmation
    ├── NotFound               a named thing does not exist, or the actor may not see it
    ├── NoEvidence             a report or evaluation period holds no evidence
    ├── Forbidden              the actor's roles do not allow the operation at all
    ├── NotAuthenticated       a login, session or API token is not accepted
    ├── Conflict               the change contradicts stored state (decided twice, overlap)
    ├── InvalidRequest         the values given are wrong (an end before its start)
    ├── AuditTrailBroken       the audit trail's hash chain does not verify
    └── StoreError             the database or event store cannot be used
        ├── OutOfMemory        a job needs more memory than its configured limit
        ├── StoreBusy          another writer holds it for now: try again
        ├── StoreFull          the disk is full: nothing was stored
        └── StoreDamaged       the database is corrupt or not a database

Messages never carry row contents: only file, line, column and a reason code.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dutystation.ingest.summary import RejectionClass


class DutystationError(Exception):
    exit_code = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message

    def __reduce__(self) -> tuple[object, ...]:
        # Rebuilt from its attributes, not by calling ``__init__`` again: an upload's
        # import raises its errors in a child process (services/upload_import.py), and
        # several subclasses take other arguments than the message pickle would pass.
        return (_rebuilt, (type(self), self.args, self.__dict__))


def _rebuilt(
    kind: type[DutystationError], args: tuple[object, ...], state: dict[str, object]
) -> DutystationError:
    error = kind.__new__(kind)
    error.args = args
    error.__dict__.update(state)
    return error


class ConfigError(DutystationError):
    exit_code = 2


@dataclass(frozen=True)
class Location:
    """Where in an input file a problem is: 1-based line (record) and column name."""

    file: Path
    line: int | None = None
    column: str | None = None

    def __str__(self) -> str:
        parts = [str(self.file)]
        if self.line is not None:
            parts.append(f"line {self.line}")
        if self.column is not None:
            parts.append(f"column {self.column!r}")
        return ", ".join(parts)


class InputFileError(DutystationError):
    """The whole file is refused; nothing from it was stored."""

    exit_code = 2

    def __init__(self, where: Location, reason: str) -> None:
        super().__init__(f"{where}: {reason}")
        self.where = where
        self.reason = reason


class DocumentRejected(DutystationError):
    """An uploaded document is refused (type, size, count). The message names the document
    by its position in the request ("document 2: ..."), never by its file name: for a
    medical request the file name is medical information."""

    exit_code = 2

    def __init__(self, message: str, *, position: int | None = None, code: str = "") -> None:
        super().__init__(message)
        self.position = position
        self.code = code


class ImportRejected(DutystationError):
    """Some rows were rejected; without --accept-partial nothing was stored.
    ``rejections``: the ``ingest.summary.RejectionClass`` per reason (file, line, column,
    reason; no values), for entry points that answer them as data (the API)."""

    def __init__(
        self,
        message: str,
        quarantine_file: Path | None = None,
        rejections: Sequence[RejectionClass] = (),
    ) -> None:
        super().__init__(message)
        self.quarantine_file = quarantine_file
        self.rejections = tuple(rejections)


class ImportHeld(DutystationError):
    exit_code = 3


class NotFound(DutystationError):
    """Also raised for objects outside the actor's scope: a subject the actor may not see
    answers exactly like a missing one (RELIABILITY T01)."""


class NoEvidence(DutystationError):
    """The requested period holds no T&A hours or badge events."""


class Forbidden(DutystationError):
    """None of the actor's roles allows the operation, whatever the subject."""

    exit_code = 4


class NotAuthenticated(DutystationError):
    """A login, session or API token is not accepted. One message for every cause (unknown
    user, wrong password, locked, expired, revoked), so it tells an attacker nothing."""

    exit_code = 4


class Conflict(DutystationError):
    """The request contradicts stored state; nothing was changed."""


class InvalidRequest(DutystationError):
    """The values of a request are wrong whatever is stored (an end date before the start,
    a category the directive does not allow); nothing was changed."""

    exit_code = 2


class AuditTrailBroken(DutystationError):
    """``dutystation audit verify`` found the first record that is wrong (exit 1)."""


class RollupMismatch(DutystationError):
    """``dutystation verify`` found roll-up rows that disagree with the raw events (exit 1)."""


class StoreError(DutystationError):
    pass


class OutOfMemory(StoreError):
    """An analytics job needs more memory than ``duckdb_memory_limit`` (or Spark's) allows;
    the sentence names the setting and the figure to raise it to. Nothing was stored."""


class ImportInterrupted(StoreError):
    """The child process running an upload's import ended before it finished (killed, out
    of memory); as every import is all or nothing, nothing was stored (the API answers 503)."""


class StoreBusy(StoreError):
    """Another writer holds the database or the event store; the same request succeeds
    once it has finished (the API answers 503 with ``Retry-After``). ``retry_after_seconds``:
    how long to wait before trying again, when the caller knows better than the default."""

    def __init__(self, message: str, *, retry_after_seconds: int | None = None) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds


class StoreFull(StoreError):
    """The disk (or quota) holding the database, the event store or a temporary file is
    full; the write was rolled back whole (the API answers 507)."""


class StoreDamaged(StoreError):
    """The database file is corrupt or is not a database at all; nothing can be read or
    written until it is restored (the API answers 503)."""
