"""Badge events: every row is stored once, on the office's workday, or rejected with a reason;
a batch with rejected rows stores nothing unless partial loads are allowed."""

from __future__ import annotations

import csv
import os
import stat
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest

from dutystation.errors import ConfigError, ImportRejected, InputFileError, StoreError
from dutystation.events.schemas import EventKind
from dutystation.events.store import EventStore
from dutystation.ingest.fields import ImportKind
from dutystation.ingest.profiles import Profile, default_profile
from dutystation.ingest.reference import (
    BADGES_SCHEMA,
    EMPLOYEES_SCHEMA,
    SITES_SCHEMA,
    ReferenceData,
)
from dutystation.ingest.summary import ImportSummary
from dutystation.services import import_chunks
from dutystation.services.import_events import import_badges
from dutystation.settings import Settings

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
HEADER = ["employee_id", "badge_id", "timestamp", "site_id", "direction"]
SITES = {
    "NYC": "America/New_York",
    "PHX": "America/Phoenix",
    "GUM": "Pacific/Guam",
    "LAX": "America/Los_Angeles",
}


def reference(badges: Sequence[tuple[str, str, date, date | None]] = ()) -> ReferenceData:
    return ReferenceData(
        pa.table({"employee_id": ["E1", "E2", "E3", "=1+2"]}, schema=EMPLOYEES_SCHEMA),
        pa.table(
            {
                "badge_id": [b[0] for b in badges],
                "employee_id": [b[1] for b in badges],
                "valid_from": [b[2] for b in badges],
                "valid_to": [b[3] for b in badges],
            },
            schema=BADGES_SCHEMA,
        ),
        pa.table({"site_id": list(SITES), "timezone": list(SITES.values())}, schema=SITES_SCHEMA),
    )


def swipe(
    timestamp: str, employee: str = "E1", site: str = "NYC", direction: str = "IN", badge: str = ""
) -> list[str]:
    return [employee, badge, timestamp, site, direction]


def write(path: Path, rows: Sequence[Sequence[str]], header: Sequence[str] = HEADER) -> Path:
    with path.open("w", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(header)
        out.writerows(rows)
    return path


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data")


def run(
    settings: Settings,
    *files: Path,
    ref: ReferenceData | None = None,
    profile: Profile | None = None,
    **options: Any,
) -> ImportSummary:
    return import_badges(
        settings,
        list(files),
        profile or default_profile(ImportKind.BADGES),
        ref or reference(),
        now=options.pop("now", NOW),
        **options,
    )


def stored(settings: Settings) -> list[dict[str, Any]]:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    relation = EventStore(settings.events_dir).scan_sql(EventKind.BADGES)
    table = con.sql(
        f"SELECT employee_id, badge_id, epoch_us(ts_utc) AS utc_us, source_offset_minutes, "
        f"local_date, site_id, direction FROM {relation} ORDER BY ts_utc, employee_id"
    ).to_arrow_table()
    rows: list[dict[str, Any]] = table.to_pylist()
    for row in rows:
        row["ts_utc"] = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=row["utc_us"])
    return rows


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


# ------------------------------------------------------------------------ rejections

REJECTIONS = [
    (swipe("2026-03-09T08:15:00", employee="E404"), "unknown_employee", "employee_id"),
    (swipe("2026-03-09T08:15:00", employee="", badge="B-NOBODY"), "unknown_badge", "badge_id"),
    (swipe("2026-03-09T08:15:00", site="ATLANTIS"), "unknown_site", "site_id"),
    (swipe("09/03/2026 08:15"), "bad_timestamp", "timestamp"),
    (swipe("2026-03-09"), "bad_timestamp", "timestamp"),
    (swipe("2026-3-9 8:15"), "bad_timestamp", "timestamp"),
    (swipe("2026-02-30T08:15:00"), "bad_timestamp", "timestamp"),
    (swipe("2026-03-09T08:15:00 America/New_York"), "bad_timestamp", "timestamp"),
    (swipe("2026-03-09T08:15:00+99:00"), "bad_timestamp", "timestamp"),
    (swipe("2026-03-08T02:30:00"), "dst_gap", "timestamp"),
    (swipe("2026-11-01T01:30:00"), "dst_ambiguous", "timestamp"),
    (swipe("2026-12-01T12:06:00Z"), "future_timestamp", "timestamp"),
    (swipe("1999-12-31T23:00:00Z"), "too_old", "timestamp"),
    (swipe("2026-03-09T08:15:00", direction="SIDEWAYS"), "bad_direction", "direction"),
    (swipe(""), "missing_value", "timestamp"),
    (swipe("2026-03-09T08:15:00", site=""), "missing_value", "site_id"),
    (swipe("2026-03-09T08:15:00", employee=""), "missing_value", "employee_id"),
]


