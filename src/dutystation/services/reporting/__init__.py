"""Use case: the reports leaders read (DESIGN.md §1), built as format-independent
``reports.model.Report`` objects that the CLI, the API and the web render.

``build_report(runtime, ReportRequest(kind, ...))`` resolves the period (cut to the days
with evidence), checks the org unit, runs the evaluation or the badge queries it needs and
hands their Arrow tables to the report's builder (one module per area; each aggregates
with DuckDB, never a Python loop over employees or days). With ``analytics = "spark"``,
every report built on the evaluation (onsite-share, workforce, compliance-plan,
not-returned, duty-station-test and the briefing) keeps it on Spark and runs its SQL there
(``spark_rows.py``); on DuckDB, an evaluation past two million rows is kept on disk and
the same SQL runs over it there (``file_rows.py``). docs/reports.md describes every
report, its columns and the formats."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from dutystation.analytics.engine import memory_errors
from dutystation.bootstrap import Runtime
from dutystation.errors import ConfigError
from dutystation.reports.model import Report, Section
from dutystation.services import presence as badges_service
from dutystation.services.evaluate import EvaluationRequest
from dutystation.services.reporting import (
    agreement_coverage,
    badges,
    duty_station,
    grievances,
    hours,
    plan,
    returns,
    seats_inputs,
    workforce,
)
from dutystation.services.reporting.file_rows import built_on_duckdb
from dutystation.services.reporting.inputs import (
    ReportRequest,
    Setting,
    context_for,
    evidence_range,
    load_setting,
    not_returned_scope,
    offices_table,
    period_for,
    presence_settings_for,
)
from dutystation.services.reporting.periods import Period
from dutystation.services.reporting.snapshot_reports import from_snapshot

__all__ = [
    "KINDS",
    "ReportRequest",
    "briefing",
    "build_report",
    "evidence_range",
    "leader_reports",
]


# What a builder makes from one evaluation: a report, or the briefing's three weekly ones.
Built = TypeVar("Built", Report, list[Report])


def _evaluated(
    runtime: Runtime,
    request: ReportRequest,
    setting: Setting,
    period: Period,
    kinds: tuple[str, ...],
    build: Callable[[Any], Built],
) -> Built:
    """``build`` over the evaluation of ``kinds`` over ``period``. With ``analytics =
    "spark"`` it stays on Spark, which hands back only the report's sums
    (``spark_rows.py``); on DuckDB it is an Arrow table or, when large, on disk
    (``file_rows.py``): never one row per employee and period in memory at size."""
    asked = EvaluationRequest(period.start, period.end, request.org_unit, kinds)
    if runtime.settings.analytics != "spark":
        return built_on_duckdb(runtime, asked, setting.directives, build)
    try:
        from dutystation.services.reporting.spark_rows import report_on_spark
    except ModuleNotFoundError:  # sqlglot: the [spark] extra is not installed
        raise ConfigError(
            "analytics = spark needs pyspark and sqlglot: pip install 'dutystation[spark]'"
        ) from None
    job = f"the {request.kind} report"
    return report_on_spark(runtime, asked, setting.directives, job, build)


def _onsite_share(runtime: Runtime, request: ReportRequest, setting: Setting) -> Report:
    period = period_for(request, setting)
    context = context_for(request, setting, period)
    return _evaluated(
        runtime, request, setting, period, ("week",), lambda t: hours.onsite_share(t, context)
    )


def _workforce(runtime: Runtime, request: ReportRequest, setting: Setting) -> Report:
    period = period_for(request, setting)
    context = context_for(request, setting, period)
    # workforce() takes SparkRows or FileRows as its table: tables.py's helpers run on them.
    return _evaluated(
        runtime, request, setting, period, ("week",), lambda t: workforce.workforce(t, context)
    )


def _compliance_plan(runtime: Runtime, request: ReportRequest, setting: Setting) -> Report:
    period = period_for(request, setting)
    context = context_for(request, setting, period)
    capacity = seats_inputs.plan_capacity(runtime, setting, period)
    offices = offices_table(runtime)
    return _evaluated(
        runtime,
        request,
        setting,
        period,
        ("week",),
        lambda t: plan.compliance_plan(t, offices, context, capacity=capacity),
    )


def _not_returned(runtime: Runtime, request: ReportRequest, setting: Setting) -> Report:
    found, period = not_returned_scope(request, setting)
    spans = agreement_coverage.stored_spans(runtime.engine)
    days = {"days after the deadline": str(request.days)} if request.days else {}
    context = context_for(request, setting, period, **days)
    return _evaluated(
        runtime,
        request,
        setting,
        period,
        ("day",),
        lambda t: returns.not_returned(t, context, found, spans),
    )


def _duty_station_test(runtime: Runtime, request: ReportRequest, setting: Setting) -> Report:
    period = period_for(request, setting)
    context = context_for(request, setting, period)
    return _evaluated(
        runtime,
        request,
        setting,
        period,
        ("pay_period",),
        lambda t: duty_station.duty_station_test(t, context),
    )


def _utilisation(runtime: Runtime, request: ReportRequest, setting: Setting) -> Report:
    period = period_for(request, setting)
    table = badges_service.utilisation(runtime, period.start, period.end, org_unit=request.org_unit)
    return badges.utilisation(table, context_for(request, setting, period))


def _discrepancies(runtime: Runtime, request: ReportRequest, setting: Setting) -> Report:
    period = period_for(request, setting)
    table = badges_service.discrepancies(
        runtime, period.start, period.end, org_unit=request.org_unit
    )
    return badges.discrepancies(table, context_for(request, setting, period))


def _presence(runtime: Runtime, request: ReportRequest, setting: Setting) -> Report:
    period = period_for(request, setting)
    chosen = presence_settings_for(runtime, request)
    table = badges_service.daily_presence(
        runtime, period.start, period.end, org_unit=request.org_unit, settings=chosen
    )
    shown = {
        "hours": str(chosen.hours_convention).replace("_", "-"),
        "direction": str(chosen.direction_mode),
    }
    return badges.presence(table, context_for(request, setting, period, **shown), chosen)


def _combined(kind: str, title: str, subtitle: str, parts: Sequence[Report]) -> Report:
    """One report holding the sections of ``parts`` (keys prefixed by their report)."""
    sections = tuple(
        Section(f"{r.kind}-{s.key}", s.title, s.columns, s.table, s.notes, s.chart, s.emphasis)
        for r in parts
        for s in r.sections
    )
    notes = tuple(dict.fromkeys(n for r in parts for n in r.notes))
    first = parts[0]
    return Report(
        kind=kind,
        title=title,
        subtitle=subtitle,
        period_start=min(r.period_start for r in parts),
        period_end=max(r.period_end for r in parts),
        as_of=max(r.as_of for r in parts),
        sections=sections,
        primary=f"{first.kind}-{first.primary}",
        notes=notes,
        parameters=first.parameters,
    )


def leader_reports(runtime: Runtime, request: ReportRequest) -> list[Report]:
    """onsite-share, compliance-plan, not-returned and workforce, from one weekly and one
    daily evaluation (what ``briefing`` holds; the demo prints some of them)."""
    setting = load_setting(runtime, request.org_unit)
    period = period_for(request, setting)
    context = context_for(request, setting, period)
    unset = ReportRequest("not-returned", org_unit=request.org_unit, days=request.days)
    found, window = not_returned_scope(unset, setting)
    capacity = seats_inputs.plan_capacity(runtime, setting, period)
    offices = offices_table(runtime)
    spans = agreement_coverage.stored_spans(runtime.engine)

    def from_weeks(weekly: Any) -> list[Report]:
        return [
            hours.onsite_share(weekly, context),
            plan.compliance_plan(weekly, offices, context, capacity=capacity),
            workforce.workforce(weekly, context),
        ]

    def from_days(daily: Any) -> Report:
        return returns.not_returned(daily, context_for(unset, setting, window), found, spans)

    weekly = _evaluated(runtime, request, setting, period, ("week",), from_weeks)
    missing = _evaluated(runtime, request, setting, window, ("day",), from_days)
    onsite, compliance, staff = weekly
    return [onsite, compliance, missing, staff]


def briefing(parts: Sequence[Report]) -> Report:
    """The leader reports as one (for one HTML page or workbook)."""
    return _combined(
        "briefing",
        "Return to the duty station: briefing",
        "Share of hours on site, compliance plan, people not returned, workforce",
        parts,
    )


def _briefing(runtime: Runtime, request: ReportRequest, setting: Setting) -> Report:
    return briefing(leader_reports(runtime, request))


_BUILDERS: dict[str, Callable[[Runtime, ReportRequest, Setting], Report]] = {
    "onsite-share": _onsite_share,
    "not-returned": _not_returned,
    "workforce": _workforce,
    "compliance-plan": _compliance_plan,
    "duty-station-test": _duty_station_test,
    "utilisation": _utilisation,
    "discrepancies": _discrepancies,
    "presence": _presence,
    "capacity": seats_inputs.build,
    "briefing": _briefing,
}
# Built from the notices (services/notice_status.py), not the evidence: no T&A hours or
# badge events needed, so no Setting.
_NOTICE_KINDS = ("acknowledgements",)
# Built from the agreements' tables (services/reporting/grievances.py), no Setting either.
_GRIEVANCE_KINDS = ("grievances",)
# Built from the roster, offices and homes as of one day (services/designation.py).
_ROSTER_KINDS = ("distance",)
KINDS = (*_BUILDERS, *_NOTICE_KINDS, *_GRIEVANCE_KINDS, *_ROSTER_KINDS)


def _acknowledgements(runtime: Runtime, request: ReportRequest) -> Report:
    from dutystation.services.notice_status import acknowledgements_report

    if request.period is not None or request.start is not None or request.end is not None:
        raise ConfigError(
            "--period, --from and --to do not apply to acknowledgements; it covers every "
            "notice sent"
        )
    return acknowledgements_report(runtime.engine, request.org_unit)


def _distance(runtime: Runtime, request: ReportRequest) -> Report:
    """As of one day: ``--to`` (or ``--from``), default today."""
    from datetime import date

    from dutystation.domain.access import SYSTEM
    from dutystation.services.designation import distance_overview

    if request.period is not None:
        raise ConfigError("distance is as of one day: give --to DAY (default: today)")
    day = request.end or request.start or date.today()
    # The report command has no --as yet: like the other reports it reads as the system.
    return distance_overview(runtime, SYSTEM, day, request.org_unit)


def build_report(runtime: Runtime, request: ReportRequest) -> Report:
    """The report ``request.kind`` (one of ``KINDS``). Raises ``NotFound`` for an unknown
    org unit, ``NoEvidence`` when the period holds no evidence, ``ConfigError`` for a bad
    period or option; each with a one-sentence message."""
    builder = _BUILDERS.get(request.kind)
    if builder is None and request.kind not in (*_NOTICE_KINDS, *_GRIEVANCE_KINDS, *_ROSTER_KINDS):
        raise ConfigError(f"no report {request.kind!r}; the reports are {', '.join(KINDS)}")
    if request.kind != "presence" and (request.hours or request.direction):
        raise ConfigError("--hours and --direction apply to the presence report only")
    if request.kind not in ("not-returned", "briefing") and request.days is not None:
        raise ConfigError("--days applies to the not-returned report only")
    if request.kind in _GRIEVANCE_KINDS:
        return grievances.build(runtime, request)
    if request.kind in _ROSTER_KINDS:
        return _distance(runtime, request)
    if builder is None:
        return _acknowledgements(runtime, request)
    served = from_snapshot(runtime, request)  # the same report, when the snapshot holds it
    if served is not None:
        return served
    # Presence, capacity and the org roll-ups run on DuckDB within duckdb_memory_limit.
    with memory_errors(
        runtime.settings, f"the {request.kind} report", "ask for a shorter period or one org unit"
    ):
        return builder(runtime, request, load_setting(runtime, request.org_unit))
