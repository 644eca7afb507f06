"""The evaluation snapshot (services/snapshot.py) and the reads built on it
(services/status.py, services/status_overview.py), on SQLite and PostgreSQL, on the
smallest demo: the snapshot holds exactly the evaluation it came from; the overview shows
the reports' figures for the same weeks; scopes hold (self, a supervisor's reports,
another component answers "not found"); a refresh that fails leaves the old snapshot; an
import, or an exemption request filed, decided or withdrawn, marks it stale."""

from __future__ import annotations

import os
import re
import shutil
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any, cast

import pytest
from snapshot_world import (
    actor,
    current_id,
    demo_world,
    employee_of,
    stored_employees,
    stored_weeks,
)
from sqlalchemy import Table, func, select, text
from sqlalchemy.orm import Session

from dutystation.bootstrap import Runtime
from dutystation.domain.directive import ExemptionCategory
from dutystation.domain.exemptions import Decision
from dutystation.errors import Conflict, Forbidden, NoEvidence, NotFound
from dutystation.events.period_results import PeriodResults
from dutystation.ingest.fields import ImportKind
from dutystation.services.evaluate import EvaluationRequest, decoded, evaluate
from dutystation.services.exemption_decisions import certify
from dutystation.services.exemption_records import REQUESTS
from dutystation.services.exemption_requests import NewRequest, request_exemption, withdraw_request
from dutystation.services.importing import run_import
from dutystation.services.reporting import ReportRequest, build_report
from dutystation.services.rows_file import ABANDONED_SCRATCH_SECONDS
from dutystation.services.snapshot import refresh_snapshot
from dutystation.services.status import employee_status, team_status, unit_people
from dutystation.services.status_overview import component_overview
from dutystation.store.db import make_engine, migrate
from dutystation.store.history import org_unit_chains
from dutystation.store.schema_snapshot import (
    EvaluationSnapshot,
    SnapshotEmployee,
    SnapshotPayPeriod,
    SnapshotUnit,
    SnapshotUnitWeek,
    SnapshotWeek,
)
from dutystation.store.snapshot_rows import PG_REFRESH_LOCK, current

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("snapshot")]
BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
WORDS = ("hours_required", "hours_on_site", "hours_field_travel", "hours_off_site")
COUNTS = ("days_present_badge", "days_on_site_ta", "days_at_duty_station")
TEXTS = ("org_unit", "component", "arrangement", "duty_station", "directive_ref", "status")
MEDICAL = re.compile(r"medical|disabilit|physical[_ ]incapacity|accommodation|surgery", re.I)


@pytest.fixture(scope="module", params=BACKENDS)
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Runtime]:
    folder = tmp_path_factory.mktemp("snapshot") / "data"
    with demo_world(folder, request.param) as runtime:  # the demo refreshes it at its end
        yield runtime


def test_the_snapshot_holds_exactly_the_evaluation_it_came_from(world: Runtime) -> None:
    with world.engine.connect() as conn:
        snapshot = current(conn)
    assert snapshot is not None and not snapshot.stale
    result = evaluate(
        world, EvaluationRequest(snapshot.period_start, snapshot.period_end, None, ("week",))
    )
    expected = decoded(result.employee_periods).to_pylist()
    stored = stored_weeks(world)
    assert len(stored) == len(expected) > 10_000
    for row in expected:
        mine = stored[(row["employee_id"], row["period_start"])]
        assert mine["week"] == row["period_label"] and mine["week_end"] == row["period_end"]
        assert {k: mine[k] for k in (*WORDS, *COUNTS, *TEXTS, "reason")} == {
            k: row[k] for k in (*WORDS, *COUNTS, *TEXTS, "reason")
        }


def test_a_refresh_in_small_parts_stores_the_same_snapshot(world: Runtime) -> None:
    """However small its parts, a refresh stores what one made in one part stores: here
    nothing kept, so every period is computed afresh in runs of two weeks."""
    refresh_snapshot(world)
    whole = _generation(world)
    PeriodResults(world.settings.data_dir / "periods").clear()
    summary = refresh_snapshot(world, part_rows=1)
    assert (summary.period_end - summary.period_start).days > 28  # three runs at least
    assert not [n for n in summary.notes if "read back" in n]
    assert _generation(world) == whole
    assert len(whole["snapshot_week"]) > 10_000 and whole["snapshot_unit"]


