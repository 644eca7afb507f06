"""The spatial index finds the exact nearest office and every office within a radius, the
same as comparing every pair with geographiclib (on small random sets)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from dutystation.analytics.nearest import OfficeIndex
from dutystation.domain.geodesy import geodesic_metres

# Regions: a metro area (dense, ties nearly), the continental US, the whole globe (poles,
# the antimeridian).
REGIONS = st.sampled_from(
    [
        ((38.5, 39.5), (-77.5, -76.5)),
        ((25.0, 49.0), (-124.0, -67.0)),
        ((-89.9, 89.9), (-180.0, 180.0)),
    ]
)


def _points(
    rng: np.random.Generator, n: int, region: tuple[tuple[float, float], ...]
) -> np.ndarray:
    (la0, la1), (lo0, lo1) = region
    return np.column_stack((rng.uniform(la0, la1, n), rng.uniform(lo0, lo1, n)))


def _brute(people: np.ndarray, offices: np.ndarray) -> np.ndarray:
    return np.array([[geodesic_metres(p[0], p[1], o[0], o[1]) for o in offices] for p in people])


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 60), st.integers(1, 25), REGIONS)
def test_the_nearest_office_is_the_one_brute_force_finds(
    seed: int, n_offices: int, n_people: int, region: tuple[tuple[float, float], ...]
) -> None:
    rng = np.random.default_rng(seed)
    offices, people = _points(rng, n_offices, region), _points(rng, n_people, region)
    found, metres = OfficeIndex(offices[:, 0], offices[:, 1]).nearest(people[:, 0], people[:, 1])
    brute = _brute(people, offices)
    assert np.allclose(metres, brute.min(axis=1), atol=1e-3)
    # The office returned is at that distance (ties may pick either).
    assert np.allclose(brute[np.arange(n_people), found], brute.min(axis=1), atol=1e-3)


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 40), st.integers(1, 20), st.floats(1_000, 400_000))
def test_offices_within_a_radius_are_exactly_those_brute_force_finds(
    seed: int, n_offices: int, n_people: int, radius: float
) -> None:
    rng = np.random.default_rng(seed)
    region = ((36.0, 42.0), (-100.0, -90.0))
    offices, people = _points(rng, n_offices, region), _points(rng, n_people, region)
    index = OfficeIndex(offices[:, 0], offices[:, 1])
    found = index.within(people[:, 0], people[:, 1], np.full(n_people, radius), k=n_offices)
    brute = _brute(people, offices)
    for i in range(n_people):
        got = {int(o) for o in found.office[i] if o >= 0}
        assert got == set(np.flatnonzero(brute[i] <= radius).tolist())
        shown = found.metres[i][found.office[i] >= 0]
        assert np.all(np.diff(shown) >= 0)  # nearest first
    assert not found.truncated.any()


def test_an_empty_index_finds_nothing() -> None:
    index = OfficeIndex(np.array([]), np.array([]))
    found, metres = index.nearest(np.array([38.9]), np.array([-77.0]))
    assert found.tolist() == [-1] and np.isinf(metres).all()
