"""Builders for the badge-report tests (presence, discrepancies, utilisation): a little
organisation loaded through the real importers, then badge taps and timecards written as
the generic profile's CSV files and imported the way a user imports them.

Organisation (``test_import_records_builders``): DEPT > COMP-A > DIV-A1 ..., DEPT > COMP-B;
offices HQ (America/New_York; DEPT, COMP-A), FIELD-1 (America/Denver; COMP-B) and SPARE
(America/Chicago, 0 seats; DEPT). Seats are set per test.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from test_import_records_builders import (
    OFFICE_COLUMNS,
    OFFICES,
    ROSTER_COLUMNS,
    org_units_csv,
    person,
    write_csv,
)

from dutystation.bootstrap import Runtime, bootstrap
from dutystation.ingest.fields import ImportKind
from dutystation.services.importing import run_import
from dutystation.settings import Settings

BADGE_COLUMNS = ["employee_id", "timestamp", "site_id", "direction"]
TIMECARD_COLUMNS = ["employee_id", "date", "code", "hours", "site_id"]


def runtime_for(tmp_path: Path, **settings: Any) -> Runtime:
    return bootstrap(Settings(data_dir=tmp_path / "data", **settings))


def load_organisation(
    runtime: Runtime,
    tmp_path: Path,
    people: Sequence[dict[str, Any]],
    seats: dict[str, int] | None = None,
) -> None:
    """Org units, offices (``seats`` overrides capacity per site_id) and the roster."""
    offices = [(*row[:7], str((seats or {}).get(row[0], row[7])), *row[8:]) for row in OFFICES]
    run_import(runtime, ImportKind.ORG_UNITS, [org_units_csv(tmp_path)])
    run_import(
        runtime, ImportKind.OFFICES, [write_csv(tmp_path / "offices.csv", OFFICE_COLUMNS, offices)]
    )
    run_import(
        runtime, ImportKind.ROSTER, [write_csv(tmp_path / "roster.csv", ROSTER_COLUMNS, people)]
    )


def staff(*ids: str, **fields: Any) -> list[dict[str, Any]]:
    """Roster rows from 2025-01-01 (``person`` with an earlier effective date)."""
    return [person(i, **{"effective_date": "2025-01-01", **fields}) for i in ids]


def tap(employee_id: str, local: str, direction: str = "", site: str = "HQ") -> list[str]:
    """A tap at ``local`` (``2025-02-03T08:00:00``: office-local time, no offset)."""
    return [employee_id, local, site, direction]


def import_badges(runtime: Runtime, tmp_path: Path, taps: Sequence[Sequence[str]]) -> None:
    name = f"badges-{len(list(tmp_path.glob('badges-*.csv')))}.csv"
    run_import(runtime, ImportKind.BADGES, [write_csv(tmp_path / name, BADGE_COLUMNS, taps)])


def timecard(
    employee_id: str, day: str, code: str, hours: float, site: str = ""
) -> list[str | float]:
    return [employee_id, day, code, hours, site]


def import_timecards(
    runtime: Runtime, tmp_path: Path, rows: Sequence[Sequence[str | float]]
) -> None:
    name = f"timecards-{len(list(tmp_path.glob('timecards-*.csv')))}.csv"
    run_import(runtime, ImportKind.TIMECARDS, [write_csv(tmp_path / name, TIMECARD_COLUMNS, rows)])