@pytest.mark.parametrize(
    ("row", "reason", "column"), REJECTIONS, ids=[f"{r[1]}-{i}" for i, r in enumerate(REJECTIONS)]
)
def test_a_bad_row_is_quarantined_with_its_reason_and_nothing_is_stored(
    settings: Settings, tmp_path: Path, row: list[str], reason: str, column: str
) -> None:
    good = swipe("2026-03-09T08:00:00", employee="E2")
    source = write(tmp_path / "badges.csv", [good, row])
    with pytest.raises(ImportRejected) as caught:
        run(settings, source)
    assert "1 rows: " in str(caught.value)
    assert f"(first at badges.csv line 3, column {column})" in str(caught.value)
    assert stored(settings) == []
    assert EventStore(settings.events_dir).manifests() == []
    quarantine = caught.value.quarantine_file
    assert quarantine is not None
    with quarantine.open(newline="") as fh:
        lines = list(csv.DictReader(fh))
    assert [(q["line"], q["column"], q["reason"]) for q in lines] == [("3", column, reason)]


def test_the_rejection_message_has_one_line_per_reason_and_no_row_values(
    settings: Settings, tmp_path: Path
) -> None:
    rows = [swipe("2026-03-09T08:15:00", employee="E404-SECRET") for _ in range(3)]
    rows += [swipe("2026-03-08T02:30:00", employee="E2")]
    source = write(tmp_path / "badges.csv", rows)
    with pytest.raises(ImportRejected) as caught:
        run(settings, source)
    message = str(caught.value)
    assert "SECRET" not in message and "02:30" not in message
    lines = message.splitlines()
    assert lines[1] == "3 rows: unknown employee (first at badges.csv line 2, column employee_id)"
    assert lines[2].startswith("1 rows: the local time does not exist")
    assert len(lines) == 3


def test_the_quarantine_file_is_private_and_defuses_formulas(
    settings: Settings, tmp_path: Path
) -> None:
    source = write(
        tmp_path / "badges.csv", [swipe("2026-03-09T08:15:00", employee="=cmd|' /C calc'!A0")]
    )
    with pytest.raises(ImportRejected) as caught:
        run(settings, source)
    quarantine = caught.value.quarantine_file
    assert quarantine is not None and quarantine.parent == settings.quarantine_dir
    assert stat.S_IMODE(os.stat(quarantine).st_mode) == 0o600
    with quarantine.open(newline="") as fh:
        row = next(csv.DictReader(fh))
    assert row["employee_id"] == "'=cmd|' /C calc'!A0"


def test_accept_partial_stores_the_valid_rows_and_still_quarantines_the_rest(
    settings: Settings, tmp_path: Path
) -> None:
    source = write(
        tmp_path / "badges.csv",
        [swipe("2026-03-09T08:15:00"), swipe("2026-03-09T08:15:00", employee="E404")],
    )
    summary = run(settings, source, accept_partial=True)
    assert summary.stored and summary.rows_stored == 1 and summary.rows_rejected == 1
    assert summary.quarantine_file is not None and summary.quarantine_file.exists()
    assert [r["employee_id"] for r in stored(settings)] == ["E1"]


