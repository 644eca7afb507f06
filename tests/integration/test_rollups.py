"""The employee-day roll-up kept by imports (events/rollups.py, services/rollups.py): the
same rows as the raw events give, restatements recorded for days already rolled up, a
rebuild identical to the incremental result, ``verify`` catching a roll-up that
disagrees, and the evaluation giving the same answer from the roll-up as from raw events.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import select
from test_presence_service_builders import (
    import_badges,
    import_timecards,
    load_organisation,
    runtime_for,
    staff,
    tap,
    timecard,
)

from dutystation.analytics.event_sources import event_sources
from dutystation.bootstrap import Runtime, bootstrap
from dutystation.domain.inputs import EvaluationInputs
from dutystation.domain.presence import DirectionMode, HoursConvention, PresenceSettings
from dutystation.errors import RollupMismatch
from dutystation.events.rollups import rollup_state
from dutystation.events.schemas import EventKind
from dutystation.services import rollup_runs
from dutystation.services.audit import AUDIT
from dutystation.services.demo import run_demo
from dutystation.services.evaluate import EvaluationRequest, evaluate
from dutystation.services.presence import daily_presence
from dutystation.services.rollup_sql import METADATA_KEY
from dutystation.settings import load_settings

MONDAY, FRIDAY = date(2025, 2, 3), date(2025, 2, 7)


def current_rows(runtime: Runtime, kind: EventKind) -> list[dict[str, object]]:
    store = runtime.events
    state = rollup_state(store.manifests(), kind)
    tables = [pq.read_table(store.root / g.file.path) for g in state.current.values()]
    if not tables:
        return []
    key = "local_date" if kind is EventKind.BADGES else "date"
    rows = pa.concat_tables(tables).to_pylist()
    return sorted(rows, key=lambda r: (r["employee_id"], r[key], str(r.get("source_code"))))


def strip_rollups(runtime: Runtime) -> None:
    """Rewrite every manifest without its roll-ups: a store from before roll-ups."""
    for path in (runtime.events.root / "manifests").glob("*.json"):
        data = json.loads(path.read_text())
        data.pop("rollups", None)
        data.pop("restatements", None)
        path.write_text(json.dumps(data))


@pytest.fixture
def runtime(tmp_path: Path) -> Runtime:
    found = runtime_for(tmp_path)
    load_organisation(found, tmp_path, staff("E1", "E2", "E3"))
    return found


def import_week(runtime: Runtime, tmp_path: Path) -> None:
    """Three batches of taps (the second a new day, the third late for Monday) and two of
    timecards (the second correcting Tuesday)."""
    import_badges(
        runtime,
        tmp_path,
        [
            tap("E1", "2025-02-03T08:00:00", "IN"),
            tap("E1", "2025-02-03T12:00:00", "OUT"),
            tap("E1", "2025-02-03T13:00:00", "IN"),
            tap("E1", "2025-02-03T17:00:00", "OUT"),
            tap("E1", "2025-02-04T09:00:00", "IN"),
            tap("E2", "2025-02-04T22:00:00", "IN", "FIELD-1"),  # a night shift in Denver
            tap("E2", "2025-02-05T06:00:00", "OUT", "FIELD-1"),
        ],
    )
    import_badges(runtime, tmp_path, [tap("E3", "2025-02-06T08:30:00", "IN")])
    import_badges(runtime, tmp_path, [tap("E1", "2025-02-03T18:00:00", "OUT")])  # late
    import_timecards(
        runtime,
        tmp_path,
        [timecard("E1", d, "onsite", 8, "HQ") for d in ("2025-02-03", "2025-02-04")]
        + [timecard("E2", "2025-02-04", "telework_routine", 8)],
    )
    import_timecards(runtime, tmp_path, [timecard("E1", "2025-02-04", "onsite", 6, "HQ")])


def test_each_days_hours_match_the_presence_of_the_raw_events_for_both_conventions(
    runtime: Runtime, tmp_path: Path
) -> None:
    import_week(runtime, tmp_path)
    rolled = {
        (r["employee_id"], r["local_date"]): r for r in current_rows(runtime, EventKind.BADGES)
    }
    for convention, column in (
        (HoursConvention.PAIRS, "hours_pairs"),
        (HoursConvention.FIRST_LAST, "hours_first_last"),
    ):
        raw = daily_presence(runtime, MONDAY, FRIDAY, settings=PresenceSettings(convention))
        expected = {(r["employee_id"], r["date"]): r for r in raw.to_pylist()}
        assert set(rolled) == set(expected)
        for key, row in expected.items():
            assert rolled[key][column] == pytest.approx(row["hours_on_site"]), (key, column)
            assert rolled[key]["taps"] == row["taps"]
            assert (rolled[key]["first_in"], rolled[key]["last_out"]) == (
                row["first_in"],
                row["last_out"],
            )
    # the late OUT extends Monday: pairs 8 h + 1 h more of span
    assert rolled["E1", MONDAY]["hours_first_last"] == 10.0
    assert rolled["E2", date(2025, 2, 4)]["hours_pairs"] == 2.0  # cut at Denver's midnight
    assert rolled["E2", date(2025, 2, 5)]["hours_pairs"] == 6.0


def test_the_timecard_roll_up_holds_the_rows_in_force_after_a_correction(
    runtime: Runtime, tmp_path: Path
) -> None:
    import_week(runtime, tmp_path)
    rows = {
        (r["employee_id"], r["date"]): r["hours"]
        for r in current_rows(runtime, EventKind.TIMECARDS)
    }
    assert rows == {
        ("E1", MONDAY): 8.0,
        ("E1", date(2025, 2, 4)): 6.0,  # the correction, not a second row
        ("E2", date(2025, 2, 4)): 8.0,
    }


def test_late_events_and_corrections_are_recorded_as_restatements_and_new_days_are_not(
    runtime: Runtime, tmp_path: Path
) -> None:
    import_week(runtime, tmp_path)
    manifests = runtime.events.manifests()
    restated = [(m.kind, m.restatements) for m in manifests if m.restatements]
    assert [(str(k), [(r.first_day, r.last_day, r.employees, r.days_changed) for r in rs])
            for k, rs in restated] == [
        ("badges", [("2025-02-03", "2025-02-03", 1, 1)]),  # the late OUT for E1's Monday
        ("timecards", [("2025-02-04", "2025-02-04", 1, 1)]),  # Tuesday's correction
    ]  # fmt: skip
    # E3's new Thursday (the second batch) restated nothing; the audit record says it
    with runtime.engine.connect() as conn:
        details = [json.loads(a) for a in conn.scalars(select(AUDIT.c.after))]
    recorded = [d["restatements"] for d in details if d and "restatements" in d]
    assert [r[0]["month"] for r in recorded] == ["2025-02", "2025-02"]
    states, entries = rollup_runs.status(runtime)
    assert len(entries) == 2 and all(s.complete == s.months == 1 for s in states)


def test_a_rebuild_from_raw_events_gives_exactly_the_incremental_roll_up(
    runtime: Runtime, tmp_path: Path
) -> None:
    import_week(runtime, tmp_path)
    incremental = {k: current_rows(runtime, k) for k in EventKind}
    committed = rollup_runs.rebuild(runtime)
    assert [m.purpose for m in committed] == ["rollup-rebuild"] * 2
    assert {k: current_rows(runtime, k) for k in EventKind} == incremental
    assert rollup_runs.verify(runtime).bad == []


def february_badge_rollup(runtime: Runtime) -> Path:
    """The current badge roll-up file of 2025-02 (the month ``import_week`` fills)."""
    state = rollup_state(runtime.events.manifests(), EventKind.BADGES)
    return runtime.events.root / state.current["2025-02"].file.path


def test_verify_names_the_month_a_tampered_roll_up_disagrees_on(
    runtime: Runtime, tmp_path: Path
) -> None:
    import_week(runtime, tmp_path)
    path = february_badge_rollup(runtime)
    table = pq.read_table(path)
    taps = pa.array([t + 1 for t in table["taps"].to_pylist()], pa.int64())
    pq.write_table(table.set_column(table.schema.get_field_index("taps"), "taps", taps), path)
    with pytest.raises(RollupMismatch, match=r"badges roll-up of 2025-02 disagrees .* rebuild"):
        rollup_runs.verify(runtime)
    done = subprocess.run(
        [sys.executable, "-m", "dutystation", "verify"],
        env={"DUTYSTATION_DATA_DIR": str(runtime.settings.data_dir), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert "disagrees with the raw events" in done.stderr
    rollup_runs.rebuild(runtime)  # repairs it
    assert rollup_runs.verify(runtime).bad == []


def test_verify_says_when_the_badge_settings_changed_since_the_roll_up(
    tmp_path: Path,
) -> None:
    runtime = runtime_for(tmp_path)
    load_organisation(runtime, tmp_path, staff("E1"))
    import_badges(runtime, tmp_path, [tap("E1", "2025-02-03T08:00:00", "IN")])
    changed = bootstrap(runtime.settings.model_copy(update={"badge_direction": "alternating"}))
    with pytest.raises(RollupMismatch, match="other badge settings"):
        rollup_runs.verify(changed)
    assert DirectionMode.ALTERNATING.value == "alternating"


def test_a_roll_up_built_under_the_earlier_debounce_rule_is_reported_and_rebuilt(
    runtime: Runtime, tmp_path: Path
) -> None:
    # Releases before presence rules 2 let debounce reach across midnight; their roll-ups
    # carry a key without ``rules``, and a roll-up that may differ is never read silently.
    import_week(runtime, tmp_path)
    path = february_badge_rollup(runtime)
    table = pq.read_table(path)
    earlier = {METADATA_KEY: "direction=reader;debounce=60;max_pair_hours=16"}
    pq.write_table(table.replace_schema_metadata(earlier), path)
    with pytest.raises(RollupMismatch, match=r"badges roll-up of 2025-02 .* presence rules"):
        rollup_runs.verify(runtime)
    rollup_runs.rebuild(runtime)
    assert rollup_runs.verify(runtime).bad == []


def test_a_store_without_roll_ups_is_read_raw_until_rebuilt(
    runtime: Runtime, tmp_path: Path
) -> None:
    import_week(runtime, tmp_path)
    strip_rollups(runtime)
    assert event_sources(runtime.events, MONDAY, FRIDAY).rolled_up_months == 0
    with pytest.raises(RollupMismatch, match="missing or older"):
        rollup_runs.verify(runtime)
    rollup_runs.rebuild(runtime)
    assert event_sources(runtime.events, MONDAY, FRIDAY).rolled_up_months == 1


@pytest.mark.slow
def test_the_evaluation_of_the_demo_is_the_same_from_the_roll_up_as_from_raw_events(
    tmp_path: Path,
) -> None:
    settings = load_settings(data_dir=tmp_path / "demo")
    run_demo(settings, employees=1000)
    runtime = bootstrap(settings)
    request = EvaluationRequest(date(2025, 1, 6), date(2025, 3, 30), periods=("week", "pay_period"))
    assert rollup_runs.verify(runtime).bad == []
    rolled = evaluate(runtime, request, inputs=EvaluationInputs()).employee_periods
    strip_rollups(runtime)
    raw = evaluate(runtime, request, inputs=EvaluationInputs()).employee_periods
    con = duckdb.connect()
    con.register("a", rolled)
    con.register("b", raw)
    differing = con.execute(
        "SELECT count(*) FROM ((SELECT * FROM a EXCEPT ALL SELECT * FROM b) "
        "UNION ALL (SELECT * FROM b EXCEPT ALL SELECT * FROM a))"
    ).fetchall()[0][0]
    assert rolled.num_rows > 3000 and differing == 0
