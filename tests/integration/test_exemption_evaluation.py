"""From request to report: a teleworker who works from home is non-compliant; once they
file a request they are reported pending; once the supervisor and the agency head both
approve, they are exempt on exactly the approved days, and on no other."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from exemption_builders import World, build_world
from sqlalchemy import Engine
from test_import_records_builders import write_csv

from dutystation.domain.directive import ExemptionCategory
from dutystation.domain.exemptions import Decision
from dutystation.ingest.fields import ImportKind
from dutystation.services.evaluate import EvaluationRequest, decoded, evaluate
from dutystation.services.exemption_decisions import certify
from dutystation.services.exemption_requests import NewRequest, request_exemption
from dutystation.services.importing import run_import

FIRST, LAST = date(2025, 2, 24), date(2025, 3, 9)  # two ISO weeks, Monday to Sunday
FILED = datetime(2025, 2, 26, 15, tzinfo=UTC)
DECIDED = datetime(2025, 2, 27, 15, tzinfo=UTC)
APPROVED = (date(2025, 2, 28), date(2025, 3, 5))


@pytest.fixture
def world(engine: Engine, tmp_path: Path) -> Iterator[World]:
    built = build_world(engine, tmp_path)
    rows = []
    day = FIRST
    while day <= LAST:
        if day.weekday() < 5:  # E1 teleworks every workday; E2 is at the office
            rows.append(["E1", day.isoformat(), "telework_routine", "8", ""])
            rows.append(["E2", day.isoformat(), "onsite", "8", "HQ"])
        day += timedelta(days=1)
    path = write_csv(tmp_path / "ta.csv", ["employee_id", "date", "code", "hours", "site_id"], rows)
    run_import(built.runtime, ImportKind.TIMECARDS, [path])
    yield built
    built.runtime.engine.dispose()


def statuses(world: World) -> dict[date, str]:
    request = EvaluationRequest(FIRST, LAST, "COMP-A", ("day",))
    table = decoded(evaluate(world.runtime, request).employee_periods).to_pylist()
    return {r["period_start"]: r["status"] for r in table if r["employee_id"] == "E1"}


def workdays(start: date, end: date) -> set[date]:
    return {d for d in _days(start, end) if d.weekday() < 5}


def test_approval_by_supervisor_and_agency_head_exempts_exactly_the_approved_days(
    world: World,
) -> None:
    before = statuses(world)
    assert {d for d, s in before.items() if s == "non_compliant"} == workdays(FIRST, LAST)

    category, asked_end = ExemptionCategory.COMPELLING_REASON, date(2025, 3, 7)
    request = NewRequest("E1", category, APPROVED[0], asked_end, "caring for a relative")
    rid = request_exemption(world.runtime, world.actor("e1"), request, now=FILED)
    pending = statuses(world)
    assert pending == {**before, **dict.fromkeys(_days(FILED.date(), LAST), "pending_exemption")}

    supervisor = world.actor("s1")
    certify(world.runtime, supervisor, rid, Decision.APPROVE, "ok", end=APPROVED[1], now=DECIDED)
    assert statuses(world) == pending  # one certification of two: still pending
    certify(world.runtime, world.actor("head"), rid, Decision.APPROVE, "certified", now=DECIDED)
    # Exempt on exactly the approved days; pending on the day it was filed (decided the
    # next day); every other day judged as before the request.
    exempt = dict.fromkeys(_days(*APPROVED), "exempt")
    assert statuses(world) == {**before, FILED.date(): "pending_exemption", **exempt}


def _days(start: date, end: date) -> list[date]:
    return [start + timedelta(days=n) for n in range((end - start).days + 1)]
