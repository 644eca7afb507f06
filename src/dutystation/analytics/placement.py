"""Capacity-aware designation: give each person an eligible office within their distance
limit, as many people as the free seats allow, with the least total distance; then explain
each choice. numpy throughout; the only per-person Python is formatting explanations.

The assignment is a min-cost flow (OR-Tools ``SimpleMinCostFlow``, network simplex in C++):
source -> person (capacity 1) -> office (capacity 1, cost = metres, rounded) -> sink
(capacity = the office's free seats). ``SolveMaxFlowWithMinCost`` first places as many
people as possible, then minimises the total distance among those placements. Arcs exist
only to eligible offices within the person's limit (at most ``max_candidates`` of them,
from the k-d tree in ``nearest``), so the graph is a few arcs per person, not all pairs.

With ``beyond_limit`` the people still unplaced are then designated, in rounds, to the
nearest eligible offices with seats left whatever the distance (OPM's rule for duty
stations far from every office); each round is again an optimal flow over the k nearest.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from ortools.graph.python import min_cost_flow

from dutystation.analytics.nearest import OfficeIndex
from dutystation.domain.designation import Rejection

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

# Codes of ``PlacementInput.reason``: 0 eligible, else 1 + the index in REJECTIONS.
REJECTIONS = tuple(Rejection)
ELIGIBLE = 0


def code(rejection: Rejection) -> int:
    return REJECTIONS.index(rejection) + 1


BEYOND_ROUNDS = 5
BEYOND_K = 16
EXPLAIN_K = 8


@dataclass(frozen=True)
class PlacementInput:
    """Offices are indexed 0..m-1, people 0..n-1, eligibility classes 0..c-1.
    ``reason[c, o]`` is ELIGIBLE or the code of why class c may not go to office o."""

    office_lat: FloatArray
    office_lon: FloatArray
    office_free: IntArray  # seats free for this plan, >= 0
    person_lat: FloatArray
    person_lon: FloatArray
    person_class: IntArray
    person_limit_m: FloatArray
    reason: npt.NDArray[np.int8]
    max_candidates: int = 64
    beyond_limit: bool = False


@dataclass
class Placement:
    office: IntArray  # chosen office, -1 unplaced
    metres: FloatArray  # exact distance to it, nan when unplaced
    within_count: IntArray  # eligible offices within the limit (capped at max_candidates)
    truncated: BoolArray  # more eligible offices within the limit than max_candidates
    used: IntArray  # seats taken per office
    beyond: BoolArray = field(default_factory=lambda: np.zeros(0, np.bool_))

    @property
    def placed(self) -> BoolArray:
        out: BoolArray = self.office >= 0
        return out


def _groups(reason: npt.NDArray[np.int8], classes: IntArray) -> list[tuple[IntArray, IntArray]]:
    """(offices eligible, people) per distinct eligibility pattern among the classes used:
    classes with the same eligible offices share one tree. People are split by one sort."""
    patterns: dict[bytes, int] = {}
    group_of_class = np.full(reason.shape[0], -1, np.int64)
    first_class: list[int] = []
    for c in np.unique(classes):
        key = np.packbits(reason[c] == ELIGIBLE).tobytes()
        if key not in patterns:
            patterns[key] = len(first_class)
            first_class.append(int(c))
        group_of_class[c] = patterns[key]
    group = group_of_class[classes]
    order = np.argsort(group, kind="stable")
    bounds = np.searchsorted(group[order], np.arange(len(first_class) + 1))
    return [
        (
            np.flatnonzero(reason[c] == ELIGIBLE).astype(np.int64),
            order[bounds[g] : bounds[g + 1]].astype(np.int64),
        )
        for g, c in enumerate(first_class)
    ]


def solve_flow(person: IntArray, office: IntArray, cost: IntArray, capacity: IntArray) -> IntArray:
    """Index into the arcs of the arc chosen for each distinct person (one arc per placed
    person; max flow first, then least cost). Returns the chosen arcs' indices."""
    if len(person) == 0:
        return np.zeros(0, np.int64)
    people, local = np.unique(person, return_inverse=True)
    p, m = len(people), len(capacity)
    source, sink = p + m, p + m + 1
    flow = min_cost_flow.SimpleMinCostFlow()
    flow.add_arcs_with_capacity_and_unit_cost(
        np.full(p, source), np.arange(p), np.ones(p, np.int64), np.zeros(p, np.int64)
    )
    first = flow.num_arcs()
    flow.add_arcs_with_capacity_and_unit_cost(
        local.astype(np.int64), p + office, np.ones(len(office), np.int64), cost
    )
    flow.add_arcs_with_capacity_and_unit_cost(
        p + np.arange(m), np.full(m, sink), capacity.astype(np.int64), np.zeros(m, np.int64)
    )
    flow.set_nodes_supplies(np.array([source, sink]), np.array([p, -p]))
    status = flow.solve_max_flow_with_min_cost()
    if status != flow.OPTIMAL:
        raise RuntimeError(f"the min-cost flow solver stopped with status {status}")
    flows = flow.flows(np.arange(first, first + len(office)))
    return np.flatnonzero(flows > 0).astype(np.int64)


