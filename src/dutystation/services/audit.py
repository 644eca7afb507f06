"""The security audit trail: every change (imports included) and every refused attempt
writes one append-only record — who, when, what, before and after — linked into a hash
chain: each record's hash covers its own fields and the previous record's hash, so an
edited, deleted or inserted row breaks the chain from that point on.

``record`` is called inside the transaction that makes the change, so a change is never
stored without its record, nor a record without its change. Writers are serialised by
``store.db.write_transaction``, which is what keeps the chain a single line.

A refused attempt is different: the caller's transaction is being rolled back, so
``record_denied`` writes its record in a transaction of its own, and ``denials_recorded``
does that for whatever authorisation refuses inside it. The hash definition is in
docs/audit.md; ``services/audit_verify.py`` checks the chain.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Connection, Engine, Table, insert, select

from dutystation.domain.access import Actor
from dutystation.errors import Forbidden, NotFound
from dutystation.store.db import write_transaction
from dutystation.store.schema_audit import AuditRecord

AUDIT = cast(Table, AuditRecord.__table__)
GENESIS = "0" * 64
REDACTED = "[redacted]"
# Keys whose values never enter the trail, at any depth: medical matters, secrets, homes.
SENSITIVE_KEYS = frozenset(
    {
        "justification",
        "medical",
        "diagnosis",
        "limitations",
        "document_name",
        "file_name",
        "filename",
        "password",
        "password_hash",
        "token",
        "token_hash",
        "secret",
        "home_zip",
        "home_latitude",
        "home_longitude",
        "display_name",
        "email",
    }
)


@dataclass(frozen=True)
class Change:
    """What an operation did to one subject."""

    action: str  # an Operation value, or "import.<kind>"
    subject_type: str | None = None
    subject_id: str | None = None
    before: Mapping[str, Any] | None = None
    after: Mapping[str, Any] | None = None
    outcome: str = "allowed"  # or "denied"


def redact(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {
            str(k): (REDACTED if str(k) in SENSITIVE_KEYS else redact(v)) for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact(v) for v in value]
    return value


def canonical(value: Mapping[str, Any] | None) -> str | None:
    if value is None:
        return None
    return json.dumps(redact(value), sort_keys=True, separators=(",", ":"), default=str)


def chain_hash(prev_hash: str, fields: Mapping[str, Any]) -> str:
    """sha256 over the previous hash and the record's fields (canonical JSON)."""
    body = json.dumps(fields, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{prev_hash}\n{body}".encode()).hexdigest()


def hashed_fields(row: Mapping[str, Any]) -> dict[str, Any]:
    """The fields a record's hash covers, as stored (``at`` as ISO 8601 UTC)."""
    at = row["at"]
    if isinstance(at, datetime):
        at = (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(UTC).isoformat()
    keys = (
        "seq",
        "actor",
        "actor_user_id",
        "channel",
        "action",
        "outcome",
        "subject_type",
        "subject_id",
        "before",
        "after",
    )
    return {"at": at, **{k: row[k] for k in keys}}


def record(conn: Connection, actor: Actor, change: Change, *, now: datetime | None = None) -> int:
    """Append one record inside the caller's write transaction; returns its sequence
    number. Sensitive keys in ``before``/``after`` are redacted before hashing."""
    table = AUDIT
    last = conn.execute(
        select(table.c.seq, table.c.hash).order_by(table.c.seq.desc()).limit(1)
    ).first()
    seq, prev_hash = (last[0] + 1, last[1]) if last else (1, GENESIS)
    at = (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    row: dict[str, Any] = {
        "seq": seq,
        "at": at,
        "actor": actor.username,
        "actor_user_id": actor.user_id,
        "channel": actor.channel,
        "action": change.action,
        "outcome": change.outcome,
        "subject_type": change.subject_type,
        "subject_id": change.subject_id,
        "before": canonical(change.before),
        "after": canonical(change.after),
    }
    row["prev_hash"] = prev_hash
    row["hash"] = chain_hash(prev_hash, hashed_fields(row))
    conn.execute(insert(table).values(**row))
    return seq


def record_denied(engine: Engine, actor: Actor, change: Change) -> int:
    """Record a refused attempt in a write transaction of its own (the caller's is being
    rolled back). Never call it while this thread holds ``write_transaction``: it waits
    for that same writer lock."""
    denied = dataclasses.replace(change, outcome="denied")
    with write_transaction(engine) as conn:
        return record(conn, actor, denied)


# What a denial record says about why: the error class, never its sentence (which may
# name the subject the actor was not allowed to learn about).
_REFUSALS: dict[type[Exception], str] = {Forbidden: "forbidden", NotFound: "not_found"}


@contextlib.contextmanager
def denials_recorded(engine: Engine, actor: Actor, attempt: Change) -> Iterator[None]:
    """Record ``attempt`` as denied when ``Forbidden`` or ``NotFound`` escapes the block,
    then re-raise it. Put it OUTSIDE the transaction, so that has rolled back and let go of
    the writer lock before the denial is written::

        attempt = Change(action=Operation.EXEMPTION_CERTIFY, subject_type="exemption",
                         subject_id=str(request_id))
        with denials_recorded(engine, actor, attempt), write_transaction(engine) as conn:
            authorize(conn, actor, Operation.EXEMPTION_CERTIFY, subject, not_found=...)
            ...  # the change and its record(conn, actor, ...)

    ``NotFound`` for a subject that does not exist is recorded too: to the actor it looks
    the same as one outside their scope, and probing for subjects is worth seeing."""
    try:
        yield
    except (Forbidden, NotFound) as refused:
        reason = next(v for k, v in _REFUSALS.items() if isinstance(refused, k))
        after = {**(attempt.after or {}), "refused": reason}
        record_denied(engine, actor, dataclasses.replace(attempt, after=after))
        raise
