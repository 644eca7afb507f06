"""US ZIP centroids as numpy arrays (from the offline ``zipcodes`` package) and a fast
great-circle distance for choosing places. Reports use geodesics (DESIGN.md §5); the
generator only needs to keep a margin around the 50-mile line, so a sphere is enough."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from zoneinfo import available_timezones

import numpy as np
import numpy.typing as npt
import zipcodes

EARTH_RADIUS_KM = 6371.0088
MILE_KM = 1.609344

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class ZipTable:
    """Standard (street-delivery) ZIP codes of the states, DC and Puerto Rico."""

    zip: npt.NDArray[np.str_]
    city: npt.NDArray[np.str_]
    state: npt.NDArray[np.str_]
    timezone: npt.NDArray[np.str_]
    lat: FloatArray
    lon: FloatArray

    def __len__(self) -> int:
        return len(self.zip)

    def find(self, code: str) -> int:
        hits = np.flatnonzero(self.zip == code)
        if len(hits) == 0:
            raise KeyError(code)
        return int(hits[0])


# Territories other than Puerto Rico and the freely associated states are left out so
# every zone is one a US duty station plausibly has.
_EXCLUDED_STATES = {"GU", "VI", "AS", "MP", "FM", "MH", "PW", "AA", "AE", "AP"}


@lru_cache(maxsize=1)
def zip_table() -> ZipTable:
    zones = available_timezones()
    rows = [
        z
        for z in zipcodes.list_all()  # type: ignore[no-untyped-call]
        if z["zip_code_type"] == "STANDARD"
        and z["active"]
        and z["country"] == "US"
        and z["state"] not in _EXCLUDED_STATES
        and z["timezone"] in zones
        and z["lat"]
        and z["long"]
    ]
    rows.sort(key=lambda z: z["zip_code"])  # independent of the package's list order
    return ZipTable(
        zip=np.array([z["zip_code"] for z in rows]),
        city=np.array([z["city"] for z in rows]),
        state=np.array([z["state"] for z in rows]),
        timezone=np.array([z["timezone"] for z in rows]),
        lat=np.array([float(z["lat"]) for z in rows]),
        lon=np.array([float(z["long"]) for z in rows]),
    )


def haversine_km(
    lat1: FloatArray | float,
    lon1: FloatArray | float,
    lat2: FloatArray | float,
    lon2: FloatArray | float,
) -> FloatArray:
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dphi = p2 - p1
    dlmb = np.radians(np.asarray(lon2) - np.asarray(lon1))
    a = np.sin(dphi / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlmb / 2) ** 2
    return np.asarray(2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(a)), dtype=np.float64)


def min_distance_km(
    lat: FloatArray, lon: FloatArray, to_lat: FloatArray, to_lon: FloatArray
) -> FloatArray:
    """For each point, the distance to the nearest of the ``to`` points."""
    best = np.full(len(lat), np.inf)
    for la, lo in zip(to_lat, to_lon, strict=True):  # one pass per office: a few hundred
        np.minimum(best, haversine_km(lat, lon, la, lo), out=best)
    return best
