"""The evaluation of one span of days on the configured engine: the input tables built
from the roster history, the directives and the exemption, request and agreement inputs,
then ``analytics/evaluation.py``'s SQL on DuckDB (a scratch database under ``tmp_dir``,
within ``duckdb_memory_limit``), on Apache Spark when ``analytics = "spark"``, or by an
evaluator the caller gives. ``services/evaluate.py`` decides which spans to evaluate.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from datetime import date
from functools import partial
from pathlib import Path
from typing import Any

from dutystation.analytics.bindings import bindings_table, boundaries, directives_table
from dutystation.analytics.calendar_table import calendar_days, schedule_hours
from dutystation.analytics.engine import connect, memory_errors
from dutystation.analytics.evaluation import EvaluationOutcome, EvaluationTables, evaluate_sql
from dutystation.analytics.event_sources import event_sources
from dutystation.analytics.input_tables import (
    agreements_table,
    exemptions_table,
    org_table,
    requests_table,
)
from dutystation.bootstrap import Runtime
from dutystation.domain.directive import Directive
from dutystation.domain.inputs import EvaluationInputs
from dutystation.errors import ConfigError

# Takes the rows of an evaluation batch by batch (``evaluate(sink=)``): a pyarrow
# RecordBatch or Table with the columns of the module docstring.
Sink = Callable[[Any], None]

# Runs the evaluation somewhere of the caller's choosing (``evaluate(evaluator=)``): called
# as ``evaluate_sql`` is, without its connection (tables, then timecards, badges, start,
# end and kinds by keyword).
Evaluator = Callable[..., EvaluationOutcome]


def _evaluate_duckdb(
    runtime: Runtime,
    tables: EvaluationTables,
    timecards: str,
    badges: str,
    start: date,
    end: date,
    kinds: list[str],
    sink: Sink | None,
) -> EvaluationOutcome:
    runtime.settings.tmp_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="evaluation-", dir=runtime.settings.tmp_dir) as scratch:
        con = connect(runtime.settings, database=Path(scratch) / "evaluation.duckdb")
        try:
            with memory_errors(runtime.settings, "the evaluation"):
                return evaluate_sql(
                    con,
                    tables,
                    timecards=timecards,
                    badges=badges,
                    start=start,
                    end=end,
                    kinds=kinds,
                    sink=sink,
                )
        finally:
            con.close()


def evaluate_span(
    runtime: Runtime,
    start: date,
    end: date,
    kinds: list[str],
    *,
    chains: dict[str, Any],
    selected: list[str] | None,
    intervals: Any,
    directives: list[Directive],
    inputs: EvaluationInputs,
    evaluator: Evaluator | None = None,
    sink: Sink | None = None,
) -> EvaluationOutcome:
    """The evaluation of ``start..end`` on the configured engine, or by ``evaluator``."""
    reads = runtime.settings.evaluation_reads
    sources = event_sources(runtime.events, start, end, rollup=reads == "rollup")
    tables = EvaluationTables(
        intervals=intervals,
        org_units=org_table(chains),
        calendar=calendar_days(start, end, boundaries(directives)),
        schedule_hours=schedule_hours(start, end),
        bindings=bindings_table(directives, chains, start, end),
        directives=directives_table(directives),
        exemptions=exemptions_table(inputs.exemptions),
        requests=requests_table(inputs.requests),
        agreements=agreements_table(inputs.agreements),
        selected_units=selected,
    )
    if evaluator is None and runtime.settings.analytics == "spark":
        # The same SQL, translated statement by statement (docs/spark.md).
        try:
            from dutystation.analytics.spark_engine import evaluate_on_spark
        except ModuleNotFoundError:  # sqlglot: the [spark] extra is not installed
            raise ConfigError(
                "analytics = spark needs pyspark and sqlglot: pip install 'dutystation[spark]'"
            ) from None
        evaluator = partial(evaluate_on_spark, runtime.settings, sink=sink)
    if evaluator is not None:
        return evaluator(
            tables,
            timecards=sources.timecards,
            badges=sources.badges,
            start=start,
            end=end,
            kinds=kinds,
        )
    return _evaluate_duckdb(
        runtime, tables, sources.timecards, sources.badges, start, end, kinds, sink
    )
