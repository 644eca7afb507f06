"""Use case: office capacity planning. Per office and day: seats, the roster's headcount by
arrangement, people designated there whom the roster does not show yet, expected daily
attendance from schedules and the directives, and the shortfall (docs/capacity.md).

The rules are ``domain/capacity.py``; ``analytics/capacity.py`` applies them to everyone at
once in DuckDB. This module reads the store (roster versions, offices, applied
designations: ``capacity_inputs.py``), hands it over as Arrow tables and returns Arrow
tables:

- ``capacity(conn, start, end, inputs)``: ``Capacity`` with every office's days
  (``analytics.capacity.OFFICE_DAYS_SCHEMA``) and the people bound to come on site who
  have no office (``unplaced``);
- ``peak_per_office(capacity)``: each office's peak day (what the compliance plan and the
  report's first section show);
- ``offices_short_of_space(conn, day, directives)``: the offices where the people
  expected that day exceed the seats (stored exemptions and agreements applied), as
  evidence for "lack of adequate office space" exemption requests;
- ``observed_occupancy(runtime, start, end)``: people badged per office and day, for the
  comparison with what was expected.

Designations come from the ``designation`` table of the designation area
(``store/schema_designation.py``): only applied ones (``applied_at`` set; a plan's
proposals are not designations yet), each on ``[effective_from, effective_to)``. The
roster stays HR's record, so a designation the roster does not reflect yet places the
person at the designated office here. Home locations are never read here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Connection
from sqlalchemy.orm import Session

from dutystation.analytics import capacity as sql
from dutystation.analytics.bindings import bindings_table, directives_table
from dutystation.analytics.event_sources import months_between
from dutystation.analytics.input_tables import exemptions_table
from dutystation.analytics.shared import shared_connection
from dutystation.analytics.utilisation import occupancy_sql
from dutystation.bootstrap import Runtime
from dutystation.domain.capacity import shortfall
from dutystation.domain.directive import Directive
from dutystation.domain.inputs import Agreement, EmployeeExemption
from dutystation.errors import ConfigError, NotFound
from dutystation.events.schemas import EventKind
from dutystation.services import capacity_inputs as reads
from dutystation.services.agreements import stored_agreement_inputs
from dutystation.services.exemption_records import stored_exemption_inputs
from dutystation.settings import Settings
from dutystation.store.history import org_unit_chains
from dutystation.store.repositories import org_subtree

MAX_DAYS = 366  # a year of days at 250,000 people is already 60M person-days
PEAKS_SCHEMA = pa.schema(
    [
        ("site_id", pa.string()),
        ("seats", pa.int64()),
        ("peak_date", pa.date32()),  # first day with the most people expected
        ("expected", pa.float64()),  # on that day
        ("assigned", pa.int64()),  # on that day, and so on
        ("onsite", pa.int64()),
        ("telework", pa.int64()),
        ("remote", pa.int64()),
        ("field", pa.int64()),
        ("designated", pa.int64()),
        ("exempt", pa.int64()),
        ("shortfall", pa.int64()),  # people beyond the seats on the peak day
        ("days_short", pa.int64()),  # days with more people expected than seats
        ("avg_expected", pa.float64()),  # mean over the days
    ]
)
OBSERVED_SCHEMA = pa.schema(
    [("site_id", pa.string()), ("day", pa.date32()), ("observed", pa.int64())]
)


@dataclass(frozen=True)
class CapacityInputs:
    """What the model reads besides the store: the directives, the approved exemptions
    and the bargaining agreements (``services.evaluate.load_inputs`` has the last two)."""

    directives: Sequence[Directive]
    exemptions: Sequence[EmployeeExemption] = ()
    agreements: Sequence[Agreement] = ()


@dataclass(frozen=True)
class Capacity:
    start: date
    end: date
    offices: Any  # capacity_inputs.OFFICES_SCHEMA: the offices reported, by site id
    days: Any  # analytics.capacity.OFFICE_DAYS_SCHEMA, plus seats, per office and business day
    unplaced: Any  # UNPLACED_DAYS_SCHEMA plus org_path: bound to come, no office


@dataclass(frozen=True)
class OfficeShortfall:
    """An office where more people are expected on ``day`` than it has seats."""

    site_id: str
    name: str
    day: date
    seats: int
    expected: float
    shortfall: int
    assigned: int
    designated: int


def capacity(
    conn: Connection,
    start: date,
    end: date,
    inputs: CapacityInputs,
    *,
    org_unit: str | None = None,
    settings: Settings | None = None,
) -> Capacity:
    """Every office's business days of ``start..end`` (module docstring). With
    ``org_unit``: the offices that unit or a unit below it owns or reports to (as a duty
    station or a designation), with everyone expected there (seats are physical), and
    only that unit's unplaced people. ``settings``: DuckDB's memory limit and scratch
    folder (default: an in-memory connection)."""
    if end < start:
        raise ConfigError(
            f"the period ends ({end.isoformat()}) before it starts ({start.isoformat()})"
        )
    if (end - start).days + 1 > MAX_DAYS:
        raise ConfigError(f"capacity covers at most {MAX_DAYS} days; ask for a shorter period")
    with Session(bind=conn) as session:
        chains = org_unit_chains(session)
        codes = None
        if org_unit is not None:
            try:
                codes = org_subtree(session, org_unit)
            except NotFound:
                raise NotFound(f"org unit {org_unit!r} does not exist") from None
        intervals = reads.versions(session, start, end)
        placed = reads.designations(session)
        stations = reads.stations(intervals, placed, codes, start, end)
        offices = reads.offices(session, codes, stations)
    # Settings: their memory limit and spill folder, every core (250,000 people expand to
    # millions of person-days); without, a small in-memory one.
    with shared_connection(settings, threads=None if settings is not None else 2) as con:
        sql.register(
            con,
            intervals=intervals,
            bindings=bindings_table(inputs.directives, chains, start, end),
            directives_table=directives_table(inputs.directives),
            exemptions=exemptions_table(inputs.exemptions),
            designations=placed,
            directives=inputs.directives,
            agreements=inputs.agreements,
            days=sql.business_days(start, end),
            start=start,
            end=end,
        )
        days = sql.office_days(con, offices)
        unplaced = sql.unplaced_days(con)
    paths = pa.table(
        {
            "org_unit": pa.array(list(chains), pa.string()),
            "org_path": pa.array(["/".join(c) for c in chains.values()], pa.string()),
        }
    )
    unplaced = unplaced.join(paths, "org_unit", join_type="left outer")
    if codes is not None:
        unplaced = unplaced.filter(pc.is_in(unplaced["org_unit"], pa.array(codes, pa.string())))
    seats = days.join(offices.select(["site_id", "seats"]), "site_id", join_type="left outer")
    order = [("site_id", "ascending"), ("day", "ascending")]
    return Capacity(start, end, offices, seats.sort_by(order), unplaced.sort_by(order[1:]))


_PEAKS_SQL = """
WITH ranked AS (
    SELECT *, row_number() OVER (PARTITION BY site_id ORDER BY expected DESC, day) AS k,
        avg(expected) OVER (PARTITION BY site_id) AS avg_expected,
        count(*) FILTER (WHERE expected > seats + 1e-9) OVER (PARTITION BY site_id)
            AS days_short
    FROM d
)
SELECT site_id, seats, day AS peak_date, expected, assigned, onsite, telework, remote, field,
    designated, exempt,
    CAST(greatest(0, ceil(expected - seats - 1e-9)) AS BIGINT) AS shortfall,
    days_short, avg_expected
