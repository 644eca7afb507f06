"""The reports' org-unit roll-ups on Apache Spark (``analytics = "spark"``).

The evaluation's result has one row per employee and period: 60M rows (~8 GB) at 2.3M
employees x 26 weeks. A report needs only its sums per org unit (and week), so on Spark
the result stays there: ``evaluate`` is given an evaluator (``_KeepingConnection``) that
checkpoints each period kind's rows on the executors as a temporary view instead of
collecting them, and the report's builder is handed ``SparkRows`` in place of the Arrow
table. ``tables.query``, ``within``, ``group_depth`` and ``root_label`` see a
``SparkRows`` and run on that view: the builder's SQL (DuckDB's text, unchanged)
translated by ``spark_sql.report_query``, the rest as small Spark queries. What comes
back to this process is the builder's aggregated rows and a handful of scalars.

A builder follows this path when its report calls ``report_on_spark`` (``reporting/
__init__.py``): every report built on the evaluation (docs/spark.md). Kept period results
(``kept_periods.py``) are not used on this path: they are Arrow files read by the
driver, which is what it avoids.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar, cast

import pyarrow as pa

from dutystation.analytics import spark_sql
from dutystation.analytics.evaluation import EvaluationOutcome, EvaluationTables, evaluate_sql
from dutystation.analytics.spark_engine import SparkConnection, spark_connection
from dutystation.bootstrap import Runtime
from dutystation.domain.directive import Directive
from dutystation.reports.model import Report
from dutystation.services.evaluate import EvaluationRequest, evaluate
from dutystation.services.reporting.tables import EngineRows

__all__ = ["SparkRows", "report_on_spark"]

Built = TypeVar("Built", Report, list[Report])


class _KeepingConnection(SparkConnection):
    """``evaluate_sql``'s connection, except that the result query (its only ``sql``
    call, in ``evaluation._arrow``, one per period kind) is checkpointed on the executors
    as a view rather than collected; ``evaluate_sql`` receives its columns and no rows."""

    def __init__(self, session: Any) -> None:
        super().__init__(session)
        self.kept: list[str] = []

    def sql(self, query: str) -> Any:
        result = self.execute(query)
        frame = result.frame.localCheckpoint()
        name = f"evaluated_{len(self.kept)}"
        frame.createOrReplaceTempView(name)
        self.kept.append(name)
        result.frame = frame.limit(0)
        return result

    def rows(self) -> SparkRows:
        """Every period kind's rows as one view."""
        frames = [self.session.table(name) for name in self.kept]
        union = frames[0]
        for frame in frames[1:]:
            union = union.unionByName(frame)
        union.createOrReplaceTempView("evaluated")
        return SparkRows(self, "evaluated")


class SparkRows(EngineRows):
    """Evaluation rows kept on Spark as the temporary view ``view`` of ``connection``'s
    session (alive while ``report_on_spark`` runs)."""

    def __init__(self, connection: SparkConnection, view: str) -> None:
        self.connection = connection
        self.view = view
        self._views = 0

    @property
    def _frame(self) -> Any:
        return self.connection.session.table(self.view)

    def query(self, sql: str, tables: Mapping[str, Any]) -> pa.Table:
        session = self.connection.session
        for name, table in tables.items():
            if isinstance(table, SparkRows):
                table._frame.createOrReplaceTempView(name)
            else:  # a small Arrow table beside the rows (offices, say)
                self.connection.register(name, table)
        relations = {
            name: {f.name: f.dataType.simpleString() for f in session.table(name).schema.fields}
            for name in tables
        }
        text, rounded = spark_sql.report_query(sql, relations)
        result = session.sql(text).toArrow()
        for name, digits in rounded.items():
            i = result.schema.get_field_index(name)
            values = spark_sql.round_like_duckdb(result.column(i).to_pylist(), digits)
            result = result.set_column(i, name, pa.array(values, result.schema.field(i).type))
        return result

    def within(self, org_unit: str) -> SparkRows:
        from pyspark.sql import functions as F

        # DuckDB's regex (^|/)unit(/|$) as a substring test: no escaping of the code.
        path = F.concat(F.lit("/"), F.col("org_path"), F.lit("/"))
        self._views += 1
        name = f"{self.view}_within_{self._views}"
        self._frame.where(F.instr(path, f"/{org_unit}/") > 0).createOrReplaceTempView(name)
        return SparkRows(self.connection, name)

    def group_depth(self, org_unit: str) -> int:
        from pyspark.sql import functions as F

        position = F.array_position(F.split(F.col("org_path"), "/"), org_unit)
        # Spark says 0 where DuckDB's list_position says NULL.
        rows = self._frame.agg(F.min(F.when(position > 0, position))).collect()
        found = rows[0][0] if rows else None
        return int(found) if found is not None else 1

    def roots(self) -> list[str]:
        from pyspark.sql import functions as F

        root = F.substring_index(F.col("org_path"), "/", 1).alias("r")
        return [row[0] for row in self._frame.select(root).distinct().collect()]


def report_on_spark(
    runtime: Runtime,
    request: EvaluationRequest,
    directives: list[Directive],
    job: str,
    build: Callable[[SparkRows], Built],
) -> Built:
    """``build`` given the evaluation of ``request`` kept on Spark (it returns a report,
    or several built from the same rows); a failure inside Spark is one sentence naming
    ``job`` (``the onsite-share report``)."""
    with spark_connection(runtime.settings, job) as connection:
        keeping = _KeepingConnection(connection.session)

        def evaluator(tables: EvaluationTables, **arguments: Any) -> EvaluationOutcome:
            return evaluate_sql(cast(Any, keeping), tables, **arguments)

        evaluate(runtime, request, directives=directives, evaluator=evaluator)
        return build(keeping.rows())
