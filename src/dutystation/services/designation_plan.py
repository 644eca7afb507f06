"""Computing a designation plan from offices and staff (``designation_inputs``): who needs a
designation, which offices each may take (duties and job function), the capacity-aware
placement (``analytics.placement``) and the words that explain every row.

Who needs one: staff whose arrangement the binding distance rule lists (the directive's
``distance_rule.arrangements``, ``remote`` in OPM's order) and who have no applied
designation in force, when they have no agency office as duty station (a remote worker's
official worksite is their alternative worksite), or their duty station is farther from
home than the limit. Those whose need or placement cannot be judged (no usable home, a
duty station without coordinates, no job function on the roster while the rules require
one) are listed as ``excluded`` with the reason, never dropped.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from dutystation.analytics.geodesic_arrays import geodesic_metres_array
from dutystation.analytics.nearest import OfficeIndex
from dutystation.analytics.placement import (
    ELIGIBLE,
    REJECTIONS,
    Explanation,
    Placement,
    PlacementInput,
    code,
    explain,
    nearest_eligible,
    place,
)
from dutystation.domain.designation import (
    BeyondLimit,
    DesignationRules,
    Need,
    Rejection,
    keys_by_listed_unit,
    rule_text,
)
from dutystation.domain.geodesy import metres_to_miles
from dutystation.services.designation_inputs import OfficeSet, StaffSet

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

PLACED = "placed"
PLACED_BEYOND = "placed_beyond_limit"
UNPLACED = "unplaced"
EXCLUDED = "excluded"
NEED_UNKNOWN = "unknown"
NO_JOB_FUNCTION = "no_job_function"
STATION_NOT_LOCATED = "duty_station_without_coordinates"
EXPLAINED = 5  # rejected offices named per person


@dataclass
class Computed:
    offices: OfficeSet
    staff: StaffSet
    rules: DesignationRules
    who: IntArray  # staff rows that need a designation (or whose need is unknown)
    need: list[str]
    status: list[str]
    office: IntArray  # per row of ``who``: office index or -1
    metres: FloatArray
    rule: list[str]
    reason: list[str]
    rejected: list[str]
    nearest_agency: IntArray
    nearest_agency_m: FloatArray
    free_before: IntArray  # per office, >= 0
    used: IntArray  # per office

    @property
    def placed(self) -> BoolArray:
        out: BoolArray = self.office >= 0
        return out

    def total_metres(self) -> float:
        return float(np.nansum(np.where(self.placed, self.metres, 0.0)))

    def count(self, status: str) -> int:
        return sum(1 for s in self.status if s == status)

    def shortfall(self) -> int:
        """Unplaced because every eligible office in reach is full: the seats missing."""
        return sum(
            1
            for s, r in zip(self.status, self.reason, strict=True)
            if s == UNPLACED and r.startswith("full:")
        )


def home_to_station_m(staff: StaffSet, offices: OfficeSet) -> FloatArray:
    """Home to the roster's duty station, metres; nan where either is not located."""
    out = np.full(len(staff), np.nan)
    station = staff.duty_station
    ok = (station >= 0) & ~np.isnan(staff.lat)
    ok[ok] = offices.located[station[ok]]
    out[ok] = geodesic_metres_array(
        staff.lat[ok], staff.lon[ok], offices.lat[station[ok]], offices.lon[station[ok]]
    )
    return out


def nearest_agency_office(
    staff: StaffSet, offices: OfficeSet, rows: IntArray
) -> tuple[IntArray, FloatArray]:
    agency = np.flatnonzero(offices.agency)
    index = OfficeIndex(offices.lat[agency], offices.lon[agency], ids=agency)
    office = np.full(len(rows), -1, np.int64)
    metres = np.full(len(rows), np.nan)
    located = ~np.isnan(staff.lat[rows])
    found, found_m = index.nearest(staff.lat[rows][located], staff.lon[rows][located])
    office[located], metres[located] = found, np.where(found >= 0, found_m, np.nan)
    return office, metres


