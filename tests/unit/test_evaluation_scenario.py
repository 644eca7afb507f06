"""Builders for evaluation scenarios, the DuckDB evaluation run on them in memory, and the
oracle: ``decide_status`` computed in Python from the same inputs, day by day.

The other ``test_evaluation_*`` modules import from here; the tests at the bottom check the
harness itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import duckdb
import pyarrow as pa

from dutystation.analytics.bindings import bindings_table, boundaries, directives_table
from dutystation.analytics.calendar_table import calendar_days, schedule_for, schedule_hours
from dutystation.analytics.evaluation import PERIOD_KINDS, EvaluationTables, evaluate_sql
from dutystation.analytics.input_tables import (
    agreements_table,
    exemptions_table,
    org_table,
    requests_table,
)
from dutystation.domain.calendar import (
    days_between,
    iso_week_of,
    pay_period_of,
    required_hours_by_day,
)
from dutystation.domain.directive import (
    BindingKind,
    CountsAt,
    Directive,
    binding_directive,
)
from dutystation.domain.inputs import (
    EvaluationInputs,
)
from dutystation.domain.status import (
    DayEvidence,
    StatusInputs,
    decide_status,
)
from dutystation.domain.vocabulary import Arrangement, HoursCategory, ScheduleKind
from dutystation.store.history import INTERVALS_SCHEMA

CHAINS: dict[str, tuple[str, ...]] = {
    "ROOT": ("ROOT",),
    "A": ("ROOT", "A"),
    "A1": ("ROOT", "A", "A1"),
    "A2": ("ROOT", "A", "A2"),
    "B": ("ROOT", "B"),
}
SITES = ("S1", "S2", "S3")
HOURS_TOLERANCE = 1e-9


@dataclass
class Version:
    """One assignment version, in force on [start, end) (end None: open)."""

    start: date
    end: date | None = None
    org_unit: str = "A1"
    duty_station: str | None = "S1"
    arrangement: str = "telework"
    schedule: str = "5x8"
    bargaining_unit: str | None = None
    telework_eligible: bool | None = True

    def holds(self, day: date) -> bool:
        return self.start <= day and (self.end is None or day < self.end)


@dataclass
class Person:
    employee_id: str
    versions: list[Version]

    def version_on(self, day: date) -> Version | None:
        return next((v for v in self.versions if v.holds(day)), None)


@dataclass
class Scenario:
    start: date
    end: date
    directives: list[Directive]
    people: list[Person]
    timecards: list[tuple[str, date, str, float, str | None]] = field(default_factory=list)
    badges: list[tuple[str, date]] = field(default_factory=list)
    inputs: EvaluationInputs = field(default_factory=EvaluationInputs)
    selected: list[str] | None = None
    kinds: tuple[str, ...] = PERIOD_KINDS


def directive(**overrides: Any) -> Directive:
    """A directive for org unit ROOT's staff on telework, 100 % on site, from 2025-01-06,
    with ``overrides`` merged in (nested tables replace the defaults' whole table)."""
    data: dict[str, Any] = {
        "id": "RTO",
        "version": 1,
        "issuer": "Agency head",
        "title": "Return to the office",
        "issued": date(2025, 1, 6),
        "effective": date(2025, 1, 6),
        "scope": {"org_units": ["ROOT"], "arrangements": ["telework", "remote"]},
        "requirement": {"onsite_share_of_hours": 1.0},
        "exemptions": {"categories": ["medical_condition", "compelling_reason"]},
        "duty_station_test": {"min_days_per_pay_period": 2},
    }
    data.update(overrides)
    return Directive.model_validate(data)


# --- running the SQL -------------------------------------------------------------------


def _intervals(people: list[Person]) -> Any:
    rows: dict[str, list[Any]] = {name: [] for name in INTERVALS_SCHEMA.names}
    for p in people:
        for v in p.versions:
            values = {
                "employee_id": p.employee_id,
                "name": f"Name {p.employee_id}",
                "effective_from": v.start,
                "effective_to": v.end,
                "org_unit": v.org_unit,
                "org_path": list(CHAINS[v.org_unit]),
                "duty_station": v.duty_station,
                "arrangement": v.arrangement,
                "schedule": v.schedule,
                "bargaining_unit": v.bargaining_unit,
                "telework_eligible": v.telework_eligible,
            }
            for name, value in values.items():
                rows[name].append(value)
    return pa.table(rows, schema=INTERVALS_SCHEMA)


def run_sql(s: Scenario) -> dict[tuple[str, str, str], dict[str, Any]]:
    """The DuckDB evaluation of ``s``, keyed by (employee, period kind, period label)."""
    tables = EvaluationTables(
        intervals=_intervals(s.people),
        org_units=org_table(CHAINS),
        calendar=calendar_days(s.start, s.end, boundaries(s.directives)),
        schedule_hours=schedule_hours(s.start, s.end),
        bindings=bindings_table(s.directives, CHAINS, s.start, s.end),
        directives=directives_table(s.directives),
        exemptions=exemptions_table(s.inputs.exemptions),
        requests=requests_table(s.inputs.requests),
        agreements=agreements_table(s.inputs.agreements),
        selected_units=s.selected,
    )
    timecards = pa.table(
        {
            "employee_id": pa.array([t[0] for t in s.timecards], pa.string()),
            "date": pa.array([t[1] for t in s.timecards], pa.date32()),
            "category": pa.array([t[2] for t in s.timecards], pa.string()),
            "hours": pa.array([t[3] for t in s.timecards], pa.float64()),
            "site_id": pa.array([t[4] for t in s.timecards], pa.string()),
        }
    )
    badges = pa.table(
        {
            "employee_id": pa.array([b[0] for b in s.badges], pa.string()),
            "local_date": pa.array([b[1] for b in s.badges], pa.date32()),
        }
    )
    con = duckdb.connect()
    try:
        con.register("tc_src", timecards)
        con.register("badge_src", badges)
        outcome = evaluate_sql(
            con,
            tables,
            timecards="tc_src",
            badges="badge_src",
            start=s.start,
            end=s.end,
            kinds=s.kinds,
        )
    finally:
        con.close()
    rows = outcome.employee_periods.to_pylist()
    return {(r["employee_id"], r["period_kind"], r["period_label"]): r for r in rows}


# --- the oracle --------------------------------------------------------------------------


def _periods(s: Scenario, kind: str) -> dict[str, list[date]]:
    found: dict[str, list[date]] = {}
    for day in days_between(s.start, s.end):
        if kind == "day":
            label = day.isoformat()
        elif kind == "week":
            label = iso_week_of(day).label
        else:
            label = pay_period_of(day).label
        found.setdefault(label, []).append(day)
    return found


def _whole(kind: str, days: list[date], s: Scenario) -> bool:
    period = pay_period_of(days[0])
    return kind == "pay_period" and period.start >= s.start and period.end <= s.end


def _day_figures(s: Scenario, person: Person, day: date, counts_any: bool) -> dict[str, float]:
    version = person.version_on(day)
    assert version is not None
    schedule = schedule_for(ScheduleKind(version.schedule))
    scheduled = schedule.scheduled_hours(day)
    calendar_holiday = scheduled - required_hours_by_day(schedule, s.start, s.end)[day]
    f = dict.fromkeys(["own", "other", "field", "telework", "remote", "leave", "hol"], 0.0)
    for employee, when, category, hours, site in s.timecards:
        if employee != person.employee_id or when != day:
            continue
        if category == HoursCategory.ONSITE:
            key = "own" if site is None or site == version.duty_station else "other"
        else:
            key = {
                "field_travel": "field",
                "telework_routine": "telework",
                "telework_situational": "telework",
                "remote": "remote",
                "leave": "leave",
                "holiday": "hol",
            }[category]
        f[key] += hours
    f["hol"] = max(calendar_holiday, f["hol"])
    f["required"] = max(0.0, scheduled - f["hol"] - f["leave"])
    f["on_site"] = f["own"] + (f["other"] if counts_any else 0.0)
    f["off_site"] = f["telework"] + f["remote"] + (0.0 if counts_any else f["other"])
    return f


def oracle(s: Scenario) -> dict[tuple[str, str, str], dict[str, Any]]:
    """What the SQL must say, from ``decide_status`` and the calendar, day by day."""
    expected: dict[tuple[str, str, str], dict[str, Any]] = {}
    picked = [
        p
        for p in s.people
        if s.selected is None
        or any(
            v.org_unit in s.selected
            for d in days_between(s.start, s.end)
            if (v := p.version_on(d)) is not None
        )
    ]
    for kind in s.kinds:
        for label, days in _periods(s, kind).items():
            start, end = days[0], days[-1]
            for person in picked:
                active = [d for d in days if person.version_on(d) is not None]
                if not active:
                    continue
                last = person.version_on(active[-1])
                assert last is not None
                if s.selected is not None and last.org_unit not in s.selected:
                    continue
                chain = list(reversed(CHAINS[last.org_unit]))
                binding = binding_directive(s.directives, chain, Arrangement(last.arrangement), end)
                counts_any = (
                    binding.directive is not None
                    and binding.directive.counts_at is CountsAt.ANY_AGENCY_OFFICE
                )
                figures = {d: _day_figures(s, person, d, counts_any) for d in active}
                evidence = [
                    DayEvidence(
                        d,
                        f["required"],
                        hours_on_site=f["on_site"],
                        hours_field_travel=f["field"],
                        hours_off_site=f["off_site"],
                    )
                    for d, f in figures.items()
                ]
                mine = person.employee_id
                exemptions = [x.exemption for x in s.inputs.exemptions if x.employee_id == mine]
                pending = [
                    r.as_pending()
                    for r in s.inputs.requests
                    if r.employee_id == mine and r.pending_at(end)
                ]
                agreements = [
                    c
                    for a in s.inputs.agreements
                    if a.bargaining_unit == last.bargaining_unit and (c := a.coverage()) is not None
                ]
                decision = decide_status(
                    StatusInputs(binding, start, end, evidence, exemptions, pending, agreements)
                )
                test_days = (
                    binding.directive.duty_station_test if binding.directive is not None else None
                )
                minimum = test_days.min_days_per_pay_period if test_days else 2
                failed = None
                if _whole(kind, days, s) and last.arrangement == "telework":
                    failed = sum(1 for f in figures.values() if f["own"] > 0) < minimum
                badge_days = {b[1] for b in s.badges if b[0] == mine}

                def total(key: str, figures: dict[date, dict[str, float]] = figures) -> float:
                    return sum(f[key] for f in figures.values())

                expected[(mine, kind, label)] = {
                    "status": str(decision.status),
                    "reason": decision.reason,
                    "directive_ref": decision.directive,
                    "period_start": start,
                    "period_end": end,
                    "org_unit": last.org_unit,
                    "arrangement": last.arrangement,
                    "duty_station": last.duty_station,
                    "hours_required": total("required"),
                    "hours_on_site": total("on_site"),
                    "hours_field_travel": total("field"),
                    "hours_off_site": total("off_site"),
                    "hours_leave": total("leave"),
                    "hours_holiday": total("hol"),
                    "days_present_badge": sum(1 for d in active if d in badge_days),
                    "days_on_site_ta": sum(
                        1 for f in figures.values() if f["own"] + f["other"] > 0
                    ),
                    "duty_station_test_failed": failed,
                    "binding": binding.kind is BindingKind.BOUND,
                }
    return expected


def mismatches(s: Scenario) -> list[str]:
    """Every difference between the SQL and the oracle, one line each."""
    got, want = run_sql(s), oracle(s)
    problems = [f"missing row {k}" for k in want if k not in got]
    problems += [f"unexpected row {k}" for k in got if k not in want]
    for key in want.keys() & got.keys():
        for column, value in want[key].items():
            if column == "binding":
                continue
            actual = got[key][column]
            if isinstance(value, float):
                same = actual is not None and abs(actual - value) <= HOURS_TOLERANCE
            else:
                same = actual == value
            if not same:
                problems.append(f"{key} {column}: sql {actual!r}, domain {value!r}")
    return problems


# --- the harness's own tests ----------------------------------------------------------------


def test_a_quiet_week_of_a_teleworker_matches_the_domain() -> None:
    person = Person("E1", [Version(date(2025, 1, 1))])
    monday = date(2025, 2, 3)
    timecards = [("E1", monday + timedelta(days=i), "onsite", 8.0, "S1") for i in range(5)]
    s = Scenario(monday, monday + timedelta(days=6), [directive()], [person], timecards)
    assert mismatches(s) == []
    row = run_sql(s)[("E1", "week", "2025-W06")]
    assert row["status"] == "compliant"
    assert row["hours_on_site"] == 40.0
