"""What happens to people during the window: who returns after the directive and when,
who does not (and why), moves between divisions, lost badges and badge numbers passed
on to new hires. Each attribute changes at most once, so "as of day d" is one
``np.where`` per attribute; the roster's effective-dated rows are read off these."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from dutystation.synthetic.offices import Offices, assign_seats
from dutystation.synthetic.org import Org
from dutystation.synthetic.people import (
    FUNCTION_NAMES,
    ONSITE,
    REMOTE,
    STAFF,
    SUPERVISOR,
    TELEWORK,
    People,
)
from dutystation.synthetic.spec import BARGAINING_UNITS, HYBRID_HOLDOUT_SHARE
from dutystation.synthetic.timeline import BASELINE, DIRECTIVE, Timeline

IntArray = npt.NDArray[np.int32]
NEVER = 1_000_000  # a window day index no window reaches

# What an employee who teleworked or worked remotely before the directive does after it.
MODE_NA = 0  # on site by the nature of the job: nothing to return from
MODE_FULL = 1  # returns full time on their return day (possibly after the window ends)
MODE_HYBRID = 2  # keeps the hybrid terms of their bargaining agreement
MODE_MEDICAL = 3  # switches to medical telework; documentation follows
MODE_SPACE = 4  # cannot return: their office has no seat for them
MODE_NONE = 5  # does not return and gives no reason
MODE_FAR = 6  # remote, lives more than 50 miles from any office: awaits designation
MODE_NAMES = ("n/a", "full", "hybrid", "medical", "space", "none", "far-remote")

MEDICAL_SHARE = 0.025
NO_REASON_SHARE = 0.03
MOVE_SHARE = 0.02
REPLACED_BADGE_SHARE = 0.006
# Remote staff need notice to relocate: they come back later than teleworkers.
REMOTE_EXTRA_LAG_DAYS = 14


@dataclass
class History:
    mode: IntArray
    return_day: IntArray  # window day the employee is back full time / switches mode
    move_day: IntArray
    leaf_after: IntArray
    supervisor_after: IntArray
    badge_day: IntArray
    badge_before: npt.NDArray[np.int64]
    badge_after: npt.NDArray[np.int64]
    change_day: IntArray  # arrangement / duty-station change on the roster
    arrangement_after: IntArray
    station_before: IntArray  # -1: no duty station (remote)
    station_after: IntArray
    seats: npt.NDArray[np.int64]
    demand: npt.NDArray[np.int64]

    def station_on(self, emp: IntArray, day: IntArray) -> IntArray:
        out: IntArray = np.where(
            day >= self.change_day[emp], self.station_after[emp], self.station_before[emp]
        ).astype(np.int32)
        return out

    def badge_on(self, emp: IntArray, day: IntArray) -> npt.NDArray[np.int64]:
        out: npt.NDArray[np.int64] = np.where(
            day >= self.badge_day[emp], self.badge_after[emp], self.badge_before[emp]
        )
        return out


def build_history(
    org: Org, offices: Offices, people: People, timeline: Timeline, rng: np.random.Generator
) -> History:
    n = people.n
    arr = people.arrangement
    d0 = timeline.index(DIRECTIVE)
    away = (arr == TELEWORK) | (arr == REMOTE)

    mode = np.where(away, MODE_FULL, MODE_NA).astype(np.int32)
    u = rng.random(n)
    mode[away & (u < MEDICAL_SHARE)] = MODE_MEDICAL
    mode[away & (u >= MEDICAL_SHARE) & (u < MEDICAL_SHARE + NO_REASON_SHARE)] = MODE_NONE
    hybrid_units = [b for b, unit in enumerate(BARGAINING_UNITS) if unit.hybrid_min_onsite_days]
    holdout = np.isin(people.bargaining_unit, hybrid_units) & (rng.random(n) < HYBRID_HOLDOUT_SHARE)
    mode[(mode == MODE_FULL) & holdout] = MODE_HYBRID
    mode[people.far_remote] = MODE_FAR

    # Offices are sized for everyone expected there after the directive: the tight ones
    # leave some returners without a seat.
    expected = mode != MODE_FAR
    demand = np.bincount(people.office[expected], minlength=len(offices)).astype(np.int64)
    seats = assign_seats(offices, demand, rng)
    for o in np.flatnonzero(demand > seats):
        movable = np.flatnonzero((people.office == o) & np.isin(mode, (MODE_FULL, MODE_HYBRID)))
        chosen = rng.permutation(movable)[: int(demand[o] - seats[o])]
        mode[chosen] = MODE_SPACE

    # Return day: the directive plus a component-specific lag (gamma, shape 2, so most come
    # back within weeks and a tail drags on), moved to the next Monday.
    median = np.array([c.return_lag_days for c in org.components])[people.component]
    lag = rng.gamma(2.0, median / 1.678) + np.where(arr == REMOTE, REMOTE_EXTRA_LAG_DAYS, 0)
    day = d0 + 2 + lag.astype(np.int32)  # nobody is back before OPM's guidance (d0 + 2)
    day = day + (7 - day % 7) % 7  # the window starts on a Monday: day % 7 == 0 is Monday
    has_day = np.isin(mode, (MODE_FULL, MODE_HYBRID, MODE_MEDICAL))
    return_day = np.where(has_day, day, NEVER).astype(np.int32)

    # The roster records a return (telework/remote -> onsite) on the return day; a remote
    # hybrid holdout becomes a teleworker with a duty station.
    station_before = np.where(arr == REMOTE, -1, people.office).astype(np.int32)
    changes = ((mode == MODE_FULL) | ((mode == MODE_HYBRID) & (arr == REMOTE))) & (
        return_day < timeline.n_days
    )
    change_day = np.where(changes, return_day, NEVER).astype(np.int32)
    arrangement_after = np.where(mode == MODE_FULL, ONSITE, TELEWORK).astype(np.int32)
    arrangement_after = np.where(changes, arrangement_after, arr).astype(np.int32)

    move_day, leaf_after, sup_after = _moves(org, people, timeline, rng)
    badge_day, badge_before, badge_after = _badges(people, timeline, rng)
    return History(
        mode=mode,
        return_day=return_day,
        move_day=move_day,
        leaf_after=leaf_after,
        supervisor_after=sup_after,
        badge_day=badge_day,
        badge_before=badge_before,
        badge_after=badge_after,
        change_day=change_day,
        arrangement_after=arrangement_after,
        station_before=station_before,
        station_after=people.office.copy(),
        seats=seats,
        demand=demand,
    )


def _workdays(timeline: Timeline, since: int = 0) -> npt.NDArray[np.int64]:
    """Window day indices of Monday-to-Friday non-holidays from ``since`` (which may be
    negative: before the window) to the window's end. The window starts on a Monday."""
    days = np.arange(since, timeline.n_days)
    return days[(days % 7 < 5) & ~np.isin(days, list(timeline.closures))]


