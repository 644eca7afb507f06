"""The department's employees as of the roster baseline (plus the few hired during the
window): unit, job function, arrangement, schedule, duty station, supervisor, bargaining
unit, home ZIP, badge. One numpy array per attribute; no loop per employee."""

from __future__ import annotations

import math
import unicodedata
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from dutystation.domain.vocabulary import Arrangement, ScheduleKind
from dutystation.synthetic.geo import haversine_km, min_distance_km
from dutystation.synthetic.offices import CAMPUS, Offices
from dutystation.synthetic.org import Org
from dutystation.synthetic.spec import (
    BARGAINING_UNITS,
    JOB_FUNCTIONS,
    UNIT_COVERAGE,
)
from dutystation.synthetic.timeline import HIRING_FREEZE, Timeline

IntArray = npt.NDArray[np.int32]

ONSITE, FIELD_WORK, TELEWORK, REMOTE = range(4)
ARRANGEMENTS = (Arrangement.ONSITE, Arrangement.FIELD, Arrangement.TELEWORK, Arrangement.REMOTE)
STAFF, SUPERVISOR, HEAD = range(3)
SPAN_OF_CONTROL = 12
FUNCTION_NAMES = tuple(JOB_FUNCTIONS)

# Biweekly tours of duty as hours per pay-period day (day 0 = the first Sunday).
_ = 0.0
# fmt: off
SCHEDULES: tuple[tuple[ScheduleKind, tuple[float, ...]], ...] = (
    (ScheduleKind.FIVE_EIGHT, (_, 8, 8, 8, 8, 8, _, _, 8, 8, 8, 8, 8, _)),
    (ScheduleKind.FOUR_TEN, (_, 10, 10, 10, 10, _, _, _, 10, 10, 10, 10, _, _)),  # Mon-Thu
    (ScheduleKind.FOUR_TEN, (_, _, 10, 10, 10, 10, _, _, _, 10, 10, 10, 10, _)),  # Tue-Fri
    (ScheduleKind.FIVE_FOUR_NINE, (_, 9, 9, 9, 9, 8, _, _, 9, 9, 9, 9, _, _)),  # 2nd Fri off
    (ScheduleKind.FIVE_FOUR_NINE, (_, 9, 9, 9, 9, 8, _, _, _, 9, 9, 9, 9, _)),  # 2nd Mon off
)
# fmt: on
SCHEDULE_SHARES = (0.68, 0.08, 0.08, 0.08, 0.08)

# Given names for the obviously fictional "<given> Example-NNNNN"; a few carry accents so
# the files exercise UTF-8.
# fmt: off
GIVEN_NAMES = (
    "Avery", "Jordan", "Taylor", "Morgan", "Casey", "Riley", "Quinn", "Rowan", "Harper",
    "Emerson", "Finley", "Hayden", "Jamie", "Kendall", "Logan", "Parker", "Reese", "Sage",
    "Skyler", "Dakota", "Alexis", "Blair", "Cameron", "Drew", "Elliot", "Frankie", "Gray",
    "Jules", "Kai", "Lane", "Marlow", "Noel", "Oakley", "Peyton", "Remy", "Sidney",
    "Tatum", "Val", "Wren", "Zion", "Zoë", "José", "Renée", "Chloé", "Andrés", "Siân",
)
# fmt: on
EMAIL_DOMAIN = "dea.example"
HOME_RADIUS_KM = 60.0  # commuting distance: well inside 50 miles (80.5 km)
FAR_HOME_KM = 100.0  # "more than 50 miles from any office", with a margin for geodesics
FAR_REMOTE_SHARE = 0.45


@dataclass
class People:
    n_baseline: int  # employees 0..n_baseline-1 are on the baseline roster
    employee_id: list[str]
    name: list[str]
    email: list[str]
    leaf: IntArray  # index into Org.leaves
    component: IntArray
    function: IntArray  # index into FUNCTION_NAMES
    arrangement: IntArray  # ONSITE, FIELD_WORK, TELEWORK or REMOTE at the baseline
    schedule: IntArray  # index into SCHEDULES
    office: IntArray  # duty station, or for remote staff the office they would go to
    role: IntArray  # STAFF, SUPERVISOR or HEAD
    supervisor: IntArray  # employee index, -1 for the Secretary
    bargaining_unit: IntArray  # index into BARGAINING_UNITS, -1 for none
    home_zip: IntArray  # row in the ZIP table
    far_remote: npt.NDArray[np.bool_]
    hire_day: IntArray  # window day of entry on duty; a large negative for baseline staff
    start_minute: IntArray  # usual arrival, local minutes after midnight
    p_offsite: npt.NDArray[np.float64]  # telework staff: share of days off site before
    badge: npt.NDArray[np.int64]

    @property
    def n(self) -> int:
        return len(self.employee_id)


