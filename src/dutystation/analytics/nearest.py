"""Nearest offices for many people at once: a k-d tree (scipy ``cKDTree``) on 3-D unit
vectors, then exact WGS84 distances for the few offices it returns. Never all pairs.

Why it is exact, not approximately nearest: on the unit sphere, chord length grows with the
great-circle angle, so the tree orders offices by spherical distance ``s`` (radius
``R_MEAN``). The ellipsoidal geodesic ``g`` of the same two points lies within
``[(1 - EPS) s, (1 + EPS) s]``: the ellipsoid's radii of curvature M and N lie between
6,335 km and 6,400 km, i.e. within 0.56 % of R_MEAN, and that bounds the length of every
path. So once the k-th office the tree returns has ``(1 - EPS) s_k`` no smaller than the
best exact distance found, no office outside the k can be nearer; rows where that does not
hold yet are queried again with a larger k. Radius searches widen the radius by the same
factor before the exact check.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.spatial import cKDTree

from dutystation.analytics.geodesic_arrays import geodesic_metres_array

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

R_MEAN = 6_371_008.8  # metres, IUGG mean radius
EPS = 0.006  # > 0.56 %: the most geodesic and spherical distance can differ, relatively
FIRST_K = 8


def unit_vectors(lat: npt.ArrayLike, lon: npt.ArrayLike) -> FloatArray:
    phi = np.radians(np.asarray(lat, np.float64))
    lam = np.radians(np.asarray(lon, np.float64))
    cos_phi = np.cos(phi)
    return np.column_stack((cos_phi * np.cos(lam), cos_phi * np.sin(lam), np.sin(phi)))


def chord_for_metres(metres: float) -> float:
    """Chord on the unit sphere of a great-circle arc of ``metres`` (capped at a diameter)."""
    angle = min(metres / R_MEAN, np.pi)
    return float(2 * np.sin(angle / 2))


def sphere_metres(chord: FloatArray) -> FloatArray:
    out: FloatArray = 2 * R_MEAN * np.arcsin(np.clip(chord / 2, 0.0, 1.0))
    return out


@dataclass(frozen=True)
class Found:
    """Per query point, offices sorted by exact distance; ``-1`` / ``inf`` pad rows that
    have fewer. ``truncated``: the radius held more offices than ``k`` (only the nearest
    ``k`` are here)."""

    office: IntArray  # (n, k) indices into the index's offices
    metres: FloatArray  # (n, k)
    truncated: npt.NDArray[np.bool_]  # (n,)


class OfficeIndex:
    """Offices (``lat``, ``lon`` in degrees, already validated) to search in. ``ids`` maps
    the tree's rows back to the caller's office indices (default: 0..n-1)."""

    def __init__(self, lat: FloatArray, lon: FloatArray, ids: IntArray | None = None) -> None:
        self.lat = np.asarray(lat, np.float64)
        self.lon = np.asarray(lon, np.float64)
        self.ids = np.arange(len(self.lat)) if ids is None else np.asarray(ids, np.int64)
        self.size = len(self.lat)
        self._tree = cKDTree(unit_vectors(self.lat, self.lon)) if self.size else None

    def _exact(
        self,
        lat: FloatArray,
        lon: FloatArray,
        rows: IntArray,
        needed: npt.NDArray[np.bool_] | None = None,
    ) -> FloatArray:
        """Exact distances from each point to the offices in its row of ``rows`` (tree
        rows, ``size`` meaning none); only where ``needed``, inf elsewhere."""
        out = np.full(rows.shape, np.inf)
        real = rows < self.size
        if needed is not None:
            real &= needed
        if real.any():
            p = np.broadcast_to(lat[:, None], rows.shape)[real]
            q = np.broadcast_to(lon[:, None], rows.shape)[real]
            out[real] = geodesic_metres_array(p, q, self.lat[rows[real]], self.lon[rows[real]])
        return out

    def nearest(self, lat: FloatArray, lon: FloatArray) -> tuple[IntArray, FloatArray]:
        """The nearest office of each point (caller's index) and its exact distance; -1 and
        inf when the index is empty."""
        n = len(lat)
        best = np.full(n, -1, np.int64)
        best_m = np.full(n, np.inf)
        if self._tree is None or n == 0:
            return best, best_m
        points = unit_vectors(lat, lon)
        todo = np.arange(n)
        k = min(FIRST_K, self.size)
        while len(todo):
            chord, rows = self._tree.query(points[todo], k=k)
            chord = np.asarray(chord, np.float64).reshape(len(todo), k)
            rows = np.asarray(rows, np.int64).reshape(len(todo), k)
            # Only offices whose spherical distance leaves them a chance of being the
            # nearest get the (costlier) exact distance: usually one or two of the k.
            sphere = sphere_metres(chord)
            contender = sphere * (1 - EPS) <= sphere[:, :1] * (1 + EPS)
            exact = self._exact(lat[todo], lon[todo], rows, contender)
            pick = np.argmin(exact, axis=1)
            found_m = exact[np.arange(len(todo)), pick]
            best[todo] = self.ids[rows[np.arange(len(todo)), pick]]
            best_m[todo] = found_m
            if k == self.size:
                break
            farthest = sphere[:, -1]
            todo = todo[(1 - EPS) * farthest < found_m]  # an office beyond k could be nearer
            k = min(k * 4, self.size)
        return best, best_m

    def within(self, lat: FloatArray, lon: FloatArray, radius_m: FloatArray, k: int) -> Found:
        """For each point, up to ``k`` offices with exact distance <= its ``radius_m``,
        nearest first."""
        n = len(lat)
        k = max(1, min(k, self.size))
        office = np.full((n, k), -1, np.int64)
        metres = np.full((n, k), np.inf)
        truncated = np.zeros(n, np.bool_)
        if self._tree is None or n == 0:
            return Found(office, metres, truncated)
        radius_m = np.broadcast_to(np.asarray(radius_m, np.float64), (n,))
        bound = chord_for_metres(float(radius_m.max()) / (1 - EPS)) * (1 + 1e-9)
        _, rows = self._tree.query(unit_vectors(lat, lon), k=k, distance_upper_bound=bound)
        rows = np.asarray(rows, np.int64).reshape(n, k)
        exact = self._exact(lat, lon, rows)
        exact[exact > radius_m[:, None]] = np.inf
        order = np.argsort(exact, axis=1, kind="stable")
        exact = np.take_along_axis(exact, order, axis=1)
        rows = np.take_along_axis(rows, order, axis=1)
        hit = np.isfinite(exact)
        office[hit] = self.ids[rows[hit]]
        metres[hit] = exact[hit]
        # All k slots held an office inside the widened radius: there may be more.
        if k < self.size:
            truncated[:] = (rows < self.size).all(axis=1)
        return Found(office, metres, truncated)

    def nearest_k(
        self, lat: FloatArray, lon: FloatArray, k: int, below_m: FloatArray | None = None
    ) -> Found:
        """The ``k`` offices nearest each point (by the tree), with exact distances, sorted
        by exact distance. Used to explain choices: not guaranteed to be the exact k
        nearest at the far end of the list. With ``below_m``, offices that cannot be
        nearer than it (per point) are left out (-1, inf)."""
        n = len(lat)
        k = max(1, min(k, self.size))
        if self._tree is None or n == 0:
            empty = np.full((n, k), -1, np.int64)
            return Found(empty, np.full((n, k), np.inf), np.zeros(n, np.bool_))
        chord, rows = self._tree.query(unit_vectors(lat, lon), k=k)
        rows = np.asarray(rows, np.int64).reshape(n, k)
        needed = None
        if below_m is not None:
            sphere = sphere_metres(np.asarray(chord, np.float64).reshape(n, k))
            needed = sphere * (1 - EPS) < np.asarray(below_m, np.float64)[:, None]
            rows = np.where(needed, rows, self.size)
        exact = self._exact(lat, lon, rows, needed)
        order = np.argsort(exact, axis=1, kind="stable")
        rows = np.take_along_axis(rows, order, axis=1)
        ids = np.where(rows < self.size, self.ids[np.minimum(rows, self.size - 1)], -1)
        return Found(ids, np.take_along_axis(exact, order, axis=1), np.zeros(n, np.bool_))
