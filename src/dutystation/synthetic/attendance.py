"""T&A hours: one cell per employee and scheduled workday, each with an agency pay code,
drawn with numpy in one pass over all cells (no loop per employee or day).

Before the directive each component's share of hours worked off site is calibrated to
the department memo's figures (DESIGN.md §7); after it people come back on their own
return days, some gradually, some not at all."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from dutystation.synthetic.history import (
    MODE_FULL,
    MODE_HYBRID,
    MODE_MEDICAL,
    History,
)
from dutystation.synthetic.people import FIELD_WORK, ONSITE, REMOTE, SCHEDULES, TELEWORK, People
from dutystation.synthetic.spec import BARGAINING_UNITS, COMPONENTS
from dutystation.synthetic.timeline import DIRECTIVE, Timeline

# Agency pay codes of the T&A extract; profiles/time-and-attendance.toml maps them.
PAY_CODES = ("REG", "TWR", "TWS", "TWM", "RWK", "TVL", "FLD", "AL", "SL", "LWOP", "ADM", "HOL")
REG, TWR, TWS, TWM, RWK, TVL, FLD, AL, SL, LWOP, ADM, HOL = range(12)
WORKED = np.array([REG, TWR, TWS, TWM, RWK, TVL, FLD], dtype=np.int8)
OFFSITE = np.array([TWR, TWS, TWM, RWK], dtype=np.int8)

SITUATIONAL_SHARE = 0.015  # on-site staff's weather/repair/child-care days
FIELD_DAY_SHARE, TRAVEL_DAY_SHARE = 0.55, 0.05
SITUATIONAL_OF_OFFSITE = 0.12  # of a teleworker's off-site days, the unplanned ones
LEAVE_SHARE = 0.05
PARTIAL_LEAVE_SHARE = 0.03


@dataclass
class Cells:
    emp: npt.NDArray[np.int32]
    day: npt.NDArray[np.int32]
    code: npt.NDArray[np.int8]
    hours: npt.NDArray[np.float32]  # scheduled hours of the day
    leave_hours: npt.NDArray[np.float32]  # part of the day taken as leave (partial days)
    leave_code: npt.NDArray[np.int8]

    def __len__(self) -> int:
        return len(self.emp)

    @property
    def worked(self) -> npt.NDArray[np.float32]:
        out: npt.NDArray[np.float32] = np.where(
            np.isin(self.code, WORKED), self.hours - self.leave_hours, np.float32(0)
        ).astype(np.float32)
        return out


def offsite_share(
    cells: Cells, component: npt.NDArray[np.int32], mask: npt.NDArray[np.bool_], n_components: int
) -> npt.NDArray[np.float64]:
    """Per component: hours worked off site / hours worked (leave and holidays excluded;
    field work and travel count as at the duty station, DESIGN.md §5)."""
    worked = cells.worked.astype(np.float64) * mask
    comp = component[cells.emp]
    off = np.bincount(comp, worked * np.isin(cells.code, OFFSITE), n_components)
    total = np.bincount(comp, worked, n_components)
    out: npt.NDArray[np.float64] = np.divide(
        off, total, out=np.zeros(n_components), where=total > 0
    )
    return out


def leave_probability(timeline: Timeline) -> npt.NDArray[np.float64]:
    p = np.full(timeline.n_days, LEAVE_SHARE)
    for i, d in enumerate(timeline.days):
        if d.month == 11 and d.day == 29:  # the Friday after Thanksgiving
            p[i] = 0.35
        elif (d.month == 12 and d.day >= 23) or (d.month == 1 and d.day <= 3):
            p[i] = 0.22  # the holiday season
    return p


def build_cells(
    people: People, history: History, timeline: Timeline, rng: np.random.Generator
) -> Cells:
    d0 = timeline.index(DIRECTIVE)
    templates = np.array([h for _, h in SCHEDULES], dtype=np.float32)
    grid = templates[people.schedule][:, timeline.pay_period_day]
    grid[np.arange(timeline.n_days)[None, :] < people.hire_day[:, None]] = 0
    emp64, day64 = np.nonzero(grid)
    hours = grid[emp64, day64]
    emp, day = emp64.astype(np.int32), day64.astype(np.int32)
    del grid
    n = len(emp)

    arr = people.arrangement[emp]
    mode = history.mode[emp]
    ret = history.return_day[emp]
    back = day >= ret
    u, v = rng.random(n), rng.random(n)
    code = np.full(n, REG, dtype=np.int8)

    code[(arr == ONSITE) & (u < SITUATIONAL_SHARE)] = TWS
    fld = arr == FIELD_WORK
    code[fld & (u < FIELD_DAY_SHARE)] = FLD
    code[fld & (u >= FIELD_DAY_SHARE) & (u < FIELD_DAY_SHARE + TRAVEL_DAY_SHARE)] = TVL
    code[fld & (u >= 0.99)] = TWS

    # Teleworkers before their return: their usual share of days off site, fading
    # towards half of it between the directive and the day they are back full time.
    p = people.p_offsite[emp]
    fading = (day >= d0) & ~back & np.isin(mode, (MODE_FULL, MODE_HYBRID))
    span = np.maximum(ret - d0, 1).astype(np.float64)
    p_away = np.where(fading, p * (1 - 0.5 * np.clip((day - d0) / span, 0, 1)), p)
    # After it: full returners telework only situationally; agreement holdouts keep at
    # least the agreement's minimum on-site days per pay period.
    min_days = np.array([b.hybrid_min_onsite_days or 10 for b in BARGAINING_UNITS] + [10])
    cap = 1 - min_days[people.bargaining_unit][emp] / 10
    p_back = np.where(
        mode == MODE_HYBRID, np.where(arr == REMOTE, cap, np.minimum(p, cap)), SITUATIONAL_SHARE
    )

    tele = arr == TELEWORK
    rem = arr == REMOTE
    off_before = (tele & ~back) & (u < p_away)
    code[off_before] = np.where(v[off_before] < SITUATIONAL_OF_OFFSITE, TWS, TWR)
    code[rem & ~back] = RWK
    off_after = (tele | rem) & back & (u < p_back)
    code[off_after] = np.where(mode[off_after] == MODE_HYBRID, TWR, TWS)
    code[back & (mode == MODE_MEDICAL)] = TWM

    leave = rng.random(n) < leave_probability(timeline)[day]
    w = rng.random(n)
    code[leave] = np.select([w[leave] < 0.7, w[leave] < 0.98], [AL, SL], LWOP)
    for index, (_name, statutory) in timeline.closures.items():
        code[day == index] = HOL if statutory else ADM

    # Part of some worked days taken as leave: a second T&A row for the same day.
    partial = np.isin(code, WORKED) & (rng.random(n) < PARTIAL_LEAVE_SHARE)
    leave_hours = np.zeros(n, dtype=np.float32)
    leave_hours[partial] = np.where(rng.random(int(partial.sum())) < 0.75, 2, 4)
    leave_code = np.full(n, -1, dtype=np.int8)
    leave_code[partial] = np.where(rng.random(int(partial.sum())) < 0.5, SL, AL)

    cells = Cells(emp, day, code, hours, leave_hours, leave_code)
    calibrate(cells, people, d0, rng)
    return cells


def calibrate(cells: Cells, people: People, d0: int, rng: np.random.Generator) -> None:
    """Move routine-telework days to on-site days (or back) among a memo component's
    teleworkers before the directive until its off-site share of hours is the memo's
    figure: exact to within one day's hours, whatever the seed or size."""
    pre = cells.day < d0
    worked = cells.worked.astype(np.float64)
    comp = people.component[cells.emp]
    tele = people.arrangement[cells.emp] == TELEWORK
    for c, spec in enumerate(COMPONENTS):
        if spec.memo_offsite is None:
            continue
        mine = pre & (comp == c)
        total = worked[mine].sum()
        excess = worked[mine & np.isin(cells.code, OFFSITE)].sum() - spec.memo_offsite * total
        source, target = (TWR, REG) if excess > 0 else (REG, TWR)
        candidates = rng.permutation(np.flatnonzero(mine & tele & (cells.code == source)))
        reach = np.cumsum(worked[candidates])
        k = int(np.searchsorted(reach, abs(excess)))
        cells.code[candidates[: k + 1 if k < len(candidates) else k]] = target


def timecard_rows(
    cells: Cells,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int8], npt.NDArray[np.float32]]:
    """T&A rows in the extract's order (employee, day, main row first): the cell index,
    pay code and hours of each row; a partial day adds its leave row after the main one."""
    n = len(cells)
    extra = np.flatnonzero(cells.leave_code >= 0)
    index = np.concatenate([np.arange(n), extra])
    code = np.concatenate([cells.code, cells.leave_code[extra]])
    main_hours = np.where(np.isin(cells.code, WORKED), cells.hours - cells.leave_hours, cells.hours)
    hours = np.concatenate([main_hours, cells.leave_hours[extra]]).astype(np.float32)
    order = np.lexsort((np.r_[np.zeros(n, np.int8), np.ones(len(extra), np.int8)], index))
    return index[order], code[order], hours[order]
