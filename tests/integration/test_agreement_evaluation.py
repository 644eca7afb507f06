"""A clause's legal status through the real evaluation, on SQLite and PostgreSQL: the
roster, timecards and agreement are stored the way users store them, and ``evaluate``
reads them. A teleworker on site two days a week meets the clause (two days a week) but not
the directive (every hour on site): covered by agreement while the clause is in force,
disputed or under grievance, non-compliant once it is held unenforceable."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine
from test_presence_service_builders import (
    import_timecards,
    load_organisation,
    staff,
    timecard,
)

from dutystation.bootstrap import Runtime, bootstrap
from dutystation.domain.access import Actor, Grant, Role
from dutystation.domain.agreements import LegalStatus
from dutystation.domain.directive import Directive
from dutystation.services.agreements import (
    AgreementDraft,
    create_agreement,
    record_legal_status,
    save_clause,
)
from dutystation.services.evaluate import EvaluationRequest, decoded, evaluate
from dutystation.settings import Settings

HR = Actor(user_id=7, username="hr.lee", grants=(Grant(Role.HR),))
FIRST_MONDAY = date(2025, 2, 3)
WEEKS = 5
HOLIDAY = date(2025, 2, 17)  # Washington's Birthday
CLAUSE = "Art. 31 §4"
# The week (ISO label) each legal status takes effect in, and what follows from it.
EXPECTED = {
    "2025-W06": ("covered_by_agreement", "disputed since 2025-02-03"),
    "2025-W07": ("covered_by_agreement", "disputed since 2025-02-03"),
    "2025-W08": ("covered_by_agreement", "grievance filed since 2025-02-17"),
    "2025-W09": ("covered_by_agreement", "grievance filed since 2025-02-17"),
    "2025-W10": ("non_compliant", "falls short of RTO@1"),
}


def directive() -> Directive:
    return Directive.model_validate(
        {
            "id": "RTO",
            "version": 1,
            "issuer": "Agency head",
            "title": "Return to the office",
            "issued": date(2025, 1, 6),
            "effective": date(2025, 1, 6),
            "scope": {"org_units": ["DEPT"], "arrangements": ["telework", "remote"]},
            "requirement": {"onsite_share_of_hours": 1.0},
            "exemptions": {"categories": ["compelling_reason"]},
        }
    )


@pytest.fixture
def runtime(engine: Engine, db_url: str, tmp_path: Path) -> Iterator[Runtime]:
    """E1 (bargaining unit U1) on site Tuesdays and Wednesdays, teleworking otherwise."""
    runtime = bootstrap(Settings(data_dir=tmp_path / "data", database_url=db_url))
    load_organisation(runtime, tmp_path, staff("E1", bargaining_unit="U1"))
    rows = []
    for n in range(WEEKS * 7):
        day = FIRST_MONDAY + timedelta(days=n)
        if day.weekday() < 5 and day != HOLIDAY:
            code = "onsite" if day.weekday() in (1, 2) else "telework_routine"
            rows.append(timecard("E1", day.isoformat(), code, 8))
    import_timecards(runtime, tmp_path, rows)
    create_agreement(
        runtime.engine,
        HR,
        AgreementDraft("EEU-2023", "Master", "EEU", ("U1",), date(2023, 10, 1)),
    )
    save_clause(runtime.engine, HR, "EEU-2023", CLAUSE, {"min_onsite_days_per_week": 2})
    yield runtime
    runtime.engine.dispose()  # before the scratch database is dropped


def weekly(runtime: Runtime) -> dict[str, tuple[str, str]]:
    end = FIRST_MONDAY + timedelta(days=WEEKS * 7 - 1)
    request = EvaluationRequest(FIRST_MONDAY, end, periods=("week",))
    table = decoded(evaluate(runtime, request, directives=[directive()]).employee_periods)
    return {r["period_label"]: (r["status"], r["reason"]) for r in table.to_pylist()}


def test_the_clause_covers_while_it_binds_and_the_directive_applies_once_unenforceable(
    runtime: Runtime,
) -> None:
    for status, on, source in (
        (LegalStatus.DISPUTED, date(2025, 2, 3), "OPM memo 2025-02-03"),
        (LegalStatus.GRIEVANCE_FILED, date(2025, 2, 17), "grievance 1 under Art. 31"),
        (LegalStatus.HELD_UNENFORCEABLE, date(2025, 3, 3), "arbitration award 2025-03-03"),
    ):
        record_legal_status(runtime.engine, HR, "EEU-2023", CLAUSE, status, on, source)
    found = weekly(runtime)
    for week, (status, words) in EXPECTED.items():
        assert found[week][0] == status, week
        assert words in found[week][1], week
    assert found["2025-W06"][1].startswith(
        "covered by agreement EEU-2023 Art. 31 §4, disputed since 2025-02-03 "
        "(2 days on site per week): 2 of 2 required days on site"
    )


def test_a_clause_in_force_as_signed_covers_with_the_plain_agreement_name(
    runtime: Runtime,
) -> None:
    found = weekly(runtime)
    assert {status for status, _ in found.values()} == {"covered_by_agreement"}
    assert found["2025-W10"][1].startswith("covered by agreement EEU-2023 Art. 31 §4 (2 days")