def _moves(
    org: Org, people: People, timeline: Timeline, rng: np.random.Generator
) -> tuple[IntArray, IntArray, IntArray]:
    """A few staff move to a sibling unit doing the same job (e.g. between response
    branches or inspection districts), with a supervisor there."""
    n = people.n
    move_day = np.full(n, NEVER, dtype=np.int32)
    leaf_after = people.leaf.copy()
    sup_after = people.supervisor.copy()
    leaf_units = [org.units[u] for u in org.leaves]
    candidates = np.flatnonzero(
        (people.role == STAFF) & (np.arange(n) < people.n_baseline) & (rng.random(n) < MOVE_SHARE)
    )
    days = _workdays(timeline)
    bosses_of: list[npt.NDArray[np.int64]] = []
    for k in range(len(leaf_units)):
        bosses = np.flatnonzero((people.leaf == k) & (people.role != STAFF))
        if (people.role[bosses] == SUPERVISOR).any():
            bosses = bosses[people.role[bosses] == SUPERVISOR]
        bosses_of.append(bosses)
    for i in candidates:  # about 2 % of staff
        fn = FUNCTION_NAMES[people.function[i]]
        here = people.leaf[i]
        siblings = [
            k
            for k, unit in enumerate(leaf_units)
            if k != here and unit.component == leaf_units[here].component and fn in unit.functions
        ]
        if not siblings:
            continue
        target = siblings[int(rng.integers(len(siblings)))]
        move_day[i] = int(rng.choice(days))
        leaf_after[i] = target
        sup_after[i] = int(rng.choice(bosses_of[target]))
    return move_day, leaf_after, sup_after


def _badges(
    people: People, timeline: Timeline, rng: np.random.Generator
) -> tuple[IntArray, npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Some badges are replaced by a new number: lost ones (deactivated for good) and worn
    or damaged ones turned in, whose numbers go back into stock. Up to a quarter of the new
    hires get such a number, returned at least a week before they start."""
    n = people.n
    # Replacements since a week after the baseline, so some numbers are back in stock
    # before the new hires of the window arrive.
    days = _workdays(timeline, timeline.index(BASELINE) + 7)
    badge_before = people.badge.copy()
    badge_after = people.badge.copy()
    badge_day = np.full(n, NEVER, dtype=np.int32)
    replaced = np.flatnonzero(
        (np.arange(n) < people.n_baseline) & (rng.random(n) < REPLACED_BADGE_SHARE)
    )
    badge_day[replaced] = rng.choice(days, len(replaced))
    fresh = rng.choice(
        np.setdiff1d(np.arange(10_000_000, 10_100_000), people.badge), len(replaced), replace=False
    )
    badge_after[replaced] = fresh
    turned_in = replaced[rng.random(len(replaced)) < 0.5]
    returned = sorted(turned_in, key=lambda i: (badge_day[i], i))
    hires = np.flatnonzero(np.arange(n) >= people.n_baseline)
    for h in hires[: max(1, len(hires) // 4)]:
        for i in returned:
            if badge_day[i] <= people.hire_day[h] - 7:
                badge_before[h] = badge_after[h] = people.badge[i]
                returned.remove(i)
                break
    return badge_day, badge_before, badge_after
