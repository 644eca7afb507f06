"""The capacity-aware placement: never more people than free seats, as many placed as
possible with the least total distance (checked against a linear program), and every
choice explained with the nearer offices it passed over."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from dutystation.analytics.nearest import OfficeIndex
from dutystation.analytics.placement import (
    REJECTIONS,
    PlacementInput,
    code,
    explain,
    nearest_eligible,
    place,
)
from dutystation.domain.designation import Rejection
from dutystation.domain.geodesy import destination, geodesic_metres, miles_to_metres

HOME = (39.0, -95.0)
LIMIT = miles_to_metres(50)


def _random_case(seed: int, n_people: int, n_offices: int, n_classes: int) -> PlacementInput:
    rng = np.random.default_rng(seed)
    return PlacementInput(
        office_lat=rng.uniform(38.0, 40.0, n_offices),
        office_lon=rng.uniform(-96.5, -93.5, n_offices),
        office_free=rng.integers(0, 4, n_offices),
        person_lat=rng.uniform(38.0, 40.0, n_people),
        person_lon=rng.uniform(-96.5, -93.5, n_people),
        person_class=rng.integers(0, n_classes, n_people),
        person_limit_m=np.full(n_people, LIMIT),
        reason=np.where(rng.random((n_classes, n_offices)) < 0.7, 0, 1).astype(np.int8),
        max_candidates=n_offices,
    )


def _lp_optimum(data: PlacementInput) -> tuple[int, float]:
    """Most people placed, then least total metres, by linear programming over every
    eligible pair within the limit (a transportation problem: the LP optimum is integral)."""
    pairs = [
        (
            p,
            o,
            geodesic_metres(
                data.person_lat[p], data.person_lon[p], data.office_lat[o], data.office_lon[o]
            ),
        )
        for p in range(len(data.person_lat))
        for o in range(len(data.office_lat))
        if data.reason[data.person_class[p], o] == 0
    ]
    pairs = [x for x in pairs if x[2] <= data.person_limit_m[x[0]]]
    if not pairs:
        return 0, 0.0
    n, m = len(data.person_lat), len(data.office_lat)
    a = np.zeros((n + m, len(pairs)))
    for j, (p, o, _) in enumerate(pairs):
        a[p, j] = a[n + o, j] = 1
    bounds = np.concatenate([np.ones(n), data.office_free])
    most = linprog(-np.ones(len(pairs)), A_ub=a, b_ub=bounds, bounds=(0, 1), method="highs")
    count = round(-most.fun)
    cost = np.array([x[2] for x in pairs])
    least = linprog(
        cost,
        A_ub=a,
        b_ub=bounds,
        A_eq=np.ones((1, len(pairs))),
        b_eq=[count],
        bounds=(0, 1),
        method="highs",
    )
    return count, float(least.fun)


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 30), st.integers(1, 12), st.integers(1, 3))
def test_a_plan_fills_no_office_beyond_its_free_seats_and_is_optimal(
    seed: int, n_people: int, n_offices: int, n_classes: int
) -> None:
    data = _random_case(seed, n_people, n_offices, n_classes)
    result = place(data)
    assert np.all(result.used <= data.office_free)
    chosen = result.office[result.placed]
    assert np.all(data.reason[data.person_class[result.placed], chosen] == 0)
    assert np.all(result.metres[result.placed] <= LIMIT)
    count, metres = _lp_optimum(data)
    assert result.placed.sum() == count
    # Costs are whole metres in the solver: at most half a metre off per person.
    assert np.nansum(result.metres) == pytest.approx(metres, abs=0.5 * n_people + 1e-6)


def _office_at(miles: float, bearing: float = 90.0) -> tuple[float, float]:
    return destination(HOME[0], HOME[1], bearing, miles_to_metres(miles))


def _case(
    offices: list[tuple[float, float]], free: list[int], reason: list[list[int]], people: int = 1
) -> PlacementInput:
    return PlacementInput(
        office_lat=np.array([o[0] for o in offices]),
        office_lon=np.array([o[1] for o in offices]),
        office_free=np.array(free),
        person_lat=np.full(people, HOME[0]),
        person_lon=np.full(people, HOME[1]),
        person_class=np.zeros(people, np.int64),
        person_limit_m=np.full(people, LIMIT),
        reason=np.array(reason, np.int8),
    )


def test_each_choice_names_the_nearer_offices_passed_over_and_why() -> None:
    offices = [_office_at(m) for m in (2, 4, 6, 8, 12)]
    wrong, function = code(Rejection.WRONG_COMPONENT), code(Rejection.JOB_FUNCTION_NOT_LISTED)
    # Two people at the same home: the nearer takes the one seat at 6 mi, the other goes on.
    data = _case(offices, [5, 5, 1, 0, 5], [[wrong, function, 0, 0, 0]], people=2)
    result = place(data)
    assert sorted(result.office.tolist()) == [2, 4]
    why = explain(data, result, OfficeIndex(data.office_lat, data.office_lon))
    second = int(np.flatnonzero(result.office == 4)[0])
    named = [
        (int(o), str(REJECTIONS[c - 1]))
        for o, c in zip(why.office[second], why.code[second], strict=True)
        if o >= 0
    ]
    assert named == [
        (0, "wrong component"),
        (1, "job function not listed"),
        (2, "full"),
        (3, "no seats"),
    ]


def test_someone_with_no_eligible_office_within_the_limit_is_left_unplaced_with_the_nearest() -> (
    None
):
    data = _case([_office_at(30), _office_at(60)], [5, 5], [[code(Rejection.WRONG_COMPONENT), 0]])
    result = place(data)
    assert result.office.tolist() == [-1] and result.within_count.tolist() == [0]
    office, metres = nearest_eligible(data, np.array([0]))
    assert office.tolist() == [1] and metres[0] == pytest.approx(miles_to_metres(60), abs=1e-3)
    why = explain(data, result, OfficeIndex(data.office_lat, data.office_lon))
    codes = [
        str(REJECTIONS[c - 1]) for o, c in zip(why.office[0], why.code[0], strict=True) if o >= 0
    ]
    assert codes == ["wrong component", "beyond limit"]


def test_with_beyond_limit_designation_the_far_are_placed_at_the_nearest_with_seats() -> None:
    offices = [_office_at(60), _office_at(70, 180.0), _office_at(90)]
    data = _case(offices, [1, 1, 5], [[0, 0, 0]], people=3)
    data = PlacementInput(**{**data.__dict__, "beyond_limit": True})
    result = place(data)
    assert sorted(result.office.tolist()) == [0, 1, 2]
    assert result.beyond.all()
    assert result.used.tolist() == [1, 1, 1]
