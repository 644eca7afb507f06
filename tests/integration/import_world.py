"""A small organisation with one office in each of the nine US time zones the reliability
plan names, loaded through the real importers into a SQLite data dir; and the readers the
badge tests compare with: stored events, the daily presence report, and content hashes of
both (RELIABILITY T20, T23, T24).

Employees are ``E<site><n>`` (e.g. ``ENYC3``), each with the office of its site as duty
station and badge number ``B<site><n>``.
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
from sqlalchemy.orm import Session

from dutystation.bootstrap import Runtime, bootstrap
from dutystation.domain.presence import PresenceSettings
from dutystation.events.schemas import EventKind
from dutystation.ingest.fields import ImportKind
from dutystation.ingest.profiles import Profile, default_profile
from dutystation.ingest.summary import ImportSummary
from dutystation.services import import_events
from dutystation.services.importing import run_import
from dutystation.services.presence import daily_presence
from dutystation.settings import Settings
from dutystation.store.repositories import reference_data

ZONES = {
    "NYC": "America/New_York",
    "CHI": "America/Chicago",
    "DEN": "America/Denver",
    "PHX": "America/Phoenix",
    "LAX": "America/Los_Angeles",
    "ANC": "America/Anchorage",
    "HNL": "Pacific/Honolulu",
    "SJU": "America/Puerto_Rico",
    "GUM": "Pacific/Guam",
}
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)  # after both 2026 DST changes
ROSTER_DAY = "2025-01-01"
BADGE_HEADER = ["employee_id", "badge_id", "timestamp", "site_id", "direction"]


def write_csv(path: Path, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh, lineterminator="\n")
        out.writerow(header)
        out.writerows(rows)
    return path


def employees(per_site: int) -> dict[str, str]:
    """employee id -> site id."""
    return {f"E{site}{n}": site for site in ZONES for n in range(per_site)}


def build_world(root: Path, per_site: int = 3, **settings: Any) -> Runtime:
    """Org units, the nine offices and ``per_site`` employees per office, imported."""
    root.mkdir(parents=True, exist_ok=True)
    runtime = bootstrap(Settings(data_dir=root / "data", **settings))
    org = write_csv(
        root / "org.csv",
        ["org_unit", "name", "parent", "kind"],
        [("D", "Dept", "", "department"), ("C", "Comp", "D", "component")],
    )
    offices = write_csv(
        root / "offices.csv",
        ["site_id", "name", "timezone", "seats", "org_unit"],
        [(site, f"Office {site}", zone, "50", "C") for site, zone in ZONES.items()],
    )
    roster = write_csv(
        root / "roster.csv",
        ["employee_id", "name", "org_unit", "duty_station", "arrangement", "effective_date",
         "badge_id"],
        [(e, f"Person {e}", "C", site, "onsite", ROSTER_DAY, "B" + e[1:])
         for e, site in employees(per_site).items()],
    )  # fmt: skip
    for kind, path in (
        (ImportKind.ORG_UNITS, org),
        (ImportKind.OFFICES, offices),
        (ImportKind.ROSTER, roster),
    ):
        run_import(runtime, kind, [path])
    return runtime


def import_badges(
    runtime: Runtime,
    *paths: Path,
    profile: Profile | None = None,
    now: datetime = NOW,
    accept_partial: bool = False,
) -> ImportSummary:
    """The badge import as ``dutystation import badges`` runs it, at a fixed ``now``."""
    with Session(runtime.engine) as session:
        reference = reference_data(session)
    return import_events.import_badges(
        runtime.settings,
        list(paths),
        profile or default_profile(ImportKind.BADGES),
        reference,
        accept_partial=accept_partial,
        now=now,
        engine=runtime.engine,
    )


def stored_events(runtime: Runtime) -> pa.Table:
    """Every stored badge event, in a canonical order, without the batch bookkeeping."""
    relation = runtime.events.scan_sql(EventKind.BADGES)
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    try:
        return con.sql(
            "SELECT employee_id, badge_id, ts_utc, source_offset_minutes, local_date, site_id, "
            f"direction, event_key FROM {relation} "
            "ORDER BY employee_id, ts_utc, direction NULLS FIRST, site_id"
        ).to_arrow_table()
    finally:
        con.close()


def presence(
    runtime: Runtime, start: date, end: date, settings: PresenceSettings | None = None
) -> pa.Table:
    return daily_presence(runtime, start, end, settings=settings)


def content_hash(table: pa.Table) -> str:
    """sha256 of a table's rows in their canonical order (the report's hash)."""
    digest = hashlib.sha256()
    for row in table.to_pylist():
        digest.update(repr(sorted(row.items())).encode())
    return digest.hexdigest()
