"""The evaluation on Apache Spark (``analytics = "spark"``): the same SQL, another engine.

``evaluation.evaluate_sql`` talks to its connection through three calls: ``register``
(an Arrow table as a relation), ``execute`` (statements; ``fetchone`` on the last) and
``sql(...).to_arrow_reader()``. ``SparkConnection`` answers those on a Spark session,
translating each DuckDB statement with ``spark_sql``; so the evaluation is written once
and DuckDB keeps running its original text. A ``CREATE [TEMP] TABLE`` becomes a temporary
view, checkpointed (materialised on the executors) so later stages do not recompute it.

Sessions: ``spark_master`` (``local[2]``, ``spark://host:7077``, ``yarn``...) through
``spark-submit``'s usual builder, or ``spark_connect_url`` (``sc://host:15002``) for Spark
Connect. The JVM starts once per process (about 10 s); each evaluation runs in a session
of its own, so its temporary views never meet another's. pyspark is an optional
dependency (``pip install 'dutystation[spark]'``), imported only here and only when used.
docs/spark.md has the cluster set-up.
"""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Sequence
from datetime import date
from typing import Any, cast
from urllib.parse import urlparse

import pyarrow as pa
import pyarrow.compute as pc

from dutystation.analytics import spark_sql
from dutystation.analytics.evaluation import EvaluationOutcome, EvaluationTables, evaluate_sql
from dutystation.errors import ConfigError, StoreError
from dutystation.settings import Settings

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
_started: list[Any] = []  # sessions spark_session returned, for stop_spark
_CONNECT_PORT = 15002
_MASTER_PORT = 7077


def _reachable(host: str, port: int) -> str | None:
    """None when a TCP connection to host:port opens within 5 s, else why not."""
    try:
        with socket.create_connection((host, port), timeout=5):
            return None
    except OSError as exc:
        return exc.strerror or type(exc).__name__


def _check_reachable(settings: Settings) -> None:
    if settings.spark_connect_url:
        url = urlparse(settings.spark_connect_url)
        where, name = (url.hostname or "", url.port or _CONNECT_PORT), "spark_connect_url"
        shown = settings.spark_connect_url
    elif settings.spark_master.startswith("spark://"):
        # Standalone masters (several for high availability: the first is tried).
        first = settings.spark_master.removeprefix("spark://").split(",")[0]
        host, _, port = first.partition(":")
        where, name, shown = (
            (host, int(port or _MASTER_PORT)),
            "spark_master",
            settings.spark_master,
        )
    else:
        return  # local[...] needs no server; yarn/k8s masters are found by Spark itself
    why = _reachable(*where)
    if why is not None:
        raise ConfigError(f"the Spark server {shown} cannot be reached ({why}); check {name}")


def spark_session(settings: Settings) -> Any:
    """The process's Spark session for ``settings`` (started on first use). Raises
    ``ConfigError`` when pyspark is missing or the master cannot be reached or started."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise ConfigError(
            "analytics = spark needs pyspark and sqlglot: pip install 'dutystation[spark]'"
        ) from None
    _check_reachable(settings)
    builder = SparkSession.builder.appName("dutystation")
    if settings.spark_connect_url:
        builder = builder.remote(settings.spark_connect_url)
    else:
        builder = (
            builder.master(settings.spark_master)
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
        )
    builder = (
        builder.config("spark.sql.session.timeZone", "UTC")
        # The evaluation's stages are many small joins; 200 shuffle partitions (the
        # default) would be mostly empty tasks. Adaptive execution merges them further.
        .config("spark.sql.shuffle.partitions", str(settings.spark_shuffle_partitions))
    )
    try:
        session = builder.getOrCreate()
    except Exception as exc:  # py4j/JVM errors: their text is a Java stack trace
        log.debug("Spark did not start", exc_info=True)
        target = settings.spark_connect_url or settings.spark_master
        raise ConfigError(
            f"Spark could not start on {target} ({type(exc).__name__}); check spark_master "
            "and that Java 17 or later is installed"
        ) from None
    if not settings.spark_connect_url:
        session.sparkContext.setLogLevel("ERROR")
    _started.append(session)
    return session


def stop_spark() -> None:
    """Stop the Spark sessions this process started (the JVM's memory is given back)."""
    while _started:
        _started.pop().stop()


class _Result:
    def __init__(self, frame: Any) -> None:
        self.frame = frame

    def fetchone(self) -> tuple[Any, ...] | None:
        rows = self.frame.limit(1).collect()
        return tuple(rows[0]) if rows else None

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


def evaluate_on_spark(
    settings: Settings,
    tables: EvaluationTables,
    *,
    timecards: str,
    badges: str,
    start: date,
    end: date,
    kinds: Sequence[str],
) -> EvaluationOutcome:
    """``evaluate_sql`` on Spark: same arguments (``timecards``/``badges`` are the DuckDB
    relations of ``event_sources``), same outcome."""
    from pyspark.errors import PySparkException

    root = spark_session(settings)
    # A session of its own: its temporary views never meet another evaluation's. (A Spark
    # Connect client session is already the server's session for this client.)
    session = root if settings.spark_connect_url else root.newSession()

    try:
        connection = cast(Any, SparkConnection(session))
        outcome = evaluate_sql(
            connection,
            tables,
            timecards=timecards,
            badges=badges,
            start=start,
            end=end,
            kinds=kinds,
        )
    except PySparkException as exc:
        log.debug("the evaluation failed on Spark", exc_info=True)
        condition = exc.getCondition() or type(exc).__name__
        raise StoreError(
            f"the evaluation failed on Spark ({condition}); the driver's log has the details"
        ) from None
    finally:
        for view in session.catalog.listTables():
            if view.isTemporary:
                session.catalog.dropTempView(view.name)
    return EvaluationOutcome(
        _like_duckdb(outcome.employee_periods), outcome.employees, outcome.has_evidence
    )
