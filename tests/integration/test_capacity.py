"""Capacity planning on a hand-built roster, on SQLite and PostgreSQL: expected attendance
per directive kind, exemptions and unbound staff left out, field staff, agreements,
holidays, designations, the shortfall as exemption evidence, and the unplaced staff of a
designation plan counted per ZIP3 area, never per home."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta

import pytest
from capacity_roster import (
    AGREEMENTS,
    DIRECTIVES,
    EXEMPTIONS,
    INPUTS,
    PEOPLE,
    SINCE,
    UNITS,
    store,
)
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from dutystation.analytics.calendar_table import schedule_for
from dutystation.domain.calendar import iso_week_of, pay_period_of, workdays
from dutystation.domain.capacity import PersonDay, expected_rate
from dutystation.domain.directive import BindingKind, binding_directive
from dutystation.domain.vocabulary import Arrangement, ScheduleKind
from dutystation.services import designation as designation_service
from dutystation.services.capacity import capacity, offices_short_of_space, peak_per_office
from dutystation.services.unplaced_areas import unplaced_areas
from dutystation.store.schema import Employee, EmployeeAssignment, EmployeeHome, Office
from dutystation.store.schema_designation import Designation, DesignationPlan

MONDAY, FRIDAY = date(2025, 3, 3), date(2025, 3, 7)


def _days(engine: Engine, start: date = MONDAY, end: date = FRIDAY, **kw: object) -> dict:
    with engine.connect() as conn:
        found = capacity(conn, start, end, INPUTS, **kw)  # type: ignore[arg-type]
    return {(r["site_id"], r["day"]): r for r in found.days.to_pylist()}


def test_expected_attendance_follows_each_directive_kind(engine: Engine) -> None:
    store(engine)
    days = _days(engine)
    hq, fld = days[("HQ", MONDAY)], days[("FLD", MONDAY)]
    # HQ: A1 on site 1; A2 and A3 60 % of hours; A4 exempt (allowed category) and A5 in
    # the field count 0; A6's exemption is in a category the directive does not allow.
    assert hq["expected"] == pytest.approx(1 + 0.6 + 0.6 + 0.6)
    assert (hq["assigned"], hq["onsite"], hq["telework"], hq["field"]) == (6, 1, 4, 1)
    assert hq["exempt"] == 1 and hq["seats"] == 2
    # FLD: B1 3 of 5 days, B2 3 of a 4x10's 4, C1 4 of 10 a pay period, C2 its agreement's
    # 2 of 10, N1 not bound (0), N2 on site though not bound (1).
    assert fld["expected"] == pytest.approx(0.6 + 0.75 + 0.4 + 0.2 + 0 + 1)
    # Friday: the 4x10s are off.
    assert days[("HQ", FRIDAY)]["expected"] == pytest.approx(1 + 0.6 + 0.6)
    assert days[("FLD", FRIDAY)]["expected"] == pytest.approx(0.6 + 0.4 + 0.2 + 1)
    # Weekends hold no rows; the office nobody reports to has zeros.
    assert (("HQ", date(2025, 3, 8))) not in days
    assert days[("IDLE", MONDAY)]["expected"] == 0 and days[("IDLE", MONDAY)]["assigned"] == 0


def test_people_bound_to_come_with_no_office_are_unplaced(engine: Engine) -> None:
    store(engine)
    with engine.connect() as conn:
        found = capacity(conn, MONDAY, FRIDAY, INPUTS)
    rows = found.unplaced.to_pylist()
    assert {(r["org_unit"], r["people"]) for r in rows} == {("DEA-A", 1)}
    assert all(r["expected"] == pytest.approx(0.6) for r in rows)
    assert rows[0]["org_path"] == "DEA/DEA-A"


def _domain_expected(day: date) -> dict[str, float]:
    """The specification, person by person: ``domain.capacity.expected_rate``."""
    totals: dict[str, float] = defaultdict(float)
    exempt = {e.employee_id: e.exemption for e in EXEMPTIONS}
    for employee_id, (unit, station, arrangement, schedule, bargaining) in PEOPLE.items():
        if station is None:
            continue
        chain = [unit] + ([UNITS[unit]] if UNITS[unit] else [])
        binding = binding_directive(DIRECTIVES, chain, Arrangement(arrangement), day)
        directive = binding.directive if binding.kind is BindingKind.BOUND else None
        requirement = directive.requirement if directive else None
        for agreement in AGREEMENTS:
            if agreement.bargaining_unit == bargaining and agreement.terms is not None:
                requirement = agreement.terms
        held = exempt.get(employee_id)
        allowed = (
            directive is not None
            and held is not None
            and held.covers(day)
            and (held.category in directive.exemptions.categories)
        )
        tour = schedule_for(ScheduleKind(schedule))
        week, period = iso_week_of(day), pay_period_of(day)
        totals[station] += expected_rate(
            PersonDay(
                arrangement=Arrangement(arrangement),
                binding=binding.kind,
                requirement=requirement,
                exempt=allowed,
                workday=day in workdays(tour, day, day),
                workdays_in_week=len(workdays(tour, week.start, week.end)),
                workdays_in_pay_period=len(workdays(tour, period.start, period.end)),
            )
        )
    return totals


@pytest.mark.parametrize("monday", [MONDAY, date(2025, 2, 17)])  # the second: a holiday
def test_the_query_agrees_with_the_domain_rule_person_by_person(
    engine: Engine, monday: date
) -> None:
    store(engine)
    days = _days(engine, monday, monday + timedelta(days=4))
    for (site, day), row in days.items():
        assert row["expected"] == pytest.approx(_domain_expected(day).get(site, 0.0)), (site, day)


def test_a_holiday_week_raises_a_days_per_week_share(engine: Engine) -> None:
    store(engine, ["B1", "B2"])
    # Washington's Birthday, Monday 2025-02-17: B1 (5x8) has four workdays for three
    # days, B2 (4x10, Fridays off) three.
    days = _days(engine, date(2025, 2, 17), date(2025, 2, 21))
    assert ("FLD", date(2025, 2, 17)) not in days
    assert days[("FLD", date(2025, 2, 18))]["expected"] == pytest.approx(0.75 + 1.0)
    assert days[("FLD", date(2025, 2, 21))]["expected"] == pytest.approx(0.75)


def test_a_move_mid_week_counts_at_each_office_on_its_days(engine: Engine) -> None:
    keys = store(engine, ["A1"])
    with Session(engine) as session, session.begin():
        version = session.scalars(select(EmployeeAssignment)).one()
        version.effective_to = date(2025, 3, 5)
        fld = session.scalars(select(Office).where(Office.site_id == "FLD")).one()
        session.add(
            EmployeeAssignment(
                employee_pk=keys["A1"],
                effective_from=date(2025, 3, 5),
                org_unit_id=version.org_unit_id,
                duty_station_id=fld.id,
                arrangement="onsite",
                schedule="5x8",
            )
        )
    days = _days(engine)
    assert [days[("HQ", MONDAY + timedelta(d))]["expected"] for d in range(5)] == [1, 1, 0, 0, 0]
    assert [days[("FLD", MONDAY + timedelta(d))]["expected"] for d in range(5)] == [0, 0, 1, 1, 1]


def _plan(engine: Engine, status: str = "proposed", day: date = MONDAY) -> int:
    with Session(engine) as session, session.begin():
        plan = DesignationPlan(
            created_at=datetime(2025, 3, 1, tzinfo=UTC),
            created_by="tmo",
            parameters={"day": day.isoformat(), "org_unit": None},
            total_distance_m=0.0,
            placed=1,
            unplaced=2,
            status=status,
        )
        session.add(plan)
        session.flush()
        return int(plan.id)


def _designate(engine: Engine, employee_pk: int, site: str, plan_id: int, *, applied: bool) -> None:
    with Session(engine) as session, session.begin():
        office = session.scalars(select(Office).where(Office.site_id == site)).one()
        session.add(
            Designation(
                plan_id=plan_id,
                employee_pk=employee_pk,
                office_id=office.id,
                effective_from=date(2025, 3, 4),
                distance_m=1000.0,
                rule="nearest office hosting the component",
                applied_by="tmo" if applied else None,
                applied_at=datetime(2025, 3, 2, tzinfo=UTC) if applied else None,
            )
        )


def test_an_applied_designation_places_a_person_and_a_proposal_does_not(engine: Engine) -> None:
    keys = store(engine, ["R1", "A1"])
    plan = _plan(engine)
    _designate(engine, keys["R1"], "HQ", plan, applied=False)
    assert _days(engine)[("HQ", date(2025, 3, 4))]["designated"] == 0
    _designate(engine, keys["R1"], "FLD", _plan(engine, "applied"), applied=True)
    days = _days(engine)
    # From its first day (Tuesday) R1 counts at FLD, 60 % of the days; before, nowhere.
    assert days[("FLD", MONDAY)]["designated"] == 0
    assert days[("FLD", date(2025, 3, 4))]["designated"] == 1
    assert days[("FLD", date(2025, 3, 4))]["expected"] == pytest.approx(0.6)
    assert days[("FLD", date(2025, 3, 4))]["assigned"] == 0  # the roster does not show it
    with engine.connect() as conn:
        found = capacity(conn, MONDAY, FRIDAY, INPUTS)
        theirs = designation_service.designated_headcount(conn, date(2025, 3, 4))
    assert {r["day"] for r in found.unplaced.to_pylist()} == {MONDAY}
    assert theirs == {"FLD": 1}


def test_offices_short_of_space_are_evidence_for_an_exemption(engine: Engine) -> None:
    store(engine)
    with engine.connect() as conn:
        # The store holds no exemption or agreement: A4 and A6 come at 60 %, C2 at 40 %.
        short = offices_short_of_space(conn, MONDAY, DIRECTIVES)
        weekend = offices_short_of_space(conn, date(2025, 3, 8), DIRECTIVES)
        found = capacity(conn, MONDAY, FRIDAY, INPUTS)
    assert [(s.site_id, s.seats, s.expected, s.shortfall) for s in short] == [("HQ", 2, 3.4, 2)]
    assert short[0].day == MONDAY and short[0].assigned == 6
    assert weekend == []
    peaks = {p["site_id"]: p for p in peak_per_office(found).to_pylist()}
    assert peaks["HQ"]["shortfall"] == 1 and peaks["HQ"]["days_short"] == 5
    assert peaks["HQ"]["peak_date"] == MONDAY and peaks["FLD"]["shortfall"] == 0


def test_an_org_unit_sees_the_offices_its_staff_use_with_everyone_there(engine: Engine) -> None:
    store(engine)
    days = _days(engine, org_unit="DEA-B")
    assert {site for site, _ in days} == {"FLD"}
    # Everyone expected at FLD counts, DEA-C's and DEA-N's people too: seats are physical.
    assert days[("FLD", MONDAY)]["expected"] == pytest.approx(2.95)
    with engine.connect() as conn:
        assert capacity(conn, MONDAY, FRIDAY, INPUTS, org_unit="DEA-B").unplaced.num_rows == 0


def test_unplaced_staff_of_the_latest_plan_are_counted_per_zip3_area(engine: Engine) -> None:
    people = ["R1", "A1"]
    keys = store(engine, people)
    with Session(engine) as session, session.begin():
        # A second remote person, and homes: one by ZIP, one by coordinates only.
        unit = session.scalars(
            select(EmployeeAssignment.org_unit_id).where(
                EmployeeAssignment.employee_pk == keys["R1"]
            )
        ).one()
        other = Employee(employee_id="R2", name="Person R2", active=True)
        session.add(other)
        session.flush()
        keys["R2"] = other.id
        session.add(
            EmployeeAssignment(
                employee_pk=other.id,
                effective_from=SINCE,
                org_unit_id=unit,
                arrangement="remote",
                schedule="5x8",
            )
        )
        session.add(EmployeeHome(employee_pk=keys["R1"], effective_from=SINCE, zip="59101",
                                 latitude=45.78312, longitude=-108.50069))  # fmt: skip
        session.add(EmployeeHome(employee_pk=other.id, effective_from=SINCE,
                                 latitude=45.7001, longitude=-108.6002))  # fmt: skip
    plan = _plan(engine)
    with engine.connect() as conn:
        areas, note = unplaced_areas(conn, [_with_distance_rule()])
    rows = areas.to_pylist()
    assert [(r["place"], r["people"]) for r in rows] == [("ZIP3 591", 2)]
    # The area's centre, to a tenth of a degree: neither home.
    assert (rows[0]["latitude"], rows[0]["longitude"]) != (45.78312, -108.50069)
    assert rows[0]["latitude"] == round(rows[0]["latitude"], 1)
    assert f"designation plan {plan}" in note and "2 people" in note
    # A proposal in the plan places R2: only R1 is left.
    _designate(engine, keys["R2"], "HQ", plan, applied=False)
    with engine.connect() as conn:
        areas, _ = unplaced_areas(conn, [_with_distance_rule()])
    assert areas.column("people").to_pylist() == [1]
    text = json.dumps(areas.to_pylist())
    assert "45.78312" not in text and "-108.6002" not in text


def _with_distance_rule() -> object:
    base = DIRECTIVES[0].model_dump(mode="json")
    return type(DIRECTIVES[0]).model_validate(
        {**base, "distance_rule": {"designate_beyond_miles": 50, "arrangements": ["remote"]}}
    )


def test_no_plan_means_no_unplaced_staff_on_the_map(engine: Engine) -> None:
    store(engine, ["R1"])
    with engine.connect() as conn:
        areas, note = unplaced_areas(conn, DIRECTIVES)
    assert areas.num_rows == 0 and "No designation plan" in note
