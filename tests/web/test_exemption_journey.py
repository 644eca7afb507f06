"""The exemption journey in a real browser: an employee files a request with a document,
the supervisor and the agency head approve it (the directive needs both), the employee's
status and the component's figures change once the snapshot is evaluated again, an auditor
sees it all in the trail, and a user from another component can neither see nor act on it
(URL tampering included: the same 404 page as a request that does not exist)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _file_request(visitor: Any, tmp_path: Path) -> int:
    page = visitor.page
    document = tmp_path / "travel-letter.pdf"
    document.write_bytes(PDF)
    page.goto("/me")
    visitor.shoot("employee-my-status")
    page.get_by_label("Category").select_option("compelling_reason")
    page.get_by_label("First day").fill("2025-03-03")
    page.get_by_label("Last day").fill("2025-03-28")
    page.get_by_label("Why").fill("Caring for a relative after surgery.")
    page.get_by_label("Supporting documents (optional)").set_input_files(str(document))
    page.get_by_role("button", name="File the request").click()
    expect(page.get_by_role("status")).to_contain_text("Your request was filed")
    match = re.search(r"/requests/(\d+)", page.url)
    assert match is not None
    visitor.shoot("employee-request-filed")
    return int(match.group(1))


def _approve_as(visitor: Any, key: str, request_id: int, shot: str) -> None:
    page = visitor.page
    visitor.sign_in(key)
    page.goto("/queue")
    visitor.shoot(f"{shot}-queue")
    page.get_by_role("link", name=f"Decide request {request_id}").click()
    page.get_by_role("radio", name="Approve").check()
    page.get_by_label("Reason").fill("The letter documents it; approved for March.")
    page.get_by_role("button", name="Record the decision").click()
    expect(page.get_by_role("status")).to_contain_text("Recorded")
    visitor.shoot(f"{shot}-decided")
    visitor.sign_out()


def _week_status(page: Any, week: str) -> Any:
    return page.get_by_role("table", name="Each week evaluated").get_by_role(
        "row", name=re.compile(f"^{week} ")
    )


@pytest.mark.slow
def test_a_request_filed_with_a_document_is_approved_by_supervisor_and_head(
    visitor: Any, reevaluate: Callable[[], None], tmp_path: Path
) -> None:
    employee = visitor()
    employee.sign_in("employee")
    employee.page.goto("/me")
    expect(_week_status(employee.page, "2025-W10")).to_contain_text("non compliant")
    leader = visitor()
    leader.sign_in("leader")
    kpis = leader.page.get_by_role("list", name="Headline figures")
    compliance = kpis.locator("li", has_text="In compliance in 2025-W10")
    expect(compliance).to_contain_text("33.3%")
    request_id = _file_request(employee, tmp_path)
    page = employee.page
    expect(page.get_by_text("Document 1: travel-letter.pdf")).to_be_visible()
    expect(page.locator(".facts")).to_contain_text("submitted")

    staff = visitor()
    _approve_as(staff, "supervisor", request_id, "supervisor")
    _approve_as(staff, "certifying_official", request_id, "head")

    page.goto(f"/requests/{request_id}")
    expect(page.locator(".facts")).to_contain_text("approved")
    expect(page.locator(".facts")).to_contain_text("2025-03-03 to 2025-03-28")
    employee.shoot("employee-request-approved")
    page.goto("/me")
    row = page.get_by_role("row", name=re.compile(f"Request {request_id}"))
    expect(row).to_contain_text("approved")

    # Evaluated again: W1 is exempt from 2025-03-03, and COMP-A has 3 of 6 in compliance.
    reevaluate()
    page.reload()
    expect(_week_status(page, "2025-W10")).to_contain_text("exempt")
    expect(_week_status(page, "2025-W09")).to_contain_text("non compliant")
    employee.shoot("employee-my-status-exempt")
    leader.page.reload()
    expect(compliance).to_contain_text("50.0%")
    units = leader.page.get_by_role("table", name=re.compile("^Units of Component A"))
    team = units.get_by_role("row", name=re.compile("^TEAM-A1 "))
    expect(team).to_contain_text("compelling reason: 1 approved")
    leader.shoot("leader-overview-after-approval")

    auditor = visitor()
    auditor.sign_in("auditor")
    auditor.page.goto("/audit?action=exemption.certify")
    records = auditor.page.locator("#audit-records tbody tr")
    expect(records).to_have_count(2)
    expect(records.first).to_contain_text(f"exemption_request {request_id}")
    auditor.page.get_by_role("button", name="Verify the whole trail now").click()
    expect(auditor.page.locator("#verify-result")).to_contain_text("Intact")
    auditor.shoot("auditor-trail")

    outsider = visitor()
    outsider.sign_in("other_supervisor")
    outsider.page.goto("/queue?status=all")
    expect(outsider.page.get_by_role("link", name=f"Request {request_id}")).to_have_count(0)
    response = outsider.page.goto(f"/requests/{request_id}")
    assert response is not None and response.status == 404
    missing = outsider.page.locator("main").inner_text()
    outsider.shoot("outsider-request-404")
    response = outsider.page.goto("/requests/999999")
    assert response is not None and response.status == 404
    assert outsider.page.locator("main").inner_text() == missing.replace(str(request_id), "999999")
    response = outsider.page.goto(f"/requests/{request_id}/documents/1")
    assert response is not None and response.status == 404