def place(data: PlacementInput) -> Placement:
    n, m = len(data.person_lat), len(data.office_lat)
    office = np.full(n, -1, np.int64)
    metres = np.full(n, np.nan)
    within = np.zeros(n, np.int64)
    truncated = np.zeros(n, np.bool_)
    arcs_p, arcs_o, arcs_m = [], [], []
    for offices, people in _groups(data.reason, data.person_class):
        if len(offices) == 0 or len(people) == 0:
            continue
        index = OfficeIndex(data.office_lat[offices], data.office_lon[offices], ids=offices)
        found = index.within(
            data.person_lat[people],
            data.person_lon[people],
            data.person_limit_m[people],
            data.max_candidates,
        )
        hit = found.office >= 0
        within[people] = hit.sum(axis=1)
        truncated[people] = found.truncated
        rows, cols = np.nonzero(hit)
        arcs_p.append(people[rows])
        arcs_o.append(found.office[rows, cols])
        arcs_m.append(found.metres[rows, cols])
    if arcs_p:
        p, o, d = np.concatenate(arcs_p), np.concatenate(arcs_o), np.concatenate(arcs_m)
        chosen = solve_flow(p, o, np.rint(d).astype(np.int64), data.office_free)
        office[p[chosen]] = o[chosen]
        metres[p[chosen]] = d[chosen]
    used = np.bincount(office[office >= 0], minlength=m).astype(np.int64)
    result = Placement(office, metres, within, truncated, used, np.zeros(n, np.bool_))
    if data.beyond_limit:
        _place_beyond(data, result)
        result.beyond[:] = result.placed & (result.metres > data.person_limit_m)
    return result


def _place_beyond(data: PlacementInput, result: Placement) -> None:
    """Rounds of optimal flows over the nearest eligible offices with seats left, for the
    people the limit left unplaced."""
    for _ in range(BEYOND_ROUNDS):
        left = data.office_free - result.used
        todo = np.flatnonzero(result.office < 0)
        if len(todo) == 0 or not (left > 0).any():
            return
        arcs_p, arcs_o, arcs_m = [], [], []
        for offices, people in _groups(data.reason, data.person_class[todo]):
            offices = offices[left[offices] > 0]
            if len(offices) == 0:
                continue
            who = todo[people]
            index = OfficeIndex(data.office_lat[offices], data.office_lon[offices], ids=offices)
            found = index.nearest_k(data.person_lat[who], data.person_lon[who], BEYOND_K)
            rows, cols = np.nonzero(found.office >= 0)
            arcs_p.append(who[rows])
            arcs_o.append(found.office[rows, cols])
            arcs_m.append(found.metres[rows, cols])
        if not arcs_p:
            return
        p, o, d = np.concatenate(arcs_p), np.concatenate(arcs_o), np.concatenate(arcs_m)
        chosen = solve_flow(p, o, np.rint(d).astype(np.int64), np.maximum(left, 0))
        if len(chosen) == 0:
            return
        result.office[p[chosen]] = o[chosen]
        result.metres[p[chosen]] = d[chosen]
        result.used += np.bincount(o[chosen], minlength=len(left))


@dataclass(frozen=True)
class Explanation:
    """Per person, up to EXPLAIN_K other offices, nearest first: for the placed those
    nearer than the chosen one, for the unplaced the nearest ones. ``code`` is why each
    was not taken (a Rejection code); -1 / inf / 0 pad."""

    office: IntArray
    metres: FloatArray
    code: npt.NDArray[np.int8]


def explain(
    data: PlacementInput, result: Placement, index: OfficeIndex, k: int = EXPLAIN_K
) -> Explanation:
    """Why nearer offices were not chosen. ``index`` holds every office in the plan."""
    # The unplaced: every one of the k nearest; the placed: those nearer than the choice.
    cut = np.where(result.placed, result.metres, np.inf)
    found = index.nearest_k(data.person_lat, data.person_lon, k, cut)
    office, metres = found.office.copy(), found.metres.copy()
    real = office >= 0
    safe = np.where(real, office, 0)
    chosen = result.office[:, None]
    cut = cut[:, None]
    keep = real & (office != chosen) & (metres < cut)
    cls = data.person_class[:, None]
    codes = data.reason[cls, safe].astype(np.int8)
    eligible = codes == ELIGIBLE
    beyond = eligible & (metres > data.person_limit_m[:, None])
    codes[beyond] = code(Rejection.BEYOND_LIMIT)
    seats = eligible & ~beyond
    free = data.office_free[safe]
    codes[seats & (free <= 0)] = code(Rejection.NO_SEATS)
    full = seats & (free > 0) & (result.used[safe] >= free)
    codes[full] = code(Rejection.FULL)
    # Eligible, in reach, seats left: only possible past max_candidates or beyond-limit
    # rounds; say it was not a candidate rather than pretend it was full.
    codes[seats & (free > 0) & (result.used[safe] < free)] = code(Rejection.NOT_A_CANDIDATE)
    office[~keep], metres[~keep], codes[~keep] = -1, np.inf, 0
    order = np.argsort(~keep, axis=1, kind="stable")  # kept ones first, still by distance
    return Explanation(
        np.take_along_axis(office, order, axis=1),
        np.take_along_axis(metres, order, axis=1),
        np.take_along_axis(codes, order, axis=1),
    )


def nearest_eligible(data: PlacementInput, who: IntArray) -> tuple[IntArray, FloatArray]:
    """For the people ``who``: the nearest office their class may go to, whatever its
    distance or seats (-1 / inf when there is none): what the unplaced are told."""
    office = np.full(len(who), -1, np.int64)
    metres = np.full(len(who), np.inf)
    if len(who) == 0:
        return office, metres
    for offices, people in _groups(data.reason, data.person_class[who]):
        if len(offices) == 0:
            continue
        index = OfficeIndex(data.office_lat[offices], data.office_lon[offices], ids=offices)
        rows = who[people]
        office[people], metres[people] = index.nearest(data.person_lat[rows], data.person_lon[rows])
    return office, metres
