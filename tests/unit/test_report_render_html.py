"""The HTML report is one self-contained, accessible file: parsed here, not grepped."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import pytest
from report_samples import SCRIPT, sample_report

from dutystation.reports.html import render_html, save_html


class Page(HTMLParser):
    """Every start tag with its attributes, the text under each heading and caption, and
    the rows of each table body."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.texts: dict[str, list[str]] = {"h1": [], "h2": [], "caption": [], "title": []}
        self.body_rows: list[int] = []
        self._open: list[str] = []
        self._in_tbody = False
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._open.append(tag)
        if tag == "tbody":
            self.body_rows.append(0)
            self._in_tbody = True
        elif tag == "tr" and self._in_tbody:
            self.body_rows[-1] += 1
        if tag in self.texts:
            self.texts[tag].append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "tbody":
            self._in_tbody = False
        if self._open and self._open[-1] == tag:
            self._open.pop()

    def handle_data(self, data: str) -> None:
        for tag in self.texts:
            if tag in self._open and self.texts[tag]:
                self.texts[tag][-1] += data

    def all(self, tag: str) -> list[dict[str, str | None]]:
        return [attrs for name, attrs in self.tags if name == tag]


@pytest.fixture(scope="module")
def html() -> str:
    return render_html(sample_report(rows=30), max_rows=20)


@pytest.fixture(scope="module")
def page(html: str) -> Page:
    return Page(html)


def test_the_page_loads_nothing_from_the_network(page: Page, html: str) -> None:
    assert not page.all("script") and not page.all("link") and not page.all("iframe")
    for _, attrs in page.tags:
        for name in ("src", "href", "action", "srcset"):
            value = (attrs.get(name) or "").strip().lower()
            assert not value.startswith(("http:", "https:", "//")), (name, value)
    assert "@import" not in html and "url(" not in html


def test_the_page_has_a_language_a_viewport_and_a_title(page: Page) -> None:
    assert page.all("html")[0]["lang"] == "en"
    assert any(m.get("name") == "viewport" for m in page.all("meta"))
    assert page.texts["title"][0].startswith("Sample report")


def test_headings_follow_the_report_and_its_sections(page: Page) -> None:
    assert [t.strip() for t in page.texts["h1"]] == ["Sample report"]
    headings = [t.strip() for t in page.texts["h2"]]
    assert headings[:3] == ["Per org unit", "People", "Nothing here"]


def test_every_table_has_a_caption_and_its_rows(page: Page) -> None:
    assert len(page.all("table")) == 2  # the empty section says "No rows." instead
    assert page.texts["caption"][0].strip() == "Per org unit"
    assert page.body_rows == [4, 20]
    assert "first 20 of 30 rows" in page.texts["caption"][1]
    assert all(th.get("scope") in ("col", "row") for th in page.all("th"))


def test_a_total_row_is_emphasised_instead_of_a_column(page: Page, html: str) -> None:
    rows = page.all("tr")
    assert sum(1 for r in rows if r.get("class") == "total") == 1
    assert "Total row" not in html


def test_charts_are_inline_svg_labelled_for_screen_readers(page: Page, html: str) -> None:
    svgs = page.all("svg")
    assert len(svgs) == 1
    assert svgs[0]["role"] == "img"
    labelled = (svgs[0]["aria-labelledby"] or "").split()
    ids = {attrs.get("id") for _, attrs in page.tags}
    assert labelled and all(i in ids for i in labelled)
    assert "Two bars: A 50 %, B 75 %." in html  # the description is also visible text


def test_text_from_the_data_is_escaped_and_free_of_control_characters(html: str) -> None:
    assert SCRIPT not in html
    assert "&lt;script&gt;" in html
    assert "\x1b" not in html and "\x07" not in html


def test_the_file_is_written_whole_for_its_owner_only(tmp_path: Path) -> None:
    path = save_html(sample_report(), tmp_path / "r.html")
    assert path.read_text(encoding="utf-8").startswith("<!doctype html>")
    assert path.stat().st_mode & 0o077 == 0
