"""Kept period results (services/kept_periods.py): a whole period's rows are reused only
while nothing they depend on has changed, and what an evaluation returns is always what
evaluating everything afresh returns."""

from __future__ import annotations

import os
import stat
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from notice_builders import directive
from sqlalchemy import Engine, select, text
from test_import_records_builders import ROSTER_COLUMNS, write_csv
from test_presence_service_builders import (
    import_badges,
    import_timecards,
    load_organisation,
    runtime_for,
    staff,
    tap,
    timecard,
)

from dutystation.bootstrap import Runtime, bootstrap
from dutystation.domain.directive import ExemptionCategory
from dutystation.domain.inputs import EmployeeExemption, EvaluationInputs
from dutystation.domain.status import ApprovedExemption
from dutystation.events.period_results import PeriodResults
from dutystation.ingest.fields import ImportKind
from dutystation.services import rollup_runs
from dutystation.services.evaluate import EvaluationRequest, EvaluationResult, decoded, evaluate
from dutystation.services.importing import run_import
from dutystation.store.schema import RosterRevision

# Three whole ISO weeks (W06-W08) and one whole pay period (2025-02-09..22); the pay
# periods at both ends are clipped.
RANGE = EvaluationRequest(date(2025, 2, 3), date(2025, 2, 23), periods=("week", "pay_period"))
WHOLE = 4
NOTHING = EvaluationInputs()
ORDER = [directive()]
ARGS: dict[str, Any] = {"inputs": NOTHING, "directives": ORDER}


@pytest.fixture
def runtime(tmp_path: Path) -> Runtime:
    found = runtime_for(tmp_path)
    load_organisation(found, tmp_path, staff("E1", "E2", "E3"))
    import_badges(
        found,
        tmp_path,
        [tap(e, f"2025-02-{d:02d}T09:00:00") for e in ("E1", "E2") for d in (3, 4, 11, 12, 18)],
    )
    import_timecards(
        found,
        tmp_path,
        [
            timecard(e, f"2025-02-{d:02d}", "onsite", 8, "HQ")
            for e in ("E1", "E3")
            for d in range(3, 22)
        ],
    )
    return found


def fresh(runtime: Runtime, request: EvaluationRequest = RANGE, **kwargs: Any) -> list[Any]:
    """What an evaluation of everything afresh returns."""
    settings = runtime.settings.model_copy(update={"keep_period_results": False})
    return rows(evaluate(bootstrap(settings), request, **kwargs))


def rows(result: EvaluationResult) -> list[Any]:
    table = decoded(result.employee_periods)
    return sorted(table.to_pylist(), key=lambda r: (r["period_kind"], r["period_label"],
                                                    r["employee_id"]))  # fmt: skip


def kept_files(runtime: Runtime) -> list[Path]:
    return PeriodResults(runtime.settings.data_dir / "periods").files()


def test_whole_periods_are_kept_and_read_back_with_the_same_rows(runtime: Runtime) -> None:
    first = evaluate(runtime, RANGE, **ARGS)
    assert (first.periods_kept, first.periods_computed) == (0, WHOLE + 2)
    assert len(kept_files(runtime)) == WHOLE
    again = evaluate(runtime, RANGE, **ARGS)
    # Only the two clipped pay periods are evaluated again.
    assert (again.periods_kept, again.periods_computed) == (WHOLE, 2)
    assert rows(again) == rows(first) == fresh(runtime, **ARGS)


def test_a_new_day_of_taps_recomputes_only_the_periods_it_touches(
    runtime: Runtime, tmp_path: Path
) -> None:
    evaluate(runtime, RANGE, **ARGS)
    import_badges(runtime, tmp_path, [tap("E3", "2025-02-20T09:00:00")])
    after = evaluate(runtime, RANGE, **ARGS)
    # W08 and the pay period holding 2025-02-20 are evaluated again, and W07 with them
    # (its days are in that pay period's run); W06 is read back.
    assert (after.periods_kept, after.periods_computed) == (1, 5)
    e3 = [r for r in rows(after) if r["employee_id"] == "E3" and r["period_label"] == "2025-W08"]
    assert e3[0]["days_present_badge"] == 1
    assert rows(after) == fresh(runtime, **ARGS)


def test_a_tap_just_after_midnight_reaches_the_period_before(
    runtime: Runtime, tmp_path: Path
) -> None:
    """Taps fold into the day before across midnight (debounce): a Monday 00:00 tap may
    change the Sunday before, so the week ending that Sunday is not reused."""
    evaluate(runtime, RANGE, **ARGS)
    import_badges(runtime, tmp_path, [tap("E3", "2025-02-17T00:00:30")])
    after = evaluate(runtime, RANGE, **ARGS)
    assert after.periods_kept == 1  # W06 only: W07 ends on Sunday 2025-02-16
    assert rows(after) == fresh(runtime, **ARGS)


