"""RELIABILITY T08 after retention: `audit purge` removes the oldest records past the
six-year floor and leaves a checkpoint in the chain, on SQLite and PostgreSQL. What
remains still verifies, and every single-row attack on it — an edit, a deletion, an
insertion, a record put back, a changed or removed checkpoint — is still found. The purge
is recorded, refuses anything younger than the floor, keeps a broken chain as evidence,
and is all or nothing. (The application's PostgreSQL role: test_audit_purge_app_role.py;
the command line: tests/e2e/test_audit_purge_cli.py.)"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest
from audit_builders import AUDITOR, attacker, head
from audit_purge_builders import (
    ADMIN,
    append,
    build_aged_trail,
    committed_tamper,
    edit_after,
    insert_after,
    rehash,
    row,
    set_fields,
)
from sqlalchemy import Connection, Engine, func, select, text
from sqlalchemy.exc import DBAPIError

from dutystation.domain.access import Actor, Grant, Role
from dutystation.errors import AuditTrailBroken, Forbidden, InvalidRequest, StoreError
from dutystation.events.manifest import Manifest
from dutystation.services import import_audit
from dutystation.services.audit import AUDIT, Change, record
from dutystation.services.audit_export import export_trail
from dutystation.services.audit_files import ExportFormat
from dutystation.services.audit_purge import purge_trail
from dutystation.services.audit_verify import verify, verify_file
from dutystation.settings import Settings
from dutystation.store.db import write_transaction

OLD, YOUNG = 12, 6  # records 1..12 are due; 13..18 stay; the checkpoint is 19


def _verify(conn: Connection, anchor: str | None = None) -> tuple[int, str] | None:
    broken = verify(conn, expect_head=anchor).broken
    return None if broken is None else (broken.seq, broken.kind)


def _count(engine: Engine, *where: Any) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(AUDIT).where(*where)) or 0)


def test_a_purge_leaves_a_checkpoint_from_which_the_rest_verifies(engine: Engine) -> None:
    build_aged_trail(engine, OLD, YOUNG)
    with engine.connect() as conn:
        last_purged_hash = row(conn, OLD)["hash"]
    _, anchor = head(engine)  # written down by an auditor before the purge
    dry = purge_trail(engine, ADMIN, 6, dry_run=True)
    assert (dry.records, dry.first_seq, dry.last_seq, dry.checkpoint_seq) == (OLD, 1, OLD, None)
    assert _count(engine) == OLD + YOUNG  # a dry run removes nothing and records nothing

    done = purge_trail(engine, ADMIN, 6)
    assert (done.records, done.first_seq, done.last_seq) == (OLD, 1, OLD)
    assert done.first_at == datetime(2018, 1, 5, 9, tzinfo=UTC)
    assert done.last_at == datetime(2018, 1, 5, 20, tzinfo=UTC)
    assert done.checkpoint_seq == OLD + YOUNG + 1 and done.head_hash == head(engine)[1]
    assert _count(engine) == YOUNG + 1
    with engine.connect() as conn:
        # The purge is its own audit record: who, and the checkpoint of what went.
        checkpoint = row(conn, OLD + YOUNG + 1)
        assert (checkpoint["action"], checkpoint["actor"]) == ("audit.purge", "ada")
        after = json.loads(checkpoint["after"])
        assert after == {
            "cutoff": done.cutoff.isoformat(),
            "retention_years": 6,
            "records": OLD,
            "first_seq": 1,
            "last_seq": OLD,
            "first_at": "2018-01-05T09:00:00+00:00",
            "last_at": "2018-01-05T20:00:00+00:00",
            "last_hash": last_purged_hash,
        }
        result = verify(conn, expect_head=anchor)
    assert result.intact and (result.first_seq, result.head_seq) == (OLD + 1, OLD + YOUNG + 1)
    assert result.anchor_seq == OLD + YOUNG and not result.partial
    assert "records 1..12 (12, dated 2018-01-05 to 2018-01-05) were purged (checkpoint: " in (
        result.sentence()
    )
    # Nothing more is due: a second run removes nothing, and is recorded all the same.
    again = purge_trail(engine, ADMIN, 6)
    assert again.records == 0 and again.checkpoint_seq == OLD + YOUNG + 2
    append(engine, 3)
    with engine.connect() as conn:
        result = verify(conn)
    assert result.intact and result.checkpoint is not None
    assert result.checkpoint.seq == OLD + YOUNG + 1 and result.records == YOUNG + 5


def _purged(engine: Engine) -> tuple[int, str]:
    """The standard purged trail: 13..18 young, 19 the checkpoint, 20..22 appended after."""
    build_aged_trail(engine, OLD, YOUNG)
    purge_trail(engine, ADMIN, 6)
    append(engine, 3)
    return head(engine)


CHECKPOINT = OLD + YOUNG + 1


def _sql(statement: str) -> Callable[[Connection], None]:
    return lambda conn: conn.execute(text(statement)) and None


def _rehashed(seq: int, **changes: Any) -> Callable[[Connection], None]:
    def attack(conn: Connection) -> None:
        if seq == CHECKPOINT:
            edit_after(conn, seq, **changes)
        else:
            set_fields(conn, seq, **changes)
        rehash(conn, seq)

    return attack


def _insert_after(k: int) -> Callable[[Connection], None]:
    def attack(conn: Connection) -> None:
        if k == OLD:  # right after the purged range: link to what the checkpoint names
            prev = json.loads(row(conn, CHECKPOINT)["after"])["last_hash"]
        else:
            prev = row(conn, k)["hash"]
        insert_after(conn, k, str(prev))

    return attack


# A record of the purged range put back, with a hash of its own (hashes are unique).
PUT_BACK = (
    "INSERT INTO audit_record (seq, at, actor, channel, action, outcome, prev_hash, hash) "
    "SELECT 5, at, actor, channel, action, outcome, prev_hash, "
    f"substr(hash, 2) || substr(hash, 1, 1) FROM audit_record WHERE seq = {OLD + 1}"
)
ATTACKS: dict[str, tuple[Callable[[Connection], None], tuple[int, str]]] = {
    "update a remaining record": (lambda c: set_fields(c, 15, actor="mallory"), (15, "changed")),
    "update and re-hash a remaining record": (_rehashed(15, subject_id="x"), (15, "changed")),
    "delete a remaining record": (_sql("DELETE FROM audit_record WHERE seq = 15"), (15, "deleted")),
    "delete the first remaining record": (
        _sql(f"DELETE FROM audit_record WHERE seq = {OLD + 1}"),
        (OLD + 1, "deleted"),
    ),
    "insert in the middle": (_insert_after(15), (16, "inserted")),
    "insert right after the purged range": (_insert_after(OLD), (OLD + 1, "inserted")),
    "put a purged record back": (_sql(PUT_BACK), (5, "inserted")),
    "edit the checkpoint": (
        lambda c: edit_after(c, CHECKPOINT, records=3),
        (CHECKPOINT, "changed"),
    ),
    "edit and re-hash the checkpoint's range": (
        _rehashed(CHECKPOINT, last_hash="0" * 64),
        (OLD + 1, "changed"),  # record 13 does not link to what it names
    ),
    "edit and re-hash the checkpoint's count": (
        _rehashed(CHECKPOINT, records=3),
        (CHECKPOINT, "changed"),  # record 20 still links to the original
    ),
    "make the checkpoint unreadable": (
        lambda c: set_fields(c, CHECKPOINT, after='{"records":12}'),
        (CHECKPOINT, "changed"),
    ),
    "delete the checkpoint": (
        _sql(f"DELETE FROM audit_record WHERE seq = {CHECKPOINT}"),
        (1, "deleted"),  # the chain must then start at seq 1: records 1..12 are missing
    ),
    "delete the head": (
        _sql("DELETE FROM audit_record WHERE seq = 22"),
        (22, "truncated"),  # found by the anchor
    ),
}


def test_every_kind_of_attack_on_a_purged_trail_is_detected_and_located(engine: Engine) -> None:
    _, anchor = _purged(engine)
    with engine.connect() as conn:
        assert _verify(conn, anchor) is None
    missed = []
    for name, (attack, expected) in ATTACKS.items():
        with attacker(engine) as conn:
            attack(conn)
            found = _verify(conn, anchor)
        if found != expected:
            missed.append(f"{name}: expected {expected}, got {found}")
    assert missed == []
    with engine.connect() as conn:  # every attack was rolled back
        assert _verify(conn, anchor) is None


def test_random_single_row_attacks_after_a_purge_are_all_detected(engine: Engine) -> None:
    """200 random edits, deletions and insertions anywhere in what remains, the checkpoint
    included (every one found; which record is named is covered above)."""
    _, anchor = _purged(engine)
    rng = random.Random(20261204)
    remaining = range(OLD + 1, CHECKPOINT + 4)
    fields = ["actor", "action", "subject_id", "after", "prev_hash", "hash", "outcome"]
    undetected = []
    for i in range(200):
        k = rng.choice(remaining)
        with attacker(engine) as conn:
            kind = i % 3
            if kind == 0:
                field = rng.choice(fields)
                current = row(conn, k)[field]
                set_fields(conn, k, **{field: (current or "x")[:-1] + "~"})
            elif kind == 1:
                conn.execute(text("DELETE FROM audit_record WHERE seq = :k"), {"k": k})
            else:
                prev = str(row(conn, k - 1)["hash"]) if k > OLD + 1 else "0" * 64
                insert_after(conn, k - 1, prev)
            if _verify(conn, anchor) is None:
                undetected.append((i, kind, k))
    assert undetected == []


def test_an_appended_forged_checkpoint_is_detected(engine: Engine) -> None:
    """Whoever holds the application's credentials may append; a checkpoint claiming a
    purge that did not happen makes the records it names stand out."""
    build_aged_trail(engine, 3, 2)
    with write_transaction(engine) as conn:
        hash3 = str(row(conn, 3)["hash"])
        claim = {"cutoff": "2020-01-01T00:00:00+00:00", "retention_years": 6, "records": 3,
                 "first_seq": 1, "last_seq": 3, "first_at": "2018-01-05T09:00:00+00:00",
                 "last_at": "2018-01-05T11:00:00+00:00", "last_hash": hash3}  # fmt: skip
        record(conn, AUDITOR, Change("audit.purge", "audit_trail", None, None, claim))
    with engine.connect() as conn:
        broken = verify(conn).broken
    assert broken is not None and (broken.seq, broken.kind) == (1, "inserted")
    assert "the checkpoint is forged" in broken.reason


def test_anything_younger_than_the_floor_is_refused_in_one_sentence(
    engine: Engine, tmp_path: Path
) -> None:
    build_aged_trail(engine, 2, 2)
    today = datetime.now(UTC).date()
    with pytest.raises(InvalidRequest, match=r"^audit records are kept at least 6 years \(NARA"):
        purge_trail(engine, ADMIN, 6, before=today.replace(year=today.year - 5))
    with pytest.raises(InvalidRequest, match=r"^audit_retention_years is 8: --before"):
        purge_trail(engine, ADMIN, 8, before=today.replace(year=today.year - 7))
    assert _count(engine) == 4  # refused before anything was touched
    # An earlier day than the retention allows is fine: it removes less.
    assert purge_trail(engine, ADMIN, 6, before=date(2018, 1, 5)).records == 0
    assert purge_trail(engine, ADMIN, 6, before=date(2018, 1, 6)).records == 2
    assert Settings(data_dir=tmp_path).audit_retention_years == 6
    with pytest.raises(ValueError, match=r"at least 6 years \(NARA General Records Schedule 3.2"):
        Settings(data_dir=tmp_path, audit_retention_years=1)


def test_the_database_deletes_only_old_records_that_a_checkpoint_names(engine: Engine) -> None:
    build_aged_trail(engine, 3, 2)
    # Old, but no checkpoint names it: refused, whoever asks.
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_record WHERE seq = 1"))
    # A clock (or code) that thinks young records are due: the database refuses them, and
    # the purge is all or nothing — no checkpoint, no record removed.
    with pytest.raises(StoreError, match="refused the change"):
        purge_trail(engine, ADMIN, 6, today=date(2040, 1, 1))
    assert _count(engine) == 5 and _count(engine, AUDIT.c.action == "audit.purge") == 0
    purge_trail(engine, ADMIN, 6)
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_record WHERE seq = 4"))  # young
    assert _count(engine) == 3


def test_a_broken_chain_is_kept_as_evidence(engine: Engine) -> None:
    build_aged_trail(engine, 4, 2)
    with committed_tamper(engine) as conn:
        set_fields(conn, 2, actor="mallory")
    with pytest.raises(AuditTrailBroken, match=r"broken at seq 2: .*; nothing was purged"):
        purge_trail(engine, ADMIN, 6)
    assert _count(engine) == 6 and _count(engine, AUDIT.c.action == "audit.purge") == 0


def test_only_an_administrator_of_the_whole_organisation_purges(engine: Engine) -> None:
    build_aged_trail(engine, 2, 1)
    scoped = Actor(user_id=5, username="comp-admin", grants=(Grant(Role.AGENCY_ADMIN, "COMP-A"),))
    with pytest.raises(Forbidden, match="whole organisation"):
        purge_trail(engine, scoped, 6)
    with pytest.raises(Forbidden):
        purge_trail(engine, AUDITOR, 6)  # auditors read the trail; they do not destroy it
    assert _count(engine, AUDIT.c.action == "audit.purge", AUDIT.c.outcome == "denied") == 2
    assert _count(engine, AUDIT.c.seq <= 2) == 2


def test_an_export_after_a_purge_carries_the_checkpoint_and_verifies_offline(
    engine: Engine, tmp_path: Path
) -> None:
    _purged(engine)
    for fmt in ExportFormat:
        out = tmp_path / f"trail.{fmt.value}"
        done = export_trail(engine, AUDITOR, out, fmt)
        assert done.first_seq == OLD + 1
        result = verify_file(out)
        assert result.intact and not result.partial, fmt
        assert result.checkpoint is not None and result.checkpoint.seq == CHECKPOINT
    lines = (tmp_path / "trail.jsonl").read_text().splitlines()
    shown = json.loads(lines[CHECKPOINT - OLD - 1])
    assert shown["action"] == "audit.purge" and '"last_seq":12' in shown["after"]
    # The first link is checked against the checkpoint: a changed first record is found.
    first = json.loads(lines[0])
    lines[0] = json.dumps({**first, "prev_hash": "1" * 64, "hash": "2" * 64})
    (tmp_path / "tampered.jsonl").write_text("\n".join(lines) + "\n")
    broken = verify_file(tmp_path / "tampered.jsonl").broken
    assert broken is not None and broken.seq == OLD + 1


def test_imports_whose_records_were_purged_are_not_taken_for_unrecorded(engine: Engine) -> None:
    """Otherwise the next badge import would write fresh records for batches from years ago."""
    build_aged_trail(engine, 2, 1)
    purge_trail(engine, ADMIN, 6)

    def batch(batch_id: str, committed: datetime) -> Manifest:
        return cast(Manifest, SimpleNamespace(batch_id=batch_id, created_at=committed))

    old = batch("B-2018", datetime(2018, 1, 5, tzinfo=UTC))
    new = batch("B-today", datetime.now(UTC) - timedelta(hours=1))
    with engine.connect() as conn:
        assert import_audit.unrecorded(conn, [old, new]) == [new]
