"""Kept period results (services/kept_periods.py): a whole period's rows are reused only
while nothing they depend on has changed, and what an evaluation returns is always what
evaluating everything afresh returns."""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Iterator
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
from dutystation.errors import NoEvidence
from dutystation.events.period_results import PeriodResults
from dutystation.ingest.fields import ImportKind
from dutystation.services import evaluate as evaluate_service
from dutystation.services import rollup_runs
from dutystation.services.evaluate import (
    EvaluationRequest,
    EvaluationResult,
    decoded,
    evaluate,
    evaluate_in_parts,
)
from dutystation.services.importing import run_import
from dutystation.services.result_columns import conformed
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
    return world(runtime_for(tmp_path), tmp_path)


@pytest.fixture
def on_each_backend(engine: Engine, db_url: str, tmp_path: Path) -> Iterator[Runtime]:
    """``runtime``'s world on SQLite and on PostgreSQL (``engine`` migrated it)."""
    found = world(runtime_for(tmp_path, database_url=db_url), tmp_path)
    yield found
    found.engine.dispose()


def world(found: Runtime, tmp_path: Path) -> Runtime:
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
    return rows(afresh(runtime, request, **kwargs))


def afresh(runtime: Runtime, request: EvaluationRequest = RANGE, **kwargs: Any) -> EvaluationResult:
    settings = runtime.settings.model_copy(update={"keep_period_results": False})
    other = bootstrap(settings)
    try:
        return evaluate(other, request, **{**ARGS, **kwargs})
    finally:
        other.engine.dispose()


def rows(result: EvaluationResult) -> list[Any]:
    table = decoded(result.employee_periods)
    return sorted(table.to_pylist(), key=lambda r: (r["period_kind"], r["period_label"],
                                                    r["employee_id"]))  # fmt: skip


def rows_of(parts: list[Any]) -> list[Any]:
    return rows(EvaluationResult(conformed(parts), [], RANGE.end))


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


def test_an_evaluation_in_parts_hands_on_the_rows_of_one_evaluated_whole(
    runtime: Runtime,
) -> None:
    """The snapshot refresh's way (``evaluate_in_parts``): runs cut to two weeks, kept
    periods handed on one at a time; together the same rows, afresh and read back."""
    parts: list[Any] = []
    first = evaluate_in_parts(runtime, RANGE, parts.append, part_rows=1, **ARGS)
    assert first.employee_periods is None
    assert (first.periods_kept, first.periods_computed) == (0, WHOLE + 2)
    # The 21 days in three runs of at most 14 (3-9, 9-22, 17-23 February: each period
    # wholly in one), each handing on its weeks and its pay periods.
    assert len(parts) == 6
    assert rows_of(parts) == fresh(runtime)
    assert len(kept_files(runtime)) == WHOLE
    parts.clear()
    again = evaluate_in_parts(runtime, RANGE, parts.append, part_rows=1, **ARGS)
    assert (again.periods_kept, again.periods_computed) == (WHOLE, 2)
    assert rows_of(parts) == fresh(runtime)


def test_a_new_day_of_taps_recomputes_only_the_periods_it_touches(
    runtime: Runtime, tmp_path: Path
) -> None:
    evaluate(runtime, RANGE, **ARGS)
    import_badges(runtime, tmp_path, [tap("E3", "2025-02-20T09:00:00")])
    after = evaluate(runtime, RANGE, **ARGS)
    # W08 and the pay period holding 2025-02-20 are evaluated again, with the clipped
    # ones; W06 and W07 are read back (W07's days are in that pay period's run, but its
    # rows come from its kept result).
    assert (after.periods_kept, after.periods_computed) == (2, 4)
    e3 = [r for r in rows(after) if r["employee_id"] == "E3" and r["period_label"] == "2025-W08"]
    assert e3[0]["days_present_badge"] == 1
    assert rows(after) == fresh(runtime, **ARGS)