def test_a_refresh_leaves_no_scratch_and_clears_what_a_killed_one_left(world: Runtime) -> None:
    tmp = world.settings.tmp_dir
    killed, running = tmp / "snapshot-killed", tmp / "snapshot-running"
    for folder in (killed, running):
        folder.mkdir(parents=True)
        (folder / "periods.parquet").write_bytes(b"rows")
    day_ago = time.time() - ABANDONED_SCRATCH_SECONDS - 60
    os.utime(killed, (day_ago, day_ago))
    refresh_snapshot(world)
    assert sorted(p.name for p in tmp.glob("snapshot-*")) == ["snapshot-running"]
    shutil.rmtree(running)


def _generation(world: Runtime) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the current snapshot's tables but its id, in key order, floats to
    nine places (sums over other batches may differ in the last bit)."""
    found = {}
    with world.engine.connect() as conn:
        sid = current_id(world)
        for model in (
            SnapshotWeek,
            SnapshotPayPeriod,
            SnapshotEmployee,
            SnapshotUnitWeek,
            SnapshotUnit,
        ):
            table = cast(Table, model.__table__)
            columns = [c for c in table.columns if c.name != "snapshot_id"]
            query = select(*columns).where(table.c.snapshot_id == sid)
            found[table.name] = [
                tuple(round(v, 9) if isinstance(v, float) else v for v in row)
                for row in conn.execute(query.order_by(*table.primary_key.columns))
            ]
    return found


def test_pay_period_rows_are_the_duty_station_tests_of_the_evaluation(world: Runtime) -> None:
    p = SnapshotPayPeriod
    with world.engine.connect() as conn:
        snapshot = current(conn)
        assert snapshot is not None
        stored = {
            (r.period_start, r.days_at_duty_station, r.duty_station_test_failed)
            for r in conn.execute(select(p.__table__).where(p.snapshot_id == snapshot.id))
        }
        count = conn.scalar(select(func.count()).where(p.snapshot_id == snapshot.id))
    result = evaluate(
        world,
        EvaluationRequest(snapshot.period_start, snapshot.period_end, None, ("pay_period",)),
    )
    tested = [
        r
        for r in decoded(result.employee_periods).to_pylist()
        if r["duty_station_test_failed"] is not None
    ]
    assert count == len(tested) > 0
    assert stored == {
        (r["period_start"], r["days_at_duty_station"], r["duty_station_test_failed"])
        for r in tested
    }
    assert any(failed for *_, failed in stored) and not all(failed for *_, failed in stored)


def test_no_stored_text_names_a_medical_category(world: Runtime) -> None:
    with world.engine.connect() as conn:
        reasons = set(conn.scalars(text("SELECT DISTINCT reason FROM snapshot_week")))
        reasons |= set(conn.scalars(text("SELECT DISTINCT reason FROM snapshot_employee")))
        limits = set(conn.scalars(text("SELECT DISTINCT limits FROM snapshot_unit")))
        # The people with a medical request pending: their status says so, not why.
        pending = set(
            conn.scalars(
                text(
                    "SELECT DISTINCT s.status FROM snapshot_employee AS s JOIN exemption_request"
                    " AS r ON r.employee_pk = s.employee_pk"
                    " WHERE r.category_group = 'medical_disability'"
                )
            )
        )
    assert "pending_exemption" in pending
    assert not [r for r in reasons | limits if r and MEDICAL.search(r)]


def test_an_employee_reads_their_own_status_as_the_snapshot_holds_it(world: Runtime) -> None:
    me = actor(world, "employee")
    status = employee_status(world, me)
    stored = stored_employees(world)[status.employee_id]
    assert (status.status, status.reason, status.week) == (
        stored["status"],
        stored["reason"],
        stored["week"],
    )
    weeks = {k[1]: v for k, v in stored_weeks(world).items() if k[0] == status.employee_id}
    assert [w.week_start for w in status.weeks] == sorted(weeks)
    assert all(w.hours_on_site == weeks[w.week_start]["hours_on_site"] for w in status.weeks)
    assert status.requirement is not None
    assert status.requirement.directive_ref == stored["directive_ref"]
    assert status.requirement.requirement.endswith("on site")
    assert not status.snapshot.stale and status.snapshot.as_of == date(2025, 3, 16)


def test_an_employee_cannot_read_anyone_else_and_cannot_tell_who_exists(world: Runtime) -> None:
    me = actor(world, "employee")
    other = employee_status(world, actor(world, "employee2")).employee_id
    with pytest.raises(NotFound) as out_of_scope:
        employee_status(world, me, other)
    with pytest.raises(NotFound) as missing:
        employee_status(world, me, "99999999")
    assert str(out_of_scope.value) == f"no employee {other!r}"
    assert str(missing.value) == "no employee '99999999'"
    with pytest.raises(Forbidden):
        component_overview(world, me)


def test_a_supervisor_reads_their_reports_and_nobody_else(world: Runtime) -> None:
    boss = actor(world, "supervisor")
    team = team_status(world, boss)
    ids = {p.employee_id for p in team.items}
    mine = {employee_status(world, actor(world, u)).employee_id for u in ("employee", "employee2")}
    assert mine <= ids and team.total == len(ids)
    assert all(p.status is not None for p in team.items)
    report = sorted(mine)[0]
    assert employee_status(world, boss, report).employee_id == report
    stranger = employee_of(world, _other_component(world), other_than="")
    with pytest.raises(NotFound, match=re.escape(f"no employee {stranger!r}")):
        employee_status(world, boss, stranger)
    with pytest.raises(Forbidden):
        team_status(world, actor(world, "employee"))


def test_a_leader_sees_their_component_only(world: Runtime) -> None:
    leader = actor(world, "leader")
    mine = leader.grants[0].scope
    assert mine is not None
    overview = component_overview(world, leader)
    assert overview.org_unit == mine and overview.children
    other = _other_component(world)
    with pytest.raises(NotFound) as out_of_scope:
        component_overview(world, leader, other)
    with pytest.raises(NotFound) as missing:
        component_overview(world, leader, "NO-SUCH-UNIT")
    assert str(out_of_scope.value) == f"org unit {other!r} does not exist"
    assert str(missing.value) == "org unit 'NO-SUCH-UNIT' does not exist"
    stranger = employee_of(world, other, other_than="")
    with pytest.raises(NotFound):
        employee_status(world, leader, stranger)
    leaf = next(c for c in overview.children if c.child_units == 0 and c.people)
    page = unit_people(world, leader, leaf.org_unit, limit=5)
    assert page.total == leaf.people and len(page.items) == min(5, leaf.people)
    assert all(p.org_unit == leaf.org_unit for p in page.items)
    rest = unit_people(world, leader, leaf.org_unit, limit=500, offset=5)
    assert {p.employee_id for p in rest.items}.isdisjoint(p.employee_id for p in page.items)
    other_leaf = component_overview(world, actor(world, "tmo"), other).children[0].org_unit
    with pytest.raises(NotFound):
        unit_people(world, leader, other_leaf)


@pytest.mark.parametrize("org", [None, "component"])
def test_overview_figures_equal_the_reports_for_the_same_weeks(
    world: Runtime, org: str | None
) -> None:
    tmo = actor(world, "tmo")
    unit = actor(world, "leader").grants[0].scope if org else None
    overview = component_overview(world, tmo, unit)
    request = {"org_unit": unit}
    share = build_report(world, ReportRequest("onsite-share", **request))
    plan = build_report(world, ReportRequest("compliance-plan", **request))
    listed = build_report(world, ReportRequest("not-returned", **request)).section("people")
    by_unit = {
        (r["org_unit"], r["is_total"]): r for r in share.section("by-unit").table.to_pylist()
    }
    weekly = {
        (r["org_unit"], r["is_total"], r["week_start"]): r
        for r in share.section("weekly").table.to_pylist()
    }
    planned = {(r["org_unit"], r["is_total"]): r for r in plan.section("plan").table.to_pylist()}
    shown = [(c, False) for c in overview.children]
    if overview.total is not None:
        shown.append((overview.total, True))
    assert len(shown) == len(by_unit)
    for figures, total in shown:
        key = (figures.org_unit, total)
        assert figures.share_on_site == by_unit[key]["share_on_site"], key
        for week in figures.weeks:
            assert week.share_on_site == weekly[(*key, week.week_start)]["share_on_site"], key
            assert week.employees == weekly[(*key, week.week_start)]["employees"], key
        if figures.own_staff_only:
            continue
        assert figures.compliance_rate == planned[key]["compliance_rate"], key
        assert figures.expected_full_compliance == planned[key]["expected_full_compliance"], key
        if not total:
            assert figures.not_returned == sum(
                1
                for p in listed.table.to_pylist()
                if _under(world, p["org_unit"], figures.org_unit)
            ), key


def test_a_refresh_that_fails_midway_leaves_the_previous_snapshot(world: Runtime) -> None:
    before, weeks = current_id(world), _count(world, SnapshotWeek)

    class Interrupted:
        def start(self, description: str, total_bytes: int | None) -> None:
            self.storing = description.startswith("Storing")

        def advance(self, *, rows: int, bytes_done: int) -> None:
            if self.storing and bytes_done > 5_000:
                raise KeyboardInterrupt  # Ctrl-C while the rows are being stored

        def finish(self) -> None:
            pass

    with pytest.raises(KeyboardInterrupt):
        refresh_snapshot(world, progress=Interrupted())
    assert current_id(world) == before
    assert _count(world, SnapshotWeek) == weeks
    assert _count(world, EvaluationSnapshot) == 1
    assert employee_status(world, actor(world, "employee")).weeks


def test_a_refresh_while_another_runs_is_refused_on_postgresql(world: Runtime) -> None:
    if world.engine.dialect.name != "postgresql":
        pytest.skip("SQLite serialises the second refresh behind the first")
    before = current_id(world)
    with world.engine.connect() as conn, conn.begin():
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": PG_REFRESH_LOCK})
        with pytest.raises(Conflict, match="already running"):
            refresh_snapshot(world)
    assert current_id(world) == before


def test_an_import_that_stores_rows_marks_the_snapshot_stale(
    world: Runtime, tmp_path: Path
) -> None:
    status = employee_status(world, actor(world, "employee"))
    assert not status.snapshot.stale
    site = status.duty_station or "DC0001"
    again = tmp_path / "again.csv"
    new = tmp_path / "new.csv"
    header = "employee_id,timestamp,site_id,direction\n"
    again.write_text(header)
    new.write_text(header + f"{status.employee_id},2025-03-12T08:01:00,{site},IN\n")
    run_import(world, ImportKind.BADGES, [new])
    stale = employee_status(world, actor(world, "employee")).snapshot
    assert stale.stale and stale.changed_at is not None
    before, weeks = current_id(world), _count(world, SnapshotWeek)
    summary = refresh_snapshot(world)  # replaces the previous generation whole
    assert current_id(world) == summary.snapshot_id > before
    assert _count(world, SnapshotWeek) == weeks == summary.week_rows
    assert _count(world, EvaluationSnapshot) == 1
    assert not employee_status(world, actor(world, "employee")).snapshot.stale
    run_import(world, ImportKind.BADGES, [new])  # stores nothing new
    assert not employee_status(world, actor(world, "employee")).snapshot.stale


def test_filing_deciding_and_withdrawing_a_request_mark_the_snapshot_stale(
    world: Runtime,
) -> None:
    """What the pages show comes from the snapshot: once a request changes someone's status
    (pending, exempt, not), every answer says the figures are out of date."""

    def stale() -> bool:
        return employee_status(world, actor(world, "employee")).snapshot.stale

    assert not stale()
    with world.engine.connect() as conn:
        pending = conn.scalar(
            select(REQUESTS.c.id).where(
                REQUESTS.c.filed_by == "employee2", REQUESTS.c.status == "submitted"
            )
        )
    assert pending is not None  # the demo's request waiting for the component head
    certify(world, actor(world, "leader"), pending, Decision.APPROVE, "a seat is found later")
    assert stale()
    refresh_snapshot(world)
    assert not stale()
    mine = employee_status(world, actor(world, "employee")).employee_id
    asked = NewRequest(
        mine, ExemptionCategory.COMPELLING_REASON, date(2025, 6, 2), date(2025, 6, 6), "A move."
    )
    filed = request_exemption(world, actor(world, "employee"), asked)
    assert stale()
    refresh_snapshot(world)
    withdraw_request(world, actor(world, "employee"), filed)
    assert stale()
    refresh_snapshot(world)  # as the other tests found it: current


def test_nothing_to_read_before_the_first_refresh(tmp_path: Path) -> None:
    from dutystation.bootstrap import bootstrap
    from dutystation.domain.access import SYSTEM
    from dutystation.settings import Settings

    runtime = bootstrap(Settings(data_dir=tmp_path))
    engine = make_engine(runtime.settings.resolved_database_url)
    migrate(engine)
    with pytest.raises(NoEvidence, match="evaluate --refresh"):
        component_overview(runtime, SYSTEM)
    engine.dispose()


def _count(world: Runtime, model: type) -> int:
    with world.engine.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(model)) or 0)


def _other_component(world: Runtime) -> str:
    mine = actor(world, "leader").grants[0].scope
    components = {r["component"] for r in stored_employees(world).values()}
    return sorted(c for c in components if c != mine and c != "DEA-OIG")[0]


def _under(world: Runtime, unit: str, ancestor: str) -> bool:
    with Session(world.engine) as session:
        return ancestor in org_unit_chains(session)[unit]