def test_a_roster_change_recomputes_every_period(runtime: Runtime, tmp_path: Path) -> None:
    evaluate(runtime, RANGE, **ARGS)
    moved = staff("E1", "E2", "E3")
    moved[1]["org_unit"] = "COMP-B"
    moved[1]["duty_station"] = "FIELD-1"
    run_import(runtime, ImportKind.ROSTER, [write_csv(tmp_path / "r2.csv", ROSTER_COLUMNS, moved)])
    after = evaluate(runtime, RANGE, **ARGS)
    assert after.periods_kept == 0
    assert {r["org_unit"] for r in rows(after) if r["employee_id"] == "E2"} == {"COMP-B"}
    assert rows(after) == fresh(runtime, **ARGS)


def test_exemptions_directives_and_settings_are_part_of_the_key(runtime: Runtime) -> None:
    evaluate(runtime, RANGE, **ARGS)
    exempt = EvaluationInputs(
        exemptions=(
            EmployeeExemption(
                "E1", ApprovedExemption(ExemptionCategory.COMPELLING_REASON, date(2025, 2, 3), None)
            ),
        )
    )
    with_exemption = evaluate(runtime, RANGE, inputs=exempt, directives=ORDER)
    assert with_exemption.periods_kept == 0
    assert rows(with_exemption) == fresh(runtime, inputs=exempt, directives=ORDER)
    later = [directive(deadlines={"policy_revision": "2025-01-24 17:00 America/New_York",
                                  "full_compliance": "2025-02-14"})]  # fmt: skip
    moved = evaluate(runtime, RANGE, inputs=NOTHING, directives=later)
    assert moved.periods_kept == 0
    assert rows(moved) == fresh(runtime, inputs=NOTHING, directives=later)
    settings = runtime.settings.model_copy(update={"evaluation_reads": "raw"})
    assert evaluate(bootstrap(settings), RANGE, **ARGS).periods_kept == 0


def test_a_damaged_kept_file_is_recomputed_and_replaced(runtime: Runtime) -> None:
    evaluate(runtime, RANGE, **ARGS)
    damaged = next(p for p in kept_files(runtime) if p.parent.name == "2025-W07")
    damaged.write_bytes(damaged.read_bytes()[:100])
    after = evaluate(runtime, RANGE, **ARGS)
    assert after.periods_kept == WHOLE - 1
    assert rows(after) == fresh(runtime, **ARGS)
    assert len(damaged.read_bytes()) > 100


def test_one_org_unit_and_daily_periods_are_always_computed(runtime: Runtime) -> None:
    unit = EvaluationRequest(RANGE.start, RANGE.end, org_unit="COMP-A", periods=RANGE.periods)
    daily = EvaluationRequest(RANGE.start, RANGE.end, periods=("day", "week"))
    for request in (unit, daily):
        result = evaluate(runtime, request, **ARGS)
        assert result.periods_kept == 0
        assert rows(result) == fresh(runtime, request, **ARGS)
    assert kept_files(runtime) == []


def test_kept_files_are_private_to_the_account(runtime: Runtime) -> None:
    evaluate(runtime, RANGE, **ARGS)
    for path in kept_files(runtime):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert not list((runtime.settings.data_dir / "periods").rglob(".*.tmp"))
    assert os.access(runtime.settings.data_dir / "periods", os.R_OK)


def test_every_change_to_the_roster_tables_moves_the_revision(engine: Engine) -> None:
    """Whoever writes and however: the triggers of migration 0012, on both backends."""

    def revision() -> int:
        with engine.connect() as conn:
            return int(conn.scalar(select(RosterRevision.revision)))

    seen = [revision()]
    statements = [
        "INSERT INTO org_unit (code, name, kind, parent_id) VALUES ('X', 'X', 'department', NULL)",
        "UPDATE org_unit SET name = 'Y' WHERE code = 'X'",
        "DELETE FROM org_unit WHERE code = 'X'",
    ]
    for statement in statements:
        with engine.begin() as conn:
            conn.execute(text(statement))
        seen.append(revision())
    assert len(set(seen)) == 4


def test_a_roll_up_rebuild_drops_every_kept_result(runtime: Runtime) -> None:
    evaluate(runtime, RANGE, **ARGS)
    assert kept_files(runtime)
    rollup_runs.rebuild(runtime)
    assert kept_files(runtime) == []
