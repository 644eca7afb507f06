"""T&A hours: one row per employee, day and pay code; re-sent days are corrections, repeated
rows are stored once, and impossible rows are rejected with a reason."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest

from dutystation.errors import ImportRejected
from dutystation.events.schemas import EventKind
from dutystation.events.store import EventStore
from dutystation.ingest.fields import ImportKind
from dutystation.ingest.profiles import Profile, default_profile, load_profile
from dutystation.ingest.reference import (
    BADGES_SCHEMA,
    EMPLOYEES_SCHEMA,
    SITES_SCHEMA,
    ReferenceData,
)
from dutystation.ingest.summary import ImportSummary
from dutystation.services.import_events import import_timecards
from dutystation.settings import Settings

NOW = datetime(2026, 12, 1, tzinfo=UTC)
HEADER = ["employee_id", "date", "code", "hours", "site_id"]
PROFILES = Path(__file__).resolve().parents[2] / "profiles"
REFERENCE = ReferenceData(
    pa.table({"employee_id": ["E1", "E2"]}, schema=EMPLOYEES_SCHEMA),
    BADGES_SCHEMA.empty_table(),
    pa.table({"site_id": ["NYC"], "timezone": ["America/New_York"]}, schema=SITES_SCHEMA),
)


def card(
    day: str = "2026-03-09",
    code: str = "onsite",
    hours: str = "8",
    employee: str = "E1",
    site: str = "",
) -> list[str]:
    return [employee, day, code, hours, site]


def write(
    path: Path, rows: Sequence[Sequence[str]], header: Sequence[str] = HEADER, delimiter: str = ","
) -> Path:
    with path.open("w", newline="") as fh:
        out = csv.writer(fh, delimiter=delimiter)
        out.writerow(header)
        out.writerows(rows)
    return path


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data")


def run(
    settings: Settings, *files: Path, profile: Profile | None = None, **options: Any
) -> ImportSummary:
    return import_timecards(
        settings,
        list(files),
        profile or default_profile(ImportKind.TIMECARDS),
        REFERENCE,
        now=NOW,
        **options,
    )


def current(settings: Settings) -> list[tuple[str, date, str, str, float, str | None]]:
    sql = EventStore(settings.events_dir).timecards_current_sql()
    rows = (
        duckdb.connect()
        .execute(
            f"SELECT employee_id, date, category, source_code, hours, site_id FROM {sql} "
            "ORDER BY ALL"
        )
        .fetchall()
    )
    return [tuple(r) for r in rows]  # type: ignore[misc]


def all_rows(settings: Settings) -> int:
    sql = EventStore(settings.events_dir).scan_sql(EventKind.TIMECARDS)
    row = duckdb.connect().execute(f"SELECT count(*) FROM {sql}").fetchone()
    return int(row[0]) if row else 0


REJECTIONS = [
    (card(employee="E404"), "unknown_employee", "employee_id"),
    (card(day="03/09/2026"), "bad_date", "date"),
    (card(day="2026-02-30"), "bad_date", "date"),
    (card(day="1999-12-31"), "too_old", "date"),
    (card(day="9999-12-31"), "too_far_ahead", "date"),
    (card(code="BREAKFAST"), "unknown_code", "code"),
    (card(hours="-1"), "bad_hours", "hours"),
    (card(hours="24.5"), "bad_hours", "hours"),
    (card(hours="eight"), "bad_hours", "hours"),
    (card(hours="nan"), "bad_hours", "hours"),
    (card(site="ATLANTIS"), "unknown_site", "site_id"),
    (card(hours=""), "missing_value", "hours"),
    (card(employee=""), "missing_value", "employee_id"),
]


@pytest.mark.parametrize(
    ("row", "reason", "column"), REJECTIONS, ids=[f"{r[1]}-{i}" for i, r in enumerate(REJECTIONS)]
)
def test_an_impossible_timecard_row_is_rejected_with_its_reason(
    settings: Settings, tmp_path: Path, row: list[str], reason: str, column: str
) -> None:
    source = write(tmp_path / "ta.csv", [card(employee="E2"), row])
    with pytest.raises(ImportRejected) as caught:
        run(settings, source)
    assert f"(first at ta.csv line 3, column {column})" in str(caught.value)
    assert all_rows(settings) == 0
    assert caught.value.quarantine_file is not None
    with caught.value.quarantine_file.open(newline="") as fh:
        assert [(q["line"], q["reason"]) for q in csv.DictReader(fh)] == [("3", reason)]


def test_a_day_over_24_hours_rejects_every_row_of_that_day(
    settings: Settings, tmp_path: Path
) -> None:
    rows = [card(hours="16"), card(code="leave", hours="8.5"), card(day="2026-03-10")]
    with pytest.raises(ImportRejected) as caught:
        run(settings, write(tmp_path / "ta.csv", rows))
    assert "2 rows: the employee's hours for that day add up to more than 24" in str(caught.value)


def test_hours_adding_up_to_exactly_24_are_accepted_despite_float_rounding(
    settings: Settings, tmp_path: Path
) -> None:
    rows = [
        card(hours="8.1"),
        card(code="telework_routine", hours="8.1"),
        card(code="leave", hours="7.8"),
    ]
    assert run(settings, write(tmp_path / "ta.csv", rows)).rows_stored == 3


def test_a_day_total_counts_hours_stored_by_an_earlier_import(
    settings: Settings, tmp_path: Path
) -> None:
    run(settings, write(tmp_path / "a.csv", [card(hours="16")]))
    with pytest.raises(ImportRejected, match="more than 24"):
        run(settings, write(tmp_path / "b.csv", [card(code="leave", hours="9")]))
    # A correction of the same code replaces the stored hours instead of adding to them.
    assert run(settings, write(tmp_path / "c.csv", [card(hours="20")])).rows_stored == 1


def test_identical_rows_are_stored_once_and_a_reimport_stores_nothing(
    settings: Settings, tmp_path: Path
) -> None:
    source = write(tmp_path / "ta.csv", [card(), card(), card(day="2026-03-10")])
    first = run(settings, source)
    second = run(settings, source)
    assert (first.rows_stored, first.duplicates) == (2, 1)
    assert (second.rows_stored, second.duplicates) == (0, 3)
    assert all_rows(settings) == 2


def test_a_resent_day_with_other_hours_is_a_correction_and_the_latest_wins(
    settings: Settings, tmp_path: Path
) -> None:
    run(settings, write(tmp_path / "a.csv", [card(hours="8"), card(day="2026-03-10")]))
    summary = run(settings, write(tmp_path / "b.csv", [card(hours="6"), card(day="2026-03-10")]))
    assert (summary.rows_stored, summary.duplicates) == (1, 1)
    assert summary.notes == ["1 rows correct hours stored earlier"]
    assert all_rows(settings) == 3
    assert current(settings) == [
        ("E1", date(2026, 3, 9), "onsite", "onsite", 6.0, None),
        ("E1", date(2026, 3, 10), "onsite", "onsite", 8.0, None),
    ]


def test_the_same_day_and_code_twice_with_different_hours_in_one_batch_is_not_guessed(
    settings: Settings, tmp_path: Path
) -> None:
    rows = [card(hours="8"), card(hours="6")]
    with pytest.raises(ImportRejected) as caught:
        run(settings, write(tmp_path / "ta.csv", rows))
    assert "2 rows: the same employee, day and pay code" in str(caught.value)


def test_agency_pay_codes_map_to_categories_and_are_kept(
    settings: Settings, tmp_path: Path
) -> None:
    profile = load_profile(PROFILES / "time-and-attendance.toml", ImportKind.TIMECARDS)
    header = ["Emp No", "Work Date", "Pay Code", "Hours", "Duty Loc"]
    rows = [
        ["E1", "03/09/2026", "AL", "4", ""],
        ["E1", "03/09/2026", "SL", "4", ""],
        ["E1", "03/10/2026", "REG", "8", "NYC"],
    ]
    source = write(tmp_path / "ta.txt", rows, header, delimiter="|")
    assert run(settings, source, profile=profile).rows_stored == 3
    assert current(settings) == [
        ("E1", date(2026, 3, 9), "leave", "AL", 4.0, None),
        ("E1", date(2026, 3, 9), "leave", "SL", 4.0, None),
        ("E1", date(2026, 3, 10), "onsite", "REG", 8.0, "NYC"),
    ]


def test_mixed_date_formats_are_rejected_not_guessed(settings: Settings, tmp_path: Path) -> None:
    profile = load_profile(PROFILES / "time-and-attendance.toml", ImportKind.TIMECARDS)
    header = ["Emp No", "Work Date", "Pay Code", "Hours", "Duty Loc"]
    rows = [["E1", "03/09/2026", "REG", "8", ""], ["E1", "2026-03-10", "REG", "8", ""]]
    source = write(tmp_path / "ta.txt", rows, header, delimiter="|")
    with pytest.raises(ImportRejected, match="1 rows: the date is not a valid date"):
        run(settings, source, profile=profile)


def test_timecards_are_partitioned_by_the_month_of_the_workday(
    settings: Settings, tmp_path: Path
) -> None:
    rows = [card(day="2026-01-31"), card(day="2026-02-01")]
    run(settings, write(tmp_path / "ta.csv", rows))
    (manifest,) = EventStore(settings.events_dir).manifests(EventKind.TIMECARDS)
    assert [(f.month, f.rows) for f in manifest.files] == [("2026-01", 1), ("2026-02", 1)]
