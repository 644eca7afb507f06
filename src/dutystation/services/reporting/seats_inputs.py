"""What the ``capacity`` report and the compliance plan's seats are built from: the
period, the capacity model's tables (``services/capacity.py``), badge occupancy and the
unplaced staff of the latest designation plan.

Capacity looks ahead: its period is not cut to the evidence (the roster is read as of each
day, open versions run on), only what badges observed stops where they stop."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from dutystation.bootstrap import Runtime
from dutystation.domain.capacity import last_whole_week
from dutystation.errors import ConfigError
from dutystation.reports.model import Report
from dutystation.services import capacity as model
from dutystation.services.evaluate import load_inputs
from dutystation.services.reporting.inputs import ReportRequest, Setting, context_for
from dutystation.services.reporting.periods import (
    SINCE_DIRECTIVE,
    Period,
    directive_start,
    parse_period,
)
from dutystation.services.reporting.seats import CapacityFigures, capacity_report
from dutystation.services.unplaced_areas import unplaced_areas


def capacity_period(request: ReportRequest, setting: Setting) -> Period:
    """``--period`` or ``--from``/``--to`` as given (not cut to the evidence); neither:
    the ISO week of the last day with evidence. ``since-directive`` runs from the earliest
    directive to the last day with evidence."""
    first, last = setting.evidence
    if request.period is not None and (request.start is not None or request.end is not None):
        raise ConfigError("give either --period or --from/--to, not both")
    text = (request.period or "").strip()
    if text.lower() == SINCE_DIRECTIVE:
        start, end = directive_start(setting.directives), last
    elif text:
        start, end = parse_period(text)
    elif request.start is not None or request.end is not None:
        start, end = request.start or first, request.end or last
    else:
        start = last - timedelta(days=last.weekday())
        end = start + timedelta(days=6)
    if end < start:
        raise ConfigError(
            f"the period ends ({end.isoformat()}) before it starts ({start.isoformat()})"
        )
    return Period(start, end)


def _inputs(runtime: Runtime, setting: Setting) -> model.CapacityInputs:
    found = load_inputs(runtime)
    return model.CapacityInputs(setting.directives, found.exemptions, found.agreements)


def build(runtime: Runtime, request: ReportRequest, setting: Setting) -> Report:
    """The ``capacity`` report for ``request``."""
    period = capacity_period(request, setting)
    with runtime.engine.connect() as conn:
        found = model.capacity(
            conn,
            period.start,
            period.end,
            _inputs(runtime, setting),
            org_unit=request.org_unit,
            settings=runtime.settings,
        )
        places, plan_note = unplaced_areas(conn, setting.directives, org_unit=request.org_unit)
    observed, observed_until = model.observed_occupancy(runtime, period.start, period.end)
    figures = CapacityFigures(
        offices=found.offices,
        days=found.days,
        unplaced=found.unplaced,
        observed=observed,
        observed_until=observed_until,
        places=places,
        plan_note=plan_note,
    )
    return capacity_report(figures, context_for(request, setting, period))


def plan_capacity(runtime: Runtime, setting: Setting, period: Period) -> Any:
    """Per office, the people expected on its busiest day of the last whole week of
    ``period`` (what the compliance plan weighs against seats): ``site_id, expected,
    peak_date``. Everyone counts, whatever the plan's org unit: seats are physical."""
    start, end = last_whole_week(period.start, period.end)
    with runtime.engine.connect() as conn:
        found = model.capacity(
            conn, start, end, _inputs(runtime, setting), settings=runtime.settings
        )
    peaks = model.peak_per_office(found)
    return peaks.select(["site_id", "expected", "peak_date"])
