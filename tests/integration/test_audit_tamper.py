"""RELIABILITY T08 (audit_tamper_evidence): random single-row attacks on the trail, made
with raw SQL by someone who got the append-only triggers out of the way, are each found
by the verifier, which names the first wrong record and what happened to it.

Each attack runs in its own transaction that is rolled back afterwards, so every attack
starts from the intact chain. 1,000 attacks per backend (about 1.5 s on SQLite, 2.5 s on
PostgreSQL); 10,000 with DUTYSTATION_TEST_PROFILE=nightly."""

from __future__ import annotations

import contextlib
import os
import random
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from audit_builders import attacker, build_chain, head
from sqlalchemy import Connection, Engine, text, update

from dutystation.services.audit import AUDIT, GENESIS, chain_hash, hashed_fields
from dutystation.services.audit_verify import stored_records, verify

CHAIN = 40
NIGHTLY = os.environ.get("DUTYSTATION_TEST_PROFILE") == "nightly"
ATTACKS = 10_000 if NIGHTLY else 1_000
FIELDS = ("at", "actor", "actor_user_id", "channel", "action", "outcome", "subject_type",
          "subject_id", "before", "after")  # fmt: skip

Expected = tuple[int, str]


def _row(conn: Connection, seq: int) -> dict[str, Any]:
    with contextlib.closing(stored_records(conn, seq, seq)) as rows:
        return next(rows)


def _different(rng: random.Random, field: str, value: Any) -> Any:
    """Another value for ``field``: sometimes a one-character change."""
    if field == "at":
        return value + timedelta(seconds=rng.choice([1, -1, 3600]))
    if field == "actor_user_id":
        return 7 if value is None else value + 1
    if field == "outcome":
        return "denied" if value == "allowed" else "allowed"
    if value is None:
        return '{"forged":true}' if field in ("before", "after") else "forged"
    digits = [i for i, c in enumerate(value) if c.isdigit()]
    if digits and rng.random() < 0.5:  # e.g. rows_stored 30 -> 31
        i = rng.choice(digits)
        return value[:i] + str((int(value[i]) + 1) % 10) + value[i + 1 :]
    return value[:-1] + chr(ord(value[-1]) ^ 1)


def _set(conn: Connection, which: int, **values: Any) -> None:
    conn.execute(update(AUDIT).where(AUDIT.c.seq == which).values(**values))


def _shift(conn: Connection, where: str, to: str) -> None:
    """Renumber in two steps (via negative seqs): a primary key cannot take a value
    another row still holds, even for a moment, on PostgreSQL."""
    conn.execute(text(f"UPDATE audit_record SET seq = -({to}) WHERE {where}"))
    conn.execute(text("UPDATE audit_record SET seq = -seq WHERE seq < 0"))


def edit(conn: Connection, rng: random.Random, n: int) -> Expected:
    k = rng.randint(1, n)
    field = rng.choice(FIELDS)
    if field == "at" and conn.dialect.name == "sqlite" and rng.random() < 0.2:
        conn.execute(text("UPDATE audit_record SET at = 'yesterday' WHERE seq = :k"), {"k": k})
    else:
        current = conn.execute(AUDIT.select().where(AUDIT.c.seq == k)).mappings().one()
        _set(conn, k, **{field: _different(rng, field, current[field])})
    return k, "changed"


def rehash(conn: Connection, rng: random.Random, n: int) -> Expected:
    k = rng.randint(1, n)
    _set(conn, k, hash=rng.randbytes(32).hex())
    return k, "changed"


def relink(conn: Connection, rng: random.Random, n: int) -> Expected:
    k = rng.randint(1, n)
    _set(conn, k, prev_hash=rng.randbytes(32).hex())
    return k, "changed"


def rewrite(conn: Connection, rng: random.Random, n: int) -> Expected:
    """Edit a record and recompute its hash (the attacker knows the algorithm)."""
    k, _ = edit(conn, rng, n)
    forged = _row(conn, k)
    _set(conn, k, hash=chain_hash(forged["prev_hash"], hashed_fields(forged)))
    return (k, "changed") if k < n else (n + 1, "truncated")


