"""Agreements and the evaluation snapshot (docs/evaluation.md, "Stale"): a change to an
agreement that changes what the evaluation is given (a binding clause, its terms, its
legal status, the agreement's units or dates) marks the snapshot stale, so every status
answer says its figures are out of date until the next refresh; a change that covers nobody
differently (a new agreement without clauses, a new title) leaves it current."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from area_world import AGREEMENT, Client, app, csv_bytes, with_bargaining_units, write_policies

from api_world import PEOPLE, World
from dutystation.bootstrap import bootstrap
from dutystation.domain.access import SYSTEM
from dutystation.ingest.fields import ImportKind
from dutystation.services.agreements import import_agreements
from dutystation.services.importing import run_import
from dutystation.services.snapshot import refresh_snapshot

__all__ = ["app"]

BASE = "/api/v1/agreements"
CLAUSE = f"{BASE}/EEU-L1-2023/clauses/Art. 31 §4"
FIRST = date(2025, 2, 3)  # a Monday after the directive took effect
AGREEMENTS_FILE = """\
[[agreement]]
code = "EEU-L1-2023"
title = "Master Agreement, Article 31"
union = "Example Employees Union, Local 1"
units = ["EEU-L1"]
effective_from = 2023-10-01
effective_to = 2026-09-30

[[agreement.clause]]
ref = "Art. 31 §4"
summary = "Hybrid schedules"
min_onsite_days_per_week = 2
"""


def refresh(world: World, policies: Path) -> None:
    runtime = bootstrap(world.settings(policies_dir=policies))
    refresh_snapshot(runtime)
    runtime.engine.dispose()


def with_snapshot(world: World, client_for: Client) -> Path:
    """W1 and W2 in bargaining unit EEU-L1, a week of T&A hours, a refreshed snapshot."""
    policies = write_policies(world.data_dir.parent / "policies")
    with_bargaining_units(client_for)
    rows = [
        (employee_id, (FIRST + timedelta(days=n)).isoformat(), "onsite", "8", site)
        for employee_id, _, _, site, _, _ in PEOPLE
        for n in range(5)
    ]
    path = world.data_dir.parent / "ta.csv"
    path.write_bytes(csv_bytes(["employee_id", "date", "code", "hours", "site_id"], rows))
    runtime = bootstrap(world.settings(policies_dir=policies))
    run_import(runtime, ImportKind.TIMECARDS, [path])
    runtime.engine.dispose()
    refresh(world, policies)
    return policies


def stale(client_for: Client) -> bool:
    answer = client_for("employee").get("/api/v1/status/me")
    assert answer.status_code == 200, answer.text
    return bool(answer.json()["snapshot"]["stale"])


def test_agreement_changes_that_change_coverage_mark_the_snapshot_stale(
    world: World, client_for: Client
) -> None:
    policies = with_snapshot(world, client_for)
    hr = client_for("hr")
    assert not stale(client_for)
    assert hr.post(BASE, json=AGREEMENT).status_code == 201
    assert not stale(client_for)  # no clause yet: it covers nobody

    terms = {"summary": "Hybrid schedules", "max_telework_days_per_pay_period": 6}
    assert hr.put(CLAUSE, json=terms).status_code == 200
    assert stale(client_for)  # W1 and W2 are covered from now on
    refresh(world, policies)
    assert hr.put(CLAUSE, json=terms).status_code == 200  # the same terms again
    assert hr.patch(f"{BASE}/EEU-L1-2023", json={"union": "Local 1"}).status_code == 200
    assert not stale(client_for)  # nobody is covered differently

    held = {"status": "held_unenforceable", "on": "2025-02-05", "source": "FLRA ruling"}
    assert hr.post(f"{CLAUSE}/statuses", json=held).status_code == 201
    assert stale(client_for)  # from that day the directive applies to them again
    refresh(world, policies)
    later_end = hr.patch(f"{BASE}/EEU-L1-2023", json={"effective_to": "2026-03-31"})
    assert later_end.status_code == 200, later_end.text
    assert not stale(client_for)  # only days on which the clause binds nobody moved
    later_start = hr.patch(f"{BASE}/EEU-L1-2023", json={"effective_from": "2025-02-04"})
    assert later_start.status_code == 200, later_start.text
    assert stale(client_for)  # the days it binds shrink to one


def test_an_agreements_file_that_changes_coverage_marks_the_snapshot_stale(
    world: World, client_for: Client
) -> None:
    policies = with_snapshot(world, client_for)
    agreements = world.data_dir.parent / "agreements.toml"
    agreements.write_text(AGREEMENTS_FILE, encoding="utf-8")
    runtime = bootstrap(world.settings(policies_dir=policies))
    assert import_agreements(runtime.engine, SYSTEM, agreements).changed
    assert stale(client_for)
    refresh(world, policies)
    assert not import_agreements(runtime.engine, SYSTEM, agreements).changed
    assert not stale(client_for)  # the same file again changes nothing
    runtime.engine.dispose()
