"""Distances for the 50-mile rule (DESIGN.md §5): geodesics on the WGS84 ellipsoid, by
geographiclib (Karney's algorithm, exact to a few nanometres), units and coordinate checks.

This is the reference every faster path is checked against: the vectorised distances in
``analytics/geodesic_arrays.py`` must agree with ``geodesic_metres`` to within 1 mm (a
Hypothesis test holds them to it). geographiclib is pure computation without I/O, which is
why the domain may import it (``tests/unit/test_architecture.py``).
"""

from __future__ import annotations

import math
from enum import StrEnum

from geographiclib.geodesic import Geodesic

METRES_PER_MILE = 1609.344  # the international mile, exactly
WGS84_A = 6_378_137.0  # semi-major axis, metres
WGS84_F = 1 / 298.257223563  # flattening


def miles_to_metres(miles: float) -> float:
    return miles * METRES_PER_MILE


def metres_to_miles(metres: float) -> float:
    return metres / METRES_PER_MILE


def geodesic_metres(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Length of the shortest path on the WGS84 ellipsoid between two points, in metres."""
    result = Geodesic.WGS84.Inverse(lat1, lon1, lat2, lon2, Geodesic.DISTANCE)
    return float(result["s12"])


def destination(lat: float, lon: float, azimuth_deg: float, metres: float) -> tuple[float, float]:
    """The point ``metres`` along the geodesic leaving (lat, lon) at ``azimuth_deg``
    (clockwise from north): how tests put a point exactly 50 miles ± 1 m away."""
    result = Geodesic.WGS84.Direct(lat, lon, azimuth_deg, metres)
    return float(result["lat2"]), float(result["lon2"])


class CoordinateProblem(StrEnum):
    """Why a pair of coordinates cannot be used; the value is the reason code reports show."""

    MISSING = "no_coordinates"
    INCOMPLETE = "incomplete_coordinates"
    NOT_A_NUMBER = "coordinates_not_a_number"
    LATITUDE_OUT_OF_RANGE = "latitude_out_of_range"
    LONGITUDE_OUT_OF_RANGE = "longitude_out_of_range"


def coordinate_problem(lat: float | None, lon: float | None) -> CoordinateProblem | None:
    """None when (lat, lon) is a usable WGS84 position in degrees: latitude in [-90, 90],
    longitude in [-180, 180], both finite."""
    if lat is None and lon is None:
        return CoordinateProblem.MISSING
    if lat is None or lon is None:
        return CoordinateProblem.INCOMPLETE
    if not (math.isfinite(lat) and math.isfinite(lon)):
        return CoordinateProblem.NOT_A_NUMBER
    if not -90.0 <= lat <= 90.0:
        return CoordinateProblem.LATITUDE_OUT_OF_RANGE
    if not -180.0 <= lon <= 180.0:
        return CoordinateProblem.LONGITUDE_OUT_OF_RANGE
    return None
