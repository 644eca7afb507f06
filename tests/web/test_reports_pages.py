"""Reports and offices in a real browser: a leader chooses a report, reads its tables and
charts (drawn by vega-embed under the page's CSP), downloads it, and sees the offices'
capacity; a leader of one component cannot read another's by editing the URL."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from playwright.sync_api import expect


def test_a_leader_reads_and_downloads_the_onsite_share_report(visitor: Any) -> None:
    leader = visitor()
    leader.sign_in("leader")
    page = leader.page
    page.goto("/reports")
    leader.shoot("leader-reports-catalogue")
    page.get_by_label("Report", exact=True).select_option("onsite-share")
    page.get_by_role("button", name="Show the report").click()
    expect(page.get_by_role("heading", level=2, name="Share of hours")).to_be_visible()
    # The org unit defaulted to the leader's scope, and each chart was drawn.
    expect(page.get_by_role("textbox", name="Org unit")).to_have_value("COMP-A")
    charts = page.locator("[data-chart]")
    assert charts.count() >= 1
    for n in range(charts.count()):
        expect(charts.nth(n)).to_have_attribute("data-rendered", "yes")
    expect(page.locator("table").first).to_be_visible()
    leader.shoot("leader-report-onsite-share")

    with page.expect_download() as info:
        page.get_by_role("button", name="CSV (main table)").click()
    download = info.value
    assert download.suggested_filename.startswith("onsite-share-")
    rows = list(csv.reader(io.StringIO(Path(download.path()).read_text(encoding="utf-8-sig"))))
    assert len(rows) > 1

    # Another component's org unit answers like one that does not exist.
    response = page.goto("/reports?kind=onsite-share&org=COMP-B")
    assert response is not None and response.status == 404
    expect(page.get_by_role("alert")).to_have_text("Org unit 'COMP-B' does not exist.")
    response = page.goto("/reports/download?kind=onsite-share&org=COMP-B&format=json")
    assert response is not None and response.status == 404


def test_offices_show_capacity_against_demand_with_a_map(visitor: Any) -> None:
    tmo = visitor()
    tmo.sign_in("tmo")
    page = tmo.page
    page.goto("/offices")
    expect(page.get_by_role("heading", level=1)).to_contain_text("capacity against demand")
    charts = page.locator("[data-chart]")
    assert charts.count() >= 1
    for n in range(charts.count()):
        expect(charts.nth(n)).to_have_attribute("data-rendered", "yes")
    tmo.shoot("tmo-offices")
    page.get_by_role("link", name="Compute the designation plan").click()
    expect(page.locator("#plan")).to_contain_text("Designation plan")
    tmo.shoot("tmo-offices-plan")
