"""The evaluation as DuckDB queries: every employee, every day / ISO week / pay period.

All heavy work is SQL over the Parquet event store (only the months of the range) joined
to small Arrow tables built in Python: assignment versions, the calendar, the directive
bindings, exemptions, requests and agreements. No Python loop touches an event or an
employee. Stages (each module's docstring has the detail):

0. ``evaluation_setup``: the small tables, keyed by integers.
1. ``evaluation_days``: one pass over the events: every employee's hours and presence
   summed per assignment version and block (a run of days alike for every requested
   period kind and every directive date), days kept as 7-bit masks.
2. ``evaluation_periods`` with ``evaluation_status``: per period kind, blocks to
   employee-periods, the directive binding each, and ``decide_status`` in SQL.

Towards Spark (DESIGN.md §3): the queries are joins, GROUP BY with FILTER, CASE and
arithmetic, which Spark SQL has (``max_by``, ``any_value``, ``bit_count``, ``<<`` and
``bit_or`` included). DuckDB-only spellings a port (or SQLGlot) must translate:
``printf`` (``format_string``), ``strftime`` (``date_format``), ``datediff('day', a, b)``
(``datediff(b, a)``), ``isodow``, ``SELECT * EXCLUDE``, ``CREATE TYPE ... AS ENUM`` (plain
strings there) and ``TEMP`` tables (cached views).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from dutystation.analytics.evaluation_days import absences_fix_sql, blocks_sql
from dutystation.analytics.evaluation_periods import period_tables_sql, periods_sql
from dutystation.analytics.evaluation_setup import prepare

log = logging.getLogger(__name__)
PERIOD_KINDS = ("day", "week", "pay_period")
# The calendar column that numbers each kind's periods, and how its label is written.
_KEYS = {"day": "day", "week": "week_no", "pay_period": "pay_period_no"}
_LABELS = {
    "day": ("strftime(day, '%Y-%m-%d')", "day", "day"),
    "week": ("week_label", "week_start", "week_end"),
    "pay_period": ("pay_period_label", "pay_period_start", "pay_period_end"),
}


@dataclass(frozen=True)
class EvaluationTables:
    """The small inputs, as Arrow tables (see each builder for its schema)."""

    intervals: Any  # store.history.INTERVALS_SCHEMA
    org_units: Any  # org_unit, org_path (text), component
    calendar: Any  # calendar_table.CALENDAR_SCHEMA
    schedule_hours: Any  # calendar_table.SCHEDULE_HOURS_SCHEMA
    bindings: Any  # bindings.BINDINGS_SCHEMA
    directives: Any  # bindings.DIRECTIVES_SCHEMA
    exemptions: Any  # employee_id, ordinal, bit, start_day, end_day, describe_text, what_text
    requests: Any  # employee_id, filed, decided_on
    agreements: Any  # bargaining_unit, agreement, start_day, end_day, terms..., terms_text
    selected_units: Sequence[str] | None = None  # None: every org unit


@dataclass(frozen=True)
class EvaluationOutcome:
    employee_periods: Any  # pa.Table, one row per employee x period
    employees: int  # employees assigned on some day of the range (and subtree)
    has_evidence: bool  # any T&A row or badge tap on an assigned day of theirs


def _day(value: date) -> str:
    return f"DATE '{value.isoformat()}'"


class _Clock:
    """Logs (DEBUG) how long each stage took: where to look when a range is slow."""

    def __init__(self) -> None:
        self.last = time.perf_counter()

    def lap(self, what: str) -> None:
        now = time.perf_counter()
        log.debug("evaluation: %s in %.2f s", what, now - self.last)
        self.last = now


def _periods(con: duckdb.DuckDBPyConnection, kind: str, start: date, end: date) -> None:
    label, first, last = _LABELS[kind]
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE per AS
        SELECT {_KEYS[kind]} AS pno, any_value({label}) AS period_label,
            CAST(any_value({label}) AS period_label_t) AS period_label_e,
            min(day) AS period_start, max(day) AS period_end,
            bool_and({first} >= {_day(start)} AND {last} <= {_day(end)}) AS whole_period
        FROM cal GROUP BY {_KEYS[kind]}
    """)