def test_rows_the_reader_could_not_split_are_quarantined_as_malformed(
    settings: Settings, tmp_path: Path
) -> None:
    source = tmp_path / "badges.csv"
    source.write_text(
        "employee_id,timestamp,site_id,direction\n"
        "E1,2026-03-09T08:15:00,NYC,IN\n"
        "E1,2026-03-09T09:15:00,NYC,IN,EXTRA,FIELDS\n"
    )
    with pytest.raises(ImportRejected) as caught:
        run(settings, source)
    assert "(first at badges.csv line 3)" in str(caught.value)
    assert "cannot be read" in str(caught.value)


def test_a_time_a_few_minutes_ahead_is_clock_skew_and_accepted(
    settings: Settings, tmp_path: Path
) -> None:
    source = write(tmp_path / "badges.csv", [swipe("2026-12-01T12:04:00Z")])
    assert run(settings, source).rows_stored == 1


# ------------------------------------------------------------------------ duplicates


def test_identical_swipes_in_one_file_are_stored_once(settings: Settings, tmp_path: Path) -> None:
    rows = [swipe("2026-03-09T08:15:00")] * 3 + [swipe("2026-03-09T08:15:01")]
    summary = run(settings, write(tmp_path / "badges.csv", rows))
    assert (summary.rows_read, summary.rows_stored, summary.duplicates) == (4, 2, 2)
    assert summary.rows_rejected == 0


def test_reimporting_the_same_file_stores_nothing_new(settings: Settings, tmp_path: Path) -> None:
    source = write(
        tmp_path / "badges.csv",
        [swipe("2026-03-09T08:15:00"), swipe("2026-03-10T17:00:00", direction="OUT")],
    )
    first = run(settings, source)
    second = run(settings, source)
    assert (first.rows_stored, second.rows_stored, second.duplicates) == (2, 0, 2)
    assert len(stored(settings)) == 2
    assert second.stored and second.batch_id != first.batch_id


def test_an_overlapping_file_stores_only_the_new_swipes(settings: Settings, tmp_path: Path) -> None:
    days = [f"2026-03-{d:02d}T08:00:00" for d in range(2, 12)]
    first = write(tmp_path / "a.csv", [swipe(d) for d in days[:6]])
    second = write(tmp_path / "b.csv", [swipe(d) for d in days[3:]])
    run(settings, first)
    summary = run(settings, second)
    assert (summary.rows_stored, summary.duplicates) == (4, 3)
    assert len(stored(settings)) == 10


def test_duplicates_across_two_files_of_one_batch_are_stored_once(
    settings: Settings, tmp_path: Path
) -> None:
    a = write(tmp_path / "a.csv", [swipe("2026-03-09T08:15:00"), swipe("2026-04-09T08:15:00")])
    b = write(tmp_path / "b.csv", [swipe("2026-04-09T08:15:00"), swipe("2026-05-09T08:15:00")])
    summary = run(settings, a, b)
    assert (summary.rows_stored, summary.duplicates) == (3, 1)
    manifest = EventStore(settings.events_dir).manifests()[0]
    assert sorted(f.month for f in manifest.files) == ["2026-03", "2026-04", "2026-05"]


def test_the_same_instant_written_with_and_without_an_offset_is_one_event(
    settings: Settings, tmp_path: Path
) -> None:
    rows = [
        swipe("2026-03-06T08:15:00"),
        swipe("2026-03-06T13:15:00Z"),  # EST: UTC-5
        swipe("2026-03-06T08:15:00-05:00"),
    ]
    summary = run(settings, write(tmp_path / "badges.csv", rows))
    assert (summary.rows_stored, summary.duplicates) == (1, 2)
    (event,) = stored(settings)
    assert event["ts_utc"] == utc(2026, 3, 6, 13, 15)
    assert event["source_offset_minutes"] == -300  # the smallest of the copies: order-free


def test_taps_a_second_apart_or_in_another_direction_are_separate_events(
    settings: Settings, tmp_path: Path
) -> None:
    rows = [
        swipe("2026-03-09T08:15:00"),
        swipe("2026-03-09T08:15:01"),
        swipe("2026-03-09T08:15:00", direction="OUT"),
        swipe("2026-03-09T08:15:00", direction=""),
    ]
    assert run(settings, write(tmp_path / "badges.csv", rows)).rows_stored == 4


# ------------------------------------------------------------------------ time zones


