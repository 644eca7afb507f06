"""The DuckDB evaluation agrees with the pure domain (``decide_status``) on random small
scenarios: a few directives (shares and days, deadlines, expiry, ``counts_at``, not-bound
units, presumed arrangements), employees with changing assignments and gaps, every
schedule kind across federal holidays, T&A rows of every category at the duty station,
elsewhere or nowhere, badge days, exemptions, requests and agreements. Every status,
reason, directive and hour figure of every (employee, period) must be the same."""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

import pytest
from test_evaluation_scenario import (
    CHAINS,
    SITES,
    Person,
    Scenario,
    Version,
    directive,
    mismatches,
    oracle,
)

from dutystation.domain.calendar import days_between
from dutystation.domain.directive import CountsAt, Directive, ExemptionCategory, Requirement
from dutystation.domain.inputs import (
    Agreement,
    EmployeeExemption,
    EvaluationInputs,
    ExemptionRequest,
)
from dutystation.domain.status import ApprovedExemption
from dutystation.domain.vocabulary import Arrangement, HoursCategory, ScheduleKind

SEEDS = range(120)
pytestmark = pytest.mark.slow


@pytest.mark.parametrize("chunk", range(4))
def test_sql_and_domain_decide_every_employee_period_alike(chunk: int) -> None:
    problems: list[str] = []
    for seed in SEEDS[chunk::4]:
        problems += [f"seed {seed}: {p}" for p in mismatches(random_scenario(seed))]
    assert problems == [], "\n".join(problems[:20])


def test_random_scenarios_exercise_every_status() -> None:
    seen = set()
    for seed in range(40):
        seen |= {r["status"] for r in oracle(random_scenario(seed)).values()}
    assert seen == {
        "compliant",
        "non_compliant",
        "exempt",
        "pending_exemption",
        "covered_by_agreement",
        "not_yet_due",
        "not_in_scope",
    }


def random_scenario(seed: int) -> Scenario:
    rng = random.Random(seed)
    start = date(2024, 12, 16) + timedelta(days=rng.randrange(90))
    end = start + timedelta(days=rng.choice([0, 3, 6, 13, 20, 27, 40]))
    directives = [_random_directive(rng, i, start, end) for i in range(rng.choice([1, 1, 2, 3]))]
    people = [_random_person(rng, f"E{i:03d}", start, end) for i in range(10)]
    timecards, badges = _random_evidence(rng, people, start, end)
    inputs = _random_inputs(rng, people, start, end)
    selected = ["A", "A1", "A2"] if rng.random() < 0.2 else None
    return Scenario(start, end, directives, people, timecards, badges, inputs, selected)


def _random_directive(rng: random.Random, i: int, start: date, end: date) -> Directive:
    effective = start + timedelta(days=rng.randrange(-10, (end - start).days + 3))
    arrangements = [a.value for a in Arrangement]
    measured = rng.sample(arrangements, rng.randint(1, 3))
    presumed = [a for a in arrangements if a not in measured and rng.random() < 0.4]
    units = rng.choice([["*"], ["ROOT"], ["A"], ["B"], ["A1", "B"]])
    scope: dict[str, Any] = {
        "org_units": units,
        "arrangements": measured,
        "presumed_compliant": presumed,
    }
    if rng.random() < 0.3:
        spare = [u for u in ("A1", "A2", "B") if u not in units]
        scope["not_bound"] = [{"org_unit": rng.choice(spare), "legal_basis": "legal impediment"}]
    requirement = rng.choice(
        [
            {"onsite_share_of_hours": rng.choice([0.5, 0.6, 1.0])},
            {"days_per_week": rng.randint(1, 5)},
            {"days_per_pay_period": rng.randint(1, 10)},
        ]
    )
    data: dict[str, Any] = {
        "id": f"D{i}",
        "effective": effective,
        "issued": effective,
        "scope": scope,
        "requirement": requirement,
        "counts_at": rng.choice(list(CountsAt)).value,
        "exemptions": {
            "categories": rng.sample([c.value for c in ExemptionCategory], rng.randint(0, 3))
        },
    }
    if rng.random() < 0.3:
        data["expires"] = effective + timedelta(days=rng.randrange(0, 30))
    if rng.random() < 0.5:
        data["deadlines"] = {"full_compliance": effective + timedelta(days=rng.randrange(0, 20))}
    if rng.random() < 0.5:
        data["duty_station_test"] = {"min_days_per_pay_period": rng.randint(1, 4)}
    else:
        data["duty_station_test"] = None
    return directive(**data)


