"""Where a home is, offline: ZIP code -> centroid from the ``zipcodes`` package, and whether
a place is inside the area dutystation supports (DESIGN.md §5).

Supported: the 50 states, DC, and the territories with US ZIP codes (Puerto Rico, the US
Virgin Islands, Guam, American Samoa, the Northern Mariana Islands). Abroad: APO/FPO/DPO
military mail (states AA, AE, AP, or ZIP type MILITARY: the package gives them no place),
the freely associated states (Micronesia, the Marshall Islands, Palau) and ZIPs the package
places in another country. Every ZIP type with a place counts (standard; PO box: the post
office; unique: the organisation's building). A ZIP+4 is read as its first five digits.

Homes given as coordinates are checked against the same area: a point farther than
``ABROAD_KM`` from every supported ZIP centroid is abroad. That catches homes overseas but
not a home just across the Canadian or Mexican border; docs/designation.md says so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache

import numpy as np
import numpy.typing as npt
import zipcodes
from scipy.spatial import cKDTree

from dutystation.analytics.nearest import chord_for_metres, unit_vectors

# fmt: off
SUPPORTED_STATES = frozenset({
    "AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "DC", "FL", "GA", "HI", "ID", "IL", "IN",
    "IA", "KS", "KY", "LA", "ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE", "NV", "NH",
    "NJ", "NM", "NY", "NC", "ND", "OH", "OK", "OR", "PA", "RI", "SC", "SD", "TN", "TX", "UT",
    "VT", "VA", "WA", "WV", "WI", "WY", "PR", "VI", "GU", "AS", "MP",
})
# fmt: on
ABROAD_KM = 150.0
_ZIP5 = re.compile(r"^(\d{5})(?:-?\d{4})?$")


class PlaceProblem(StrEnum):
    """Why a home cannot be placed; the value is the reason code reports show."""

    INVALID_ZIP = "invalid_zip"  # not five digits (or ZIP+4)
    UNKNOWN_ZIP = "unknown_zip"  # not a ZIP code the offline table knows
    HOME_ABROAD = "home_abroad"  # military mail, a freely associated state, another country


_OK, _ABROAD = 0, 1


@dataclass(frozen=True)
class ZipCentroids:
    code: npt.NDArray[np.str_]  # sorted, 5 digits
    lat: npt.NDArray[np.float64]
    lon: npt.NDArray[np.float64]
    state: npt.NDArray[np.str_]
    status: npt.NDArray[np.int8]  # _OK or _ABROAD


@lru_cache(maxsize=1)
def zip_centroids() -> ZipCentroids:
    rows = sorted(zipcodes.list_all(), key=lambda z: z["zip_code"])  # type: ignore[no-untyped-call]
    codes, lat, lon, state, status = [], [], [], [], []
    for z in rows:
        abroad = (
            z["zip_code_type"] == "MILITARY"
            or z["state"] not in SUPPORTED_STATES
            or z["country"] not in ("US", "")
        )
        codes.append(z["zip_code"])
        lat.append(float(z["lat"] or "nan"))
        lon.append(float(z["long"] or "nan"))
        state.append(z["state"])
        status.append(_ABROAD if abroad else _OK)
    return ZipCentroids(
        np.array(codes),
        np.array(lat),
        np.array(lon),
        np.array(state),
        np.array(status, np.int8),
    )


@dataclass(frozen=True)
class Places:
    """Per input row: latitude, longitude (nan when unplaced), the state or territory code
    ("" when unknown) and the problem ("" when placed)."""

    lat: npt.NDArray[np.float64]
    lon: npt.NDArray[np.float64]
    state: npt.NDArray[np.str_]
    problem: npt.NDArray[np.str_]


def place_zips(values: list[str | None]) -> Places:
    """Centroids of ZIP codes (None or blank: no place and no problem; the caller decides)."""
    table = zip_centroids()
    n = len(values)
    lat, lon = np.full(n, np.nan), np.full(n, np.nan)
    state = np.full(n, "", dtype="<U2")
    problem = np.full(n, "", dtype="<U16")
    five: list[str] = []
    rows: list[int] = []
    for i, value in enumerate(values):  # a regex per ZIP: well under a second for 250k
        if value is None or not value.strip():
            continue
        match = _ZIP5.fullmatch(value.strip())
        if match is None:
            problem[i] = PlaceProblem.INVALID_ZIP
            continue
        five.append(match.group(1))
        rows.append(i)
    if rows:
        wanted = np.array(five)
        at = np.minimum(np.searchsorted(table.code, wanted), len(table.code) - 1)
        known = table.code[at] == wanted
        idx = np.array(rows)
        problem[idx[~known]] = PlaceProblem.UNKNOWN_ZIP
        hit_rows, hit = idx[known], at[known]
        abroad = table.status[hit] == _ABROAD
        problem[hit_rows[abroad]] = PlaceProblem.HOME_ABROAD
        good_rows, good = hit_rows[~abroad], hit[~abroad]
        lat[good_rows], lon[good_rows] = table.lat[good], table.lon[good]
        state[hit_rows] = table.state[hit]
    return Places(lat, lon, state, problem)


@lru_cache(maxsize=1)
def _supported_tree() -> tuple[cKDTree, npt.NDArray[np.str_]]:
    table = zip_centroids()
    ok = (table.status == _OK) & np.isfinite(table.lat)
    return cKDTree(unit_vectors(table.lat[ok], table.lon[ok])), table.state[ok]


def check_points(lat: npt.NDArray[np.float64], lon: npt.NDArray[np.float64]) -> Places:
    """For validated coordinates: abroad when farther than ABROAD_KM from every supported
    ZIP centroid; else the state of the nearest centroid (approximate near state lines)."""
    tree, states = _supported_tree()
    n = len(lat)
    problem = np.full(n, "", dtype="<U16")
    state = np.full(n, "", dtype="<U2")
    if n == 0:
        return Places(lat, lon, state, problem)
    chord, row = tree.query(unit_vectors(lat, lon), k=1)
    far = np.asarray(chord) > chord_for_metres(ABROAD_KM * 1000.0)
    problem[far] = PlaceProblem.HOME_ABROAD
    state[~far] = states[np.asarray(row)[~far]]
    return Places(np.where(far, np.nan, lat), np.where(far, np.nan, lon), state, problem)