def test_a_tap_just_after_midnight_leaves_the_period_before_as_kept(
    runtime: Runtime, tmp_path: Path
) -> None:
    """A day's presence rests on its own taps (debounce stays within a day): a Monday
    00:00 tap changes that Monday's week, not the one ending the Sunday before."""
    evaluate(runtime, RANGE, **ARGS)
    import_badges(runtime, tmp_path, [tap("E3", "2025-02-10T00:00:30")])
    after = evaluate(runtime, RANGE, **ARGS)
    # W07 and the pay period from 2025-02-09 are evaluated again; W06 (ending Sunday
    # 2025-02-09) and W08 are read back.
    assert after.periods_kept == 2
    e3 = [r for r in rows(after) if r["employee_id"] == "E3" and r["period_label"] == "2025-W07"]
    assert e3[0]["days_present_badge"] == 1
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


def test_a_setting_that_cannot_change_a_row_keeps_the_periods(runtime: Runtime) -> None:
    first = evaluate(runtime, RANGE, **ARGS)
    same = evaluate(runtime, RANGE, **ARGS)
    settings = runtime.settings.model_copy(update={"import_cpus": 1})
    again = evaluate(bootstrap(settings), RANGE, **ARGS)
    assert same.periods_kept > 0
    assert again.periods_kept == same.periods_kept
    assert again.periods_computed == same.periods_computed
    assert rows(again) == rows(first)


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


# ---------------------------------------------------------------------------------------
# Trying to break the promise: the first five tests below failed before their fixes; the
# last two (a T&A correction, every roster table's trigger) held already.


def test_a_range_kept_in_pieces_has_the_rows_and_schema_of_a_fresh_one(runtime: Runtime) -> None:
    """DuckDB sizes a dictionary column's indices to its ENUM, which depends on the range
    evaluated (every day has a label): three weeks give uint8 labels, nine months uint16.
    Kept weeks from a short run next to a long run's rows could not be joined at all."""
    evaluate(runtime, RANGE, **ARGS)
    # Across the year end (2025-W01 begins 2024-12-30; a pay period spans both years), and
    # long enough for more than 255 labels.
    long = EvaluationRequest(date(2024, 12, 23), date(2025, 9, 28), periods=RANGE.periods)
    for _ in range(2):
        result = evaluate(runtime, long, **ARGS)
        expected = afresh(runtime, long)
        assert result.employee_periods.schema == expected.employee_periods.schema
        assert rows(result) == rows(expected)
    assert result.periods_computed < 5  # the clipped pay periods and the weeks they hold
    # Every period read back, none computed: still the fresh schema.
    weeks = EvaluationRequest(RANGE.start, RANGE.end, periods=("week",))
    kept = evaluate(runtime, weeks, **ARGS)
    assert kept.periods_computed == 0
    assert kept.employee_periods.schema == afresh(runtime, weeks).employee_periods.schema


def test_whether_a_range_had_evidence_is_what_a_fresh_evaluation_says(tmp_path: Path) -> None:
    """Not what kept rows suggest: a holiday's hours come from the calendar, not from
    evidence, and a T&A row of 0 hours is evidence that shows in no column."""
    holiday = runtime_for(tmp_path / "holiday")
    load_organisation(holiday, tmp_path / "holiday", staff("E1", "E2"))
    import_badges(holiday, tmp_path / "holiday", [tap("E1", "2025-01-31T09:00:00")])
    around_mlk_day = EvaluationRequest(date(2025, 1, 13), date(2025, 1, 26), periods=("week",))
    for _ in range(2):  # the second reads both weeks back
        with pytest.raises(NoEvidence, match="no T&A hours or badge events between"):
            evaluate(holiday, around_mlk_day, **ARGS)
    assert len(kept_files(holiday)) == 2
    zero = runtime_for(tmp_path / "zero")
    load_organisation(zero, tmp_path / "zero", staff("E1", "E2"))
    import_timecards(zero, tmp_path / "zero", [timecard("E1", "2025-02-04", "onsite", 0, "HQ")])
    week = EvaluationRequest(date(2025, 2, 3), date(2025, 2, 9), periods=("week",))
    evaluate(zero, week, **ARGS)
    again = evaluate(zero, week, **ARGS)
    assert again.periods_kept == 1
    assert rows(again) == rows(afresh(zero, week))


