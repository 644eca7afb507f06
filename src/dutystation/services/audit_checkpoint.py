"""Purge checkpoints: the records that let the audit trail's hash chain start after seq 1.

A purge (``services/audit_purge.py``) removes the oldest records, seq ``first_seq`` to
``last_seq``, and appends one ``audit.purge`` record — the checkpoint — naming that range,
how many records it held, their dates, and the hash of the last one removed. The
checkpoint is an ordinary link of the chain, so changing it is detected like any other
record; the verifier starts from the newest checkpoint that removed something: the first
remaining record must be ``last_seq + 1`` and link to ``last_hash``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, RowMapping, select

from dutystation.domain.access import Operation
from dutystation.services.audit import AUDIT

PURGE_ACTION = Operation.AUDIT_PURGE.value
SUBJECT_TYPE = "audit_trail"


class UnreadableCheckpoint(ValueError):
    """An ``audit.purge`` record whose ``after`` is not a checkpoint any purge writes."""

    def __init__(self, seq: int) -> None:
        super().__init__(f"record {seq}")
        self.seq = seq


@dataclass(frozen=True)
class Checkpoint:
    seq: int  # the checkpoint record's own seq
    first_seq: int  # the records it removed: first_seq..last_seq
    last_seq: int
    records: int
    first_at: str  # the oldest and newest ``at`` among them (ISO 8601 UTC)
    last_at: str
    last_hash: str  # the hash of record last_seq: what record last_seq + 1 links to
    cutoff: str  # records older than this were due (ISO 8601 UTC)

    def describe(self) -> str:
        return (
            f"records {self.first_seq}..{self.last_seq} ({self.records:,}, dated "
            f"{self.first_at[:10]} to {self.last_at[:10]}) were purged (checkpoint: record "
            f"{self.seq})"
        )


def checkpoint_of(record: Mapping[str, Any] | RowMapping) -> Checkpoint | None:
    """The checkpoint an allowed ``audit.purge`` record states; None for any other record
    and for a purge that removed nothing. ``UnreadableCheckpoint`` when its ``after`` is not
    what a purge writes (it was changed)."""
    if record["action"] != PURGE_ACTION or record["outcome"] != "allowed":
        return None
    seq = int(record["seq"])
    try:
        after = json.loads(record["after"])
        if not after.get("records"):
            return None
        found = Checkpoint(
            seq=seq,
            first_seq=_int(after["first_seq"]),
            last_seq=_int(after["last_seq"]),
            records=_int(after["records"]),
            first_at=str(after["first_at"]),
            last_at=str(after["last_at"]),
            last_hash=str(after["last_hash"]),
            cutoff=str(after["cutoff"]),
        )
    except (TypeError, ValueError, KeyError, AttributeError):
        raise UnreadableCheckpoint(seq) from None
    if not 0 < found.first_seq <= found.last_seq < seq:
        raise UnreadableCheckpoint(seq)
    return found


def _int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(value)
    return value


def newest_in(records: Iterable[Mapping[str, Any]]) -> Checkpoint | None:
    """The checkpoint of the highest seq among ``records`` (any order)."""
    best: Checkpoint | None = None
    for record in records:
        if record["action"] != PURGE_ACTION:
            continue
        found = checkpoint_of(record)
        if found is not None and (best is None or found.seq > best.seq):
            best = found
    return best


def latest_checkpoint(conn: Connection) -> Checkpoint | None:
    """The newest checkpoint in the database (purges are rare: the scan is short)."""
    a = AUDIT
    rows = conn.execute(
        select(a.c.seq, a.c.action, a.c.outcome, a.c.after)
        .where(a.c.action == PURGE_ACTION, a.c.outcome == "allowed")
        .order_by(a.c.seq.desc())
    ).mappings()
    for row in rows:
        found = checkpoint_of(row)
        if found is not None:
            return found
    return None
