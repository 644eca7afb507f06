"""A live report's evaluation on DuckDB: handed to the builder as Arrow while it is small,
kept on disk once it is not.

An evaluation has one row per employee and period, about 170 bytes each in memory: 1.1 GB
for a department of 250,000 people over 26 weeks, 10 GB at 2.3 million. ``built_on_duckdb``
takes the rows part by part (``evaluate_in_parts``: each kept period as it is read back,
the rest in runs); once they pass ``SPILL_ROWS`` it writes them, and every part after, to
a Parquet file in a scratch folder under ``tmp_dir`` (``rows_file.py``: 0700, deleted when
the report is built) and hands the builder ``FileRows`` in place of the table.
``tables.query``, ``within``, ``group_depth`` and ``root_label`` then run on DuckDB over
that file within ``duckdb_memory_limit``, spilling past it, as they run on Spark for
``SparkRows``: the builder's SQL is the same, and only the report's own rows come back.
Below ``SPILL_ROWS`` the builder gets the Arrow table ``evaluate`` would have returned.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import duckdb
import pyarrow as pa
from duckdb import ColumnExpression, ConstantExpression, FunctionExpression

from dutystation.analytics.engine import connect
from dutystation.bootstrap import Runtime
from dutystation.domain.directive import Directive
from dutystation.reports.model import Report
from dutystation.services.evaluate import PART_ROWS, EvaluationRequest, evaluate_in_parts
from dutystation.services.reporting.tables import EngineRows
from dutystation.services.result_columns import conformed
from dutystation.services.rows_file import RowsFile, scratch_folder
from dutystation.settings import Settings

__all__ = ["SPILL_ROWS", "FileRows", "built_on_duckdb"]

# Rows past which a report's evaluation goes to disk: about 340 MB in memory.
SPILL_ROWS = PART_ROWS

Built = TypeVar("Built", Report, list[Report])


class FileRows(EngineRows):
    """Evaluation rows in the Parquet file at ``path`` (while its scratch folder lives),
    those of ``units`` and below when given (``within``)."""

    def __init__(self, settings: Settings, path: Path, units: tuple[str, ...] = ()) -> None:
        self.settings = settings
        self.path = path
        self.units = units

    def _relation(self, con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyRelation:
        relation = con.read_parquet(str(self.path))
        segments = FunctionExpression("string_split", ColumnExpression("org_path"), "/")
        for unit in self.units:  # expressions, not SQL text: a code is a value, never SQL
            relation = relation.filter(
                FunctionExpression("list_contains", segments, ConstantExpression(unit))
            )
        return relation

    def query(self, sql: str, tables: Mapping[str, Any]) -> pa.Table:
        con = connect(self.settings, threads=2)
        try:
            for name, table in tables.items():
                if isinstance(table, FileRows):
                    table._relation(con).create_view(name)
                else:  # a small Arrow table beside the rows (offices, say)
                    con.register(name, table)
            return con.sql(sql).to_arrow_table()
        finally:
            con.close()

    def within(self, org_unit: str) -> FileRows:
        return FileRows(self.settings, self.path, (*self.units, org_unit))

    def group_depth(self, org_unit: str) -> int:
        found = self.query(_DEPTH, {"t": self, "unit": pa.table({"code": [org_unit]})})
        value = found.column("d")[0].as_py()
        return int(value) if value is not None else 1

    def roots(self) -> list[str]:
        found = self.query("SELECT DISTINCT split_part(org_path, '/', 1) AS r FROM t", {"t": self})
        return [str(v) for v in found.column("r").to_pylist() if v is not None]


# The position of the unit's code in each path (the code from a one-row table: a value).
_DEPTH = """
    SELECT min(list_position(string_split(t.org_path, '/'), unit.code)) AS d
    FROM t, unit"""


class _Collected:
    """``evaluate_in_parts``'s parts, kept as Arrow up to ``spill_rows`` rows, then all
    written to ``path`` (``RowsFile``)."""

    def __init__(self, path: Path, spill_rows: int) -> None:
        self.path = path
        self.spill_rows = spill_rows
        self.parts: list[pa.Table] = []
        self.rows = 0
        self.file: RowsFile | None = None

    def __call__(self, part: Any) -> None:
        table = part if isinstance(part, pa.Table) else pa.Table.from_batches([part])
        if self.file is None and self.rows + table.num_rows <= self.spill_rows:
            self.parts.append(table)
            self.rows += table.num_rows
            return
        if self.file is None:
            self.file = RowsFile(self.path)
            for kept in self.parts:
                self.file.write(kept)
            self.parts = []
        self.file.write(table)


def built_on_duckdb(
    runtime: Runtime,
    request: EvaluationRequest,
    directives: list[Directive],
    build: Callable[[Any], Built],
    *,
    spill_rows: int | None = None,
) -> Built:
    """``build`` given the evaluation of ``request``: its Arrow table (``evaluate``'s, with
    the same columns and types) when it holds ``spill_rows`` (default ``SPILL_ROWS``)
    rows or fewer, else ``FileRows`` over it on disk. Raises what ``evaluate`` raises."""
    spill_rows = SPILL_ROWS if spill_rows is None else spill_rows
    with scratch_folder(runtime.settings, "report-") as folder:
        collected = _Collected(folder / "rows.parquet", spill_rows)
        try:
            evaluate_in_parts(
                runtime,
                request,
                collected,
                directives=directives,
                part_rows=min(PART_ROWS, max(spill_rows, 1)),
            )
        finally:
            if collected.file is not None:
                collected.file.close()
        if collected.file is None:
            return build(conformed(collected.parts))
        return build(FileRows(runtime.settings, collected.file.path))