def test_the_same_fold_time_with_an_offset_is_stored_with_that_offset(
    settings: Settings, tmp_path: Path
) -> None:
    rows = [
        swipe("2026-11-01T01:30:00-04:00"),
        swipe("2026-11-01T01:30:00-05:00"),
        swipe("2026-03-08T07:30:00Z"),
    ]
    run(settings, write(tmp_path / "badges.csv", rows))
    events = stored(settings)
    assert [(e["ts_utc"], e["source_offset_minutes"], e["local_date"]) for e in events] == [
        (utc(2026, 3, 8, 7, 30), 0, date(2026, 3, 8)),
        (utc(2026, 11, 1, 5, 30), -240, date(2026, 11, 1)),
        (utc(2026, 11, 1, 6, 30), -300, date(2026, 11, 1)),
    ]


def test_a_naive_time_keeps_no_source_offset(settings: Settings, tmp_path: Path) -> None:
    run(settings, write(tmp_path / "badges.csv", [swipe("2026-07-01T09:00:00")]))
    (event,) = stored(settings)
    assert event["source_offset_minutes"] is None
    assert event["ts_utc"] == utc(2026, 7, 1, 13, 0)


def test_a_swipe_at_2330_local_that_is_the_next_day_in_utc_lands_on_the_local_date(
    settings: Settings, tmp_path: Path
) -> None:
    rows = [swipe("2026-03-09T23:30:00"), swipe("2026-03-10T03:45:00Z", employee="E2")]
    run(settings, write(tmp_path / "badges.csv", rows))
    events = stored(settings)
    assert [(e["ts_utc"].date(), e["local_date"]) for e in events] == [
        (date(2026, 3, 10), date(2026, 3, 9)),
        (date(2026, 3, 10), date(2026, 3, 9)),
    ]


def test_phoenix_keeps_standard_time_when_the_rest_of_the_country_springs_forward(
    settings: Settings, tmp_path: Path
) -> None:
    rows = [swipe("2026-03-08T02:30:00", site="PHX"), swipe("2026-07-01T23:30:00", site="PHX")]
    run(settings, write(tmp_path / "badges.csv", rows))
    events = stored(settings)
    assert [(e["ts_utc"], e["local_date"]) for e in events] == [
        (utc(2026, 3, 8, 9, 30), date(2026, 3, 8)),
        (utc(2026, 7, 2, 6, 30), date(2026, 7, 1)),
    ]


def test_guam_swipes_belong_to_the_guam_workday_a_day_ahead_of_utc(
    settings: Settings, tmp_path: Path
) -> None:
    rows = [swipe("2026-03-09T07:00:00", site="GUM"), swipe("2026-03-09T20:00:00Z", site="GUM")]
    run(settings, write(tmp_path / "badges.csv", rows))
    events = stored(settings)
    assert [(e["ts_utc"], e["local_date"]) for e in events] == [
        (utc(2026, 3, 8, 21, 0), date(2026, 3, 9)),
        (utc(2026, 3, 9, 20, 0), date(2026, 3, 10)),
    ]


def test_a_profile_zone_reads_naive_times_but_the_workday_is_the_office_clock(
    settings: Settings, tmp_path: Path
) -> None:
    profile = Profile.model_validate(
        {"name": "utc-reader", "kind": "badges", "source": {"timestamp_timezone": "UTC"}}
    )
    source = write(tmp_path / "badges.csv", [swipe("2026-03-10T03:30:00", site="LAX")])
    run(settings, source, profile=profile)
    (event,) = stored(settings)
    assert event["ts_utc"] == utc(2026, 3, 10, 3, 30)
    assert event["local_date"] == date(2026, 3, 9)  # 19:30 in Los Angeles


