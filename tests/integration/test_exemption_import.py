"""``import_decisions`` on SQLite and PostgreSQL: an exemptions file becomes historical
records once, a later file may decide what was pending, and every refusal names the
line and changes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from exemption_builders import World, build_world, table_counts
from sqlalchemy import Engine

from dutystation.domain.access import SYSTEM, Actor, Grant, Role
from dutystation.errors import Forbidden, InputFileError
from dutystation.services.exemption_import import ExemptionImport, import_decisions
from dutystation.services.exemption_records import stored_exemption_inputs
from dutystation.services.exemption_views import list_requests, show_request

HEADER = "employee_id,category,requested_on,status,decided_on,start,end,documentation\n"
ROWS = (
    "E1,qualifying_medical_condition,2025-01-24,,,,,on file with the RA office\n"
    "E2,compelling_reason,2025-01-20,approved,2025-01-27,2025-02-01,2025-03-31,memo\n"
    "B1,lack_of_office_space,2025-02-03,denied,2025-02-10,,,\n"
)


@pytest.fixture
def world(engine: Engine, tmp_path: Path) -> Iterator[World]:
    built = build_world(engine, tmp_path)
    yield built
    built.runtime.engine.dispose()


def write(tmp_path: Path, text: str, name: str = "exemptions.csv") -> Path:
    path = tmp_path / name
    path.write_text(HEADER + text, encoding="utf-8")
    return path


def test_importing_the_same_file_again_adds_nothing(world: World, tmp_path: Path) -> None:
    path = write(tmp_path, ROWS)
    hr = world.actor("hr")
    assert import_decisions(world.runtime, hr, path) == ExemptionImport(3, 3, 0, 0)
    counts = table_counts(world.runtime.engine)
    assert import_decisions(world.runtime, hr, path) == ExemptionImport(3, 0, 0, 3)
    again = table_counts(world.runtime.engine)
    assert again == {**counts, "audit_record": counts["audit_record"] + 1}
    approved, requests = stored_exemption_inputs(world.runtime.engine)
    assert [(x.employee_id, x.exemption.start, x.exemption.end) for x in approved] == [
        ("E2", date(2025, 2, 1), date(2025, 3, 31))
    ]
    assert [(r.employee_id, r.filed, r.decided_on) for r in requests] == [
        ("E1", date(2025, 1, 24), None),
        ("E2", date(2025, 1, 20), date(2025, 1, 27)),
        ("B1", date(2025, 2, 3), date(2025, 2, 10)),
    ]


def test_imported_records_say_which_directive_judged_them_and_stay_confidential(
    world: World, tmp_path: Path
) -> None:
    import_decisions(world.runtime, SYSTEM, write(tmp_path, ROWS))
    by_employee = {r.employee_id: r for r in list_requests(world.runtime, world.actor("tmo"))}
    assert by_employee["E1"].category_group == "medical_disability"
    assert by_employee["E1"].status == "submitted"
    view = show_request(world.runtime, world.actor("tmo"), by_employee["B1"].id)
    assert view["directive_ref"] == "COMPB-MEMO@1"
    assert view["filed_by"] == "import"
    assert "category" not in show_request(world.runtime, world.actor("s1"), by_employee["E1"].id)


def test_a_later_file_may_decide_what_was_pending(world: World, tmp_path: Path) -> None:
    import_decisions(world.runtime, SYSTEM, write(tmp_path, ROWS))
    decided = ROWS.replace(
        "E1,qualifying_medical_condition,2025-01-24,,,,,",
        "E1,qualifying_medical_condition,2025-01-24,approved,2025-02-03,2025-02-03,2025-04-30,",
    )
    result = import_decisions(world.runtime, SYSTEM, write(tmp_path, decided, "later.csv"))
    assert result == ExemptionImport(3, 0, 1, 2)
    approved, _ = stored_exemption_inputs(world.runtime.engine)
    assert {x.employee_id for x in approved} == {"E1", "E2"}


@pytest.mark.parametrize(
    ("text", "where"),
    [
        (
            ROWS + "E2,compelling_reason,2025-01-20,denied,2025-01-27,,,\n",
            "line 5, column 'status'",
        ),
        ("E1,compelling_reason,2025-01-20,approved,,2025-02-01,,\n", "line 2, column 'end'"),
        ("NOBODY,compelling_reason,2025-01-20,,,,,\n", "line 2, column 'employee_id'"),
    ],
    ids=["contradicts-an-earlier-line", "approval-without-end", "unknown-employee"],
)
def test_a_refused_file_names_the_line_and_stores_nothing(
    world: World, tmp_path: Path, text: str, where: str
) -> None:
    counts = table_counts(world.runtime.engine)
    with pytest.raises(InputFileError, match=where):
        import_decisions(world.runtime, world.actor("hr"), write(tmp_path, text))
    assert table_counts(world.runtime.engine) == counts


def test_a_stored_decision_is_not_overwritten_by_a_different_one(
    world: World, tmp_path: Path
) -> None:
    import_decisions(world.runtime, SYSTEM, write(tmp_path, ROWS))
    changed = ROWS.replace(",denied,2025-02-10", ",withdrawn,2025-02-10")
    with pytest.raises(InputFileError, match="line 4, column 'status': the request is stored"):
        import_decisions(world.runtime, SYSTEM, write(tmp_path, changed, "changed.csv"))


def test_importing_needs_an_import_role_over_every_person_in_the_file(
    world: World, tmp_path: Path
) -> None:
    path = write(tmp_path, ROWS)
    with pytest.raises(Forbidden):
        import_decisions(world.runtime, world.actor("s1"), path)
    scoped = Actor(602, "hr-b", (Grant(Role.HR, "COMP-B"),))
    with pytest.raises(InputFileError, match="line 2, column 'employee_id': is not an employee"):
        import_decisions(world.runtime, scoped, path)
