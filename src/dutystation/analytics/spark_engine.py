"""The evaluation on Apache Spark (``analytics = "spark"``): the same SQL, another engine.

``evaluation.evaluate_sql`` talks to its connection through three calls: ``register``
(an Arrow table as a relation), ``execute`` (statements; ``fetchone`` on the last) and
``sql(...).to_arrow_reader()``. ``SparkConnection`` answers those on a Spark session,
translating each DuckDB statement with ``spark_sql``; so the evaluation is written once
and DuckDB keeps running its original text. A ``CREATE [TEMP] TABLE`` becomes a temporary
view, checkpointed (materialised on the executors) so later stages do not recompute it.

The session is ``spark_start``'s (one JVM per process); each job (an evaluation, a roll-up
rebuild or check: ``spark_connection``) runs in a session of its own, so its temporary
views never meet another's. pyspark is an optional
dependency (``pip install 'dutystation[spark]'``), imported only when used. docs/spark.md
has the cluster set-up.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from typing import Any, cast

import pyarrow as pa
import pyarrow.compute as pc

from dutystation.analytics import spark_sql
from dutystation.analytics.evaluation import EvaluationOutcome, EvaluationTables, evaluate_sql
from dutystation.analytics.spark_start import LOG_FILE, spark_session, stop_spark
from dutystation.errors import OutOfMemory, StoreError
from dutystation.settings import Settings

__all__ = [
    "SparkConnection",
    "evaluate_on_spark",
    "spark_connection",
    "spark_session",
    "stop_spark",
]

log = logging.getLogger(__name__)
# Result columns DuckDB returns dictionary encoded (its ENUM types; ``reason`` is encoded
# by ``evaluate_sql`` itself): encoded here too, so both engines hand back one schema.
_CATEGORY_COLUMNS = (
    "period_kind",
    "period_label",
    "org_unit",
    "component",
    "duty_station",
    "arrangement",
    "bargaining_unit",
    "directive_ref",
    "status",
)
# The few columns whose Spark type is wider than DuckDB's (Spark sums SMALLINT as BIGINT).
_NARROW = {"days_present_badge": pa.int32(), "days_on_site_ta": pa.int32()}
_CONDITION = re.compile(r"\[([A-Z][A-Z0-9_]+)(?:\.[A-Z0-9_]+)?\]")
_MEMORY_CONDITIONS = ("UNABLE_TO_ACQUIRE_MEMORY", "EXECUTOR_OUT_OF_MEMORY")


class _Result:
    def __init__(self, frame: Any) -> None:
        self.frame = frame

    def fetchone(self) -> tuple[Any, ...] | None:
        rows = self.frame.limit(1).collect()
        return tuple(rows[0]) if rows else None

    def fetchall(self) -> list[tuple[Any, ...]]:
        return [tuple(row) for row in self.frame.collect()]

    def to_arrow_reader(self) -> pa.RecordBatchReader:
        table = self.frame.toArrow()
        return pa.RecordBatchReader.from_batches(table.schema, table.to_batches())


def _plain(table: pa.Table) -> pa.Table:
    """Dictionary columns decoded (Spark's Arrow reader takes plain types)."""
    fields = [
        pa.field(f.name, f.type.value_type) if pa.types.is_dictionary(f.type) else f
        for f in table.schema
    ]
    return table.cast(pa.schema(fields))


def _unique_names(frame: Any) -> Any:
    """DuckDB's CREATE TABLE AS renames a repeated column name ``pno`` to ``pno_1``;
    Spark keeps both, and a later ``h.pno`` is then ambiguous."""
    seen: set[str] = set()
    names = []
    for name in frame.columns:
        unique, n = name, 0
        while unique in seen:
            n += 1
            unique = f"{name}_{n}"
        seen.add(unique)
        names.append(unique)
    return frame if names == frame.columns else frame.toDF(*names)


class SparkConnection:
    """The part of a DuckDB connection ``evaluate_sql`` uses, on a Spark session."""

    def __init__(self, session: Any) -> None:
        self.session = session
        self._parquet: dict[tuple[str, ...], str] = {}
        self._last: _Result | None = None

    def register(self, name: str, table: pa.Table) -> None:
        self.session.createDataFrame(_plain(table)).createOrReplaceTempView(name)

    def _parquet_view(self, paths: Sequence[str]) -> str:
        key = tuple(paths)
        if key not in self._parquet:
            name = f"parquet_{len(self._parquet)}"
            self.session.read.parquet(*key).createOrReplaceTempView(name)
            self._parquet[key] = name
        return self._parquet[key]

    def _columns(self, view: str) -> list[tuple[str, str]]:
        schema = self.session.table(view).schema
        return [(f.name, f.dataType.simpleString()) for f in schema.fields]

    def _run(self, statement: Any) -> None:
        from sqlglot import exp

        if spark_sql.is_skipped(statement):
            return
        statement = spark_sql.rewrite(statement, self._parquet_view)
        if isinstance(statement, exp.Update):
            target, query = spark_sql.update_as_select(
                statement, self._columns(statement.this.name)
            )
            frame = self.session.sql(query).localCheckpoint()
            frame.createOrReplaceTempView(target)
        elif isinstance(statement, exp.Create) and isinstance(statement.expression, exp.Query):
            frame = _unique_names(self.session.sql(spark_sql.spark_text(statement.expression)))
            if str(statement.args.get("kind")).upper() == "TABLE":
                frame = frame.localCheckpoint()
            frame.createOrReplaceTempView(statement.this.name)
        elif isinstance(statement, exp.Query):
            self._last = _Result(self.session.sql(spark_sql.spark_text(statement)))
        else:
            raise ValueError(f"no Spark translation for a {type(statement).__name__} statement")

    def execute(self, sql: str) -> _Result:
        self._last = None
        for statement in spark_sql.statements(sql):
            started = time.perf_counter()
            self._run(statement)
            log.debug("spark: %s in %.2f s", statement.key, time.perf_counter() - started)
        return self._last or _Result(self.session.sql("SELECT 1 WHERE FALSE"))

    def sql(self, query: str) -> _Result:
        return self.execute(query)


def _like_duckdb(table: pa.Table) -> pa.Table:
    """The Spark result with DuckDB's column types (see ``_CATEGORY_COLUMNS``)."""
    columns = []
    for field in table.schema:
        column = table[field.name]
        if field.name in _CATEGORY_COLUMNS and pa.types.is_string(field.type):
            encoded = pc.dictionary_encode(column).combine_chunks()
            # DuckDB sizes an ENUM's indices to its values: uint8 below 256 of them.
            size = len(encoded.dictionary)
            index = pa.uint8() if size < 2**8 else pa.uint16() if size < 2**16 else pa.uint32()
            column = encoded.cast(pa.dictionary(index, pa.string()))
        elif field.name in _NARROW:
            column = column.cast(_NARROW[field.name])
        columns.append(column)
    return pa.table(columns, names=table.column_names)


def _failure_sentence(settings: Settings, exc: Exception, job: str = "the evaluation") -> str:
    """One sentence for a job (``the evaluation``, ``the roll-up rebuild``...) that failed
    inside Spark: its error condition (``[UNABLE_TO_ACQUIRE_MEMORY]``...), and for the
    memory ones, what to raise."""
    text = str(exc)  # a Py4JJavaError's is the Java stack trace, causes included
    condition = getattr(exc, "getCondition", lambda: None)()
    memory = [c for c in _MEMORY_CONDITIONS if f"[{c}]" in text or c == condition]
    if "java.lang.OutOfMemoryError" in text:
        memory.append("OutOfMemoryError")
    if condition is None:
        found = _CONDITION.search(text)
        condition = found.group(1) if found else type(exc).__name__
    if memory:
        condition = memory[0]
        if settings.spark_connect_url or not settings.spark_master.startswith("local"):
            advice = "give the cluster's executors more memory (spark.executor.memory)"
        else:
            now = settings.spark_driver_memory or "1g"
            figure = f"{2 * int(now[:-1])}{now[-1]}"
            advice = (
                f"raise spark_driver_memory (now {now}) to {figure} "
                f"(DUTYSTATION_SPARK_DRIVER_MEMORY={figure}) and run again"
            )
        return f"Spark ran out of memory during {job} ({condition}); {advice}"
    where = (
        "the Spark Connect server's log"
        if settings.spark_connect_url
        else settings.tmp_dir / LOG_FILE
    )
    return f"{job} failed on Spark ({condition}); {where} has the details"


@contextmanager
def spark_connection(settings: Settings, job: str) -> Iterator[SparkConnection]:
    """A ``SparkConnection`` on a session of its own for ``job``; a failure inside Spark
    becomes one ``StoreError`` sentence naming ``job``; its temporary views are dropped
    afterwards."""
    from py4j.protocol import Py4JJavaError  # type: ignore[import-untyped]
    from pyspark.errors import PySparkException

    root = spark_session(settings)
    # A session of its own: its temporary views never meet another job's. (A Spark
    # Connect client session is already the server's session for this client.)
    session = root if settings.spark_connect_url else root.newSession()
    try:
        yield SparkConnection(session)
    except (PySparkException, Py4JJavaError) as exc:  # a checkpoint's or toArrow's
        log.debug("%s failed on Spark", job, exc_info=True)
        sentence = _failure_sentence(settings, exc, job)
        failed = OutOfMemory if sentence.startswith("Spark ran out of memory") else StoreError
        raise failed(sentence) from None
    finally:
        for view in session.catalog.listTables():
            if view.isTemporary:
                session.catalog.dropTempView(view.name)


def evaluate_on_spark(
    settings: Settings,
    tables: EvaluationTables,
    *,
    timecards: str,
    badges: str,
    start: date,
    end: date,
    kinds: Sequence[str],
    sink: Callable[[Any], None] | None = None,
) -> EvaluationOutcome:
    """``evaluate_sql`` on Spark: same arguments (``timecards``/``badges`` are the DuckDB
    relations of ``event_sources``), same outcome. With a ``sink`` (``evaluate_sql``'s),
    each period kind's rows are collected on the driver and handed over batch by batch:
    memory holds one kind's rows at a time, not all of them."""
    with spark_connection(settings, "the evaluation") as connection:
        outcome = evaluate_sql(
            cast(Any, connection),
            tables,
            timecards=timecards,
            badges=badges,
            start=start,
            end=end,
            kinds=kinds,
            sink=None if sink is None else lambda b: sink(_like_duckdb(pa.Table.from_batches([b]))),
        )
    if sink is not None:
        return outcome
    return EvaluationOutcome(
        _like_duckdb(outcome.employee_periods), outcome.employees, outcome.has_evidence
    )
