"""A report as JSON: a stable, documented document (docs/reports.md, "JSON").

Stable means: keys appear in a fixed order, rows in the order the service gave them, every
column of a section is present in every row (``null`` when missing), and the same report
gives byte-identical output. ``schema_version`` changes whenever a key is renamed or
removed or a meaning changes; new keys may be added within a version. ``JSON_SCHEMA`` is
the machine-readable form (JSON Schema, draft 2020-12); tests validate against it.

Values: dates as ``YYYY-MM-DD``, local times as ``YYYY-MM-DDTHH:MM:SS`` (no offset: they are
office-local wall-clock times), numbers as JSON numbers (shares as fractions from 0 to 1),
booleans as ``true``/``false``. Rows are written batch by batch, so a large presence export
never exists as one Python list."""

from __future__ import annotations

import io
import json
import math
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any, BinaryIO, TextIO

from dutystation.reports.files import write_atomically
from dutystation.reports.model import ColumnKind, Report, Section

SCHEMA_VERSION = 1

JSON_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "dutystation report",
    "type": "object",
    "required": [
        "schema_version",
        "report",
        "title",
        "subtitle",
        "period",
        "as_of",
        "parameters",
        "notes",
        "sections",
    ],
    "properties": {
        "schema_version": {"const": SCHEMA_VERSION},
        "report": {"type": "string"},
        "title": {"type": "string"},
        "subtitle": {"type": "string"},
        "period": {
            "type": "object",
            "required": ["start", "end"],
            "properties": {
                "start": {"type": "string", "format": "date"},
                "end": {"type": "string", "format": "date"},
            },
        },
        "as_of": {"type": "string", "format": "date"},
        "parameters": {"type": "object", "additionalProperties": {"type": "string"}},
        "notes": {"type": "array", "items": {"type": "string"}},
        "sections": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["key", "title", "notes", "columns", "row_count", "rows", "chart"],
                "properties": {
                    "key": {"type": "string"},
                    "title": {"type": "string"},
                    "notes": {"type": "array", "items": {"type": "string"}},
                    "columns": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["name", "label", "type", "description"],
                            "properties": {
                                "name": {"type": "string"},
                                "label": {"type": "string"},
                                "type": {"enum": [str(k) for k in ColumnKind]},
                                "description": {"type": "string"},
                            },
                        },
                    },
                    "row_count": {"type": "integer", "minimum": 0},
                    "rows": {"type": "array", "items": {"type": "object"}},
                    "chart": {
                        "oneOf": [
                            {"type": "null"},
                            {
                                "type": "object",
                                "required": ["title", "description", "vega_lite"],
                                "properties": {
                                    "title": {"type": "string"},
                                    "description": {"type": "string"},
                                    "vega_lite": {"type": "object"},
                                },
                            },
                        ]
                    },
                },
            },
        },
    },
}


def _value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.replace(microsecond=0).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, allow_nan=False)


def _rows(section: Section) -> Iterator[str]:
    names = [c.name for c in section.columns]
    for batch in section.table.select(names).to_batches(max_chunksize=50_000):
        for row in batch.to_pylist():
            yield _dumps({name: _value(row[name]) for name in names})


def _section_head(section: Section) -> list[tuple[str, Any]]:
    chart = None
    if section.chart is not None:
        chart = {
            "title": section.chart.title,
            "description": section.chart.description,
            "vega_lite": section.chart.spec,
        }
    return [
        ("key", section.key),
        ("title", section.title),
        ("notes", list(section.notes)),
        (
            "columns",
            [
                {
                    "name": c.name,
                    "label": c.label,
                    "type": str(c.kind),
                    "description": c.description,
                }
                for c in section.columns
            ],
        ),
        ("row_count", section.rows),
        ("chart", chart),
    ]


def write_json(report: Report, out: TextIO) -> None:
    """Write the report as one JSON document (UTF-8 text, two-space indent, one row per
    line) to ``out``."""
    head = [
        ("schema_version", SCHEMA_VERSION),
        ("report", report.kind),
        ("title", report.title),
        ("subtitle", report.subtitle),
        (
            "period",
            {"start": report.period_start.isoformat(), "end": report.period_end.isoformat()},
        ),
        ("as_of", report.as_of.isoformat()),
        ("parameters", dict(report.parameters)),
        ("notes", list(report.notes)),
    ]
    out.write("{\n")
    for key, value in head:
        out.write(f"  {_dumps(key)}: {_dumps(value)},\n")
    out.write('  "sections": [')
    for i, section in enumerate(report.sections):
        out.write(",\n    {\n" if i else "\n    {\n")
        for key, value in _section_head(section):
            out.write(f"      {_dumps(key)}: {_dumps(value)},\n")
        out.write('      "rows": [')
        for j, row in enumerate(_rows(section)):
            out.write(",\n        " if j else "\n        ")
            out.write(row)
        out.write("\n      ]\n    }" if section.rows else "]\n    }")
    out.write("\n  ]\n}\n" if report.sections else "]\n}\n")


def save_json(report: Report, path: Path) -> Path:
    def write(fh: BinaryIO) -> None:
        text = io.TextIOWrapper(fh, encoding="utf-8", newline="\n")
        write_json(report, text)
        text.flush()
        text.detach()  # the file belongs to write_atomically, which closes it

    return write_atomically(path, write)