def test_a_profile_timestamp_format_is_how_timestamps_are_read(
    settings: Settings, tmp_path: Path
) -> None:
    profile = Profile.model_validate(
        {"name": "us-dates", "kind": "badges", "source": {"timestamp_format": "%m/%d/%Y %I:%M %p"}}
    )
    rows = [swipe("03/09/2026 11:30 PM"), swipe("2026-03-09T08:15:00", employee="E2")]
    with pytest.raises(ImportRejected) as caught:
        run(settings, write(tmp_path / "badges.csv", rows), profile=profile)
    assert "1 rows: the timestamp is not" in str(caught.value)
    run(settings, write(tmp_path / "ok.csv", rows[:1]), profile=profile)
    (event,) = stored(settings)
    assert (event["ts_utc"], event["local_date"]) == (utc(2026, 3, 10, 3, 30), date(2026, 3, 9))


def test_a_profile_timestamp_format_with_an_offset_keeps_the_offset(
    settings: Settings, tmp_path: Path
) -> None:
    profile = Profile.model_validate(
        {"name": "offsets", "kind": "badges", "source": {"timestamp_format": "%m/%d/%Y %H:%M %z"}}
    )
    rows = [swipe("03/09/2026 23:30 -0400"), swipe("03/09/2026 08:15 +05:30", employee="E2")]
    run(settings, write(tmp_path / "badges.csv", rows), profile=profile)
    events = stored(settings)
    assert [(e["ts_utc"], e["source_offset_minutes"], e["local_date"]) for e in events] == [
        (utc(2026, 3, 9, 2, 45), 330, date(2026, 3, 8)),
        (utc(2026, 3, 10, 3, 30), -240, date(2026, 3, 9)),
    ]


@pytest.mark.parametrize("fmt", ["%Y-%m-%d %H:%M %Z", "%Q"])
def test_a_timestamp_format_we_cannot_apply_safely_is_a_configuration_error(
    settings: Settings, tmp_path: Path, fmt: str
) -> None:
    profile = Profile.model_validate(
        {"name": "bad", "kind": "badges", "source": {"timestamp_format": fmt}}
    )
    with pytest.raises(ConfigError, match="timestamp_format"):
        run(settings, write(tmp_path / "badges.csv", [swipe("x")]), profile=profile)


def test_an_unknown_profile_zone_is_a_configuration_error(
    settings: Settings, tmp_path: Path
) -> None:
    profile = Profile.model_validate(
        {"name": "bad", "kind": "badges", "source": {"timestamp_timezone": "Mars/Olympus"}}
    )
    with pytest.raises(ConfigError):
        run(
            settings,
            write(tmp_path / "badges.csv", [swipe("2026-03-09T08:15:00")]),
            profile=profile,
        )


def test_an_office_with_an_unknown_zone_is_refused_by_name(
    settings: Settings, tmp_path: Path
) -> None:
    ref = reference()
    ref = ReferenceData(
        ref.employees,
        ref.badges,
        pa.table({"site_id": ["NYC"], "timezone": ["Eastern"]}, schema=SITES_SCHEMA),
    )
    with pytest.raises(StoreError, match="'NYC'"):
        run(settings, write(tmp_path / "badges.csv", [swipe("2026-03-09T08:15:00")]), ref=ref)


# ------------------------------------------------------------------------ who swiped


def test_a_reissued_badge_maps_to_whoever_held_it_that_day(
    settings: Settings, tmp_path: Path
) -> None:
    badges = [
        ("B7", "E1", date(2025, 1, 1), date(2026, 3, 10)),
        ("B7", "E3", date(2026, 3, 10), None),
    ]
    rows = [
        swipe("2026-03-09T23:30:00", employee="", badge="B7"),  # still E1's on the 9th
        swipe("2026-03-10T08:00:00", employee="", badge="B7"),
    ]
    run(settings, write(tmp_path / "badges.csv", rows), ref=reference(badges))
    assert [(e["employee_id"], e["badge_id"]) for e in stored(settings)] == [
        ("E1", "B7"),
        ("E3", "B7"),
    ]


def test_a_badge_returned_and_not_reissued_maps_to_nobody(
    settings: Settings, tmp_path: Path
) -> None:
    badges = [("B7", "E1", date(2025, 1, 1), date(2026, 3, 1))]
    rows = [swipe("2026-03-09T08:00:00", employee="", badge="B7")]
    with pytest.raises(ImportRejected, match="held by nobody"):
        run(settings, write(tmp_path / "badges.csv", rows), ref=reference(badges))


