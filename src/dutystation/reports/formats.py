"""One entry point for every output format, so the CLI, the demo and (later) the API write a
report the same way: ``table`` to the terminal, ``csv`` and ``json`` to standard output or
a file, ``xlsx`` and ``html`` always to a file (they are not text a terminal can show)."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import BinaryIO

from rich.console import Console

from dutystation.errors import ConfigError
from dutystation.reports.model import Report
from dutystation.reports.terminal import DEFAULT_HINTS, Hints, render_terminal


class Format(StrEnum):
    TABLE = "table"
    CSV = "csv"
    XLSX = "xlsx"
    JSON = "json"
    HTML = "html"

    @property
    def needs_file(self) -> bool:
        return self in (Format.XLSX, Format.HTML)


def default_path(report: Report, fmt: Format, folder: Path | None = None) -> Path:
    """``onsite-share-2025-01-20-to-2025-03-16.html``: the report's name and period, so
    two runs for different periods never overwrite each other."""
    name = f"{report.kind}-{report.period_start.isoformat()}-to-{report.period_end.isoformat()}"
    return (folder or Path.cwd()) / f"{name}.{fmt}"


def write_report(
    report: Report,
    fmt: Format,
    *,
    console: Console,
    output: Path | None = None,
    section: str | None = None,
    sections: list[str] | None = None,
    max_rows: int | None = None,
    hints: Hints = DEFAULT_HINTS,
) -> Path | None:
    """Write ``report``; returns the file written, or None when it went to the console /
    standard output. ``section`` picks the CSV's table (default: the primary one) or the
    section a table shows; ``sections`` several for a table (default: all); ``max_rows``
    limits a table's rows."""
    # Renderers are imported when used: the HTML one loads vl-convert, the XLSX one openpyxl.
    from dutystation.reports import csv, html, json, xlsx

    if section is not None:
        try:
            report.section(section)
        except KeyError as exc:
            raise ConfigError(f"report {report.kind} has no section {exc.args[0]}") from None
    to_stdout = output is None or str(output) == "-"
    if fmt is Format.TABLE:
        if not to_stdout:
            raise ConfigError(
                "the table format prints to the terminal; use csv, xlsx, json or html to "
                "write a file"
            )
        sections = [section] if section is not None else sections
        render_terminal(report, console, max_rows=max_rows, sections=sections, hints=hints)
        return None
    if fmt is Format.CSV:
        chosen = report.section(section)
        if to_stdout:
            csv.write_csv(chosen, _stdout_bytes())
            return None
        return csv.save_csv(chosen, Path(str(output)))
    if fmt is Format.JSON:
        if to_stdout:
            json.write_json(report, sys.stdout)
            sys.stdout.flush()
            return None
        return json.save_json(report, Path(str(output)))
    path = default_path(report, fmt) if to_stdout else Path(str(output))
    if fmt is Format.XLSX:
        return xlsx.save_xlsx(report, path)
    # A page shows its own number of rows (html.DEFAULT_MAX_ROWS), not the terminal's.
    return html.save_html(report, path)


def _stdout_bytes() -> BinaryIO:
    sys.stdout.flush()  # text written before must come first
    return sys.stdout.buffer
