"""Use case: evaluate every employee for every day, ISO week or pay period of a range.

``evaluate`` reads the roster history, the directives, exemptions, requests and
agreements, and runs the evaluation in DuckDB over the event store
(``analytics/evaluation.py``), or the same SQL on Apache Spark when ``settings.analytics``
is ``spark`` (``analytics/spark_engine.py``, docs/spark.md): identical rows and schema.
``EvaluationResult.employee_periods`` has one row per employee and period, with these
columns:

- ``employee_id``, ``name``.
- ``period_kind`` (``day``, ``week``, ``pay_period``), ``period_label`` (``2025-02-11``,
  ``2025-W07``, ``2025-PP05``), ``period_start``, ``period_end``: a period that straddles
  the requested range keeps only its days inside it (its start or end is clipped), and is
  judged on those days.
- As of the employee's last assigned day in the period: ``org_unit``, ``component`` (the
  unit at depth 2 of the path, department > component; the department for its own staff),
  ``org_path`` (``DEA/DEA-ECA/DEA-ECA-IR``), ``duty_station`` (site id, or null),
  ``arrangement``, ``telework_eligible``, ``bargaining_unit``.
- ``directive_ref``: ``id@version`` of the directive binding the period's last day, or of
  the one naming the unit as not bound; null when none applies.
- Hours of every assigned day of the period (T&A is the record of hours worked):
  ``hours_required`` (scheduled - leave - holidays, never below 0 on a day),
  ``hours_on_site`` (on-site hours that count: at the duty station of that day, or at any
  agency office when the directive's ``counts_at`` is ``any_agency_office``),
  ``hours_field_travel`` (counted as at the duty station), ``hours_off_site``
  (``hours_telework`` + ``hours_remote`` + on-site hours at an office that does not
  count), ``hours_leave``, ``hours_holiday``, and ``hours_other_office`` (on-site hours
  at an office other than the duty station, whichever way they count).
- ``days_present_badge``: days with a badge tap (any office); ``days_on_site_ta``: days
  with T&A on-site hours (any office): the two records of presence side by side;
  ``days_at_duty_station``: days with T&A on-site hours at that day's duty station (what
  the duty-station test counts).
- ``status`` (a ``domain.status.Status`` value) and ``reason``: what
  ``domain.status.decide_status`` says for the period (docs/directives.md, "Status"). The
  status's measurement uses only the days the rules keep (in force, not covered by an
  exemption, from the full-compliance date on), so its figures can differ from the
  period's hour columns.
- ``duty_station_test_failed``: pay-period rows of teleworkers (arrangement on the last
  day) for pay periods wholly inside the range: fewer days with T&A on-site hours at the
  duty station than the directive's ``duty_station_test.min_days_per_pay_period`` (2 when
  it sets none, 5 CFR 531.605(d)); the official worksite (and locality pay) should then
  change. Null on every other row.

An employee has no row for a period in which they were never assigned (hired later,
separated before). Rows come in no particular order.

Text columns with few distinct values (``period_kind``, ``period_label``, ``org_unit``,
``component``, ``duty_station``, ``arrangement``, ``bargaining_unit``, ``directive_ref``,
``status``, ``reason``) are dictionary encoded: at 250,000 employees x 26 weeks that
saves 1.2 GB. Their indices are the narrowest unsigned integers that hold the distinct
values the column shows (``reason``'s are int32), whichever engine evaluated and whether
periods were kept. Comparisons, ``filter``, ``group_by``, DuckDB, pandas (categoricals) and
the CSV and Parquet writers take them as they are; pyarrow's ``sort_by`` and string
kernels (``match_substring``...) do not: use DuckDB, or ``decoded(table)`` first.
``employee_id``, ``name`` and ``org_path`` are plain strings.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dutystation.analytics.evaluation import (
    PERIOD_KINDS,
    EvaluationOutcome,
)
from dutystation.analytics.event_sources import event_sources
from dutystation.bootstrap import Runtime
from dutystation.domain.directive import Directive
from dutystation.domain.inputs import EvaluationInputs
from dutystation.errors import ConfigError, NoEvidence, NotFound
from dutystation.policy_files import load_directives
from dutystation.services import kept_periods, result_columns
from dutystation.services.agreements import agreement_inputs
from dutystation.services.evaluation_engines import Evaluator, Sink, evaluate_span
from dutystation.services.exemption_records import stored_exemption_inputs
from dutystation.store.history import assignment_intervals, org_unit_chains
from dutystation.store.repositories import org_subtree
from dutystation.store.schema import Employee

_CHECKOUT_POLICIES = Path(__file__).resolve().parents[3] / "policies"
MAX_DAYS = 3 * 366  # a longer range is almost certainly a typo in a year
# ``evaluate_in_parts``: rows per part (about 140 bytes a row in memory, 300 MB).
PART_ROWS = 2_000_000
_PERIOD_DAYS = {"day": 1, "week": 7, "pay_period": 14}
# Daily periods make a row per employee-day; beyond this many the result (about 140 bytes
# a row) would not fit a workstation's memory.
MAX_DAY_ROWS = 20_000_000


@dataclass(frozen=True)
class EvaluationRequest:
    start: date  # first day, included
    end: date  # last day, included
    org_unit: str | None = None  # only this unit and the units below it
    periods: tuple[str, ...] = ("week", "pay_period")  # any of "day", "week", "pay_period"


@dataclass
class EvaluationResult:
    employee_periods: Any  # pa.Table: the module docstring lists its columns
    directives: list[Directive]
    as_of: date  # the last day evaluated: everything is read as of each day up to it
    # Kept results (kept_periods.py): periods read back, and periods evaluated now; both 0
    # when they do not apply (daily periods, one org unit, keep_period_results off).
    periods_kept: int = 0
    periods_computed: int = 0


def decoded(table: Any) -> Any:
    """``table`` with its dictionary-encoded columns as plain strings (costs memory)."""
    fields = [
        pa.field(f.name, f.type.value_type) if pa.types.is_dictionary(f.type) else f
        for f in table.schema
    ]
    return table.cast(pa.schema(fields))


def policies_dir(runtime: Runtime) -> Path:
    """``settings.policies_dir`` when set, else the example policies shipped with
    dutystation (inside the package when installed, else the checkout's ``policies/``)."""
    configured = runtime.settings.policies_dir
    if configured:
        return Path(configured)
    packaged = Path(str(resources.files("dutystation") / "policies"))
    return packaged if packaged.is_dir() else _CHECKOUT_POLICIES


def load_inputs(runtime: Runtime) -> EvaluationInputs:
    """Exemptions and requests from the exemption workflow's tables; the stored
    agreements."""
    approved, requests = stored_exemption_inputs(runtime.engine)
    agreements = agreement_inputs(runtime.engine)
    return EvaluationInputs(tuple(approved), tuple(requests), tuple(agreements))


def _check(request: EvaluationRequest) -> None:
    if request.end < request.start:
        raise ConfigError(
            f"the period ends ({request.end.isoformat()}) before it starts "
            f"({request.start.isoformat()})"
        )
    if (request.end - request.start).days + 1 > MAX_DAYS:
        raise ConfigError(f"the period is longer than {MAX_DAYS} days; evaluate it in parts")
    wrong = [p for p in request.periods if p not in PERIOD_KINDS]
    if wrong or not request.periods:
        raise ConfigError(
            f"period kinds must be some of {', '.join(PERIOD_KINDS)} (got {', '.join(wrong)})"
        )


def _check_daily_rows(request: EvaluationRequest, intervals: Any, units: list[str] | None) -> None:
    if "day" not in request.periods:
        return
    start, end = pa.scalar(request.start), pa.scalar(request.end)
    overlapping = pc.and_(
        pc.less_equal(intervals["effective_from"], end),
        pc.fill_null(pc.greater(intervals["effective_to"], start), True),
    )
    if units is not None:
        overlapping = pc.and_(overlapping, pc.is_in(intervals["org_unit"], pa.array(units)))
    employees = pc.count_distinct(intervals.filter(overlapping)["employee_id"]).as_py()
    rows = employees * ((request.end - request.start).days + 1)
    if rows > MAX_DAY_ROWS:
        raise ConfigError(
            f"daily periods for {employees:,} employees over this range would be {rows:,} "
            "rows; ask for a shorter range or one org unit"
        )


def evaluate(
    runtime: Runtime,
    request: EvaluationRequest,
    *,
    inputs: EvaluationInputs | None = None,
    directives: list[Directive] | None = None,
    evaluator: Evaluator | None = None,
    sink: Sink | None = None,
) -> EvaluationResult:
    """Evaluate ``request``. ``inputs`` and ``directives`` default to what the settings
    name (``load_inputs``, ``policies_dir``); tests pass their own. Whole periods already
    evaluated with the same inputs are read back (``services/kept_periods.py``).
    ``evaluator`` runs the evaluation instead of the configured engine, and without kept
    results: the Spark reports keep the rows on Spark with it (``reporting/spark_rows.py``),
    and the result's ``employee_periods`` is then what ``evaluator`` returned. With
    ``sink``, every batch of rows goes to it as it is made (on DuckDB, while the query
    still runs) and ``employee_periods`` is None: the rows are computed afresh, never kept
    nor read back, and never all in memory (``services/evaluation_export.py``). A sink
    may be handed some rows before ``NoEvidence`` is raised.

    Raises ``NotFound`` for an unknown org unit, ``NoEvidence`` when the range holds no
    T&A hours or badge events, ``ConfigError`` for a bad request or policy file."""
    if sink is not None and evaluator is not None:
        raise ValueError("an evaluation goes to a sink or to an evaluator, not both")
    return _evaluate(runtime, request, inputs, directives, evaluator, sink, None)


def evaluate_in_parts(
    runtime: Runtime,
    request: EvaluationRequest,
    on_rows: Sink,
    *,
    inputs: EvaluationInputs | None = None,
    directives: list[Directive] | None = None,
    part_rows: int = PART_ROWS,
) -> EvaluationResult:
    """Evaluate ``request`` as ``evaluate`` does, kept results included, handing the rows
    to ``on_rows`` a part at a time (pyarrow Tables or RecordBatches, with the columns of
    the module docstring, each with its own dictionaries): each kept period as it is read
    back, the periods computed now in runs of about ``part_rows`` rows at most (runs of
    at least two weeks). So no more than a part is ever in memory, however many employees
    and weeks there are: the snapshot refresh (``services/snapshot.py``) and the reports
    (``reporting/file_rows.py``) take the evaluation this way. Without kept results
    (``keep_period_results`` off, one org unit, daily periods) the rows stream as ``sink``
    does. ``employee_periods`` is None.
    Raises what ``evaluate`` raises; ``on_rows`` may have had rows by then."""
    return _evaluate(runtime, request, inputs, directives, None, None, (on_rows, part_rows))


def _run_days(runtime: Runtime, kinds: list[str], part_rows: int) -> int:
    """The longest run of days whose periods of ``kinds`` make about ``part_rows`` rows,
    counting every employee stored (the assigned are fewer): two weeks at least."""
    with Session(runtime.engine) as session:
        employees = session.scalar(select(func.count()).select_from(Employee)) or 1
    rows_a_day = employees * sum(1 / _PERIOD_DAYS[k] for k in kinds)
    return max(14, int(part_rows / rows_a_day))


def _evaluate(
    runtime: Runtime,
    request: EvaluationRequest,
    inputs: EvaluationInputs | None,
    directives: list[Directive] | None,
    evaluator: Evaluator | None,
    sink: Sink | None,
    parts: tuple[Sink, int] | None,
) -> EvaluationResult:
    _check(request)
    start, end = request.start, request.end
    with Session(runtime.engine) as session:
        revision = kept_periods.roster_revision(session)  # before the roster: see there
        chains = org_unit_chains(session)
        selected = None
        if request.org_unit is not None:
            try:
                selected = org_subtree(session, request.org_unit)
            except NotFound:
                raise NotFound(f"org unit {request.org_unit!r} does not exist") from None
    reads = runtime.settings.evaluation_reads
    sources = event_sources(runtime.events, start, end, rollup=reads == "rollup")
    nothing = f"no T&A hours or badge events between {start.isoformat()} and {end.isoformat()}"
    if sources.timecard_files == 0 and sources.badge_files == 0:
        raise NoEvidence(nothing)
    if directives is None:
        # Scopes are checked against the org units once some are imported (as the policy
        # commands do): before that, every code would be "unknown".
        known = set(chains) or None
        directives = load_directives(policies_dir(runtime), known_org_units=known)
    inputs = inputs if inputs is not None else load_inputs(runtime)
    kinds = [k for k in PERIOD_KINDS if k in request.periods]
    loaded: list[Any] = []

    def span(first: date, last: date) -> EvaluationOutcome:
        if not loaded:  # the roster is read only when something must be computed
            with Session(runtime.engine) as session:
                loaded.append(assignment_intervals(session))
            if sink is None:  # streamed rows need no room in memory
                _check_daily_rows(request, loaded[0], selected)
        return evaluate_span(
            runtime,
            first,
            last,
            kinds,
            chains=chains,
            selected=selected,
            intervals=loaded[0],
            directives=directives,
            inputs=inputs,
            evaluator=evaluator,
            sink=sink,
        )

    kept_applies = evaluator is None and kept_periods.applies(runtime, request.org_unit, kinds)
    if parts is not None and not kept_applies:
        sink = parts[0]  # streamed by the engine as it makes them
    if sink is not None:
        outcome = span(start, end)
        counts = (0, 0)
    elif kept_applies:
        context = kept_periods.context_key(runtime, directives, inputs, revision)
        kept = kept_periods.evaluate_kept(
            runtime,
            start,
            end,
            kinds,
            context=context,
            compute=span,
            on_rows=parts[0] if parts else None,
            max_run_days=_run_days(runtime, kinds, parts[1]) if parts else None,
        )
        outcome = EvaluationOutcome(kept.employee_periods, kept.employees, kept.has_evidence)
        counts = (kept.kept, kept.computed)
    else:
        outcome = span(start, end)
        # The index types kept results are given (result_columns.conformed), so both agree.
        table = result_columns.conformed([outcome.employee_periods])
        outcome = EvaluationOutcome(table, outcome.employees, outcome.has_evidence)
        counts = (0, 0)
    scope = f" for org unit {request.org_unit}" if request.org_unit else ""
    if outcome.employees == 0:
        raise NoEvidence(
            f"nobody is assigned{scope} between {start.isoformat()} and {end.isoformat()}"
        )
    if not outcome.has_evidence:
        raise NoEvidence(nothing + scope)
    return EvaluationResult(outcome.employee_periods, list(directives), end, *counts)
