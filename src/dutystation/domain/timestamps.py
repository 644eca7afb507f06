"""Wall-clock time at an office versus the instant it names: the pure reference.

The badge importer converts timestamps in bulk inside DuckDB; this module is the slow,
obviously-correct version written with ``zoneinfo`` (PEP 495) that the bulk path is
tested against. It owns the rule for naive local times that do not name exactly one
instant:

* a wall time inside a spring-forward **gap** (America/New_York, 2026-03-08 02:30) never
  happened: it is rejected (``dst_gap``), never shifted to 03:30;
* a wall time inside a fall-back **fold** (2026-11-01 01:30) happened twice, an hour
  apart: it is rejected (``dst_ambiguous``), never resolved to either occurrence.

We never guess: a source that must record such times sends them with an offset or in UTC.
A workday is the calendar day on the office's own clock (DESIGN.md §5), so
``office_local_date`` converts an instant to the office's zone before taking the date.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import StrEnum
from zoneinfo import ZoneInfo


class WallTimeKind(StrEnum):
    EXACT = "exact"  # names exactly one instant
    GAP = "dst_gap"  # skipped by a spring-forward change
    FOLD = "dst_ambiguous"  # repeated by a fall-back change


@dataclass(frozen=True)
class WallTimeResolution:
    kind: WallTimeKind
    utc: datetime | None  # aware, UTC; None unless kind is EXACT
    offset_minutes: int | None  # the zone's UTC offset at that instant


def resolve_wall_time(wall: datetime, zone: str) -> WallTimeResolution:
    """The instant a naive wall-clock time at ``zone`` names, or why it names none or two."""
    if wall.tzinfo is not None:
        raise ValueError("resolve_wall_time takes a naive wall-clock time")
    tz = ZoneInfo(zone)
    first = wall.replace(tzinfo=tz, fold=0)
    second = wall.replace(tzinfo=tz, fold=1)
    first_offset = first.utcoffset()
    second_offset = second.utcoffset()
    assert first_offset is not None and second_offset is not None
    if first_offset == second_offset:
        utc = first.astimezone(UTC)
        return WallTimeResolution(WallTimeKind.EXACT, utc, _minutes(first_offset.total_seconds()))
    # The two readings differ: either the time repeats (both round-trip to the same wall
    # time) or it does not exist (neither does).
    round_trip = first.astimezone(UTC).astimezone(tz).replace(tzinfo=None, fold=0)
    if round_trip == wall:
        return WallTimeResolution(WallTimeKind.FOLD, None, None)
    return WallTimeResolution(WallTimeKind.GAP, None, None)


def office_local_time(instant: datetime, zone: str) -> datetime:
    """The naive wall-clock time at ``zone`` of an aware instant."""
    if instant.tzinfo is None:
        raise ValueError("office_local_time takes an aware instant")
    return instant.astimezone(ZoneInfo(zone)).replace(tzinfo=None, fold=0)


def office_local_date(instant: datetime, zone: str) -> date:
    """The workday an instant belongs to: the calendar date on the office's clock."""
    return office_local_time(instant, zone).date()


def _minutes(seconds: float) -> int:
    return int(seconds // 60)
