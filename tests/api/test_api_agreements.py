"""The agreement routes: HR adds an agreement, its clause and the clause's legal status;
the roles that read agreements see them; everyone else is refused as the service decides."""

from __future__ import annotations

from area_world import AGREEMENT, Client, app, with_bargaining_units

__all__ = ["app"]

BASE = "/api/v1/agreements"


def test_hr_adds_an_agreement_with_a_clause_and_its_legal_status(client_for: Client) -> None:
    with_bargaining_units(client_for)
    hr = client_for("hr")
    made = hr.post(BASE, json=AGREEMENT)
    assert made.status_code == 201, made.text
    assert made.headers["location"] == f"{BASE}/EEU-L1-2023"
    assert made.json()["clauses"] == []

    clause = hr.put(
        f"{BASE}/EEU-L1-2023/clauses/Art. 31 §4",
        json={"summary": "Hybrid schedules", "max_telework_days_per_pay_period": 6},
    )
    assert clause.status_code == 200, clause.text
    assert "4 days on site per pay period" in clause.json()["described"]
    status = hr.post(
        f"{BASE}/EEU-L1-2023/clauses/Art. 31 §4/statuses",
        json={"status": "disputed", "on": "2025-02-03", "source": "OPM memo 2025-02-03"},
    )
    assert status.status_code == 201, status.text

    for key in ("supervisor", "leader", "tmo", "certifying_official", "auditor", "agency_admin"):
        shown = client_for(key).get(f"{BASE}/EEU-L1-2023")
        assert shown.status_code == 200, (key, shown.text)
        only = shown.json()["clauses"][0]
        assert only["terms"] == {"max_telework_days_per_pay_period": 6}
        assert only["status_today"] == "disputed"
        assert [s["recorded_by"] for s in only["statuses"]] == ["hr"]

    changed = hr.patch(f"{BASE}/EEU-L1-2023", json={"open_ended": True, "title": "Art. 31"})
    assert changed.status_code == 200, changed.text
    assert (changed.json()["effective_to"], changed.json()["title"]) == (None, "Art. 31")
    listed = client_for("leader").get(BASE, params={"on": "2025-03-01", "unit": "EEU-L1"})
    assert listed.json()["total"] == 1
    assert client_for("leader").get(BASE, params={"on": "2020-01-01"}).json()["total"] == 0


def test_agreement_mistakes_change_nothing(client_for: Client) -> None:
    with_bargaining_units(client_for)
    hr = client_for("hr")
    assert hr.post(BASE, json=AGREEMENT).status_code == 201
    again = hr.post(BASE, json=AGREEMENT)
    assert again.status_code == 409
    unknown_unit = hr.post(BASE, json={**AGREEMENT, "code": "X", "units": ["NOPE"]})
    assert unknown_unit.status_code == 422
    assert "nothing was changed" in unknown_unit.json()["detail"]
    two_kinds = hr.put(
        f"{BASE}/EEU-L1-2023/clauses/A",
        json={"min_onsite_days_per_week": 2, "min_onsite_share_of_hours": 0.5},
    )
    assert two_kinds.status_code == 422
    assert hr.get(f"{BASE}/EEU-L1-2023").json()["clauses"] == []
    extra = hr.post(BASE, json={**AGREEMENT, "code": "Y", "status": "approved"})
    assert extra.status_code == 422  # unknown fields are refused, not ignored
    assert hr.get(f"{BASE}/NOPE").status_code == 404
    assert client_for("leader").get(BASE).json()["total"] == 1


def test_roles_that_may_not_are_refused(client_for: Client) -> None:
    with_bargaining_units(client_for)
    assert client_for("hr").post(BASE, json=AGREEMENT).status_code == 201
    for key in ("employee", "ra_coordinator", "other_employee"):
        assert client_for(key).get(BASE).status_code == 403, key
        assert client_for(key).get(f"{BASE}/EEU-L1-2023").status_code == 403, key
    for key in ("supervisor", "leader", "auditor", "agency_admin", "employee"):
        client = client_for(key)
        assert client.post(BASE, json={**AGREEMENT, "code": "Z"}).status_code == 403, key
        patched = client.patch(f"{BASE}/EEU-L1-2023", json={"title": "mine"})
        assert patched.status_code == 403, key
    assert client_for("anonymous").get(BASE).status_code == 401
