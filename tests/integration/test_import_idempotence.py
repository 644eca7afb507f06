"""RELIABILITY T20: re-importing changes nothing, overlaps store the union, and neither row
order nor file format changes what is stored or reported.

Badge events through the real importer into a real data dir (``import_world``): the same
file three times; two files overlapping by half (either order); the same file shuffled
and reversed; the same events split across a CSV and a Parquet file; and genuine double
taps in one file, where the pinned rule (docs/importing.md, docs/evaluation.md) is:
identical rows — same employee, office, instant and direction, however the instant is
written — are one event stored once; taps that differ in any of those are separate
events, and the presence report then collapses taps within ``badge_debounce_seconds``.

"Same report" is compared as a content hash of the stored events (without batch numbers)
and of the daily presence report. The roster and T&A re-imports are covered by
test_import_records_roster.py::test_reimporting_the_same_roster_adds_no_history and
tests/unit/test_timecards.py::test_identical_rows_are_stored_once_and_a_reimport_stores_nothing.
"""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.parquet as pq
from import_world import (
    BADGE_HEADER,
    ZONES,
    build_world,
    content_hash,
    employees,
    import_badges,
    presence,
    stored_events,
    write_csv,
)

from dutystation.bootstrap import Runtime

FIRST, LAST = date(2026, 9, 7), date(2026, 10, 2)  # four ordinary weeks, no DST change


def swipes(per_site: int = 3, seed: int = 20) -> list[list[str]]:
    """A day's IN and OUT (and sometimes a lunch break) for everyone on each workday,
    in office-local wall time or in UTC (``Z``) at random, so both forms are exercised."""
    rng = random.Random(seed)
    rows: list[list[str]] = []
    day = FIRST
    while day <= LAST:
        if day.weekday() < 5:
            for employee, site in employees(per_site).items():
                zone = ZoneInfo(ZONES[site])
                start = datetime(
                    day.year, day.month, day.day, rng.randint(7, 9), rng.randint(0, 59)
                )
                taps = [
                    (start, "IN"),
                    (start + timedelta(hours=8, minutes=rng.randint(0, 90)), "OUT"),
                ]
                if rng.random() < 0.3:
                    lunch = start + timedelta(hours=4)
                    taps += [(lunch, "OUT"), (lunch + timedelta(minutes=40), "IN")]
                for wall, direction in taps:
                    if rng.random() < 0.5:
                        text = wall.isoformat(timespec="seconds")
                    else:
                        instant = wall.replace(tzinfo=zone).astimezone(ZoneInfo("UTC"))
                        text = instant.strftime("%Y-%m-%dT%H:%M:%SZ")
                    rows.append([employee, "", text, site, direction])
        day += timedelta(days=1)
    return rows


def fingerprint(runtime: Runtime) -> tuple[int, str, str]:
    """(stored events, hash of the stored events, hash of the daily presence report)."""
    events = stored_events(runtime)
    return events.num_rows, content_hash(events), content_hash(presence(runtime, FIRST, LAST))


def world_with(tmp_path: Path, name: str, *files: Path) -> Runtime:
    runtime = build_world(tmp_path / name)
    for path in files:
        import_badges(runtime, path)
    return runtime


def test_the_same_file_imported_three_times_is_stored_once(tmp_path: Path) -> None:
    rows = swipes()
    path = write_csv(tmp_path / "badges.csv", BADGE_HEADER, rows)
    runtime = build_world(tmp_path / "w")
    summaries = [import_badges(runtime, path) for _ in range(3)]
    assert [s.rows_stored for s in summaries] == [len(rows), 0, 0]
    assert [s.duplicates for s in summaries] == [0, len(rows), len(rows)]
    assert fingerprint(runtime)[0] == len(rows)


def test_two_files_overlapping_by_half_store_their_union_in_either_order(tmp_path: Path) -> None:
    rows = swipes()
    third = len(rows) // 3
    a = write_csv(tmp_path / "a.csv", BADGE_HEADER, rows[: 2 * third])
    b = write_csv(tmp_path / "b.csv", BADGE_HEADER, rows[third : 3 * third])  # half of b is in a
    forward = build_world(tmp_path / "ab")
    first = import_badges(forward, a)
    second = import_badges(forward, b)
    assert (first.rows_stored, second.rows_stored, second.duplicates) == (
        2 * third,
        third,
        third,
    )
    backward = world_with(tmp_path, "ba", b, a)
    union = 3 * third  # |A ∪ B|
    assert fingerprint(forward) == fingerprint(backward)
    assert fingerprint(forward)[0] == union


