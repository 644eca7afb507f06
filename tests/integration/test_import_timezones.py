"""RELIABILITY T23: badge times in the nine US zones, against a zoneinfo reference.

About 10,500 generated taps by 144 employees in America/New_York, Chicago, Denver, Phoenix
(no DST), Los_Angeles, Anchorage, Pacific/Honolulu, America/Puerto_Rico and Pacific/Guam,
over the weeks of both 2026 DST changes and an ordinary week: day shifts, night shifts
that cross local midnight, every employee tapping at the fall-back wall time 2026-11-01
01:30 and the spring-forward wall time 2026-03-08 02:30, written as naive local time, with
the zone's offset, or in UTC. The reference is ``domain/timestamps.py`` (zoneinfo, PEP
495) for instants and workdays and ``domain/presence.py`` for the daily presence report.

The documented rule (docs/importing.md, "Badge timestamps and time zones"): a naive time
in a gap is rejected as ``dst_gap``, one in a fold as ``dst_ambiguous``; with an offset
or in UTC either fold is accepted as the instant written; a time later than now + 5 min
is rejected as ``future_timestamp``; each event belongs to the office-local day.
"""

from __future__ import annotations

import csv
import random
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from import_world import (
    BADGE_HEADER,
    NOW,
    ZONES,
    build_world,
    employees,
    import_badges,
    presence,
    stored_events,
    write_csv,
)

from dutystation.domain.presence import (
    BadgeEvent,
    DirectionMode,
    HoursConvention,
    PresenceSettings,
    presence_by_day,
)
from dutystation.domain.timestamps import WallTimeKind, office_local_date, resolve_wall_time
from dutystation.domain.vocabulary import Direction
from dutystation.ingest.fields import ImportKind
from dutystation.ingest.profiles import Profile

PER_SITE = 16
DAYS = [
    *(date(2026, 3, 2) + timedelta(d) for d in range(12)),  # spring forward on 03-08
    *(date(2026, 6, 15) + timedelta(d) for d in range(6)),
    *(date(2026, 10, 26) + timedelta(d) for d in range(12)),  # fall back on 11-01
]
FOLD_WALL = datetime(2026, 11, 1, 1, 30)
GAP_WALL = datetime(2026, 3, 8, 2, 30)


@dataclass(frozen=True)
class Tap:
    line: int
    employee: str
    site: str
    text: str
    direction: str
    instant: datetime | None  # what the reference says it is; None when rejected
    reason: str | None


def _written(wall: datetime, zone: ZoneInfo, form: str, fold: int) -> tuple[str, datetime]:
    """The text of an instant given by its wall time (and fold) in one of three forms."""
    instant = wall.replace(tzinfo=zone, fold=fold).astimezone(UTC)
    if form == "utc":
        return instant.strftime("%Y-%m-%dT%H:%M:%SZ"), instant
    local = instant.astimezone(zone)
    return local.isoformat(timespec="seconds"), instant


def generate(seed: int = 23) -> list[Tap]:
    rng = random.Random(seed)
    taps: list[Tap] = []

    def add(employee: str, site: str, wall: datetime, direction: str, form: str) -> None:
        zone = ZoneInfo(ZONES[site])
        line = len(taps) + 2  # the header is line 1
        if form == "naive":
            resolved = resolve_wall_time(wall, ZONES[site])
            instant = resolved.utc
            reason = None if resolved.kind is WallTimeKind.EXACT else str(resolved.kind)
            text = wall.isoformat(timespec="seconds")
        else:
            text, instant = _written(wall, zone, form, rng.randint(0, 1))
            reason = None
        if instant is not None and instant > NOW + timedelta(minutes=5):
            instant, reason = None, "future_timestamp"
        taps.append(Tap(line, employee, site, text, direction, instant, reason))

    def form() -> str:
        return rng.choices(["naive", "offset", "utc"], [6, 2, 2])[0]

    for employee, site in employees(PER_SITE).items():
        night = rng.random() < 0.3  # night-shift workers cross midnight
        for day in DAYS:
            base = datetime.combine(day, datetime.min.time())
            if night:
                start = base + timedelta(hours=22, minutes=rng.randint(0, 119))
            else:
                start = base + timedelta(hours=rng.randint(6, 9), minutes=rng.randint(0, 59))
            end = start + timedelta(hours=rng.randint(7, 9), minutes=rng.randint(0, 59))
            add(employee, site, start + timedelta(seconds=rng.randint(0, 59)), "IN", form())
            if rng.random() < 0.15:
                gap = start + timedelta(hours=4)
                add(employee, site, gap, "OUT", form())
                add(employee, site, gap + timedelta(minutes=30), "IN", form())
            add(employee, site, end + timedelta(seconds=rng.randint(0, 59)), "OUT", form())
        # The two wall times the plan names, naive, and the fold with explicit offsets.
        add(employee, site, FOLD_WALL, "IN", "naive")
        add(employee, site, GAP_WALL, "IN", "naive")
        zone = ZoneInfo(ZONES[site])
        for fold in (0, 1):
            text, instant = _written(FOLD_WALL + timedelta(minutes=5), zone, "offset", fold)
            taps.append(Tap(len(taps) + 2, employee, site, text, "OUT", instant, None))
    # Clock skew inside the tolerance is accepted; beyond it, in any form, is not.
    for minutes, form_ in ((1, "utc"), (4, "offset"), (6, "utc"), (6, "naive"), (2880, "offset")):
        site = "NYC"
        wall = (NOW + timedelta(minutes=minutes)).astimezone(ZoneInfo(ZONES[site]))
        add("ENYC0", site, wall.replace(tzinfo=None), "IN", form_)
    return taps