FROM ranked WHERE k = 1 ORDER BY site_id
"""


def peak_per_office(found: Capacity) -> Any:
    """Per office (``PEAKS_SCHEMA``): its figures on the day with the most people
    expected (the first such day), the days short of seats and the mean expected."""
    with shared_connection() as con:
        con.register("d", found.days)
        return con.sql(_PEAKS_SQL).to_arrow_table().cast(PEAKS_SCHEMA)


def stored_inputs(conn: Connection, directives: Sequence[Directive]) -> CapacityInputs:
    """The directives with the exemptions and agreements the store holds, as the
    evaluation reads them."""
    approved, _ = stored_exemption_inputs(conn)
    return CapacityInputs(directives, approved, stored_agreement_inputs(conn))


def offices_short_of_space(
    conn: Connection,
    day: date,
    directives: Sequence[Directive],
    *,
    settings: Settings | None = None,
) -> list[OfficeShortfall]:
    """The offices where more people are expected on ``day`` than there are seats, the
    largest shortfall first: the evidence a "lack of adequate office space" exemption
    request can cite (docs/capacity.md). Exemptions and agreements are the stored ones.
    Empty on a day nobody works (a weekend or a federal holiday)."""
    inputs = stored_inputs(conn, directives)
    found = capacity(conn, day, day, inputs, settings=settings)
    names = dict(
        zip(found.offices["site_id"].to_pylist(), found.offices["name"].to_pylist(), strict=True)
    )
    short = []
    for row in found.days.to_pylist():
        missing = shortfall(row["expected"], row["seats"])
        if missing > 0:
            short.append(
                OfficeShortfall(
                    site_id=row["site_id"],
                    name=names.get(row["site_id"], row["site_id"]),
                    day=row["day"],
                    seats=row["seats"],
                    expected=round(row["expected"], 2),
                    shortfall=missing,
                    assigned=row["assigned"],
                    designated=row["designated"],
                )
            )
    return sorted(short, key=lambda s: (-s.shortfall, s.site_id))


def observed_occupancy(runtime: Runtime, start: date, end: date) -> tuple[Any, date | None]:
    """People badged per office and day of ``start..end`` (``OBSERVED_SCHEMA``, a row per
    office and day with someone), and the last day with any stored badge event (None:
    none): after it, occupancy is unknown rather than 0."""
    badges = runtime.events.scan_sql(EventKind.BADGES, months_between(start, end))
    with shared_connection(runtime.settings) as con:
        found = con.sql(
            f"SELECT site_id, day, occupancy AS observed FROM {occupancy_sql(badges, (start, end))}"
        ).to_arrow_table()
        last = con.execute(f"SELECT max(local_date) FROM {badges}").fetchone()
    return found.cast(OBSERVED_SCHEMA), (last[0] if last else None)
