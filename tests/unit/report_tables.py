"""Builders of the tables the reporting service reads, with the columns of
``services.evaluate`` and ``services.presence``: write only what a test is about."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from typing import Any

import pyarrow as pa
from capacity_samples import figures as capacity_figures

from dutystation.domain.agreements import LegalStatus, StatusSpan
from dutystation.domain.directive import Directive
from dutystation.domain.grievances import GrievanceHistory, GrievanceStatus, GrievanceStep
from dutystation.domain.presence import PresenceSettings
from dutystation.reports.model import Report
from dutystation.services.grievances import GrievanceView
from dutystation.services.reporting.agreement_coverage import spans_table
from dutystation.services.reporting.badges import discrepancies, presence, utilisation
from dutystation.services.reporting.duty_station import duty_station_test
from dutystation.services.reporting.grievances import grievance_rows, grievances_report
from dutystation.services.reporting.hours import onsite_share
from dutystation.services.reporting.plan import compliance_plan
from dutystation.services.reporting.returns import Window, not_returned
from dutystation.services.reporting.seats import capacity_report
from dutystation.services.reporting.tables import ReportContext
from dutystation.services.reporting.workforce import workforce

PERIOD_SCHEMA = pa.schema(
    [
        ("employee_id", pa.string()),
        ("name", pa.string()),
        ("period_kind", pa.string()),
        ("period_label", pa.string()),
        ("period_start", pa.date32()),
        ("period_end", pa.date32()),
        ("org_unit", pa.string()),
        ("component", pa.string()),
        ("org_path", pa.string()),
        ("duty_station", pa.string()),
        ("arrangement", pa.string()),
        ("telework_eligible", pa.bool_()),
        ("bargaining_unit", pa.string()),
        ("directive_ref", pa.string()),
        ("hours_required", pa.float64()),
        ("hours_on_site", pa.float64()),
        ("hours_field_travel", pa.float64()),
        ("hours_off_site", pa.float64()),
        ("hours_telework", pa.float64()),
        ("hours_remote", pa.float64()),
        ("hours_leave", pa.float64()),
        ("hours_holiday", pa.float64()),
        ("days_present_badge", pa.int64()),
        ("days_on_site_ta", pa.int64()),
        ("days_at_duty_station", pa.int64()),
        ("status", pa.string()),
        ("reason", pa.string()),
        ("duty_station_test_failed", pa.bool_()),
        ("hours_other_office", pa.float64()),
    ]
)
REF = "DEA-RTO-2025-01@1"


def row(
    employee_id: str,
    start: date,
    *,
    kind: str = "week",
    unit: str = "DEA-EMA-RCV",
    on_site: float = 40.0,
    off_site: float = 0.0,
    field: float = 0.0,
    leave: float = 0.0,
    status: str = "compliant",
    reason: str = "meets it",
    arrangement: str = "telework",
    eligible: bool | None = True,
    station: str | None = "DC0001",
    badge_days: int | None = None,
    ta_days: int | None = None,
    ref: str | None = REF,
) -> dict[str, Any]:
    parts = unit.split("-")
    path = "/".join("-".join(parts[: i + 1]) for i in range(len(parts)))
    days = 1 if kind == "day" else 7
    worked_days = int(on_site > 0) if kind == "day" else round(on_site / 8)
    return {
        "employee_id": employee_id,
        "name": f"Person {employee_id}",
        "period_kind": kind,
        "period_label": start.isoformat() if kind == "day" else _week(start),
        "period_start": start,
        "period_end": start + timedelta(days=days - 1),
        "org_unit": unit,
        "component": "-".join(parts[:2]) if len(parts) > 1 else unit,
        "org_path": path,
        "duty_station": station,
        "arrangement": arrangement,
        "telework_eligible": eligible,
        "bargaining_unit": None,
        "directive_ref": ref,
        "hours_required": on_site + off_site + field,
        "hours_on_site": on_site,
        "hours_field_travel": field,
        "hours_off_site": off_site,
        "hours_telework": off_site if arrangement != "remote" else 0.0,
        "hours_remote": off_site if arrangement == "remote" else 0.0,
        "hours_leave": leave,
        "hours_holiday": 0.0,
        "days_present_badge": worked_days if badge_days is None else badge_days,
        "days_on_site_ta": worked_days if ta_days is None else ta_days,
        "days_at_duty_station": worked_days if ta_days is None else ta_days,
        "status": status,
        "reason": reason,
        "duty_station_test_failed": None,
        "hours_other_office": 0.0,
    }


def _week(start: date) -> str:
    iso = start.isocalendar()
    return f"{iso.year}-W{iso.week:02d}"


def table(rows: Iterable[dict[str, Any]]) -> pa.Table:
    return pa.Table.from_pylist(list(rows), schema=PERIOD_SCHEMA)


def directive(**deadlines: Any) -> Directive:
    return Directive.model_validate(
        {
            "id": "DEA-RTO-2025-01",
            "version": 1,
            "issuer": "Secretary",
            "title": "Return",
            "issued": "2025-01-24",
            "effective": "2025-01-24",
            "scope": {"org_units": ["DEA"], "arrangements": ["onsite", "telework", "remote"]},
            "requirement": {"onsite_share_of_hours": 1.0},
            "deadlines": {"full_compliance": "2025-02-21", **deadlines},
            "exemptions": {"categories": ["medical_condition", "compelling_reason"]},
        }
    )


def weeks(first: date, count: int) -> list[date]:
    return [first + timedelta(weeks=i) for i in range(count)]


def utilisation_table() -> pa.Table:
    return pa.table(
        {
            "site_id": ["A", "B"],
            "name": ["Small", "Big"],
            "seats": pa.array([10, 100], pa.int64()),
            "days": pa.array([5, 5], pa.int64()),
            "avg_daily_occupancy": [9.123, 50.0],
            "peak_daily_occupancy": pa.array([12, 60], pa.int64()),
            "peak_date": pa.array([date(2025, 3, 3)] * 2, pa.date32()),
            "avg_utilisation": [0.9123, 0.5],
            "peak_utilisation": [1.2, 0.6],
            "over_capacity_days": pa.array([1, 0], pa.int64()),
        }
    )


def discrepancies_table() -> pa.Table:
    return pa.table(
        {
            "employee_id": ["E1", "E1", "E2"],
            "date": pa.array([date(2025, 3, 3), date(2025, 3, 4), date(2025, 3, 3)]),
            "kind": [
                "badge_on_telework_day",
                "badge_on_telework_day",
                "onsite_hours_without_badge",
            ],
            "ta_category": ["telework_routine", "telework_routine", "onsite"],
            "ta_hours": [8.0, 8.0, 8.0],
            "badge_taps": pa.array([2, 3, 0], pa.int64()),
            "site_id": ["DC0001", "DC0001", None],
        }
    )


def presence_table(hours: float = 8.448611111) -> pa.Table:
    return pa.table(
        {
            "employee_id": ["E1"],
            "date": pa.array([date(2025, 3, 3)]),
            "first_in": pa.array([None], pa.timestamp("us")),
            "last_out": pa.array([None], pa.timestamp("us")),
            "hours_on_site": [hours],
            "taps": pa.array([3], pa.int64()),
            "site_id": ["DC0001"],
            "source": ["badge"],
        }
    )


def every_report(rows: list[dict[str, Any]] | None = None) -> list[Report]:
    """One of each report kind, built from small tables (``rows``: day and week rows of
    the evaluation; default: a few people around the deadline)."""
    start = date(2025, 2, 21)
    if rows is None:
        rows = [row("E1", start, kind="day", on_site=0, off_site=8, status="non_compliant")]
        rows += [row("E1", date(2025, 2, 24)), row("E2", date(2025, 2, 24), on_site=8)]
    ctx = ReportContext(
        start,
        start + timedelta(days=9),
        start + timedelta(days=9),
        directives=[directive()],
        unit_names={"DEA": "Medical Dept"},
    )
    data = table(rows)
    fortnight = row("E1", date(2025, 2, 9), kind="pay_period", on_site=8, off_site=72)
    fortnight.update(
        period_label="2025-PP04",
        period_end=date(2025, 2, 22),
        days_at_duty_station=1,
        duty_station_test_failed=True,
    )
    offices = pa.table({"site_id": ["DC0001"], "name": ["Disability office"], "seats": [1]})
    window = [Window(REF, start, start + timedelta(days=30))]
    return [
        not_returned(data, ctx, window, agreement_spans()),
        onsite_share(data, ctx),
        workforce(data, ctx),
        compliance_plan(data, offices, ctx),
        duty_station_test(table([fortnight]), ctx),
        utilisation(utilisation_table(), ctx),
        discrepancies(discrepancies_table(), ctx),
        presence(presence_table(), ctx, PresenceSettings()),
        grievances_report(grievance_table(), ctx),
        capacity_report(capacity_figures(), ctx),
    ]


def agreement_spans(unit: str = "U1") -> pa.Table:
    """Members of ``unit`` under a clause disputed from 2025-02-03."""
    return spans_table(
        [
            StatusSpan(
                unit,
                "EEU-2023",
                "Art. 31",
                LegalStatus.IN_FORCE,
                date(2023, 10, 1),
                date(2025, 2, 2),
            ),
            StatusSpan(unit, "EEU-2023", "Art. 31", LegalStatus.DISPUTED, date(2025, 2, 3), None),
        ]
    )


def grievance_table(as_of: date = date(2025, 3, 2)) -> pa.Table:
    """One grievance in progress (two employees), one resolved with an outcome."""
    filed = GrievanceStep(GrievanceStatus.FILED, date(2025, 2, 10))
    views = [
        GrievanceView(
            1,
            "EEU-2023",
            "Union",
            date(2025, 2, 10),
            "Hybrid schedules",
            "DEA-EMA",
            GrievanceHistory(
                date(2025, 2, 10),
                (filed, GrievanceStep(GrievanceStatus.IN_PROGRESS, date(2025, 2, 24))),
            ),
            None,
            None,
            ("E1", "E2"),
        ),
        GrievanceView(
            2,
            "EEU-2023",
            "Union",
            date(2025, 2, 10),
            "Notice period",
            "DEA-EMA",
            GrievanceHistory(
                date(2025, 2, 10),
                (filed, GrievanceStep(GrievanceStatus.RESOLVED, date(2025, 2, 28))),
            ),
            "Settled: 30 days notice",
            date(2025, 2, 28),
            ("E2",),
        ),
    ]
    return grievance_rows(views, date(2025, 2, 1), as_of)
