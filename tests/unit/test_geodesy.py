"""Distances for the 50-mile rule: the vectorised WGS84 distances agree with geographiclib,
the boundary holds on both sides to the metre, and coordinates are checked."""

from __future__ import annotations

import math

import numpy as np
import pytest
from geographiclib.geodesic import Geodesic
from hypothesis import given, settings
from hypothesis import strategies as st

from dutystation.analytics.geodesic_arrays import geodesic_metres_array
from dutystation.analytics.placement import PlacementInput, place
from dutystation.domain.designation import Need, need_for
from dutystation.domain.geodesy import (
    CoordinateProblem,
    coordinate_problem,
    destination,
    geodesic_metres,
    metres_to_miles,
    miles_to_metres,
)

LATS = st.floats(-90, 90, allow_nan=False)
LONS = st.floats(-180, 180, allow_nan=False)
POINTS = st.tuples(LATS, LONS, LATS, LONS)
LIMIT_M = miles_to_metres(50)


def _reference(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    return float(Geodesic.WGS84.Inverse(lat1, lon1, lat2, lon2)["s12"])


@settings(max_examples=150, deadline=None)
@given(st.lists(POINTS, min_size=1, max_size=40))
def test_vectorised_distances_agree_with_geographiclib_within_a_millimetre(
    pairs: list[tuple[float, float, float, float]],
) -> None:
    a = np.array(pairs)
    got = geodesic_metres_array(a[:, 0], a[:, 1], a[:, 2], a[:, 3])
    want = [_reference(*p) for p in pairs]
    assert np.abs(got - np.array(want)).max() <= 1e-3


@settings(max_examples=100, deadline=None)
@given(
    st.floats(-60, 60),
    st.floats(-180, 180),
    st.floats(-0.5, 0.5),
    st.floats(-0.5, 0.5),
)
def test_nearly_antipodal_points_still_get_the_true_geodesic(
    lat: float, lon: float, dlat: float, dlon: float
) -> None:
    other_lon = (lon + 180 + dlon + 180) % 360 - 180
    got = geodesic_metres_array([lat], [lon], [-lat + dlat], [other_lon])[0]
    assert got == pytest.approx(_reference(lat, lon, -lat + dlat, other_lon), abs=1e-3)


@settings(max_examples=60, deadline=None)
@given(st.floats(18, 65), st.floats(-170, -65), st.floats(0, 360))
def test_the_fifty_mile_boundary_holds_on_both_sides_to_the_metre(
    lat: float, lon: float, bearing: float
) -> None:
    inside = destination(lat, lon, bearing, LIMIT_M - 1)
    outside = destination(lat, lon, bearing, LIMIT_M + 1)
    d_in = geodesic_metres_array([lat], [lon], [inside[0]], [inside[1]])[0]
    d_out = geodesic_metres_array([lat], [lon], [outside[0]], [outside[1]])[0]
    assert d_in <= LIMIT_M < d_out
    assert need_for(True, True, d_in, LIMIT_M) is None
    assert need_for(True, True, d_out, LIMIT_M) is Need.DUTY_STATION_BEYOND_LIMIT


def test_an_office_one_metre_inside_the_limit_is_a_candidate_and_one_metre_outside_is_not() -> None:
    home = (38.9, -77.0)
    offices = [destination(*home, 45.0, LIMIT_M - 1), destination(*home, 225.0, LIMIT_M + 1)]
    data = PlacementInput(
        office_lat=np.array([o[0] for o in offices]),
        office_lon=np.array([o[1] for o in offices]),
        office_free=np.array([5, 5]),
        person_lat=np.array([home[0]]),
        person_lon=np.array([home[1]]),
        person_class=np.array([0]),
        person_limit_m=np.array([LIMIT_M]),
        reason=np.zeros((1, 2), np.int8),
    )
    result = place(data)
    assert result.within_count.tolist() == [1]
    assert result.office.tolist() == [0]
    assert result.metres[0] == pytest.approx(LIMIT_M - 1, abs=1e-3)


def test_a_mile_is_exactly_1609_344_metres() -> None:
    assert miles_to_metres(50) == 80_467.2
    assert metres_to_miles(80_467.2) == pytest.approx(50)
    # One degree of latitude at the equator, as a sanity check of the ellipsoid.
    assert geodesic_metres(0, 0, 1, 0) == pytest.approx(110_574.4, abs=0.1)


@pytest.mark.parametrize(
    ("lat", "lon", "problem"),
    [
        (38.9, -77.0, None),
        (90.0, 180.0, None),
        (None, None, CoordinateProblem.MISSING),
        (38.9, None, CoordinateProblem.INCOMPLETE),
        (math.nan, -77.0, CoordinateProblem.NOT_A_NUMBER),
        (91.0, -77.0, CoordinateProblem.LATITUDE_OUT_OF_RANGE),
        (38.9, -181.0, CoordinateProblem.LONGITUDE_OUT_OF_RANGE),
    ],
)
def test_coordinates_outside_the_valid_range_are_named(
    lat: float | None, lon: float | None, problem: CoordinateProblem | None
) -> None:
    assert coordinate_problem(lat, lon) == problem
