"""Presence from badge events: the reference specification.

This module is the plain-Python statement of how badge taps become a day's presence and
hours on site. The DuckDB implementation in ``analytics/`` is property-tested against it on
the same small data, so every rule below is deliberate and has a test
(tests/unit/test_presence*.py). docs/directives.md, "Presence from badges", says the same for
users.

1. **Order.** Events are sorted here, by instant, then IN before OUT before no direction,
   then site: input order never matters.
2. **Office-local day.** An event belongs to the local date of its timestamp. Pass naive
   wall-clock times or aware datetimes in the office's zone; only aware times give true
   durations across a DST change (naive ones count wall-clock time).
3. **Debounce.** A tap no more than ``debounce_seconds`` after the last *kept* tap of its
   office-local day collapses into it, whatever its direction or site (a double swipe, a
   reader that logs twice). The window runs from the kept tap, so taps do not chain.
   Duplicates at one timestamp on one day always collapse. The window never reaches across
   midnight: a day's first tap is always kept, so a day's presence is decided by its own
   taps alone, as the employee's badge record shows them (and reading raw events, which
   day has a tap, gives the same days). ``taps`` counts kept taps.
4. **Direction.** ``reader``: the recorded direction is trusted; a tap without one counts
   for presence but neither opens nor closes a pair. ``alternating``: recorded directions
   are ignored; each local day's 1st kept tap is IN, 2nd OUT, 3rd IN ... (so with this mode
   a shift crossing midnight is read as two days).
5. **Pairs.** An OUT closes the open IN if it comes no more than ``max_pair_hours`` after
   it; a second IN replaces the open one (the earlier IN stays unmatched); an OUT with no
   open IN is ignored; a last IN with no OUT adds nothing. ``pairs`` hours are the sum of
   the pairs.
6. **Midnight.** A pair crossing local midnight is cut there: the IN's day gets the hours up
   to midnight, the next day the hours from midnight (in ``reader`` mode; ``max_pair_hours``
   is at most 24, so a pair touches at most two days).
7. **first_last.** The span from the day's first entry to its last exit, where entries are
   its IN taps (and midnight, when a pair carries in from the day before) and exits its OUT
   taps (and the next midnight, when a pair carries on into the next day). An OUT before
   the first entry is ignored; no exit after the first entry gives 0 hours.
8. **Presence.** A day is present by badge when it has at least one kept tap, even with 0
   hours. Hours are never negative, and never more than the length of the local day.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum

from dutystation.domain.vocabulary import Direction


class HoursConvention(StrEnum):
    FIRST_LAST = "first_last"  # span from the first IN to the last OUT
    PAIRS = "pairs"  # sum of valid IN -> OUT pairs


class DirectionMode(StrEnum):
    READER = "reader"  # trust the direction the reader recorded
    ALTERNATING = "alternating"  # readers that record none: 1st tap IN, 2nd OUT, ...


@dataclass(frozen=True)
class BadgeEvent:
    """One tap: office-local timestamp, recorded direction (if any), site."""

    at: datetime
    direction: Direction | None = None
    site: str | None = None


@dataclass(frozen=True)
class PresenceSettings:
    hours_convention: HoursConvention = HoursConvention.FIRST_LAST
    direction_mode: DirectionMode = DirectionMode.READER
    debounce_seconds: float = 60.0
    max_pair_hours: float = 16.0

    def __post_init__(self) -> None:
        if self.debounce_seconds < 0:
            raise ValueError("debounce_seconds cannot be negative")
        if not 0 < self.max_pair_hours <= 24:
            raise ValueError("max_pair_hours is more than 0 and at most 24")


DEFAULT_SETTINGS = PresenceSettings()


@dataclass(frozen=True)
class DayPresence:
    """One employee's presence on one office-local day. ``first_in`` and ``last_out`` are
    the day's first IN and last OUT taps (after debounce and direction rules), whatever the
    hours convention."""

    day: date
    first_in: datetime | None
    last_out: datetime | None
    hours_on_site: float
    taps: int
    present: bool


def _instant(at: datetime) -> datetime:
    # Aware times compare by their UTC instant (a same-zone comparison would ignore the
    # DST fold); naive times are wall-clock time.
    return at.astimezone(UTC) if at.tzinfo is not None else at


def _sort_key(event: BadgeEvent) -> tuple[datetime, bool, str, str]:
    return (_instant(event.at), event.direction is None, event.direction or "", event.site or "")


def _check_one_kind(events: list[BadgeEvent]) -> None:
    aware = {event.at.tzinfo is not None for event in events}
    if len(aware) > 1:
        raise ValueError("badge timestamps are either all naive local times or all aware")


def debounce(events: Iterable[BadgeEvent], seconds: float) -> list[BadgeEvent]:
    """The kept taps, sorted: rule 1 and rule 3 of the module docstring."""
    given = list(events)
    _check_one_kind(given)
    ordered = sorted(given, key=_sort_key)
    window = timedelta(seconds=seconds)
    kept: list[BadgeEvent] = []
    # Per day: taps at two offices' clocks can interleave the days of one employee.
    last_kept: dict[date, datetime] = {}
    for event in ordered:
        last = last_kept.get(event.at.date())
        if last is not None and _instant(event.at) - last <= window:
            continue
        kept.append(event)
        last_kept[event.at.date()] = _instant(event.at)
    return kept


def _directed(kept: list[BadgeEvent], mode: DirectionMode) -> list[BadgeEvent]:
    if mode is DirectionMode.READER:
        return kept
    out: list[BadgeEvent] = []
    position: dict[date, int] = {}
    for event in kept:
        n = position.get(event.at.date(), 0)
        position[event.at.date()] = n + 1
        direction = Direction.IN if n % 2 == 0 else Direction.OUT
        out.append(BadgeEvent(event.at, direction, event.site))
    return out


def _pairs(
    directed: list[BadgeEvent], settings: PresenceSettings
) -> list[tuple[datetime, datetime]]:
    limit = timedelta(hours=settings.max_pair_hours)
    per_day = settings.direction_mode is DirectionMode.ALTERNATING
    pairs: list[tuple[datetime, datetime]] = []
    open_in: datetime | None = None
    for event in directed:
        if per_day and open_in is not None and open_in.date() != event.at.date():
            open_in = None  # alternation restarts each day (rule 4)
        if event.direction is Direction.IN:
            open_in = event.at
        elif event.direction is Direction.OUT:
            if open_in is not None and _instant(event.at) - _instant(open_in) <= limit:
                pairs.append((open_in, event.at))
            open_in = None
    return pairs


def _midnight(day: date, like: datetime) -> datetime:
    return datetime.combine(day, time(0), tzinfo=like.tzinfo)


def _hours(start: datetime, end: datetime) -> float:
    return max(0.0, (_instant(end) - _instant(start)).total_seconds() / 3600)


@dataclass
class _Day:
    taps: int = 0
    first_in: datetime | None = None
    last_out: datetime | None = None
    pair_hours: float = 0.0
    carried_in: datetime | None = None  # midnight, when a pair carries in
    carried_out: datetime | None = None  # next midnight, when a pair carries on


def presence_by_day(
    events: Iterable[BadgeEvent], settings: PresenceSettings = DEFAULT_SETTINGS
) -> dict[date, DayPresence]:
    """Presence for every office-local day that has a tap in one employee's ``events``."""
    kept = debounce(events, settings.debounce_seconds)
    directed = _directed(kept, settings.direction_mode)
    days: dict[date, _Day] = {}
    for event in directed:
        acc = days.setdefault(event.at.date(), _Day())
        acc.taps += 1
        if event.direction is Direction.IN and acc.first_in is None:
            acc.first_in = event.at
        if event.direction is Direction.OUT:
            acc.last_out = event.at
    for start, end in _pairs(directed, settings):
        if start.date() == end.date():
            days[start.date()].pair_hours += _hours(start, end)
            continue
        cut = _midnight(end.date(), end)  # rule 6: the pair spans exactly one midnight
        days[start.date()].pair_hours += _hours(start, cut)
        days[start.date()].carried_out = cut
        days[end.date()].pair_hours += _hours(cut, end)
        days[end.date()].carried_in = cut
    return {day: _finish(day, acc, settings) for day, acc in sorted(days.items())}


def _finish(day: date, acc: _Day, settings: PresenceSettings) -> DayPresence:
    if settings.hours_convention is HoursConvention.PAIRS:
        hours = acc.pair_hours
    else:
        entry = acc.carried_in or acc.first_in
        exit_ = acc.carried_out or acc.last_out
        hours = _hours(entry, exit_) if entry is not None and exit_ is not None else 0.0
    return DayPresence(day, acc.first_in, acc.last_out, hours, acc.taps, acc.taps > 0)


def day_presence(
    events: Iterable[BadgeEvent], day: date, settings: PresenceSettings = DEFAULT_SETTINGS
) -> DayPresence:
    """Presence on ``day``. Events of other days may be passed: they matter only for a pair
    crossing midnight into or out of ``day`` (rule 6)."""
    found = presence_by_day(events, settings).get(day)
    return found or DayPresence(day, None, None, 0.0, 0, False)
