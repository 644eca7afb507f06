"""Badge reads derived from the T&A cells, with the discrepancies real evidence has:
on-site days without a swipe (forgotten badge, tailgating), swipes on telework days
(a short visit), missing exits, duplicate reads. Local office times are converted to UTC
per (time zone, day) with zoneinfo, then applied to all events at once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

from dutystation.synthetic.attendance import FLD, REG, TWM, TWR, TWS, Cells
from dutystation.synthetic.history import History
from dutystation.synthetic.offices import Offices
from dutystation.synthetic.people import People
from dutystation.synthetic.timeline import Timeline

MISSING_BADGE_SHARE = 0.02  # on-site T&A days with no swipe at all
TELEWORK_VISIT_SHARE = 0.006  # telework days with a swipe: a short visit to the office
FIELD_PICKUP_SHARE = 0.2  # field days starting at the office (vehicle, equipment)
MISSING_EXIT_SHARE = 0.03
LUNCH_OUT_SHARE = 0.2
EXACT_DUPLICATE_SHARE = 0.01  # the same read exported twice
REREAD_SHARE = 0.005  # the reader fires again a second or three later

IN, OUT = 0, 1


# Badge number, reader and direction packed in one int64, so sorting millions of events by
# time moves one array instead of three: badge << 16 | reader << 2 | direction.
_READER_BITS, _DIRECTION_BITS = 14, 2


@dataclass
class BadgeEvents:
    utc: npt.NDArray[np.int64]  # seconds since 1970-01-01 UTC
    packed: npt.NDArray[np.int64]

    def __len__(self) -> int:
        return len(self.utc)

    @property
    def badge(self) -> npt.NDArray[np.int64]:
        out: npt.NDArray[np.int64] = self.packed >> (_READER_BITS + _DIRECTION_BITS)
        return out

    @property
    def reader(self) -> npt.NDArray[np.int64]:
        """Index into the offices' readers, flattened in office order."""
        out: npt.NDArray[np.int64] = (self.packed >> _DIRECTION_BITS) & ((1 << _READER_BITS) - 1)
        return out

    @property
    def direction(self) -> npt.NDArray[np.int64]:
        """IN, OUT, or 2 for a reader that records no direction."""
        out: npt.NDArray[np.int64] = self.packed & ((1 << _DIRECTION_BITS) - 1)
        return out


def utc_offsets(offices: Offices, timeline: Timeline) -> npt.NDArray[np.int64]:
    """Seconds east of UTC per office and window day, taken at local noon: office hours
    (05:00-21:00) never touch the 02:00 DST switch, so noon's offset holds all day."""
    zones = sorted(set(offices.timezone.tolist()))
    per_zone = np.zeros((len(zones), timeline.n_days), dtype=np.int64)
    for z, name in enumerate(zones):
        zone = ZoneInfo(name)
        for d, day in enumerate(timeline.days):
            offset = datetime.combine(day, time(12), tzinfo=zone).utcoffset()
            per_zone[z, d] = int(offset.total_seconds()) if offset is not None else 0
    zone_index = np.searchsorted(np.array(zones), offices.timezone)
    out: npt.NDArray[np.int64] = per_zone[zone_index]
    return out


def build_badge_events(
    cells: Cells,
    people: People,
    history: History,
    offices: Offices,
    timeline: Timeline,
    rng: np.random.Generator,
) -> BadgeEvents:
    n = len(cells)
    u = rng.random(n)
    station = history.station_on(cells.emp, cells.day)
    full_day = (cells.code == REG) & (u >= MISSING_BADGE_SHARE)
    pickup = (cells.code == FLD) & (u < FIELD_PICKUP_SHARE)
    visit = np.isin(cells.code, (TWR, TWS, TWM)) & (u < TELEWORK_VISIT_SHARE) & (station >= 0)
    if (full_day & (station < 0)).any():
        raise AssertionError("an on-site day without a duty station")
    visits = np.flatnonzero(full_day | pickup | visit)
    emp, day, site = cells.emp[visits], cells.day[visits], station[visits]
    m = len(visits)

    # Local seconds after midnight.
    noise = rng.normal(0, 600, m)
    arrive = people.start_minute[emp] * 60 + noise
    worked = (cells.hours - cells.leave_hours)[visits] * 3600
    leave_at = arrive + worked + 1800 + rng.normal(0, 480, m)
    short = ~full_day[visits]
    is_visit = visit[visits]
    arrive = np.where(is_visit, rng.uniform(10, 14, m) * 3600, arrive)
    leave_at = np.where(
        short,
        arrive + np.where(is_visit, rng.uniform(1, 3, m) * 3600, rng.uniform(1200, 2400, m)),
        leave_at,
    )
    lunch = ~short & (rng.random(m) < LUNCH_OUT_SHARE)
    lunch_out = arrive + rng.uniform(4, 5, m) * 3600
    lunch_in = lunch_out + rng.uniform(20, 50, m) * 60
    has_exit = rng.random(m) >= MISSING_EXIT_SHARE

    parts = [
        (np.ones(m, bool), arrive, IN),
        (lunch, lunch_out, OUT),
        (lunch, lunch_in, IN),
        (has_exit, leave_at, OUT),
    ]
    which = np.concatenate([np.flatnonzero(mask) for mask, _, _ in parts])
    local = np.concatenate([secs[mask] for mask, secs, _ in parts]).astype(np.int64)
    direction = np.concatenate([np.full(int(mask.sum()), d, np.int8) for mask, _, d in parts])

    e_emp, e_day, e_site = emp[which], day[which], site[which]
    offsets = utc_offsets(offices, timeline)
    utc = timeline.epoch_seconds[e_day] + local - offsets[e_site, e_day]

    n_readers = np.array([len(r) for r in offices.readers])
    first_reader = np.cumsum(np.r_[0, n_readers[:-1]])
    reader = (first_reader[e_site] + (rng.random(len(which)) * n_readers[e_site])).astype(np.int32)
    direction = np.where(offices.directional[e_site], direction, 2)
    if reader.max(initial=0) >= 1 << _READER_BITS:
        raise AssertionError("too many badge readers to pack")
    packed = (
        history.badge_on(e_emp, e_day) << (_READER_BITS + _DIRECTION_BITS)
        | reader.astype(np.int64) << _DIRECTION_BITS
        | direction.astype(np.int64)
    )
    return _with_duplicates(BadgeEvents(utc, packed), rng)


def _with_duplicates(ev: BadgeEvents, rng: np.random.Generator) -> BadgeEvents:
    k = len(ev)
    r = rng.random(k)
    exact = np.flatnonzero(r < EXACT_DUPLICATE_SHARE)
    reread = np.flatnonzero(
        (r >= EXACT_DUPLICATE_SHARE) & (r < EXACT_DUPLICATE_SHARE + REREAD_SHARE)
    )
    idx = np.concatenate([np.arange(k), exact, reread])
    shift = np.concatenate([np.zeros(k + len(exact), np.int64), rng.integers(1, 4, len(reread))])
    utc = ev.utc[idx] + shift
    # Time order, as exports come; the row number breaks ties so the order (and the
    # file's bytes) cannot depend on the sort algorithm numpy picks on this CPU.
    bits = max(1, len(idx)).bit_length()
    order = np.argsort((utc << bits) | np.arange(len(idx), dtype=np.int64))
    return BadgeEvents(utc[order], ev.packed[idx[order]])
