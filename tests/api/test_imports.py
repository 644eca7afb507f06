"""The import route: a batch lands whole or not at all; rejected rows answer 422 with file,
line, column and reason, never their values or a server path; only a whole-organisation
importer may import; a held event store answers 503 with Retry-After at once
(test_storage_faults.py holds it from another process)."""

from __future__ import annotations

from area_world import Client, app, csv_bytes, roster_update, upload
from sqlalchemy import func, select

from api_world import World
from dutystation.bootstrap import bootstrap
from dutystation.events.store import EventStore
from dutystation.store.schema import Employee, EmployeeAssignment

__all__ = ["app"]

TIMECARDS = ["employee_id", "date", "code", "hours", "site_id"]


def timecards(days: list[str]) -> bytes:
    rows = [("W1", d, "onsite", "8", "HQ") for d in days]
    rows += [("W2", d, "telework_routine", "8", "") for d in days]
    rows += [("B1", d, "onsite", "8", "FIELD-B") for d in days]
    return csv_bytes(TIMECARDS, rows)


def counts(world: World) -> tuple[int, int]:
    runtime = bootstrap(world.settings())
    with runtime.engine.connect() as conn:
        people = conn.scalar(select(func.count()).select_from(Employee)) or 0
        versions = conn.scalar(select(func.count()).select_from(EmployeeAssignment)) or 0
    runtime.engine.dispose()
    return people, versions


def test_timecards_are_imported_once(client_for: Client, world: World) -> None:
    admin = client_for("agency_admin")
    data = timecards(["2025-02-03", "2025-02-04"])
    first = upload(admin, "timecards", ("ta-feb.csv", data))
    assert first.status_code == 200, first.text
    summary = first.json()
    assert (summary["kind"], summary["files"], summary["rows_read"]) == (
        "timecards",
        ["ta-feb.csv"],
        6,
    )
    assert (summary["rows_stored"], summary["stored"], summary["rejections"]) == (6, True, [])
    again = upload(admin, "timecards", ("ta-feb.csv", data)).json()
    assert (again["rows_stored"], again["duplicates"]) == (0, 6)
    assert not list((world.data_dir / "tmp").glob("upload-*"))  # uploads do not outlive it


def test_a_bad_row_rejects_the_batch_with_where_and_why(client_for: Client, world: World) -> None:
    before = counts(world)
    canary = "CANARY-UNIT-5d1c"
    roster = roster_update("2025-02-01", {}).decode().replace("TEAM-A2", canary, 1).encode()
    refused = upload(client_for("agency_admin"), "roster", ("my roster.csv", roster))
    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    problem = refused.json()
    assert problem["type"] == "urn:dutystation:problem:import-rejected"
    [rejection] = problem["rejections"]
    assert rejection["file"] == "my_roster.csv"
    assert (rejection["line"], rejection["column"], rejection["count"]) == (6, "org_unit", 1)
    assert rejection["reason"]
    assert canary not in refused.text
    assert str(world.data_dir) not in refused.text and "/tmp" not in refused.text
    assert counts(world) == before


def test_a_file_that_cannot_be_read_is_refused_whole(client_for: Client, world: World) -> None:
    missing_column = csv_bytes(["employee_id", "date", "hours"], [("W1", "2025-02-03", "8")])
    refused = upload(client_for("agency_admin"), "timecards", ("ta.csv", missing_column))
    assert refused.status_code == 422, refused.text
    assert refused.json()["file_error"]["file"] == "ta.csv"
    assert refused.json()["detail"].startswith("ta.csv: ")
    assert str(world.data_dir) not in refused.text
    empty = upload(client_for("agency_admin"), "roster", ("r.csv", b""))
    assert empty.status_code == 422
    assert upload(client_for("agency_admin"), "nope", ("r.csv", b"")).status_code == 422


def test_only_whole_organisation_importers_may_import(client_for: Client, world: World) -> None:
    data = timecards(["2025-02-03"])
    hr = upload(client_for("hr"), "timecards", ("ta.csv", data))  # hr over COMP-A only
    assert hr.status_code == 404
    for key in ("employee", "tmo", "auditor", "leader"):
        assert upload(client_for(key), "timecards", ("ta.csv", data)).status_code == 403, key
    assert upload(client_for("anonymous"), "timecards", ("ta.csv", data)).status_code == 401
    trail = client_for("auditor").get("/api/v1/audit/records", params={"limit": 500}).text
    assert "import.run" in trail  # the refusals are on the audit trail


def test_a_held_event_store_answers_503_at_once(client_for: Client, world: World) -> None:
    with EventStore(world.settings().events_dir).lock():
        busy = upload(
            client_for("agency_admin"), "timecards", ("ta.csv", timecards(["2025-02-03"]))
        )
    assert busy.status_code == 503, busy.text
    assert int(busy.headers["retry-after"]) > 0
    assert "another import" in busy.json()["detail"]