def allocate(total: int, weights: npt.ArrayLike, minimum: int = 0) -> npt.NDArray[np.int64]:
    """Split ``total`` into whole parts proportional to ``weights`` (largest remainder),
    each at least ``minimum``."""
    w = np.asarray(weights, dtype=np.float64)
    spare = total - minimum * len(w)
    raw = spare * w / w.sum()
    counts = np.floor(raw).astype(np.int64)
    order = np.argsort(-(raw - counts), kind="stable")
    counts[order[: spare - counts.sum()]] += 1
    out: npt.NDArray[np.int64] = counts + minimum
    return out


def build_people(
    org: Org, offices: Offices, timeline: Timeline, employees: int, rng: np.random.Generator
) -> People:
    n_hires = max(1, round(employees * 0.012))
    n_base = employees - n_hires
    comps = org.components
    leaf_comp = np.array([org.units[u].component for u in org.leaves], dtype=np.int32)
    leaf_w = np.array([org.units[u].weight for u in org.leaves])

    # Baseline staff: whole counts per component and unit, then shuffled so ids say nothing.
    base_leaf = []
    for c, n_c in enumerate(allocate(n_base, [s.share for s in comps])):
        mine = np.flatnonzero(leaf_comp == c)
        base_leaf.append(np.repeat(mine, allocate(int(n_c), leaf_w[mine], minimum=3)))
    leaf_base = rng.permutation(np.concatenate(base_leaf))
    hire_p = np.array([comps[c].share for c in leaf_comp]) * leaf_w
    hire_p /= hire_p.sum()
    leaf = np.concatenate([leaf_base, rng.choice(len(org.leaves), n_hires, p=hire_p)])
    leaf = leaf.astype(np.int32)
    component = leaf_comp[leaf]

    function = _functions(org, leaf, rng)
    arrangement = _arrangements(function, rng)
    role, supervisor = _supervisors(org, leaf, n_base, rng)
    # Executives are not fully remote; the Secretary works at headquarters.
    arrangement[(role == HEAD) & (arrangement == REMOTE)] = TELEWORK
    arrangement[supervisor == -1] = ONSITE
    office = _duty_stations(org, offices, component, function, role, rng)

    far = (arrangement == REMOTE) & (rng.random(employees) < FAR_REMOTE_SHARE)
    home = _homes(offices, office, far, rng)

    mondays = [
        i
        for i, d in enumerate(timeline.days)
        if d.weekday() == 0 and d < HIRING_FREEZE and i not in timeline.closures
    ]
    hire_day = np.full(employees, -10_000, dtype=np.int32)
    hire_day[n_base:] = np.sort(rng.choice(mondays, n_hires))

    mean = np.array([comps[c].telework_offsite for c in range(len(comps))])[component]
    conc = 12.0
    # Telework staff report to the duty station at least twice a pay period: at most 80 %.
    p_off = np.clip(rng.beta(mean * conc, (1 - mean) * conc), 0.1, 0.8)

    bu = np.full(employees, -1, dtype=np.int32)
    covered = (role == STAFF) & (rng.random(employees) < UNIT_COVERAGE)
    for b, unit in enumerate(BARGAINING_UNITS):
        in_comp = np.isin(
            component, [i for i, s in enumerate(comps) if s.suffix in unit.components]
        )
        in_fn = np.isin(function, [FUNCTION_NAMES.index(f) for f in unit.functions])
        bu[covered & in_comp & in_fn] = b

    width = max(5, len(str(employees)))
    given = rng.choice(len(GIVEN_NAMES), employees)
    ascii_given = [_ascii(g).lower() for g in GIVEN_NAMES]
    return People(
        n_baseline=n_base,
        employee_id=[f"{i + 1:08d}" for i in range(employees)],
        name=[f"{GIVEN_NAMES[g]} Example-{i + 1:0{width}d}" for i, g in enumerate(given)],
        email=[
            f"{ascii_given[g]}.example-{i + 1:0{width}d}@{EMAIL_DOMAIN}"
            for i, g in enumerate(given)
        ],
        leaf=leaf,
        component=component,
        function=function,
        arrangement=arrangement,
        schedule=rng.choice(len(SCHEDULES), employees, p=SCHEDULE_SHARES).astype(np.int32),
        office=office,
        role=role,
        supervisor=supervisor,
        bargaining_unit=bu,
        home_zip=home,
        far_remote=far,
        hire_day=hire_day,
        start_minute=(rng.integers(24, 39, employees) * 15).astype(np.int32),
        p_offsite=p_off,
        badge=rng.choice(90_000_000, size=employees, replace=False).astype(np.int64) + 10_000_000,
    )


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


