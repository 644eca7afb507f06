"""RELIABILITY T14 ``xss_and_unicode_render``: roster names that are ``<script>``,
``"><img onerror>``, template syntax, ``javascript:`` links, bidi overrides and isolates
(U+202E, U+2066) and zero-width joiners, an org unit named with an ``<iframe>``, and a
10 KB justification of markup and bidi controls, rendered in every dashboard page every
user reaches (tests/api/site_crawl.py) and in the HTML, CSV and XLSX report downloads.

Pass figure: 0 unescaped markup (each page parsed: no element, event-handler attribute,
script or ``javascript:`` URL the templates did not put there, and no hostile name's raw
text in the source) and 0 bidi controls in any page or HTML report (they are shown as
U+FFFD: docs/security.md); zero-width joiners are kept. CSV and XLSX downloads hold no
formula. CI crawls 60 pages per user and fetches downloads as the administrator;
``DUTYSTATION_TEST_PROFILE=nightly`` 400 pages and downloads as everyone.
"""

from __future__ import annotations

import csv
import io
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import openpyxl
import pytest
from hostile_world import JUSTIFICATION, NAMES, UNIT_NAME, HostileWorld
from site_crawl import Visit
from sqlalchemy import select

from api_world import PEOPLE, ROSTER_COLUMNS, World
from dutystation.bootstrap import bootstrap
from dutystation.errors import ImportRejected
from dutystation.ingest.fields import ImportKind
from dutystation.reports.cells import BIDI_CONTROLS
from dutystation.reports.spreadsheet_safety import is_formula_like, is_plain_number
from dutystation.services.importing import run_import
from dutystation.store.schema import Employee

# The crawl is shared with T13 (test_response_headers.py): one worker builds it once.
pytestmark = pytest.mark.xdist_group("hostile_world")

BIDI = re.compile("[" + "".join(chr(c) for c in BIDI_CONTROLS) + "]")
BIDI_ESCAPED = re.compile(r"\\u(061c|200[ef]|202[a-e]|206[6-9])", re.IGNORECASE)
# Elements some payload would create if it were not escaped.
FOREIGN = {"iframe", "img", "svg", "object", "embed", "base", "math", "frame", "frameset"}
HOSTILE = [*NAMES.values(), UNIT_NAME]


class Page(HTMLParser):
    """What a browser would build from the page: every problem a payload could cause."""

    def __init__(self, *, report: bool) -> None:
        super().__init__(convert_charrefs=True)
        self.report = report
        self.problems: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag in FOREIGN and not (self.report and tag == "svg"):
            self.problems.append(f"<{tag}> element")
        if tag == "script":
            data_block = values.get("type") == "application/json"
            own = (values.get("src") or "").startswith("/static/")
            if self.report or not (data_block or own):
                self.problems.append(f"<script {values}>")
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"<{tag} {name}=...>")
            if value and value.strip().lower().startswith(("javascript:", "data:text/html")):
                self.problems.append(f"<{tag} {name}={value[:30]!r}>")

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def check_page(visit: Visit, *, report: bool) -> str:
    """The page's text; fails on any markup or bidi control that came from data."""
    source = visit.body.decode("utf-8")
    where = f"{visit.who} {visit.path}"
    page = Page(report=report)
    page.feed(source)
    page.close()
    assert page.problems == [], f"{where}: {page.problems[:5]}"
    for hostile in HOSTILE:
        if "<" in hostile or '"' in hostile:
            assert BIDI.sub("\ufffd", hostile) not in source, f"{where}: raw {hostile[:30]!r}"
    assert not BIDI.search(source), f"{where}: a bidi control is rendered"
    assert not BIDI_ESCAPED.search(source), f"{where}: an escaped bidi control"
    return "".join(page.text)


def formula_cells(visit: Visit) -> int:
    if visit.content_type == "text/csv":
        rows = csv.reader(io.StringIO(visit.body.decode("utf-8-sig"), newline=""))
        return sum(is_formula_like(c) and not is_plain_number(c) for row in rows for c in row)
    book = openpyxl.load_workbook(io.BytesIO(visit.body))
    return sum(c.data_type == "f" for s in book.worksheets for row in s.iter_rows() for c in row)


def test_no_page_renders_markup_or_bidi_controls_from_names(visits: list[Visit]) -> None:
    pages = [v for v in visits if v.is_html and v.status == 200 and "/download" not in v.path]
    assert len(pages) >= 40, len(pages)
    reached = {v.path.split("?")[0] for v in pages}
    for needed in ("/overview", "/me", "/queue", "/reports", "/people/W1", "/account"):
        assert needed in reached, needed
    shown = "".join(check_page(v, report=False) for v in pages)
    # The names are on the pages, as text (escaped in the source).
    for employee_id in ("W1", "W2", "MGR2", "DIR", "B1"):
        assert NAMES[employee_id] in shown, employee_id
    assert "Wynn \ufffdexe.fdp\ufffd Worker" in shown  # the override is shown, not obeyed
    assert "Mor\u200dgan\u200c Man\ufffdager\ufffd" in shown  # joiners kept, isolates shown
    assert BIDI.sub("\ufffd", UNIT_NAME) in shown


def test_the_10_kb_justification_is_shown_as_text(
    visits: list[Visit], hostile_world: HostileWorld
) -> None:
    request = [
        v
        for v in visits
        if v.path == f"/requests/{hostile_world.request_id}" and v.status == 200 and v.is_html
    ]
    assert request, "nobody reached the request's page"
    for visit in request:
        assert BIDI.sub("\ufffd", JUSTIFICATION.strip()) in check_page(visit, report=False)


def test_report_downloads_are_inert(visits: list[Visit]) -> None:
    downloads = [v for v in visits if v.path.startswith("/reports/download") and v.status == 200]
    kinds = {v.content_type for v in downloads}
    assert {"text/csv", "text/html"} <= kinds, kinds
    for visit in downloads:
        assert visit.headers.get("x-content-type-options") == "nosniff"
        assert visit.headers.get("content-disposition", "").startswith("attachment")
        if visit.content_type == "text/html":
            check_page(visit, report=True)
        elif visit.content_type == "text/csv" or visit.path.endswith("xlsx"):
            assert formula_cells(visit) == 0, visit.path


def test_json_answers_are_json_and_never_sniffed(visits: list[Visit]) -> None:
    answers = [v for v in visits if v.path.startswith("/api/") and v.status == 200]
    assert len(answers) > 20
    for visit in answers:
        assert visit.content_type != "text/html", visit.path
        assert visit.headers.get("x-content-type-options") == "nosniff"
        if visit.content_type == "application/json":
            json.loads(visit.body)
        elif visit.content_type == "application/jsonl":
            assert all(json.loads(line) for line in visit.body.splitlines())


def test_a_10_kb_roster_name_is_refused_and_the_old_name_stays(
    world: World, tmp_path: Path
) -> None:
    rows = [
        (p[0], "<b>" * 3414 if p[0] == "W1" else p[1], *p[2:], "2025-02-03", "") for p in PEOPLE
    ]
    path = tmp_path / "roster.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(ROSTER_COLUMNS)
        writer.writerows(rows)
    runtime = bootstrap(world.settings())
    with pytest.raises(ImportRejected) as refused:
        run_import(runtime, ImportKind.ROSTER, [path])
    assert [(r.reason, r.column) for r in refused.value.rejections] == [("too_long", "name")]
    with runtime.engine.connect() as conn:
        name = conn.scalar(select(Employee.name).where(Employee.employee_id == "W1"))
    runtime.engine.dispose()
    assert name == "Wes Worker"
