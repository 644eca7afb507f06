"""Agency offices at real US ZIP centroids: the headquarters campuses around Washington,
regional offices in metro areas (covering every US time zone the demo needs, Phoenix's
no-DST zone, Honolulu, Anchorage and San Juan among them) and small field offices in
towns, placed at random but spread out."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from dutystation.synthetic.geo import ZipTable, haversine_km, zip_table
from dutystation.synthetic.org import Org

CAMPUS, METRO, FIELD = 0, 1, 2

# (ZIP, owning components, name). The Secretary's campus hosts the component heads too.
CAMPUSES = (
    ("20024", "HQ EMA EIS OIG", "Headquarters Campus"),
    ("22202", "ECA HQ", "Arlington Operations Center"),
    ("20746", "ESB", "Suitland Federal Center"),
    ("20705", "EIS", "Beltsville Laboratory Complex"),
)
# Regional offices, most important first: small demos keep only the head of this list,
# which already spans Eastern, Central, Mountain, Phoenix, Pacific, Alaska, Hawaii and
# Atlantic (Puerto Rico) time.
# fmt: off
METROS = (
    ("02110", "EMA ECA ESB EIS"), ("10007", "EMA ESB EIS"), ("19106", "EMA ECA ESB EIS"),
    ("30303", "EMA ECA ESB EIS HQ OIG"), ("60604", "EMA ECA ESB EIS"), ("76201", "EMA"),
    ("64106", "EMA ECA HQ"), ("80226", "EMA ECA ESB EIS HQ"), ("94607", "EMA ECA EIS"),
    ("98011", "EMA"), ("96813", "EMA EIS ECA"), ("00918", "EMA EIS"), ("99501", "EMA EIS"),
    ("85004", "EIS ESB ECA"), ("98104", "ECA EIS ESB"), ("90012", "ESB EIS ECA"),
    ("75201", "EIS ECA ESB"), ("77002", "EIS EMA"), ("78205", "ECA"), ("33130", "EMA EIS ECA"),
    ("48226", "ESB EIS ECA"), ("46204", "EIS HQ"), ("55401", "EIS ECA HQ"), ("78701", "HQ EIS"),
    ("84101", "EIS ESB"), ("87102", "EIS"), ("79901", "EIS"), ("85701", "EIS"),
    ("70112", "EMA EIS"), ("28202", "ESB EIS"), ("23219", "EIS ECA"), ("92101", "EIS"),
    ("95814", "EIS ESB"), ("33602", "EIS"), ("32202", "EIS"), ("27601", "EIS"),
    ("23510", "EMA"), ("21201", "EIS ESB"), ("15222", "EIS"), ("44113", "EIS ESB"),
    ("43215", "EIS"), ("45202", "EIS"), ("40202", "EIS"), ("37203", "EIS ECA"),
    ("38103", "EIS"), ("35203", "EIS"), ("63101", "EIS ESB"), ("53202", "EIS"),
    ("68102", "EIS"), ("50309", "EIS"), ("73102", "EIS EMA"), ("83702", "EIS"),
    ("97204", "EIS ECA"), ("89101", "EIS"), ("59101", "EIS"), ("14202", "EIS"),
    ("06103", "EIS ECA"),
)
# fmt: on
READER_NAMES = ("L1-LOBBY-1", "G1-GARAGE-1", "L1-LOBBY-2", "L1-EAST-1")
MIN_OFFICES, MAX_OFFICES = 50, 300
EMPLOYEES_PER_OFFICE = 100
FIELD_OFFICE_SPACING_KM = 40.0


@dataclass
class Offices:
    site_id: list[str]
    name: list[str]
    address: list[str]
    zip_index: npt.NDArray[np.int64]  # row in the ZIP table
    kind: npt.NDArray[np.int8]  # CAMPUS, METRO or FIELD
    owners: list[tuple[int, ...]]  # component indices
    functions: list[tuple[str, ...]]
    readers: list[tuple[str, ...]]  # full reader names: SITE-FLOOR-DOOR
    directional: npt.NDArray[np.bool_]  # readers record entry/exit (else "Access Granted")
    zips: ZipTable
    seats: npt.NDArray[np.int64] | None = None

    def __len__(self) -> int:
        return len(self.site_id)

    @property
    def lat(self) -> npt.NDArray[np.float64]:
        return self.zips.lat[self.zip_index]

    @property
    def lon(self) -> npt.NDArray[np.float64]:
        return self.zips.lon[self.zip_index]

    @property
    def timezone(self) -> npt.NDArray[np.str_]:
        return self.zips.timezone[self.zip_index]

    def owned_by(self, component: int) -> npt.NDArray[np.bool_]:
        return np.array([component in o for o in self.owners])


def office_count(employees: int) -> int:
    return int(np.clip(round(employees / EMPLOYEES_PER_OFFICE), MIN_OFFICES, MAX_OFFICES))


def build_offices(org: Org, employees: int, rng: np.random.Generator) -> Offices:
    zips = zip_table()
    suffix_index = {c.suffix: i for i, c in enumerate(org.components)}
    total = office_count(employees)
    n_field = max(total // 3, total - len(CAMPUSES) - len(METROS))
    plan: list[tuple[int, tuple[int, ...], str, int]] = [
        (zips.find(z), tuple(suffix_index[s] for s in names.split()), label, CAMPUS)
        for z, names, label in CAMPUSES
    ]
    for z, names in METROS[: total - len(CAMPUSES) - n_field]:
        plan.append(
            (zips.find(z), tuple(suffix_index[s] for s in names.split()), "Regional Office", METRO)
        )
    plan.extend(_field_offices(org, zips, [p[0] for p in plan], n_field, rng))

    all_functions = {
        c: tuple(sorted({f for k in org.leaves_of(c) for f in org.units[org.leaves[k]].functions}))
        for c in range(len(org.components))
    }
    serial: dict[str, int] = {}
    out = Offices(
        [],
        [],
        [],
        np.zeros(len(plan), np.int64),
        np.zeros(len(plan), np.int8),
        [],
        [],
        [],
        np.ones(len(plan), np.bool_),
        zips,
    )
    for i, (zi, owners, label, kind) in enumerate(plan):
        state = str(zips.state[zi])
        serial[state] = serial.get(state, 0) + 1
        site = f"{state}{serial[state]:04d}"
        out.site_id.append(site)
        out.name.append(f"{zips.city[zi]} {label}")
        out.address.append(f"{100 + 10 * i} Example Avenue, {zips.city[zi]}, {state}")
        out.zip_index[i] = zi
        out.kind[i] = kind
        out.owners.append(owners)
        if kind == FIELD:
            out.functions.append(org.components[owners[0]].field_office_functions)
        else:
            out.functions.append(tuple(sorted({f for c in owners for f in all_functions[c]})))
        n_readers = {CAMPUS: 4, METRO: 2 + int(rng.random() < 0.5), FIELD: 1}[kind]
        out.readers.append(tuple(f"{site}-{r}" for r in READER_NAMES[:n_readers]))
        # Older single-door readers in some field offices record no direction.
        out.directional[i] = kind != FIELD or rng.random() < 0.5
    return out


def _field_offices(
    org: Org, zips: ZipTable, taken: list[int], n: int, rng: np.random.Generator
) -> list[tuple[int, tuple[int, ...], str, int]]:
    """Small offices in towns, at least FIELD_OFFICE_SPACING_KM from any other office."""
    field_components = [c for c, spec in enumerate(org.components) if spec.field_office_weight]
    weights = np.array([org.components[c].field_office_weight for c in field_components])
    owners = rng.choice(field_components, size=n, p=weights / weights.sum())
    lat = list(zips.lat[taken])
    lon = list(zips.lon[taken])
    chosen: list[int] = []
    for candidate in rng.permutation(len(zips)):
        if len(chosen) == n:
            break
        d = haversine_km(np.array(lat), np.array(lon), zips.lat[candidate], zips.lon[candidate])
        if d.min() >= FIELD_OFFICE_SPACING_KM:
            chosen.append(int(candidate))
            lat.append(float(zips.lat[candidate]))
            lon.append(float(zips.lon[candidate]))
    return [(z, (int(o),), "Field Office", FIELD) for z, o in zip(chosen, owners, strict=True)]


def assign_seats(
    offices: Offices, demand: npt.NDArray[np.int64], rng: np.random.Generator
) -> npt.NDArray[np.int64]:
    """Seats per office given how many people are expected there full time after the
    directive. The Secretary's campus and about a third of the others are tight
    (fewer seats than people), the rest ample: OMB asked agencies whether enough
    working space exists, and the demo must make that question bite somewhere."""
    n = len(offices)
    tight = rng.random(n) < 0.33
    tight[0] = True
    factor = np.where(tight, rng.uniform(0.7, 0.9, n), rng.uniform(1.1, 1.6, n))
    seats = np.ceil(demand * factor).astype(np.int64)
    return np.where(demand == 0, rng.integers(8, 25, n), np.maximum(seats, 4))
