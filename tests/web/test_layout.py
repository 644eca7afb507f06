"""The pages on a phone and by keyboard: nothing wider than the screen (wide tables
scroll inside their own region), a skip link first in the tab order, and a visible
focus outline."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

PAGES = {
    "employee": ["/me"],
    "supervisor": ["/queue"],
    "leader": ["/overview", "/overview/people?org=TEAM-A1", "/people/W1"],
    "tmo": ["/reports?kind=onsite-share", "/offices"],
    "auditor": ["/audit"],
}


def _fits(page: Any) -> bool:
    width: int = page.evaluate("document.documentElement.scrollWidth")
    return width <= page.viewport_size["width"]


@pytest.mark.slow
def test_every_page_fits_a_phone_screen(visitor: Any) -> None:
    phone = visitor(mobile=True)
    phone.page.goto("/login")
    assert _fits(phone.page)
    phone.shoot("phone-login")
    for key, paths in PAGES.items():
        phone.sign_in(key)
        for path in paths:
            phone.page.goto(path)
            phone.page.wait_for_load_state("networkidle")
            assert _fits(phone.page), path
            name = path.strip("/").split("?")[0].replace("/", "-")
            phone.shoot(f"phone-{key}-{name}")
        phone.sign_out()


def test_the_keyboard_reaches_the_content_first_and_sees_where_it_is(visitor: Any) -> None:
    employee = visitor()
    employee.sign_in("employee")
    page = employee.page
    page.goto("/me")
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to the content")
    expect(skip).to_be_focused()
    outline = skip.evaluate("e => getComputedStyle(e).outlineStyle")
    assert outline == "solid"
    employee.shoot("keyboard-skip-link")
    page.keyboard.press("Enter")
    assert page.evaluate("location.hash") == "#main"
    # Every form control has a label a screen reader announces.
    unlabelled = page.evaluate(
        """[...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
             .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label'))
             .map(e => e.name)"""
    )
    assert unlabelled == []
