"""Checking the audit trail's hash chain, in the database or in an export file.

The walk is one pass in ``seq`` order holding only the previous record's hash, so memory
stays flat however long the trail is. For each record it checks, in this order:

1. ``seq`` is the one after the previous record's (a gap means deleted records);
2. ``prev_hash`` is the previous record's ``hash`` (else something was inserted, moved,
   removed and renumbered, or rewritten);
3. ``hash`` is what the record's own fields hash to (else the record was edited).

It stops at the first problem and says which record is wrong and why. To tell an insertion
from a reordering or a rewrite it looks up, once, which record carries the hash the broken
link names. Removing records from the end leaves a valid chain; only an anchor — the head
hash an auditor wrote down earlier (``expect_head``) — reveals that.

After a purge the chain starts at the newest checkpoint (``services/audit_checkpoint.py``)
instead of seq 1: its own hash is checked first, then the first remaining record must be
the one after the purged range and link to the hash the checkpoint names.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Generator, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, RowMapping, Select, String, select, type_coerce

from dutystation.domain.access import Actor, Operation
from dutystation.services.audit import AUDIT, GENESIS, chain_hash, hashed_fields
from dutystation.services.audit_checkpoint import (
    Checkpoint,
    UnreadableCheckpoint,
    latest_checkpoint,
    newest_in,
)
from dutystation.services.audit_files import read_export
from dutystation.services.authorization import authorize

_STREAM_ROWS = 2_000


@dataclass(frozen=True)
class Break:
    """The first wrong record: ``seq``, what happened (``deleted``, ``changed``,
    ``inserted``, ``reordered``, ``truncated``) and one sentence without record contents."""

    seq: int
    kind: str
    reason: str


@dataclass(frozen=True)
class VerifyResult:
    records: int  # records checked (up to the break, if any)
    first_seq: int | None
    head_seq: int | None  # the last record checked
    head_hash: str  # its hash (GENESIS for an empty trail)
    broken: Break | None = None
    anchor_seq: int | None = None  # where ``expect_head`` was found
    checkpoint: Checkpoint | None = None  # the purge the chain starts after, if any

    @property
    def intact(self) -> bool:
        return self.broken is None

    @property
    def partial(self) -> bool:
        """An export that starts after seq 1 and not right after a purge checkpoint it
        holds: its first link cannot be checked offline."""
        return self.first_seq is not None and self.first_seq != 1 and self.checkpoint is None

    def sentence(self) -> str:
        if self.broken is not None:
            return f"the audit trail is broken at seq {self.broken.seq}: {self.broken.reason}"
        if self.head_seq is None:
            return "the audit trail is empty"
        purged = "" if self.checkpoint is None else f"; {self.checkpoint.describe()}"
        return (
            f"the audit trail is intact: {self.records:,} records (seq {self.first_seq}.."
            f"{self.head_seq}), head hash {self.head_hash}{purged}"
        )


def verify(conn: Connection, *, expect_head: str | None = None) -> VerifyResult:
    """Walk the whole trail in the database (no authorisation: see ``verify_trail``)."""

    def locate(hash_: str) -> int | None:
        return conn.scalar(select(AUDIT.c.seq).where(AUDIT.c.hash == hash_))

    try:
        checkpoint = latest_checkpoint(conn)
    except UnreadableCheckpoint as bad:
        return _unreadable(bad.seq)
    with contextlib.closing(stored_records(conn)) as records:
        result = walk(records, locate, expect_head=expect_head, checkpoint=checkpoint)
    if checkpoint is not None and _broken_at_start(result):
        with contextlib.closing(stored_records(conn, checkpoint.seq, checkpoint.seq)) as own:
            return _blame_checkpoint(result, next(own))
    return result


def verify_trail(engine: Engine, actor: Actor, *, expect_head: str | None = None) -> VerifyResult:
    """``verify`` for an actor allowed to read the trail (``Operation.AUDIT_READ``)."""
    with engine.connect() as conn, conn.begin():
        authorize(conn, actor, Operation.AUDIT_READ)
        return verify(conn, expect_head=expect_head)


def verify_file(path: Path, *, expect_head: str | None = None) -> VerifyResult:
    """Verify an export. A file that starts right after a purge, holding its checkpoint, is
    checked from that checkpoint; one that starts elsewhere after seq 1 (``--since``) from
    its first record on: the link before it cannot be checked without the trail."""

    def locate(hash_: str) -> int | None:  # a second pass, only when a link is broken
        with contextlib.closing(read_export(path)) as again:
            return next((r["seq"] for r in again if r["hash"] == hash_), None)

    with contextlib.closing(read_export(path)) as records:
        first = next(records, None)
    checkpoint = None
    if first is not None and first["seq"] != 1:  # does the file start right after a purge?
        with contextlib.closing(read_export(path)) as again:
            try:
                found = newest_in(again)
            except UnreadableCheckpoint as bad:
                return _unreadable(bad.seq)
        if found is not None and found.last_seq + 1 == first["seq"]:
            checkpoint = found
    with contextlib.closing(read_export(path)) as records:
        result = walk(
            records, locate, expect_head=expect_head, from_genesis=False, checkpoint=checkpoint
        )
    if checkpoint is not None and _broken_at_start(result):
        with contextlib.closing(read_export(path)) as again:
            return _blame_checkpoint(result, next(r for r in again if r["seq"] == checkpoint.seq))
    return result


def stored_records(
    conn: Connection, first: int | None = None, last: int | None = None
) -> Generator[dict[str, Any]]:
    """The stored records in seq order, streamed (a server-side cursor on PostgreSQL),
    each as ``exported`` gives it."""
    query = select_records(conn).order_by(AUDIT.c.seq)
    if first is not None:
        query = query.where(AUDIT.c.seq >= first)
    if last is not None:
        query = query.where(AUDIT.c.seq <= last)
    result = conn.execute(query.execution_options(yield_per=_STREAM_ROWS))
    try:
        for row in result.mappings():
            yield exported(row)
    finally:  # a walk that stops early must not leave a server-side cursor open
        result.close()


def select_records(conn: Connection) -> Select[Any]:
    """Every column of ``audit_record``, ``at`` as stored."""
    columns = [c for c in AUDIT.c if c.name != "at"]
    if conn.dialect.name == "sqlite":
        # The stored text, not SQLAlchemy's parse of it: a value an attacker wrote that
        # is no timestamp must fail the hash check, not crash the verifier.
        return select(*columns, type_coerce(AUDIT.c.at, String).label("at"))
    return select(*columns, AUDIT.c.at)


def exported(row: RowMapping | Mapping[str, Any]) -> dict[str, Any]:
    """A stored record with ``at`` as it is hashed (ISO 8601 UTC text)."""
    record = dict(row)
    record["at"] = _instant(record["at"])
    record.update(hashed_fields(record))
    return record


def _instant(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return value
    return value


def walk(
    records: Iterable[Mapping[str, Any]],
    locate: Callable[[str], int | None],
    *,
    expect_head: str | None = None,
    from_genesis: bool = True,
    checkpoint: Checkpoint | None = None,
) -> VerifyResult:
    """Check ``records`` (in the order given) as one chain; see the module docstring.
    ``from_genesis``: the chain must start at seq 1 (the database); otherwise it may start
    later (an export of a date range), and then its first ``prev_hash`` is taken as given.
    ``checkpoint``: the chain starts right after the range that purge removed."""
    count = 0
    first: int | None = None
    expected_seq, prev_hash = 1, GENESIS
    anchor: int | None = None
    if checkpoint is not None:
        expected_seq, prev_hash = checkpoint.last_seq + 1, checkpoint.last_hash
        anchor = checkpoint.last_seq if expect_head == checkpoint.last_hash else None
        locate = _purged_too(locate, checkpoint)

    def result(broken: Break | None = None) -> VerifyResult:
        head = None if first is None else expected_seq - 1
        return VerifyResult(count, first, head, prev_hash, broken, anchor, checkpoint)

    for record in records:
        seq = int(record["seq"])
        if first is None and not from_genesis and seq != 1 and checkpoint is None:
            expected_seq, prev_hash = seq, str(record["prev_hash"])
        own_ok = chain_hash(str(record["prev_hash"]), hashed_fields(record)) == record["hash"]
        if first is None and checkpoint is not None:
            broken = _after_checkpoint(record, own_ok, checkpoint)
            if broken is not None:
                return result(broken)
        first = seq if first is None else first
        if seq != expected_seq:
            return result(_out_of_line(seq, expected_seq))
        if record["prev_hash"] != prev_hash:
            return result(_broken_link(seq, str(record["prev_hash"]), own_ok, locate))
        if not own_ok:
            return result(
                Break(
                    seq,
                    "changed",
                    f"record {seq} was changed after it was written (its hash does not "
                    "match its contents)",
                )
            )
        if expect_head is not None and record["hash"] == expect_head:
            anchor = seq
        count += 1
        expected_seq, prev_hash = seq + 1, str(record["hash"])
    if expect_head is not None and anchor is None:
        return result(
            Break(
                expected_seq,
                "truncated",
                f"the expected head {expect_head[:16]}... is not in the trail: records were "
                f"removed after seq {expected_seq - 1}, or the chain was rewritten",
            )
        )
    return result()


def _purged_too(
    locate: Callable[[str], int | None], checkpoint: Checkpoint
) -> Callable[[str], int | None]:
    """``locate`` that also knows the last purged record, by the hash its checkpoint keeps."""

    def find(hash_: str) -> int | None:
        return checkpoint.last_seq if hash_ == checkpoint.last_hash else locate(hash_)

    return find


def _broken_at_start(result: VerifyResult) -> bool:
    """Did the walk stop at the first record, where the checkpoint says the trail starts?"""
    return result.broken is not None and result.records == 0


def _blame_checkpoint(result: VerifyResult, own: Mapping[str, Any]) -> VerifyResult:
    """The trail does not start where its checkpoint says: when the checkpoint's own hash is
    wrong, the checkpoint is what was changed."""
    if chain_hash(str(own["prev_hash"]), hashed_fields(own)) == own["hash"]:
        return result
    seq = int(own["seq"])
    reason = (
        f"record {seq}, the purge checkpoint, was changed after it was written (its hash "
        "does not match its contents)"
    )
    return VerifyResult(0, None, None, GENESIS, Break(seq, "changed", reason))


def _unreadable(seq: int) -> VerifyResult:
    reason = f"record {seq}, a purge checkpoint, was changed (its purged range cannot be read)"
    return VerifyResult(0, None, None, GENESIS, Break(seq, "changed", reason))


def _after_checkpoint(
    record: Mapping[str, Any], own_ok: bool, checkpoint: Checkpoint
) -> Break | None:
    """The first remaining record must continue where the purge stopped."""
    seq, cp = int(record["seq"]), checkpoint
    if seq <= cp.last_seq:
        return Break(
            seq,
            "inserted",
            f"record {seq} is in the trail although the purge checkpoint (record {cp.seq}) "
            f"says records {cp.first_seq}..{cp.last_seq} were removed (it was put back, or "
            "the checkpoint is forged)",
        )
    if seq == cp.last_seq + 1 and record["prev_hash"] != cp.last_hash:
        why = (
            f": the checkpoint or record {seq} was rewritten"
            if own_ok
            else ", and its hash does not match its contents (it was changed)"
        )
        return Break(
            seq,
            "changed",
            f"record {seq} does not link to the record the purge checkpoint (record {cp.seq}) "
            f"names as the last one removed{why}",
        )
    return None


def _out_of_line(seq: int, expected: int) -> Break:
    if seq > expected:
        missing = (
            f"record {expected} is"
            if seq == expected + 1
            else (f"records {expected}..{seq - 1} are")
        )
        return Break(expected, "deleted", f"{missing} missing (deleted)")
    return Break(
        seq, "reordered", f"record {seq} comes after record {expected - 1} (repeated or moved)"
    )


def _broken_link(seq: int, named: str, own_ok: bool, locate: Callable[[str], int | None]) -> Break:
    """Record ``seq`` does not link to the record before it: find out why."""
    target = 0 if named == GENESIS else locate(named)
    if seq == 1 and not target:
        return Break(
            1,
            "changed",
            "record 1 does not start the chain (it was changed, or records before it were "
            "deleted and the rest renumbered)",
        )
    if target is not None and target < seq - 1:
        extra = (
            f"record {seq - 1} was"
            if target + 1 == seq - 1
            else (f"records {target + 1}..{seq - 1} were")
        )
        to = "the start of the chain" if target == 0 else f"record {target}"
        return Break(target + 1, "inserted", f"{extra} inserted (record {seq} links to {to})")
    if target is not None and target >= seq:
        return Break(
            seq,
            "reordered",
            f"record {seq} links to record {target}, which comes after it (records were reordered)",
        )
    if own_ok:
        return Break(
            seq - 1,
            "changed",
            f"record {seq - 1} was rewritten (its hash was recomputed, but record {seq} "
            "still links to the original)",
        )
    return Break(
        seq,
        "changed",
        f"record {seq} does not link to record {seq - 1} and its hash does not match its "
        "contents (it was changed, or records before it were deleted and renumbered)",
    )
