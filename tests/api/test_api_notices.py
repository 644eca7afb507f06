"""The notice routes: a TMO announces the directive to their component, employees read and
acknowledge their own notices, reminders go to those who have not, leaders read the
acknowledgement rates; nobody reaches another component's people or notices."""

from __future__ import annotations

from area_world import DIRECTIVE, Client, app, same_refusal

__all__ = ["app"]

BASE = "/api/v1/notices"
COMP_A = 6  # DIR, MGR1, W1, W2, MGR2, W3


def test_an_announcement_is_read_acknowledged_and_reminded(client_for: Client) -> None:
    tmo = client_for("tmo")
    sent = tmo.post(f"{BASE}/send", json={"directive_ref": DIRECTIVE})
    assert sent.status_code == 200, sent.text
    assert sent.json() | {"notice_id": 0} == {
        "notice_id": 0,
        "directive_ref": DIRECTIVE,
        "recipients": COMP_A,
        "mails": COMP_A,
        "in_app_only": 0,
        "skipped": 0,
        "deadline": None,
        "deadline_kind": None,
    }
    notice = sent.json()["notice_id"]
    again = tmo.post(f"{BASE}/send", json={"directive_ref": DIRECTIVE}).json()
    assert (again["notice_id"], again["skipped"]) == (None, COMP_A)

    employee = client_for("employee")
    mine = employee.get(f"{BASE}/mine").json()
    assert mine["total"] == 1
    assert mine["items"][0]["id"] == notice
    assert mine["items"][0]["acknowledged_at"] is None
    assert "Test order" in mine["items"][0]["subject"]
    first = employee.post(f"{BASE}/{notice}/acknowledge")
    assert first.status_code == 200, first.text
    second = employee.post(f"{BASE}/{notice}/acknowledge")
    assert second.json() == first.json()

    reminders = tmo.post(f"{BASE}/reminders", json={"today": "2025-02-18"})
    assert reminders.status_code == 200, reminders.text
    sent_reminders = [r for r in reminders.json() if r["notice_id"] is not None]
    # Full compliance (2025-02-21) and the not-returned report (effective + 30 days).
    assert sorted(r["deadline"] for r in sent_reminders) == ["2025-02-19", "2025-02-21"]
    assert {r["recipients"] for r in sent_reminders} == {COMP_A - 1}  # W1 acknowledged
    assert [n["kind"] for n in employee.get(f"{BASE}/mine").json()["items"]] == ["announcement"]

    status = client_for("leader").get(f"{BASE}/status/{DIRECTIVE}")
    assert status.status_code == 200, status.text
    assert status.headers["content-type"] == "application/json"
    assert status.json()["report"] == "acknowledgements"
    as_csv = client_for("auditor").get(f"{BASE}/status/{DIRECTIVE}", params={"format": "csv"})
    assert as_csv.headers["content-disposition"].startswith(
        'attachment; filename="acknowledgements-'
    )


def test_nobody_reaches_another_scope_or_acts_beyond_their_role(client_for: Client) -> None:
    notice = client_for("tmo").post(f"{BASE}/send", json={"directive_ref": DIRECTIVE})
    notice_id = notice.json()["notice_id"]
    other = client_for("other_employee")
    assert other.get(f"{BASE}/mine").json()["total"] == 0
    unknown = notice_id + 10
    same_refusal(
        other.post(f"{BASE}/{unknown}/acknowledge"),
        unknown,
        other.post(f"{BASE}/{notice_id}/acknowledge"),
        notice_id,
    )
    tmo = client_for("tmo")
    elsewhere = tmo.post(f"{BASE}/send", json={"directive_ref": DIRECTIVE, "org_unit": "COMP-B"})
    nowhere = tmo.post(f"{BASE}/send", json={"directive_ref": DIRECTIVE, "org_unit": "NOPE"})
    same_refusal(nowhere, "NOPE", elsewhere, "COMP-B")
    for key in ("employee", "supervisor", "leader", "auditor", "agency_admin"):
        refused = client_for(key).post(f"{BASE}/send", json={"directive_ref": DIRECTIVE})
        assert refused.status_code == 403, key
    assert client_for("employee").get(f"{BASE}/status/{DIRECTIVE}").status_code == 403
    assert client_for("agency_admin").get(f"{BASE}/mine").status_code == 403
    assert client_for("anonymous").get(f"{BASE}/mine").status_code == 401
    unknown_directive = client_for("tmo").post(f"{BASE}/send", json={"directive_ref": "X@1"})
    assert unknown_directive.status_code == 404