def test_an_employee_id_in_the_file_wins_over_its_badge_number(
    settings: Settings, tmp_path: Path
) -> None:
    badges = [("B7", "E3", date(2025, 1, 1), None)]
    rows = [swipe("2026-03-09T08:00:00", employee="E2", badge="B7")]
    run(settings, write(tmp_path / "badges.csv", rows), ref=reference(badges))
    assert [e["employee_id"] for e in stored(settings)] == ["E2"]


def test_one_badge_held_by_two_people_at_once_is_refused(
    settings: Settings, tmp_path: Path
) -> None:
    badges = [("B7", "E1", date(2025, 1, 1), None), ("B7", "E3", date(2026, 1, 1), None)]
    rows = [swipe("2026-03-09T08:00:00", employee="", badge="B7")]
    with pytest.raises(StoreError, match="two employees"):
        run(settings, write(tmp_path / "badges.csv", rows), ref=reference(badges))


def test_formula_looking_values_are_stored_as_plain_text(
    settings: Settings, tmp_path: Path
) -> None:
    run(settings, write(tmp_path / "badges.csv", [swipe("2026-03-09T08:00:00", employee="=1+2")]))
    assert [e["employee_id"] for e in stored(settings)] == ["=1+2"]


def test_a_file_with_only_a_badge_column_is_read_by_badge(
    settings: Settings, tmp_path: Path
) -> None:
    badges = [("B7", "E3", date(2025, 1, 1), None)]
    source = write(
        tmp_path / "badges.csv",
        [["B7", "2026-03-09T08:00:00Z", "NYC", "IN"]],
        header=["badge_id", "timestamp", "site_id", "direction"],
    )
    run(settings, source, ref=reference(badges))
    assert [e["employee_id"] for e in stored(settings)] == ["E3"]


def test_a_chunked_import_gives_the_same_result_as_one_chunk(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = [
        swipe(f"2026-03-{d:02d}T{h:02d}:00:00", employee=f"E{1 + (d + h) % 3}")
        for d in range(2, 20)
        for h in range(7, 19)
    ]
    rows += rows[:40]
    source = write(tmp_path / "badges.csv", rows)
    small = settings.model_copy(update={"import_batch_rows": 7})
    summary = run(small, source)
    assert (summary.rows_read, summary.rows_stored, summary.duplicates) == (256, 216, 40)
    monkeypatch.setattr(import_chunks, "_SCAN_BATCH_ROWS", 3)
    other = Settings(data_dir=tmp_path / "other")
    assert run(other, source).rows_stored == 216
    assert stored(other) == stored(small)


def test_a_database_error_is_reported_without_the_row_values(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dutystation.ingest.badges import BadgeChecker

    # A query that fails the way DuckDB casts do: "Could not convert string 'SECRET-...'".
    monkeypatch.setattr(
        BadgeChecker,
        "_check_sql",
        lambda self, columns: "SELECT employee_id::INTEGER AS employee_id FROM chunk",
    )
    source = write(tmp_path / "badges.csv", [swipe("2026-03-09T08:00:00", employee="SECRET-42")])
    with pytest.raises(StoreError) as caught:
        run(settings, source)
    assert "SECRET" not in str(caught.value)
    assert EventStore(settings.events_dir).manifests() == []


def test_a_file_broken_half_way_stores_nothing_and_frees_the_store(
    settings: Settings, tmp_path: Path
) -> None:
    import gzip

    rows = "".join(f"E1,2026-03-{1 + i % 28:02d}T08:00:00,NYC,IN\n" for i in range(50_000))
    packed = gzip.compress(("employee_id,timestamp,site_id,direction\n" + rows).encode())
    source = tmp_path / "badges.csv.gz"
    source.write_bytes(packed[: len(packed) // 2])
    with pytest.raises(InputFileError):
        run(settings, source)
    assert EventStore(settings.events_dir).manifests() == []
    good = write(tmp_path / "ok.csv", [swipe("2026-03-09T08:00:00")])
    assert run(settings, good).rows_stored == 1  # the lock was released