def quarantined(path: Path) -> dict[int, tuple[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return {int(r["line"]): (r["column"], r["reason"]) for r in csv.DictReader(fh)}


def reference_presence(
    taps: list[Tap], first: date, last: date, settings: PresenceSettings
) -> dict[tuple[str, date], tuple[int, float, datetime | None, datetime | None]]:
    per_employee: dict[str, list[BadgeEvent]] = defaultdict(list)
    for tap in taps:
        if tap.instant is not None:
            local = tap.instant.astimezone(ZoneInfo(ZONES[tap.site]))
            per_employee[tap.employee].append(BadgeEvent(local, Direction(tap.direction), tap.site))
    expected = {}
    for employee, events in per_employee.items():
        for day, found in presence_by_day(events, settings).items():
            if first <= day <= last:
                wall = [
                    t.replace(tzinfo=None) if t else None for t in (found.first_in, found.last_out)
                ]
                expected[(employee, day)] = (found.taps, round(found.hours_on_site, 6), *wall)
    return expected


@pytest.mark.slow
def test_ten_thousand_taps_in_nine_zones_match_the_zoneinfo_reference(tmp_path: Path) -> None:
    taps = generate()
    assert len(taps) >= 10_000
    path = write_csv(
        tmp_path / "badges.csv",
        BADGE_HEADER,
        [[t.employee, "", t.text, t.site, t.direction] for t in taps],
    )
    runtime = build_world(tmp_path / "w", per_site=PER_SITE)
    summary = import_badges(runtime, path, accept_partial=True)

    # Every rejection is the one the rule gives, at its line and column; nothing else is.
    assert summary.quarantine_file is not None
    expected_rejections = {t.line: ("timestamp", t.reason) for t in taps if t.reason}
    assert quarantined(summary.quarantine_file) == expected_rejections
    by_reason = defaultdict(int)
    for _, reason in expected_rejections.values():
        by_reason[reason] += 1
    dst_zones = 5  # New York, Chicago, Denver, Los Angeles, Anchorage observe DST
    assert by_reason["dst_ambiguous"] >= dst_zones * PER_SITE  # the named fold times, at least
    assert by_reason["dst_gap"] >= dst_zones * PER_SITE
    assert by_reason["future_timestamp"] == 3  # not one accepted silently

    # Every accepted tap: the reference instant and the office-local workday, 0 mismatches.
    stored = stored_events(runtime).to_pylist()
    got = sorted((r["employee_id"], r["ts_utc"], r["local_date"], r["direction"]) for r in stored)
    want = sorted(
        {
            (t.employee, t.instant, office_local_date(t.instant, ZONES[t.site]), t.direction)
            for t in taps
            if t.instant is not None
        }
    )
    assert got == want

    # The presence report: one row per employee and office-local day (no day counted
    # twice, night shifts included), equal to the reference under both hours conventions.
    first, last = DAYS[0], DAYS[-1] + timedelta(days=1)
    for convention in HoursConvention:
        settings = PresenceSettings(convention, DirectionMode.READER, 60.0, 16.0)
        rows = presence(runtime, first, last, settings).to_pylist()
        keys = [(r["employee_id"], r["date"]) for r in rows]
        assert len(keys) == len(set(keys)), "a day counted twice"
        report = {
            (r["employee_id"], r["date"]): (
                r["taps"],
                round(r["hours_on_site"], 6),
                r["first_in"],
                r["last_out"],
            )
            for r in rows
        }
        expected = reference_presence(taps, first, last, settings)
        mismatches = {k: (report.get(k), expected.get(k)) for k in report.keys() | expected.keys()
                      if report.get(k) != expected.get(k)}  # fmt: skip
        assert not mismatches, (convention, len(mismatches), sorted(mismatches.items())[:3])


def test_a_reader_stuck_on_standard_time_is_read_with_a_fixed_offset_profile(
    tmp_path: Path,
) -> None:
    """A reader whose clock stays on EST all year: its export's naive times are read in
    the fixed zone Etc/GMT+5 (a profile's timestamp_timezone), never as New York time;
    the workday is still the New York calendar day."""
    walls = [datetime(2026, 3, 8, 2, 30), datetime(2026, 7, 1, 8, 0), datetime(2026, 11, 1, 1, 30),
             datetime(2026, 7, 1, 23, 30)]  # fmt: skip
    path = write_csv(
        tmp_path / "est.csv",
        BADGE_HEADER,
        [["ENYC0", "", w.isoformat(timespec="seconds"), "NYC", "IN"] for w in walls],
    )
    profile = Profile(name="est-reader", kind=ImportKind.BADGES)
    profile.source.timestamp_timezone = "Etc/GMT+5"
    runtime = build_world(tmp_path / "w", per_site=1)
    summary = import_badges(runtime, path, profile=profile)
    assert summary.rows_stored == len(walls)  # no gap, no fold on a fixed offset
    stored = sorted((r["ts_utc"], r["local_date"]) for r in stored_events(runtime).to_pylist())
    want = sorted(
        (w.replace(tzinfo=UTC) + timedelta(hours=5), office_local_date(
            w.replace(tzinfo=UTC) + timedelta(hours=5), "America/New_York"))
        for w in walls
    )  # fmt: skip
    assert stored == want
    # 23:30 EST on 1 July is 00:30 EDT on 2 July: the New York workday, not the reader's.
    assert (datetime(2026, 7, 2, 4, 30, tzinfo=UTC), date(2026, 7, 2)) in stored