def _needs(
    staff: StaffSet, offices: OfficeSet, rules: DesignationRules
) -> tuple[IntArray, list[str], list[str]]:
    """Rows that need a designation, their need and, for the excluded, the reason."""
    station_m = home_to_station_m(staff, offices)
    station = staff.duty_station
    has_station = station >= 0
    station_located = np.zeros(len(staff), np.bool_)
    station_located[has_station] = offices.located[station[has_station]]
    home_ok = staff.home_problem == ""
    fine = has_station & station_located & home_ok & (station_m <= staff.limit_m)
    who = np.flatnonzero(staff.subject & (staff.designated < 0) & ~fine)
    need, excluded = [], []
    for i in who:
        if station[i] < 0:
            need.append(str(Need.NO_AGENCY_OFFICE))
        elif station_located[i] and home_ok[i]:
            need.append(str(Need.DUTY_STATION_BEYOND_LIMIT))
        else:
            need.append(NEED_UNKNOWN)
        if not home_ok[i]:
            excluded.append(str(staff.home_problem[i]))
        elif station[i] >= 0 and not station_located[i]:
            excluded.append(STATION_NOT_LOCATED)
        elif rules.require_job_function and not staff.job_function[i]:
            excluded.append(NO_JOB_FUNCTION)
        else:
            excluded.append("")
    return who, need, excluded


def _reason_matrix(
    offices: OfficeSet,
    keys: list[str],
    functions: list[str],
    rules: DesignationRules,
    chains: dict[str, tuple[str, ...]],
) -> npt.NDArray[np.int8]:
    """Per class (host key, job function) and office: ELIGIBLE or the code of why not."""
    by_unit = keys_by_listed_unit(chains, rules.host_level)
    key_index = {k: i for i, k in enumerate(sorted(set(keys)))}
    function_index = {f: i for i, f in enumerate(sorted(set(functions)))}
    m = len(offices.site_id)
    hosts = np.zeros((len(key_index), m), np.bool_)
    lists = np.zeros((len(function_index), m), np.bool_)
    for j in range(m):
        for unit in offices.org_units[j]:
            for key in by_unit.get(unit, ()):
                if key in key_index:
                    hosts[key_index[key], j] = True
        for name in offices.job_functions[j]:
            if name in function_index:
                lists[function_index[name], j] = True
    k = np.array([key_index[x] for x in keys], np.int64)
    f = np.array([function_index[x] for x in functions], np.int64)
    reason = np.zeros((len(keys), m), np.int8)
    if rules.require_job_function:
        reason[~lists[f]] = code(Rejection.JOB_FUNCTION_NOT_LISTED)
    reason[~hosts[k]] = code(Rejection.WRONG_COMPONENT)
    no_seats = np.broadcast_to(offices.seats == 0, reason.shape)
    reason[(reason == ELIGIBLE) & no_seats] = code(Rejection.NO_SEATS)
    reason[:, offices.closed] = code(Rejection.CLOSED)
    reason[:, ~offices.located] = code(Rejection.NOT_A_CANDIDATE)
    return reason


