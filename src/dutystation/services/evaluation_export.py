"""Use case: write every employee-period row of an evaluation to a file, Parquet or CSV.

The rows are those of ``services/evaluate.py`` (its docstring lists the columns), with
the category columns as plain text. They go to the file batch by batch as DuckDB makes
them (``evaluate(sink=)``), so exporting years of a large department needs the DuckDB
memory limit and one batch, not the whole result (bench/README.md, ``out_of_core.py``).

The file appears whole or not at all: rows are written to a hidden file in the same
folder (readable by its owner only), which is renamed over the destination once the
evaluation has finished and the export is in the Privacy Act disclosure ledger of every
person it names (docs/privacy.md). An evaluation that fails, or finds no evidence,
leaves no file and no ledger entry. Reasons never name a medical or disability category
(the evaluation writes "confidential category"; the export replaces the words again, as
the snapshot does). In a CSV, a text that a spreadsheet would run as a formula is
prefixed with ``'``.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, BinaryIO

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from dutystation.bootstrap import Runtime
from dutystation.domain.access import SYSTEM, Actor, Operation
from dutystation.errors import ConfigError, NoEvidence
from dutystation.reports.spreadsheet_safety import escape_column
from dutystation.services.audit import Change
from dutystation.services.disclosures import NatureKind, Stated, record_disclosure, store_keys
from dutystation.services.evaluate import EvaluationRequest, evaluate
from dutystation.services.reporting.access import check_report_scope
from dutystation.services.reporting.inputs import evidence_range
from dutystation.services.rows_file import redacted
from dutystation.store.db import write_transaction

FORMATS = {".parquet": "parquet", ".csv": "csv"}
_BOM = "\ufeff".encode()  # tells a spreadsheet the CSV is UTF-8 (names keep accents)


@dataclass(frozen=True)
class EvaluationExport:
    path: Path
    format: str  # parquet or csv
    request: EvaluationRequest
    rows: int
    people: int
    disclosure_id: int | None  # the ledger entry; None when the file names nobody


def export_format(path: Path) -> str:
    """``parquet`` or ``csv``, from the file name; ``ConfigError`` for anything else."""
    found = FORMATS.get(path.suffix.lower())
    if found is None:
        shown = f"'{path.suffix}'" if path.suffix else "no suffix"
        raise ConfigError(
            f"{path}: an evaluation is exported to a .parquet or .csv file, not {shown}"
        )
    return found


def export_request(
    runtime: Runtime,
    start: date | None,
    end: date | None,
    org_unit: str | None = None,
    periods: tuple[str, ...] = ("week", "pay_period"),
) -> EvaluationRequest:
    """The evaluation an export runs: a day left out is the evidence's first or last."""
    if start is None or end is None:
        found = evidence_range(runtime)
        if found is None:
            raise NoEvidence("no T&A hours or badge events are stored: nothing to export")
        start, end = start or found[0], end or found[1]
    return EvaluationRequest(start, end, org_unit, periods)


class _Writer:
    """Takes the evaluation's batches and writes them as one table of plain columns."""

    def __init__(self, fmt: str, sink: BinaryIO, on_rows: Callable[[int], None] | None) -> None:
        self.fmt, self.sink, self.on_rows = fmt, sink, on_rows
        self.rows = 0
        self.people: set[str] = set()
        self._writer: Any = None
        self._schema: pa.Schema | None = None

    def __call__(self, batch: Any) -> None:
        table = batch if isinstance(batch, pa.Table) else pa.Table.from_batches([batch])
        table = self._plain(redacted(table))
        if table.num_rows == 0:
            return
        self.people.update(pc.unique(table["employee_id"]).drop_null().to_pylist())
        if self.fmt == "csv":
            table = pa.table(
                [escape_column(c) if pa.types.is_string(c.type) else c for c in table.columns],
                names=table.column_names,
            )
        if self._writer is None:
            self._writer = self._open(table.schema)
        self._writer.write_table(table)
        self.rows += table.num_rows
        if self.on_rows is not None:
            self.on_rows(self.rows)

    def _plain(self, table: pa.Table) -> pa.Table:
        # Each batch encodes its own dictionaries; the file holds the texts (Parquet
        # dictionary-encodes them again, per column chunk).
        if self._schema is None:
            self._schema = pa.schema(
                pa.field(f.name, f.type.value_type) if pa.types.is_dictionary(f.type) else f
                for f in table.schema
            )
        return table.cast(self._schema)

    def _open(self, schema: pa.Schema) -> Any:
        if self.fmt == "parquet":
            return pq.ParquetWriter(self.sink, schema, compression="zstd")
        self.sink.write(_BOM)
        options = pa_csv.WriteOptions(include_header=True, quoting_style="needed")
        return pa_csv.CSVWriter(self.sink, schema, write_options=options)

    def close(self) -> None:
        if self._writer is None:
            return  # unreachable with evidence: evaluate raised NoEvidence first
        self._writer.close()


def export_evaluation(
    runtime: Runtime,
    request: EvaluationRequest,
    destination: Path,
    said: Stated,
    *,
    actor: Actor = SYSTEM,
    on_rows: Callable[[int], None] | None = None,
) -> EvaluationExport:
    """Evaluate ``request`` (``export_request`` makes one) and write its rows to
    ``destination`` (``.parquet`` or ``.csv``), recorded as a disclosure of what ``said``
    states. An ``actor`` other than ``SYSTEM`` must be allowed the reports of the org unit
    (of the whole organisation without one). ``on_rows`` is told how many rows are written
    so far. Raises what ``evaluate`` raises, ``ConfigError`` for a file that cannot be
    written, ``NotFound`` or ``Forbidden`` for a scope refused."""
    fmt = export_format(destination)
    folder = destination.parent
    if not folder.is_dir():
        raise ConfigError(f"{destination}: the folder {folder} does not exist")
    if destination.is_dir():
        raise ConfigError(f"{destination} is a folder; give a file name ending .{fmt}")
    if actor is not SYSTEM:
        what = {"org_unit": request.org_unit, "format": fmt}
        check_report_scope(
            runtime,
            actor,
            request.org_unit,
            Change(Operation.REPORT_READ.value, "report", "evaluation export", after=what),
        )
    try:
        handle, partial = tempfile.mkstemp(
            dir=folder, prefix=f".{destination.name}.", suffix=".partial"
        )
    except OSError as exc:
        raise ConfigError(f"{destination}: cannot write in {folder} ({exc.strerror})") from None
    try:
        with os.fdopen(handle, "wb") as sink:
            writer = _Writer(fmt, sink, on_rows)
            evaluate(runtime, request, sink=writer)
            writer.close()
            sink.flush()
            os.fsync(sink.fileno())
        disclosure = _record(runtime, actor, request, fmt, writer.people, said)
        os.replace(partial, destination)
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise
    return EvaluationExport(destination, fmt, request, writer.rows, len(writer.people), disclosure)


def _record(
    runtime: Runtime,
    actor: Actor,
    request: EvaluationRequest,
    fmt: str,
    people: set[str],
    said: Stated,
) -> int | None:
    scope = f", org unit {request.org_unit}" if request.org_unit else ""
    nature = (
        f"evaluation export ({fmt}), {request.start.isoformat()} to {request.end.isoformat()}"
        f" by {' and '.join(request.periods)}{scope}"
    )
    with write_transaction(runtime.engine) as conn:
        pks = store_keys(conn, people)
        return record_disclosure(conn, actor, NatureKind.REPORT_EXPORT, nature, pks, said)
