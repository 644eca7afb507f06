"""What a designation plan or the distance report works from, as numpy arrays: offices
(with free seats, hosting and what-if changes applied, and every office that cannot take
anyone listed with its reason) and staff as of a day (homes placed, distance limits, duty
stations, designations in force). Nothing is skipped silently: each exclusion has a
reason that the plan and the report show.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import Connection

from dutystation.analytics.zip_centroids import check_points, place_zips
from dutystation.domain.designation import (
    DesignationRules,
    DistanceLimit,
    HostLevel,
    distance_limit,
    host_key,
)
from dutystation.domain.directive import Directive, KeyedValueError
from dutystation.domain.geodesy import coordinate_problem
from dutystation.errors import ConfigError
from dutystation.store import designations as store

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

NO_HOME = "no_home"  # no home on record, or one with neither ZIP nor coordinates
BAD_HOME_COORDINATES = "invalid_home_coordinates"


# --- files: designation rules and proposed offices -----------------------------------------


def _read_toml(path: Path, what: str) -> Any:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: the {what} cannot be read ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: is not valid TOML ({exc})") from None


def _first_problem(exc: ValidationError, source: str) -> ConfigError:
    error = exc.errors()[0]
    cause = (error.get("ctx") or {}).get("error")
    if isinstance(cause, KeyedValueError):
        return ConfigError(f"{source}: key {cause.key!r}: {cause.problem}")
    key = ".".join(str(p) for p in error["loc"]) or "(top level)"
    message = "is not a known key" if error["type"] == "extra_forbidden" else error["msg"]
    return ConfigError(f"{source}: key {key!r}: {message}")


def load_rules(path: Path | None) -> DesignationRules:
    """The designation rules of a TOML file; every key has a default (no file: defaults)."""
    if path is None:
        return DesignationRules()
    try:
        return DesignationRules.model_validate(_read_toml(path, "designation rules"))
    except ValidationError as exc:
        raise _first_problem(exc, str(path)) from None


class ProposedOffice(BaseModel):
    """An office that does not exist yet, for ``--open`` (a what-if file's ``[[office]]``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    site_id: str = Field(pattern=r"^[A-Za-z0-9._-]{1,64}$")
    name: str = Field(min_length=1, max_length=200)
    latitude: float | None = None
    longitude: float | None = None
    zip: str | None = None
    seats: int = Field(ge=0)
    org_units: tuple[str, ...] = Field(min_length=1)
    job_functions: tuple[str, ...] = ()


class _OfficesFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    office: tuple[ProposedOffice, ...] = Field(min_length=1)


def load_proposed_offices(path: Path) -> list[ProposedOffice]:
    try:
        parsed = _OfficesFile.model_validate(_read_toml(path, "offices file"))
    except ValidationError as exc:
        raise _first_problem(exc, str(path)) from None
    return list(parsed.office)


@dataclass(frozen=True)
class WhatIf:
    """Changes a plan is computed under; none of them is stored anywhere but the plan."""

    add_seats: dict[str, int] = field(default_factory=dict)
    open: dict[str, int] = field(default_factory=dict)  # site_id -> seats
    close: tuple[str, ...] = ()
    proposed: tuple[ProposedOffice, ...] = ()

    @property
    def empty(self) -> bool:
        return not (self.add_seats or self.open or self.close)

    def as_json(self) -> dict[str, Any]:
        return {
            "add_seats": dict(sorted(self.add_seats.items())),
            "open": dict(sorted(self.open.items())),
            "close": sorted(self.close),
        }


# --- offices --------------------------------------------------------------------------------


@dataclass
class OfficeSet:
    """Offices indexed 0..m-1 (stored ones by site_id, then opened proposals)."""

    pk: IntArray  # -1 for a proposed office
    site_id: list[str]
    name: list[str]
    lat: FloatArray  # nan without usable coordinates
    lon: FloatArray
    seats: IntArray
    free: IntArray  # seats minus people on site there and designations not yet seated
    org_units: list[tuple[str, ...]]  # owners and hosting rules
    job_functions: list[frozenset[str]]
    located: BoolArray  # usable coordinates
    closed: BoolArray
    excluded: list[tuple[str, str, str]] = field(default_factory=list)  # site, name, reason

    @property
    def agency(self) -> BoolArray:
        """Offices that count as agency offices for the distance rule."""
        out: BoolArray = self.located & ~self.closed
        return out

    def index_of(self) -> dict[str, int]:
        return {s: i for i, s in enumerate(self.site_id)}


def load_offices(
    conn: Connection,
    day: date,
    rules: DesignationRules,
    what_if: WhatIf,
    known_units: set[str],
) -> OfficeSet:
    rows = store.offices(conn)
    onsite = store.onsite_headcount(conn, day)
    waiting = store.designated_not_seated(conn, day)
    site_id, name = list(rows.site_id), list(rows.name)
    lat = [r if r is not None else np.nan for r in rows.latitude]
    lon = [r if r is not None else np.nan for r in rows.longitude]
    seats = list(rows.seats)
    taken = [onsite.get(p, 0) + waiting.get(p, 0) for p in rows.pk]
    units = [list(u) for u in rows.org_units]
    functions = [frozenset(f) for f in rows.job_functions]
    pk = list(rows.pk)
    where = {s: i for i, s in enumerate(site_id)}
    for i, entry in enumerate(rules.hosts):
        if entry.site_id not in where:
            raise ConfigError(
                f"designation rules: key 'hosts[{i}].site_id': no office "
                f"{entry.site_id!r} is stored"
            )
        for unit in entry.org_units:
            if unit not in known_units:
                raise ConfigError(
                    f"designation rules: key 'hosts[{i}].org_units': no org unit {unit!r} is stored"
                )
        units[where[entry.site_id]] += list(entry.org_units)
    proposed = {p.site_id: p for p in what_if.proposed}
    for site, n in what_if.open.items():
        if site in where:
            if seats[where[site]] > 0:
                raise ConfigError(
                    f"--open {site}: the office has {seats[where[site]]} seats already; "
                    "use --add-seats"
                )
            seats[where[site]] = n
        elif site in proposed:
            office = proposed[site]
            for unit in office.org_units:
                if unit not in known_units:
                    raise ConfigError(f"--open {site}: no org unit {unit!r} is stored")
            where[site] = len(site_id)
            site_id.append(site)
            name.append(office.name)
            plat, plon = _proposed_place(office)
            lat.append(plat)
            lon.append(plon)
            seats.append(n if n > 0 else office.seats)
            taken.append(0)
            units.append(list(office.org_units))
            functions.append(frozenset(office.job_functions))
            pk.append(-1)
        else:
            raise ConfigError(f"--open {site}: no such office is stored or in --offices-file")
    for site, n in what_if.add_seats.items():
        if site not in where:
            raise ConfigError(f"--add-seats {site}: no such office")
        seats[where[site]] += n
    closed = np.zeros(len(site_id), np.bool_)
    for site in what_if.close:
        if site not in where:
            raise ConfigError(f"--close {site}: no such office")
        closed[where[site]] = True
    result = OfficeSet(
        pk=np.array(pk, np.int64),
        site_id=site_id,
        name=name,
        lat=np.array(lat, np.float64),
        lon=np.array(lon, np.float64),
        seats=np.array(seats, np.int64),
        free=np.array(seats, np.int64) - np.array(taken, np.int64),
        org_units=[tuple(sorted(set(u))) for u in units],
        job_functions=functions,
        located=np.zeros(len(site_id), np.bool_),
        closed=closed,
    )
    _check_offices(result, rules)
    return result


def _proposed_place(office: ProposedOffice) -> tuple[float, float]:
    if office.latitude is not None or office.longitude is not None:
        return (
            office.latitude if office.latitude is not None else np.nan,
            office.longitude if office.longitude is not None else np.nan,
        )
    if office.zip:
        placed = place_zips([office.zip])
        return float(placed.lat[0]), float(placed.lon[0])
    return np.nan, np.nan


def _check_offices(offices: OfficeSet, rules: DesignationRules) -> None:
    """Mark usable coordinates and list every office that cannot take anyone, with why."""
    for i, site in enumerate(offices.site_id):
        lat, lon = offices.lat[i], offices.lon[i]
        problem = coordinate_problem(
            None if np.isnan(lat) else float(lat), None if np.isnan(lon) else float(lon)
        )
        reason = None
        if problem is not None:
            reason = str(problem)
        elif offices.closed[i]:
            reason = "closed (what-if)"
        elif offices.seats[i] == 0:
            reason = "zero_seats"
        elif rules.require_job_function and not offices.job_functions[i]:
            reason = "no_job_functions"
        elif not offices.org_units[i]:
            reason = "no_org_units"
        offices.located[i] = problem is None
        if reason is not None:
            offices.excluded.append((site, offices.name[i], reason))
    offices.lat[~offices.located] = np.nan
    offices.lon[~offices.located] = np.nan


# --- staff ------------------------------------------------------------------------------------


@dataclass
class StaffSet:
    """Everyone assigned on the day (optionally within one org unit), indexed 0..n-1."""

    pk: IntArray
    employee_id: list[str]
    name: list[str]
    org_unit: list[str]
    component: list[str]
    arrangement: npt.NDArray[np.str_]
    job_function: list[str | None]
    duty_station: IntArray  # office index, -1 none
    lat: FloatArray  # home, nan when not placed
    lon: FloatArray
    home_state: npt.NDArray[np.str_]
    home_problem: npt.NDArray[np.str_]  # "" when placed
    limit_m: FloatArray  # nan when no distance rule holds the unit
    directive_ref: list[str]
    subject: BoolArray  # the rule orders their arrangement designated
    designated: IntArray  # office index of an applied designation in force, -1 none
    host_key: list[str]

    def __len__(self) -> int:
        return len(self.employee_id)


def load_staff(
    conn: Connection,
    day: date,
    offices: OfficeSet,
    directives: list[Directive],
    chains: dict[str, tuple[str, ...]],
    rules: DesignationRules,
    org_unit: str | None,
) -> StaffSet:
    cols = store.staff_as_of(conn, day)
    keep = [
        i for i, u in enumerate(cols.org_unit) if org_unit is None or org_unit in chains.get(u, ())
    ]
    pk = np.array([cols.pk[i] for i in keep], np.int64)
    units = [cols.org_unit[i] for i in keep]
    by_pk = {int(p): i for i, p in enumerate(offices.pk) if p >= 0}
    station = np.array([by_pk.get(cols.duty_station_pk[i] or -1, -1) for i in keep], np.int64)
    lat, lon, state, problem = _homes(conn, day, pk)
    limits: dict[str, DistanceLimit | None] = {
        u: distance_limit(directives, chains[u], day) for u in set(units)
    }
    arrangement = np.array([cols.arrangement[i] for i in keep], dtype="<U8")
    rule_of = [limits[u] for u in units]
    limit_m = np.array([r.limit_m if r else np.nan for r in rule_of])
    subject = np.array(
        [r is not None and a in r.arrangements for r, a in zip(rule_of, arrangement, strict=True)],
        np.bool_,
    )
    designated = np.full(len(keep), -1, np.int64)
    position = {int(p): i for i, p in enumerate(pk)}
    for item in store.designations_in_force(conn, day):
        if item.employee_pk in position and item.office_pk in by_pk:
            designated[position[item.employee_pk]] = by_pk[item.office_pk]
    return StaffSet(
        pk=pk,
        employee_id=[cols.employee_id[i] for i in keep],
        name=[cols.name[i] for i in keep],
        org_unit=units,
        component=[host_key(chains[u], HostLevel.COMPONENT) for u in units],
        arrangement=arrangement,
        job_function=[cols.job_function[i] for i in keep],
        duty_station=station,
        lat=lat,
        lon=lon,
        home_state=state,
        home_problem=problem,
        limit_m=limit_m,
        directive_ref=[r.directive_ref if r else "" for r in rule_of],
        subject=subject,
        designated=designated,
        host_key=[host_key(chains[u], rules.host_level) for u in units],
    )


def _homes(
    conn: Connection, day: date, pk: IntArray
) -> tuple[FloatArray, FloatArray, npt.NDArray[np.str_], npt.NDArray[np.str_]]:
    """Each employee's home as of the day: coordinates when given, else the ZIP centroid;
    a problem code where neither gives a usable place in the supported area."""
    n = len(pk)
    homes = store.homes_as_of(conn, day)
    at = {int(p): i for i, p in enumerate(homes.employee_pk)}
    rows = np.array([at.get(int(p), -1) for p in pk], np.int64)
    has = rows >= 0
    h_lat = np.array([v if v is not None else np.nan for v in homes.latitude], np.float64)
    h_lon = np.array([v if v is not None else np.nan for v in homes.longitude], np.float64)
    safe = np.where(has, rows, 0)
    lat = np.where(has, h_lat[safe] if len(h_lat) else np.nan, np.nan)
    lon = np.where(has, h_lon[safe] if len(h_lon) else np.nan, np.nan)
    state = np.full(n, "", dtype="<U2")
    problem = np.full(n, NO_HOME, dtype="<U32")
    given = has & ~(np.isnan(lat) & np.isnan(lon))
    valid = given & np.isfinite(lat) & np.isfinite(lon) & (np.abs(lat) <= 90) & (np.abs(lon) <= 180)
    problem[given & ~valid] = BAD_HOME_COORDINATES
    if valid.any():
        checked = check_points(lat[valid], lon[valid])
        problem[valid] = checked.problem
        state[valid] = checked.state
    by_zip = has & ~given
    if by_zip.any():
        zips = [homes.zip[int(r)] for r in rows[by_zip]]
        placed = place_zips(zips)
        lat[by_zip], lon[by_zip] = placed.lat, placed.lon
        state[by_zip] = placed.state
        problem[by_zip] = np.where(
            np.array([z is None or not z.strip() for z in zips]), NO_HOME, placed.problem
        )
    bad = problem != ""
    lat[bad], lon[bad] = np.nan, np.nan
    return lat, lon, state, problem
