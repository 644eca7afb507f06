"""Rendering pages: the Jinja2 environment, what every page knows (who is signed in, the
form token, the menu), and report sections turned into accessible tables with a chart.

Every text is escaped by autoescape, and bidi controls in it are shown as U+FFFD
(``finalize``; the chart specs too). A chart travels as its Vega-Lite spec in a
``<script type="application/json">`` data block (``tojson`` escapes ``<``, ``>`` and
``&``), which the browser never executes; ``static/dashboard.js`` hands it to vega-embed.
The table beside it is the chart's text alternative and holds the same figures.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, select_autoescape

from dutystation import __version__
from dutystation.api.errors import without_server_paths
from dutystation.domain.access import Actor, Operation, could_ever
from dutystation.reports.cells import (
    displayed_rows,
    emphasised,
    more_rows_note,
    neutralised,
    readable,
)
from dutystation.reports.model import Column, Section

SHOWN_ROWS = 200  # per report section on a page; the downloads carry every row


@dataclass(frozen=True)
class MenuItem:
    href: str
    label: str
    operation: Operation | None  # None: anyone linked to an employee record


MENU = (
    MenuItem("/overview", "Overview", Operation.REPORT_READ),
    MenuItem("/me", "My status", None),
    MenuItem("/queue", "Requests", Operation.EXEMPTION_READ),
    MenuItem("/reports", "Reports", Operation.REPORT_READ),
    MenuItem("/offices", "Offices", Operation.REPORT_READ),
    MenuItem("/audit", "Audit", Operation.AUDIT_READ),
)


def menu_for(actor: Actor) -> list[MenuItem]:
    """The pages this actor has a use for (the services still decide every read)."""
    shown = []
    for item in MENU:
        if item.operation is None:
            if actor.employee_pk is not None:
                shown.append(item)
        elif could_ever(actor, item.operation):
            shown.append(item)
    return shown


def _day(value: Any) -> str:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    return "–" if value is None else str(value)


def _instant(value: Any) -> str:
    """An audit timestamp (UTC; ISO text as exported) to the second."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return str(value)
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return _day(value)


def _percent(value: Any) -> str:
    return "–" if value is None else f"{float(value):.1%}"


def _words(value: Any) -> str:
    """``pending_exemption`` → ``pending exemption``: enum values as people read them."""
    return "–" if value is None else str(value).replace("_", " ")


def sentence(value: Any) -> str:
    """A service's sentence as people read it on a page: capital first letter, full stop.
    (Jinja's ``capitalize`` would lower-case the rest: ids, hashes, names.) Without the
    server's folders, as the API says it (a policy file's path is the server's business)."""
    text = without_server_paths(str(value)).strip()
    if not text:
        return text
    text = text[0].upper() + text[1:]
    return text if text.endswith((".", "?", "!")) else text + "."


@cache
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("dutystation.web", "templates"),
        autoescape=select_autoescape(["html"], default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
        finalize=neutralised,  # bidi controls shown as U+FFFD (reports/cells.py)
    )
    env.filters["day"] = _day
    env.filters["percent"] = _percent
    env.filters["instant"] = _instant
    env.filters["words"] = _words
    env.filters["sentence"] = sentence
    env.globals["version"] = __version__
    return env


def render(
    request: Request,
    template: str,
    context: Mapping[str, Any] | None = None,
    *,
    actor: Actor | None = None,
    status_code: int = 200,
    headers: Mapping[str, str] | None = None,
) -> HTMLResponse:
    """A page (or an htmx partial: templates starting with ``_``) with what every page
    needs: the actor, their menu, the form token and the current path."""
    values: dict[str, Any] = {
        "request_path": request.url.path,
        "actor": actor,
        "menu": menu_for(actor) if actor is not None else [],
        "csrf_token": getattr(request.state, "csrf_token", ""),
        **(context or {}),
    }
    html = environment().get_template(template).render(**values)
    return HTMLResponse(html, status_code=status_code, headers=dict(headers or {}))


@dataclass(frozen=True)
class ShownSection:
    """A report section as a page shows it: display strings, the rows to emphasise, how
    many rows exist, and the chart's spec and words."""

    anchor: str
    title: str
    columns: tuple[Column, ...]
    rows: list[list[str]]
    emphasis: list[bool]
    total: int
    notes: list[str]
    chart_spec: Mapping[str, Any] | None
    chart_title: str
    chart_description: str


def shown_section(section: Section, anchor: str, max_rows: int | None = SHOWN_ROWS) -> ShownSection:
    bold = emphasised(section, max_rows)
    section = readable(section)
    rows, total = displayed_rows(section, max_rows)
    notes = list(section.notes)
    if more := more_rows_note(len(rows), total, "the CSV or XLSX download has all of them."):
        notes.insert(0, more)
    chart = section.chart
    return ShownSection(
        anchor=anchor,
        title=section.title,
        columns=section.columns,
        rows=rows,
        emphasis=bold,
        total=total,
        notes=notes,
        chart_spec=neutralised(dict(chart.spec)) if chart is not None else None,
        chart_title=chart.title if chart is not None else "",
        chart_description=chart.description if chart is not None else "",
    )
