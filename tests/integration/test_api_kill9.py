"""RELIABILITY T19 ``api_write_kill9_outbox``: ``dutystation serve`` (uvicorn, a child
process) is killed with SIGKILL while clients approve and deny exemption requests over the
API; then the store is checked and the server started again on it.

Per trial, on SQLite (a file database, WAL) and on PostgreSQL:

- 0 decisions without their audit record, 0 audit records of a decision that is not in
  the store: a request is approved or denied exactly when it has one certification and
  one ``exemption.certify`` record saying so (they are written in one transaction);
- every decision the server answered 2xx for is in the store (acknowledged means
  committed); those in flight at the kill are either wholly there or not at all;
- SQLite ``PRAGMA integrity_check`` is ``ok`` and the audit chain verifies intact;
- the server starts again on the killed store and serves the decisions it holds.

The Privacy Act ledger has no entry for a decision (it records disclosures, not
decisions), so there is none to check here. CI: 20 trials per backend; nightly
(DUTYSTATION_TEST_PROFILE=nightly): 50. DUTYSTATION_KILL9_TRIALS overrides both.
"""

from __future__ import annotations

import json
import os
import random
import threading
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import httpx2
import pytest
from serve_harness import Server, Store, prepare
from sqlalchemy import Engine, select, text

from dutystation.bootstrap import bootstrap
from dutystation.domain.directive import ExemptionCategory
from dutystation.services import accounts
from dutystation.services.audit_verify import verify
from dutystation.services.exemption_requests import NewRequest, request_exemption
from dutystation.store.db import make_engine
from dutystation.store.schema_audit import AuditRecord
from dutystation.store.schema_exemptions import ExemptionCertification, ExemptionRequest

NIGHTLY = os.environ.get("DUTYSTATION_TEST_PROFILE") == "nightly"
TRIALS = int(os.environ.get("DUTYSTATION_KILL9_TRIALS", 50 if NIGHTLY else 20))
CLIENTS = 2  # concurrent clients: decisions queue on the store's writer lock
PER_TRIAL = 60  # pending requests filed per trial (more than a trial decides)
KILL_WINDOW = (0.05, 1.5)  # seconds after the first decision was sent
FIRST_DAY = date(2026, 1, 5)


def file_requests(store: Store, count: int) -> None:
    """``count`` pending one-day requests of W1, filed by w1, on days not used yet."""
    runtime = bootstrap(store.settings)
    with runtime.engine.connect() as conn:
        w1 = accounts.load_actor(conn, "w1")
    for _ in range(count):
        day = FIRST_DAY + timedelta(days=store.days_used)
        store.days_used += 1
        new = NewRequest("W1", ExemptionCategory.COMPELLING_REASON, day, day, "kill -9")
        store.pending.append(request_exemption(runtime, w1, new))
    runtime.engine.dispose()


@dataclass
class Fired:
    acknowledged: dict[int, str] = field(default_factory=dict)  # id -> decision, 2xx answered
    refused: dict[int, int] = field(default_factory=dict)  # id -> status, other answers
    in_flight: set[int] = field(default_factory=set)  # sent, no answer (the kill)


def fire(
    server: Server,
    store: Store,
    rng: random.Random,
    started: threading.Event,
    stop: threading.Event,
) -> Fired:
    """Clients decide pending requests one after another until ``stop`` is set; ``started``
    is set when the first decision is sent."""
    fired = Fired()
    lock = threading.Lock()
    decisions = {rid: rng.choice(["approve", "deny"]) for rid in store.pending}
    headers = {"Authorization": f"Bearer {store.token}"}

    def client() -> None:
        with httpx2.Client(base_url=server.base, headers=headers, timeout=30) as http:
            while not stop.is_set():
                with lock:
                    if not store.pending:
                        return
                    rid = store.pending.popleft()
                    fired.in_flight.add(rid)
                body = {"decision": decisions[rid], "reason": "kill -9 trial"}
                started.set()
                try:
                    answer = http.post(f"/api/v1/exemptions/{rid}/certifications", json=body)
                except httpx2.TransportError:
                    return  # the server is gone: this one stays in flight
                with lock:
                    fired.in_flight.discard(rid)
                    if 200 <= answer.status_code < 300:
                        fired.acknowledged[rid] = decisions[rid]
                    else:
                        fired.refused[rid] = answer.status_code

    threads = [threading.Thread(target=client, daemon=True) for _ in range(CLIENTS)]
    for thread in threads:
        thread.start()
    stop.wait()
    for thread in threads:
        thread.join(timeout=60)
    return fired


