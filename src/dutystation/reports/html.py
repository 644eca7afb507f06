"""A report as one self-contained HTML file: inline CSS, charts as inline SVG, no script.

Charts are drawn offline by vl-convert (the Vega-Lite compiler and renderer bundled in a
Python wheel), so the file loads nothing from the network, opens from an email attachment
and prints as it looks. SVG rather than the Vega JavaScript: it is a few kilobytes instead
of a megabyte, it reads without scripts, and a screen reader gets the chart's title and
description from ``<title>``/``<desc>`` (plus a ``figcaption`` everyone sees).

Long sections show their first ``max_rows`` rows and say so; the CSV or XLSX export has
every row. Every text comes from the report and is escaped by Jinja2's autoescape."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import vl_convert
from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup, escape

from dutystation import __version__
from dutystation.reports.cells import (
    displayed_rows,
    emphasised,
    more_rows_note,
    neutralised,
    readable,
)
from dutystation.reports.files import write_atomically
from dutystation.reports.model import Chart, Column, Report, Section

DEFAULT_MAX_ROWS = 500
_ROOT_SVG = re.compile(r"<svg\b([^>]*)>")
_ANCHOR = re.compile(r"[^a-z0-9-]+")


@cache
def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("dutystation.reports", "templates"),
        autoescape=select_autoescape(["html", "j2"], default_for_string=True),
        trim_blocks=False,
        lstrip_blocks=False,
        keep_trailing_newline=True,
        finalize=neutralised,  # bidi controls shown as U+FFFD (reports/cells.py)
    )


def chart_svg(chart: Chart, anchor: str) -> Markup:
    """The chart as inline SVG, labelled for assistive technology."""
    svg = vl_convert.vegalite_to_svg(neutralised(dict(chart.spec)))
    title, desc = f"{anchor}-chart-title", f"{anchor}-chart-desc"
    label = (
        f'<svg\\1 role="img" aria-labelledby="{title} {desc}" focusable="false">'
        f'<title id="{title}">{escape(chart.title)}</title>'
        f'<desc id="{desc}">{escape(chart.description)}</desc>'
    )
    # Only the root element: nested <svg> (none today) must keep their own attributes.
    # The SVG comes from vl-convert, which escapes every text it draws.
    return Markup(_ROOT_SVG.sub(label, svg, count=1))  # noqa: S704


@dataclass(frozen=True)
class _ShownSection:
    anchor: str
    title: str
    columns: tuple[Column, ...]
    rows: list[list[str]]
    emphasis: list[bool]
    total: int
    more: bool
    notes: list[str]
    svg: Markup | None
    chart_title: str
    chart_description: str


def _anchor(key: str, taken: set[str]) -> str:
    base = _ANCHOR.sub("-", key.lower()).strip("-") or "section"
    anchor, n = base, 2
    while anchor in taken:
        anchor, n = f"{base}-{n}", n + 1
    taken.add(anchor)
    return anchor


def _shown(section: Section, anchor: str, max_rows: int | None) -> _ShownSection:
    bold = emphasised(section, max_rows)
    section = readable(section)
    rows, total = displayed_rows(section, max_rows)
    notes = list(section.notes)
    if more := more_rows_note(len(rows), total, "the CSV or XLSX export has all of them."):
        notes.insert(0, more)
    chart = section.chart
    return _ShownSection(
        anchor=anchor,
        title=section.title,
        columns=section.columns,
        rows=rows,
        emphasis=bold,
        total=total,
        more=len(rows) < total,
        notes=notes,
        svg=chart_svg(chart, anchor) if chart is not None else None,
        chart_title=chart.title if chart is not None else "",
        chart_description=chart.description if chart is not None else "",
    )


def render_html(report: Report, *, max_rows: int | None = DEFAULT_MAX_ROWS) -> str:
    taken: set[str] = {"main", "about-h"}
    sections = [_shown(s, _anchor(s.key, taken), max_rows) for s in report.sections]
    template = _environment().get_template("report.html.j2")
    context: dict[str, Any] = {"report": report, "sections": sections, "version": __version__}
    return template.render(**context)


def save_html(report: Report, path: Path, *, max_rows: int | None = DEFAULT_MAX_ROWS) -> Path:
    data = render_html(report, max_rows=max_rows).encode()

    def write(fh: Any) -> None:
        fh.write(data)

    return write_atomically(path, write)