def _functions(org: Org, leaf: IntArray, rng: np.random.Generator) -> IntArray:
    fn_table = [[FUNCTION_NAMES.index(f) for f in org.units[u].functions] for u in org.leaves]
    width = max(len(t) for t in fn_table)
    padded = np.array([t + [t[0]] * (width - len(t)) for t in fn_table], dtype=np.int32)
    counts = np.array([len(t) for t in fn_table])
    pick = (rng.random(len(leaf)) * counts[leaf]).astype(np.int64)
    out: IntArray = padded[leaf, pick]
    return out


def _arrangements(function: IntArray, rng: np.random.Generator) -> IntArray:
    cum = np.cumsum([JOB_FUNCTIONS[f].mix for f in FUNCTION_NAMES], axis=1)
    u = rng.random(len(function))[:, None]
    out: IntArray = np.minimum((u >= cum[function]).sum(axis=1), 3).astype(np.int32)
    return out


def _supervisors(
    org: Org, leaf: IntArray, n_base: int, rng: np.random.Generator
) -> tuple[IntArray, IntArray]:
    """A tree by construction: staff -> a supervisor of their unit -> the unit head ->
    the head of the nearest enclosing unit with a different head -> ... -> the Secretary."""
    n = len(leaf)
    role = np.full(n, STAFF, dtype=np.int32)
    sup = np.full(n, -1, dtype=np.int32)
    head_of_leaf: dict[int, int] = {}
    supervisors_of_leaf: dict[int, npt.NDArray[np.int64]] = {}
    for k, unit in enumerate(org.leaves):
        members = np.flatnonzero(leaf == k)
        base = rng.permutation(members[members < n_base])
        head = int(base[0])
        n_sup = math.ceil((len(base) - 1) / SPAN_OF_CONTROL) if len(base) > SPAN_OF_CONTROL else 0
        sups = base[1 : 1 + n_sup]
        rest = members[~np.isin(members, np.concatenate([[head], sups]))]
        role[head] = HEAD
        role[sups] = SUPERVISOR
        sup[sups] = head
        pool = sups if len(sups) else np.array([head])
        sup[rest] = pool[rng.integers(0, len(pool), len(rest))]
        head_of_leaf[unit] = head
        supervisors_of_leaf[k] = pool
    for unit, head in head_of_leaf.items():
        for ancestor in org.ancestors(unit):
            boss = head_of_leaf[org.first_leaf_under(ancestor)]
            if boss != head:
                sup[head] = boss
                break
    return role, sup


def _duty_stations(
    org: Org,
    offices: Offices,
    component: IntArray,
    function: IntArray,
    role: IntArray,
    rng: np.random.Generator,
) -> IntArray:
    """Field job functions work from regional and field offices; the rest from the
    campuses (heavily) and regional offices. Unit heads sit at their component's campus."""
    office = np.zeros(len(component), dtype=np.int32)
    kind = offices.kind
    for c, spec in enumerate(org.components):
        owned = offices.owned_by(c)
        field_fns = [FUNCTION_NAMES.index(f) for f in spec.field_office_functions]
        is_field = np.isin(function, field_fns)
        for flag, weights in ((True, (0.0, 3.0, 2.0)), (False, (25.0, 6.0, 0.0))):
            who = np.flatnonzero((component == c) & (is_field == flag))
            if len(who) == 0:
                continue
            w = np.where(owned, np.choose(kind, weights), 0.0)
            if w.sum() == 0:
                w = owned.astype(np.float64)
            office[who] = rng.choice(len(offices), len(who), p=w / w.sum())
        campus = np.flatnonzero(owned & (kind == CAMPUS))
        if len(campus):
            office[(component == c) & (role == HEAD)] = campus[0]
    return office


def _homes(
    offices: Offices, office: IntArray, far: npt.NDArray[np.bool_], rng: np.random.Generator
) -> IntArray:
    """Home ZIPs: within commuting distance of the duty station, or for the far-remote
    more than FAR_HOME_KM from every office."""
    z = offices.zips
    near_lists = [
        np.flatnonzero(haversine_km(z.lat, z.lon, la, lo) < HOME_RADIUS_KM)
        for la, lo in zip(offices.lat, offices.lon, strict=True)
    ]
    starts = np.cumsum([0] + [len(x) for x in near_lists])[:-1]
    counts = np.array([len(x) for x in near_lists])
    flat = np.concatenate(near_lists)
    pick = starts[office] + (rng.random(len(office)) * counts[office]).astype(np.int64)
    home: IntArray = flat[pick].astype(np.int32)
    far_zips = np.flatnonzero(min_distance_km(z.lat, z.lon, offices.lat, offices.lon) > FAR_HOME_KM)
    home[far] = rng.choice(far_zips, int(far.sum()))
    return home
