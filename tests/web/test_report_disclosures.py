"""The Privacy Act accounting of a download from the Reports page, in a real browser: the
person downloading says why and to whom on the page's form, and the disclosure ledger
records exactly that for everyone the file names (docs/privacy.md); a link from another
site cannot write a purpose or recipient into the ledger for them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from playwright.sync_api import expect
from sqlalchemy import select

from api_world import World
from dutystation.api.app import create_app
from dutystation.bootstrap import bootstrap
from dutystation.store.schema_disclosures import Disclosure

PURPOSE = "Congressional inquiry 2025-117"
RECIPIENT = "Office of Senator Example, Washington DC 20510"


def entries(world: World) -> list[dict[str, Any]]:
    runtime = bootstrap(world.settings())
    with runtime.engine.connect() as conn:
        rows = conn.execute(select(Disclosure.__table__).order_by(Disclosure.id)).mappings().all()
    runtime.engine.dispose()
    return [dict(r) for r in rows]


def test_a_download_records_the_purpose_and_recipient_given_on_the_page(
    visitor: Any, world: World
) -> None:
    leader = visitor()
    leader.sign_in("leader")
    page = leader.page
    page.goto("/reports")
    page.get_by_label("Report", exact=True).select_option("not-returned")
    page.get_by_label("Days after the deadline").fill("10")
    page.get_by_role("button", name="Show the report").click()
    expect(page.get_by_role("heading", level=3, name="Download")).to_be_visible()
    page.get_by_label("Purpose").fill(PURPOSE)
    page.get_by_label("Recipient outside the agency").fill(RECIPIENT)
    leader.shoot("leader-reports-download-form")
    before = entries(world)
    with page.expect_download() as info:
        page.get_by_role("button", name="JSON").click()
    download = info.value
    assert download.suggested_filename.startswith("not-returned-")
    named = json.loads(Path(download.path()).read_text(encoding="utf-8"))
    assert named  # the file really holds the report
    [entry] = entries(world)[len(before) :]
    assert (entry["purpose"], entry["recipient"]) == (PURPOSE, RECIPIENT)
    assert entry["recipient_kind"] == "outside_agency"
    assert (entry["recorded_by"], entry["channel"]) == ("dir", "web")
    assert entry["nature"].startswith("report not-returned (json)")
    assert entry["people"] >= 1  # accounted to the people the file names

    # A recipient without a purpose is refused on the page; nothing is recorded.
    page.goto("/reports?kind=not-returned&days=10")
    page.get_by_label("Recipient outside the agency").fill(RECIPIENT)
    page.get_by_role("button", name="JSON").click()
    expect(page.get_by_role("alert")).to_contain_text("needs its purpose")
    assert len(entries(world)) == len(before) + 1


def test_a_statement_from_another_site_is_refused(world: World) -> None:
    """A link on another site (``Sec-Fetch-Site: cross-site``) that carries a purpose and a
    recipient is refused before anything is built or recorded; the same download without
    them is the exporting user's own, accounted as such."""
    app = create_app(world.settings())
    browser = TestClient(app, base_url="https://testserver")
    user = world.users["leader"]
    signed = browser.post("/login", data={"username": user.username, "password": user.password})
    assert signed.status_code == 200, signed.text
    query = {"kind": "not-returned", "days": "10", "format": "json"}
    said = {"purpose": PURPOSE, "recipient": RECIPIENT}
    before = len(entries(world))
    forged = browser.get(
        "/reports/download", params={**query, **said}, headers={"Sec-Fetch-Site": "cross-site"}
    )
    assert forged.status_code == 403, forged.text[:300]
    assert forged.headers["content-type"].startswith("text/html")
    assert len(entries(world)) == before
    plain = browser.get("/reports/download", params=query, headers={"Sec-Fetch-Site": "cross-site"})
    assert plain.status_code == 200
    [entry] = entries(world)[before:]
    assert (entry["recipient"], entry["recipient_kind"]) == ("dir", "agency_user")
    own = browser.get(
        "/reports/download", params={**query, **said}, headers={"Sec-Fetch-Site": "same-origin"}
    )
    assert own.status_code == 200
    assert entries(world)[-1]["recipient"] == RECIPIENT
    browser.close()
    app.state.runtime.engine.dispose()