def test_a_roster_change_during_an_evaluation_is_not_kept_as_the_new_roster(
    on_each_backend: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An import may commit after the evaluation read the org tree: the rows made from the
    old tree must not be kept under the new roster's revision, to be reused after it."""
    runtime = on_each_backend
    read = evaluate_service.org_unit_chains

    def then_an_import(session: Any) -> Any:
        chains = read(session)
        with runtime.engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO org_unit (code, name, kind, parent_id) "
                    "VALUES ('NEW', 'New department', 'department', NULL)"
                )
            )
            conn.execute(text("UPDATE org_unit SET parent_id = (SELECT id FROM org_unit "
                              "WHERE code = 'NEW') WHERE code = 'COMP-A'"))  # fmt: skip
        monkeypatch.setattr(evaluate_service, "org_unit_chains", read)
        return chains

    monkeypatch.setattr(evaluate_service, "org_unit_chains", then_an_import)
    evaluate(runtime, RANGE, **ARGS)
    after = evaluate(runtime, RANGE, **ARGS)
    assert {r["org_path"] for r in rows(after)} == {"NEW/COMP-A"}
    assert rows(after) == fresh(runtime, **ARGS)


def test_results_that_cannot_be_kept_cost_time_not_the_answer(runtime: Runtime) -> None:
    """A full disk or a folder that cannot be written: the evaluation answers as afresh."""
    (runtime.settings.data_dir / "periods").write_bytes(b"")  # a file where the folder goes
    result = evaluate(runtime, RANGE, **ARGS)
    assert result.periods_computed == WHOLE + 2
    assert rows(result) == fresh(runtime, **ARGS)


def test_temporary_files_of_writers_that_died_are_removed(runtime: Runtime, tmp_path: Path) -> None:
    evaluate(runtime, RANGE, **ARGS)
    root = runtime.settings.data_dir / "periods"
    assert {stat.S_IMODE(p.stat().st_mode) for p in (root, root / "week")} == {0o700}
    dead, writing = root / "week" / "2025-W07" / ".dead.tmp", root / "week/2025-W07/.new.tmp"
    for path in (dead, writing):
        path.write_bytes(b"PAR1")
    os.utime(dead, (time.time() - 7200, time.time() - 7200))
    import_badges(runtime, tmp_path, [tap("E3", "2025-02-12T09:00:00")])  # W07 kept anew
    evaluate(runtime, RANGE, **ARGS)
    assert not dead.exists()
    assert writing.exists()  # another process's write in progress


def test_a_correction_for_a_day_of_a_kept_period_is_the_one_in_force(
    runtime: Runtime, tmp_path: Path
) -> None:
    evaluate(runtime, RANGE, **ARGS)
    import_timecards(runtime, tmp_path, [timecard("E1", "2025-02-04", "telework_routine", 8)])
    after = evaluate(runtime, RANGE, **ARGS)
    assert after.periods_kept == 3  # all but W06 (the pay period holding it is clipped)
    e1 = [r for r in rows(after) if r["employee_id"] == "E1" and r["period_label"] == "2025-W06"]
    assert e1[0]["hours_off_site"] == 8
    assert rows(after) == fresh(runtime, **ARGS)


def test_every_roster_table_the_evaluation_reads_moves_the_revision(engine: Engine) -> None:
    """A new name, a separation, an office's site id edited by hand: each moves it."""
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO org_unit (code, name, kind, parent_id) "
                "VALUES ('X', 'X', 'department', NULL)"
            )
        )
        conn.execute(
            text("INSERT INTO office (site_id, name, timezone, seats) VALUES ('S1', 'S', 'UTC', 1)")
        )
        conn.execute(
            text("INSERT INTO employee (employee_id, name, active) VALUES ('E', 'Name', true)")
        )
        conn.execute(text("INSERT INTO employee_assignment (employee_pk, org_unit_id, "
                          "duty_station_id, effective_from, arrangement, schedule) VALUES "
                          "((SELECT id FROM employee), (SELECT id FROM org_unit), "
                          "(SELECT id FROM office), '2025-01-01', 'onsite', '5x8')"))  # fmt: skip

    def revision() -> int:
        with engine.connect() as conn:
            return int(conn.scalar(select(RosterRevision.revision)))

    seen = [revision()]
    for statement in (
        "UPDATE employee SET name = 'Renamed'",
        "UPDATE employee_assignment SET effective_to = '2025-03-01'",
        "UPDATE office SET site_id = 'S2'",
        "DELETE FROM employee_assignment",
    ):
        with engine.begin() as conn:
            conn.execute(text(statement))
        seen.append(revision())
    assert len(set(seen)) == len(seen)