def check(engine: Engine, fired: Fired) -> tuple[int, int]:
    """The trial's pass figures; returns (decisions stored, of them in flight at the kill)."""
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            assert conn.execute(text("PRAGMA integrity_check")).scalar() == "ok"
        result = verify(conn)
        assert result.intact, result.sentence()
        status = dict(conn.execute(select(ExemptionRequest.id, ExemptionRequest.status)).all())
        certified: dict[int, list[str]] = {}
        for rid, decision in conn.execute(
            select(ExemptionCertification.request_id, ExemptionCertification.decision)
        ):
            certified.setdefault(rid, []).append(decision)
        recorded: dict[int, list[str]] = {}
        for subject_id, after in conn.execute(
            select(AuditRecord.subject_id, AuditRecord.after).where(
                AuditRecord.action == "exemption.certify", AuditRecord.outcome == "allowed"
            )
        ):
            recorded.setdefault(int(subject_id), []).append(json.loads(after)["status"])
    decided = {rid for rid, s in status.items() if s != "submitted"}
    outcome = {"approve": "approved", "deny": "denied"}
    for rid in decided:  # 0 decisions without their audit record
        assert len(certified.get(rid, [])) == 1, (rid, certified.get(rid))
        assert recorded.get(rid) == [status[rid]], (rid, status[rid], recorded.get(rid))
        assert outcome[certified[rid][0]] == status[rid]
    for rid, statuses in recorded.items():  # 0 audit records of decisions not stored
        assert rid in decided and statuses == [status[rid]], (rid, statuses, status.get(rid))
    assert set(certified) == decided
    for rid, decision in fired.acknowledged.items():  # acknowledged means committed
        assert status[rid] == outcome[decision], (rid, decision, status[rid])
    assert not fired.refused, f"decisions refused: {fired.refused}"
    return len(decided), len(decided & fired.in_flight)


@pytest.mark.slow
def test_a_killed_server_keeps_each_decision_with_its_audit_record(
    db_url: str, tmp_path: Path
) -> None:
    store = prepare(tmp_path, db_url)
    file_requests(store, PER_TRIAL)
    rng = random.Random(19)
    # Stratified kill moments: one per slice of the window, shuffled.
    low, high = KILL_WINDOW
    moments = [low + (high - low) * (i + rng.random()) / TRIALS for i in range(TRIALS)]
    rng.shuffle(moments)
    engine = make_engine(db_url)
    total = unanswered = committed = 0
    upcoming = Server(store, tmp_path / "serve-0.log")
    try:
        for trial, moment in enumerate(moments):
            server = upcoming
            server.go()  # from the second trial on: a restart on the killed store
            upcoming = Server(store, tmp_path / f"serve-{trial + 1}.log")
            started, stop = threading.Event(), threading.Event()
            result: list[Fired] = []
            firing = threading.Thread(
                target=lambda s=server, a=started, b=stop, r=result: r.append(
                    fire(s, store, rng, a, b)
                )
            )
            firing.start()
            assert started.wait(timeout=60)
            time.sleep(moment)
            server.kill()
            stop.set()
            firing.join(timeout=90)
            (fired,) = result
            total, landed = check(engine, fired)
            unanswered, committed = unanswered + len(fired.in_flight), committed + landed
            # Requests in flight at the kill were taken off the queue, decided or not.
            if len(store.pending) < PER_TRIAL:
                file_requests(store, PER_TRIAL - len(store.pending))
        upcoming.go()  # the last restart: it serves what the store holds
        headers = {"Authorization": f"Bearer {store.token}"}
        with engine.connect() as conn:
            rid, stored = conn.execute(
                select(ExemptionRequest.id, ExemptionRequest.status)
                .where(ExemptionRequest.status != "submitted")
                .limit(1)
            ).one()
        shown = httpx2.get(f"{upcoming.base}/api/v1/exemptions/{rid}", headers=headers, timeout=10)
        assert shown.status_code == 200 and shown.json()["status"] == stored
    finally:
        upcoming.close()
        engine.dispose()
    name = engine.dialect.name
    print(
        f"T19 {name}: {TRIALS} kills, {total} decisions stored; {unanswered} unanswered at a "
        f"kill, {committed} of them committed"
    )
    assert total > TRIALS  # the kills landed among decisions, not before the first one
