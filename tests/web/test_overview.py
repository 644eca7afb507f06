"""The overview in a real browser: a leader reads the headline figures of their
component, drills down to a team, its people and one person's weeks, goes back up by the
breadcrumb, and cannot open another component's overview or people by editing the URL."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import expect


def _charts_drawn(page: Any) -> None:
    drawn = page.locator("[data-chart]")
    for n in range(drawn.count()):
        expect(drawn.nth(n)).to_have_attribute("data-rendered", "yes")


def test_a_leader_drills_down_from_the_component_to_a_person(visitor: Any) -> None:
    leader = visitor()
    leader.sign_in("leader")
    page = leader.page
    assert page.url.endswith("/overview")
    expect(page.get_by_role("heading", level=1)).to_have_text("Overview: Component A (COMP-A)")
    kpis = page.get_by_role("list", name="Headline figures")
    expect(kpis).to_contain_text("43.3%")  # 6 people, 480 h, 208 h on site
    expect(kpis).to_contain_text("Not returned")
    _charts_drawn(page)
    leader.shoot("leader-overview")

    units = page.get_by_role("table", name=re.compile("^Units of Component A"))
    team = units.get_by_role("row", name=re.compile("^TEAM-A1 "))
    expect(team).to_contain_text("53.3%")
    team.get_by_role("link", name="3 people").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("People of TEAM-A1")
    assert "org=TEAM-A1" in page.url
    expect(page.get_by_role("row", name=re.compile("^W1 "))).to_contain_text("non compliant")
    leader.shoot("leader-overview-people")

    page.get_by_role("link", name="W1", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Wes Worker (W1)")
    _charts_drawn(page)
    leader.shoot("leader-person")
    page.go_back()
    breadcrumb = page.get_by_role("navigation", name="Where you are")
    breadcrumb.get_by_role("link", name="COMP-A").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("COMP-A")

    # Another component answers like an org unit that does not exist.
    for path in ("/overview?org=COMP-B", "/overview/people?org=TEAM-B1", "/people/B1"):
        response = page.goto(path)
        assert response is not None and response.status == 404, path
    expect(page.get_by_role("alert")).to_have_text("No employee 'B1'.")