def delete(conn: Connection, rng: random.Random, n: int) -> Expected:
    k = rng.randint(1, n)
    conn.execute(text("DELETE FROM audit_record WHERE seq = :k"), {"k": k})
    return (k, "deleted") if k < n else (n, "truncated")


def insert(conn: Connection, rng: random.Random, n: int) -> Expected:
    """A forged record with a valid hash after record k; the later ones renumbered."""
    k = rng.randint(0, n - 1)
    _shift(conn, f"seq > {k}", "seq + 1")
    prev = GENESIS if k == 0 else _row(conn, k)["hash"]
    template = _row(conn, k + 2)
    forged = {**template, "seq": k + 1, "actor": "mallory", "prev_hash": prev}
    forged["hash"] = chain_hash(prev, hashed_fields(forged))
    forged["at"] = template["at"]  # stored as a timestamp, hashed as text
    values = {c.name: forged[c.name] for c in AUDIT.c if c.name != "at"}
    conn.execute(AUDIT.insert().values(**values, at=_stored_at(conn, k + 2)))
    return k + 1, "inserted"


def _stored_at(conn: Connection, seq: int) -> Any:
    return conn.scalar(AUDIT.select().with_only_columns(AUDIT.c.at).where(AUDIT.c.seq == seq))


def reorder(conn: Connection, rng: random.Random, n: int) -> Expected:
    a, b = sorted(rng.sample(range(1, n + 1), 2))
    conn.execute(text("UPDATE audit_record SET seq = -1 WHERE seq = :a"), {"a": a})
    conn.execute(text("UPDATE audit_record SET seq = :a WHERE seq = :b"), {"a": a, "b": b})
    conn.execute(text("UPDATE audit_record SET seq = :b WHERE seq = -1"), {"b": b})
    return a, "reordered"


def move(conn: Connection, rng: random.Random, n: int) -> Expected:
    k = rng.randint(1, n)
    _set(conn, k, seq=n + 10)
    return k, "deleted"


ATTACK_KINDS: list[Callable[[Connection, random.Random, int], Expected]] = [
    edit, edit, edit, rehash, relink, rewrite, delete, insert, reorder, move,
]  # fmt: skip


def test_every_random_single_row_attack_is_detected_and_located(engine: Engine) -> None:
    build_chain(engine, CHAIN)
    _, anchor = head(engine)  # what an auditor wrote down after the last verify
    with engine.connect() as conn:
        assert verify(conn, expect_head=anchor).intact
    rng = random.Random(20260302)
    attacks = ATTACKS
    missed: list[str] = []
    for i in range(attacks):
        attack = ATTACK_KINDS[i % len(ATTACK_KINDS)]
        with attacker(engine) as conn:
            expected = attack(conn, rng, CHAIN)
            result = verify(conn, expect_head=anchor)
        found = None if result.broken is None else (result.broken.seq, result.broken.kind)
        if found != expected:
            missed.append(f"attack {i} ({attack.__name__}): expected {expected}, got {found}")
    assert missed == [], f"{len(missed)} of {attacks} attacks not located:\n" + "\n".join(
        missed[:10]
    )
    with engine.connect() as conn:  # and every attack was undone
        assert verify(conn, expect_head=anchor).intact


@pytest.mark.parametrize("attack", [delete, rewrite], ids=["delete", "rewrite"])
def test_without_an_anchor_a_changed_tail_can_pass_which_is_why_anchors_exist(
    engine: Engine, attack: Callable[[Connection, random.Random, int], Expected]
) -> None:
    """Documents the limit in docs/audit.md: removing or rewriting the newest record
    leaves a valid chain; only the head written down earlier reveals it."""
    build_chain(engine, 5)
    _, anchor = head(engine)

    class Last(random.Random):
        def randint(self, a: int, b: int) -> int:
            return b

    with attacker(engine) as conn:
        attack(conn, Last(1), 5)
        assert verify(conn).intact
        broken = verify(conn, expect_head=anchor).broken
    assert broken is not None and broken.kind == "truncated"
