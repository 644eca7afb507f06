"""ZIP3 areas (the first three digits of a ZIP code: a postal sectional centre's area) as
the coarsest place a map may show for people, instead of their homes.

An area's point is the mean of the centroids of its ZIP codes in the offline ``zipcodes``
table (``analytics.zip_centroids``; abroad and military codes left out), rounded to 0.1
degree: a place no one lives at in particular. A home given only as coordinates belongs
to the area of the nearest ZIP centroid (a few kilometres off near an area's edge; it only
decides which count a person adds to)."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import numpy.typing as npt
from scipy.spatial import cKDTree

from dutystation.analytics.nearest import unit_vectors
from dutystation.analytics.zip_centroids import zip_centroids

Strings = npt.NDArray[np.str_]
Floats = npt.NDArray[np.float64]


@lru_cache(maxsize=1)
def _areas() -> tuple[Strings, Floats, Floats, cKDTree, Strings]:
    table = zip_centroids()
    ok = (table.status == 0) & np.isfinite(table.lat) & np.isfinite(table.lon)
    prefixes = np.array([c[:3] for c in table.code[ok]])
    names, index = np.unique(prefixes, return_inverse=True)
    counts = np.bincount(index)
    lat = np.round(np.bincount(index, table.lat[ok]) / counts, 1)
    lon = np.round(np.bincount(index, table.lon[ok]) / counts, 1)
    tree = cKDTree(unit_vectors(table.lat[ok], table.lon[ok]))
    return names, lat, lon, tree, prefixes


def zip3_centres(areas: Strings) -> tuple[Floats, Floats]:
    """The point of each ZIP3 area (nan for one the table does not know)."""
    names, lat, lon, _, _ = _areas()
    at = np.minimum(np.searchsorted(names, areas), len(names) - 1)
    known = names[at] == areas
    return np.where(known, lat[at], np.nan), np.where(known, lon[at], np.nan)


def zip3_of_points(lat: Floats, lon: Floats) -> Strings:
    """The ZIP3 area of the nearest ZIP centroid to each point."""
    if len(lat) == 0:
        return np.array([], dtype="<U3")
    _, _, _, tree, prefixes = _areas()
    _, row = tree.query(unit_vectors(lat, lon), k=1)
    found: Strings = prefixes[np.asarray(row)]
    return found