def _random_version(rng: random.Random, begin: date, finish: date | None) -> Version:
    arrangement = rng.choice([a.value for a in Arrangement])
    return Version(
        begin,
        finish,
        org_unit=rng.choice(list(CHAINS)),
        duty_station=None if arrangement == "remote" and rng.random() < 0.7 else rng.choice(SITES),
        arrangement=arrangement,
        schedule=rng.choice([s.value for s in ScheduleKind]),
        bargaining_unit=rng.choice([None, "U1", "U2"]),
        telework_eligible=rng.choice([True, False, None]),
    )


def _random_person(rng: random.Random, employee_id: str, start: date, end: date) -> Person:
    day = start + timedelta(days=rng.randrange(-8, max(1, (end - start).days + 2)))
    versions = []
    for _ in range(rng.randint(1, 3)):
        length = rng.randint(1, 20)
        finish = day + timedelta(days=length)
        versions.append(_random_version(rng, day, finish))
        day = finish + timedelta(days=1 if rng.random() < 0.1 else 0)
    if rng.random() < 0.7:
        versions[-1].end = None
    return Person(employee_id, versions)


def _random_evidence(
    rng: random.Random, people: list[Person], start: date, end: date
) -> tuple[list[tuple[str, date, str, float, str | None]], list[tuple[str, date]]]:
    timecards: list[tuple[str, date, str, float, str | None]] = []
    badges: list[tuple[str, date]] = []
    for p in people:
        for day in days_between(start - timedelta(days=2), end + timedelta(days=2)):
            for _ in range(rng.choice([0, 0, 1, 1, 1, 2])):
                category = rng.choice(list(HoursCategory)).value
                site = rng.choice([None, *SITES]) if category == "onsite" else None
                timecards.append((p.employee_id, day, category, rng.randint(1, 20) / 2, site))
            if rng.random() < 0.4:
                badges.append((p.employee_id, day))
    return timecards, badges


def _random_inputs(
    rng: random.Random, people: list[Person], start: date, end: date
) -> EvaluationInputs:
    def some_day() -> date:
        return start + timedelta(days=rng.randrange(-10, (end - start).days + 10))

    exemptions, requests = [], []
    for p in people:
        for _ in range(rng.choice([0, 0, 1, 2])):
            begin = some_day()
            finish = rng.choice([None, begin + timedelta(days=rng.randrange(0, 15))])
            category = rng.choice(list(ExemptionCategory))
            exemptions.append(
                EmployeeExemption(p.employee_id, ApprovedExemption(category, begin, finish))
            )
        for _ in range(rng.choice([0, 0, 0, 1])):
            filed = some_day()
            decided = rng.choice([None, filed + timedelta(days=rng.randrange(0, 10))])
            requests.append(
                ExemptionRequest(p.employee_id, rng.choice(list(ExemptionCategory)), filed, decided)
            )
    terms = rng.choice(
        [
            {"days_per_pay_period": rng.randint(1, 6)},
            {"days_per_week": rng.randint(1, 3)},
            {"onsite_share_of_hours": 0.4},
        ]
    )
    first_end = some_day()
    agreements = (
        Agreement("U1", "Unit one", start - timedelta(days=30), first_end, Requirement(**terms)),
        Agreement("U1", "Unit one (renewed)", first_end + timedelta(days=1), None, None),
        Agreement("U2", "Unit two", start - timedelta(days=30), None, Requirement(days_per_week=1)),
    )
    return EvaluationInputs(tuple(exemptions), tuple(requests), agreements)