def test_row_order_changes_nothing_stored_or_reported(tmp_path: Path) -> None:
    rows = swipes()
    shuffled = rows[:]
    random.Random(7).shuffle(shuffled)
    files = {
        "as-written": write_csv(tmp_path / "rows.csv", BADGE_HEADER, rows),
        "shuffled": write_csv(tmp_path / "shuffled.csv", BADGE_HEADER, shuffled),
        "reversed": write_csv(tmp_path / "reversed.csv", BADGE_HEADER, rows[::-1]),
    }
    prints = {name: fingerprint(world_with(tmp_path, name, path)) for name, path in files.items()}
    assert len(set(prints.values())) == 1, prints
    assert prints["shuffled"][0] == len(rows)


def test_the_same_events_split_across_csv_and_parquet_are_one_set(tmp_path: Path) -> None:
    rows = swipes()
    cut = len(rows) * 3 // 5
    whole = write_csv(tmp_path / "all.csv", BADGE_HEADER, rows)
    head = write_csv(tmp_path / "head.csv", BADGE_HEADER, rows[:cut])
    tail_rows = rows[len(rows) - cut :]  # overlaps the CSV by a fifth of the events
    tail = tmp_path / "tail.parquet"
    pq.write_table(
        pa.table({name: [r[i] for r in tail_rows] for i, name in enumerate(BADGE_HEADER)}), tail
    )
    one_format = world_with(tmp_path, "csv", whole)
    one_batch = build_world(tmp_path / "mixed")
    summary = import_badges(one_batch, head, tail)  # both files, one batch
    assert summary.rows_stored == len(rows)
    assert summary.duplicates == 2 * cut - len(rows)
    two_batches = world_with(tmp_path, "split", tail, head)
    assert fingerprint(one_format) == fingerprint(one_batch) == fingerprint(two_batches)
    assert import_badges(one_batch, whole).rows_stored == 0


def test_genuine_double_taps_follow_the_pinned_rule_with_exact_counts(tmp_path: Path) -> None:
    day = "2026-10-06"
    rows = [
        ["ENYC0", "", f"{day}T08:00:00", "NYC", "IN"],
        ["ENYC0", "", f"{day}T08:00:00", "NYC", "IN"],  # the same swipe delivered again
        ["ENYC0", "", f"{day}T08:00:00", "NYC", "IN"],  # and again
        ["ENYC0", "", f"{day}T12:00:00Z", "NYC", "IN"],  # the same instant (EDT = UTC-4)
        ["ENYC0", "", f"{day}T08:00:00-04:00", "NYC", "IN"],  # and with its offset
        ["ENYC0", "", f"{day}T08:00:00", "NYC", "OUT"],  # same instant, other direction
        ["ENYC0", "", f"{day}T08:00:01", "NYC", "IN"],  # a second later: a real tap
        ["ENYC0", "", f"{day}T08:00:30", "NYC", "IN"],
        ["ENYC0", "", f"{day}T08:01:30", "NYC", "IN"],  # 90 s after the kept tap
        ["ENYC1", "", f"{day}T08:00:00", "NYC", "IN"],  # same instant, someone else
        ["ENYC0", "", f"{day}T17:00:00", "NYC", "OUT"],
        ["ENYC0", "", f"{day}T17:00:00", "NYC", "OUT"],
    ]
    runtime = build_world(tmp_path / "w")
    path = write_csv(tmp_path / "taps.csv", BADGE_HEADER, rows)
    summary = import_badges(runtime, path)
    # Stored: ENYC0 08:00:00 IN, 08:00:00 OUT, 08:00:01, 08:00:30, 08:01:30, 17:00 OUT;
    # ENYC1 08:00 IN. The other five rows repeat one of those.
    assert (summary.rows_read, summary.rows_stored, summary.duplicates) == (12, 7, 5)
    events = stored_events(runtime)
    assert events.num_rows == 7
    offsets = events.column("source_offset_minutes").to_pylist()
    assert offsets.count(None) == 6  # the kept copy of the 08:00 IN is the naive row
    # The report debounces (60 s from the kept tap): ENYC0 keeps 08:00 IN, 08:01:30 IN
    # and 17:00 OUT; the first IN to the last OUT is 9 hours.
    report = {
        r["employee_id"]: (r["taps"], r["hours_on_site"])
        for r in presence(runtime, date(2026, 10, 6), date(2026, 10, 6)).to_pylist()
    }
    assert report == {"ENYC0": (3, 9.0), "ENYC1": (1, 0.0)}
    assert import_badges(runtime, path).rows_stored == 0