def _batches(con: duckdb.DuckDBPyConnection, query: str) -> tuple[pa.Schema, Iterator[Any]]:
    """The schema of ``query``'s rows and their batches as they stream out, ``reason``
    dictionary encoded batch by batch: its texts are not known in advance, but a few
    hundred distinct ones cover a million rows (the other category columns are ENUMs
    already)."""
    reader = con.sql(query).to_arrow_reader()
    index = reader.schema.get_field_index("reason")
    schema = reader.schema.set(index, pa.field("reason", pa.dictionary(pa.int32(), pa.string())))

    def encoded() -> Iterator[Any]:
        for batch in reader:
            yield batch.set_column(index, "reason", pc.dictionary_encode(batch["reason"]))

    return schema, encoded()


def _arrow(con: duckdb.DuckDBPyConnection, query: str) -> Any:
    """The rows of ``query`` as one Arrow table (``_batches`` collected)."""
    schema, batches = _batches(con, query)
    return pa.Table.from_batches(list(batches), schema=schema)


def evaluate_sql(
    con: duckdb.DuckDBPyConnection,
    tables: EvaluationTables,
    *,
    timecards: str,
    badges: str,
    start: date,
    end: date,
    kinds: Sequence[str],
    sink: Callable[[Any], None] | None = None,
) -> EvaluationOutcome:
    """Run the evaluation on ``con``. ``timecards`` and ``badges`` are relations (usable
    after FROM) with the event store's columns; the caller prunes them to the range's
    months. Rows come in no particular order. With ``sink``, each batch of rows is handed
    to it as it streams out of DuckDB and the outcome's ``employee_periods`` is None: the
    rows are never all in memory at once (an export of years of a large department)."""
    unknown = [k for k in kinds if k not in PERIOD_KINDS]
    if unknown or not kinds:
        raise ValueError(f"period kinds must be some of {', '.join(PERIOD_KINDS)}")
    clock = _Clock()
    inputs = {
        "iv": tables.intervals,
        "org": tables.org_units,
        "cal": tables.calendar,
        "sh": tables.schedule_hours,
        "bnd": tables.bindings,
        "dir": tables.directives,
        "exe": tables.exemptions,
        "req": tables.requests,
        "agr": tables.agreements,
    }
    selected = None if tables.selected_units is None else list(tables.selected_units)
    daily, pay_periods = "day" in kinds, "pay_period" in kinds
    prepare(con, inputs, selected, start, end, daily=daily, pay_periods=pay_periods)
    clock.lap("small tables")
    con.execute(blocks_sql(timecards, badges, start, end))
    clock.lap("blocks (events)")
    recheck = con.execute("SELECT count(*) FROM blk WHERE recheck").fetchone()
    if recheck and recheck[0]:
        con.execute(absences_fix_sql(timecards, start, end))
        clock.lap(f"absences fixed in {recheck[0]} blocks")
    counted = con.execute(
        "SELECT (SELECT count(*) FROM emp), coalesce(sum(evidence), 0) FROM blk"
    ).fetchone()
    employees, evidence = (int(counted[0]), int(counted[1])) if counted else (0, 0)
    clock.lap(f"{employees} employees")
    # Stage 2 writes every join with the small table on the right; the optimizer's
    # build-side swap, misled by estimates of aggregate sizes, built hash tables on
    # millions of rows instead (and ran out of memory).
    con.execute("SET disabled_optimizers = 'build_side_probe_side'")
    parts = []
    for kind in PERIOD_KINDS:
        if kind in kinds:
            _periods(con, kind, start, end)
            for statement in period_tables_sql(_KEYS[kind]):
                con.execute(statement)
            clock.lap(f"{kind}: period tables")
            query = periods_sql(kind, filtered=tables.selected_units is not None)
            if sink is None:
                parts.append(_arrow(con, query))
                clock.lap(f"{kind}: {parts[-1].num_rows} rows")
                continue
            for batch in _batches(con, query)[1]:
                sink(batch)
            clock.lap(f"{kind}: rows handed over")
    if sink is not None:
        return EvaluationOutcome(None, employees, evidence > 0)
    table = pa.concat_tables(parts) if parts else pa.table({})
    return EvaluationOutcome(table, employees, evidence > 0)