def compute(
    offices: OfficeSet,
    staff: StaffSet,
    rules: DesignationRules,
    chains: dict[str, tuple[str, ...]],
) -> Computed:
    who, need, excluded = _needs(staff, offices, rules)
    n = len(who)
    status = [EXCLUDED if e else "" for e in excluded]
    reason = list(excluded)
    office = np.full(n, -1, np.int64)
    metres = np.full(n, np.nan)
    rule = [""] * n
    rejected = [""] * n
    free = np.where(offices.located & ~offices.closed, np.maximum(offices.free, 0), 0)
    used = np.zeros(len(offices.site_id), np.int64)
    near, near_m = nearest_agency_office(staff, offices, who)
    todo = np.array([i for i in range(n) if not excluded[i]], np.int64)
    if len(todo):
        rows = who[todo]
        classes = [(staff.host_key[r], staff.job_function[r] or "") for r in rows]
        distinct = sorted(set(classes))
        class_of = {c: i for i, c in enumerate(distinct)}
        data = PlacementInput(
            office_lat=offices.lat,
            office_lon=offices.lon,
            office_free=free,
            person_lat=staff.lat[rows],
            person_lon=staff.lon[rows],
            person_class=np.array([class_of[c] for c in classes], np.int64),
            person_limit_m=staff.limit_m[rows],
            reason=_reason_matrix(
                offices, [c[0] for c in distinct], [c[1] for c in distinct], rules, chains
            ),
            max_candidates=rules.max_candidates,
            beyond_limit=rules.beyond_limit is BeyondLimit.DESIGNATE,
        )
        result = place(data)
        located = np.flatnonzero(offices.located)
        why = explain(
            data, result, OfficeIndex(offices.lat[located], offices.lon[located], ids=located)
        )
        used = result.used
        office[todo], metres[todo] = result.office, result.metres
        unplaced = np.flatnonzero(~result.placed)
        best, best_m = nearest_eligible(data, unplaced)
        nearest_of = dict(
            zip(unplaced.tolist(), zip(best.tolist(), best_m.tolist(), strict=True), strict=True)
        )
        _words(
            offices,
            staff,
            data,
            result,
            why,
            nearest_of,
            todo,
            rows,
            status,
            rule,
            reason,
            rejected,
            rules.require_job_function,
        )
    return Computed(
        offices,
        staff,
        rules,
        who,
        need,
        status,
        office,
        metres,
        rule,
        reason,
        rejected,
        near,
        near_m,
        free,
        used,
    )


def _miles(metres: float) -> str:
    return f"{metres_to_miles(metres):.1f} mi"


def _words(
    offices: OfficeSet,
    staff: StaffSet,
    data: PlacementInput,
    result: Placement,
    why: Explanation,
    nearest_of: dict[int, tuple[int, float]],
    todo: IntArray,
    rows: IntArray,
    status: list[str],
    rule: list[str],
    reason: list[str],
    rejected: list[str],
    listed: bool,
) -> None:
    """The per-person texts: the rule matched, the nearer offices rejected and why, and
    for the unplaced the reason. The only per-person Python loop (string formatting)."""
    names = [str(r) for r in REJECTIONS]
    for j, (t, r) in enumerate(zip(todo.tolist(), rows.tolist(), strict=True)):
        limit_miles = metres_to_miles(float(staff.limit_m[r]))
        parts: list[str] = []
        for o, m, c in zip(why.office[j], why.metres[j], why.code[j], strict=True):
            if o < 0 or len(parts) == EXPLAINED:
                break
            parts.append(f"{offices.site_id[o]} {_miles(float(m))}: {names[int(c) - 1]}")
        rejected[t] = "; ".join(parts)
        chosen = int(result.office[j])
        if chosen >= 0:
            status[t] = PLACED_BEYOND if result.beyond[j] else PLACED
            function = staff.job_function[r] if listed else None
            rule[t] = rule_text(
                staff.host_key[r],
                function,
                metres_to_miles(float(result.metres[j])),
                limit_miles,
            )
            continue
        status[t] = UNPLACED
        count = int(result.within_count[j])
        if count:
            reason[t] = (
                f"full: the {count} eligible office(s) within {limit_miles:g} mi have no "
                "free seat left"
            )
        else:
            near, near_m = nearest_of.get(j, (-1, np.inf))
            where = (
                f"; nearest eligible: {offices.site_id[near]} at {_miles(near_m)}"
                if near >= 0
                else "; no office hosts their component and job function"
            )
            reason[t] = f"no eligible office within {limit_miles:g} mi{where}"
        if result.truncated[j]:
            reason[t] += f" (only the nearest {data.max_candidates} were considered)"
