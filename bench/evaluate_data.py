"""Synthetic data for ``bench/evaluate.py``: a roster in SQLite and an event store in Parquet.

N employees over W weeks from Monday 2025-01-06, generated month by month with numpy
(no Python per employee-day or per event) and written straight into the event-store
layout: one Parquet file per month and kind in ``.staging``, published and recorded by
``StoreLock.commit`` (a manifest per batch), exactly as an import leaves them. The roster
goes into the migrated SQLite database with one ``executemany`` per table.

Shape (seeded): 50 % on site, 36 % telework, 10 % remote (no duty station), 4 % field;
schedules 85 % 5x8, 10 % 4x10, 5 % 5-4/9; 3 % of employees get a second assignment version
mid-range (new arrangement, half of them a new duty station). Each workday has one T&A row
(on site at the duty station, 3 % at another office; telework; remote; field/travel;
leave) with the day's scheduled hours; federal holidays a ``holiday`` row. Badge taps on
98 % of on-site days and 1 % of the others, 2-10 taps a day (mean 5.2): about 100M events
for 250,000 employees over 26 weeks.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from dutystation.analytics.calendar_table import schedule_hours
from dutystation.bootstrap import bootstrap
from dutystation.events.schemas import BADGE_EVENTS_SCHEMA, TIMECARDS_SCHEMA, EventKind
from dutystation.events.store import EventStore
from dutystation.settings import load_settings

START = date(2025, 1, 6)  # a Monday, two weeks before the government-wide order
SEED = 20250120
ARRANGEMENTS = np.array(["onsite", "telework", "remote", "field"])
ARRANGEMENT_P = [0.50, 0.36, 0.10, 0.04]
SCHEDULES = np.array(["5x8", "4x10", "5-4/9"])
SCHEDULE_P = [0.85, 0.10, 0.05]
CATEGORIES = np.array(
    ["onsite", "telework_routine", "telework_situational", "remote", "field_travel", "leave"]
)
CODES = np.array(["REG", "TWR", "TWS", "RWK", "TRV", "AL", "HOL"])
# Per arrangement, the chance of each category on a workday (same order as CATEGORIES).
CATEGORY_P = np.array(
    [
        [0.88, 0.00, 0.03, 0.00, 0.02, 0.07],
        [0.45, 0.43, 0.02, 0.00, 0.03, 0.07],
        [0.03, 0.00, 0.00, 0.90, 0.00, 0.07],
        [0.08, 0.00, 0.00, 0.00, 0.85, 0.07],
    ]
)
POLICY = Path(__file__).resolve().parents[1] / "policies/2025-01-20-return-to-in-person-work.toml"


def end_of(weeks: int) -> date:
    return START + timedelta(days=7 * weeks - 1)


def generate(data_dir: Path, employees: int, weeks: int) -> None:
    """Fill ``data_dir`` (replaced if present) with the roster, events and a policies folder."""
    if data_dir.exists():
        shutil.rmtree(data_dir)
    runtime = bootstrap(load_settings(data_dir=data_dir))
    rng = np.random.default_rng(SEED)
    sites = max(50, min(2000, employees // 125))
    roster = _roster(rng, employees, weeks, sites)
    _write_roster(runtime.engine.raw_connection(), roster, sites)
    (data_dir / "policies").mkdir()
    shutil.copy(POLICY, data_dir / "policies" / POLICY.name)
    _write_events(EventStore(runtime.settings.events_dir), rng, roster, weeks, sites)
    (data_dir / "generated.json").write_text(json.dumps({"employees": employees, "weeks": weeks}))


def _roster(rng: np.random.Generator, n: int, weeks: int, sites: int) -> dict[str, np.ndarray]:
    days = 7 * weeks
    arrangement = rng.choice(len(ARRANGEMENTS), n, p=ARRANGEMENT_P)
    station = rng.integers(0, sites, n)
    station[arrangement == 2] = -1  # remote: the official worksite is not an agency office
    new_arrangement = rng.choice(len(ARRANGEMENTS), n, p=ARRANGEMENT_P)
    new_station = np.where(rng.random(n) < 0.5, rng.integers(0, sites, n), station)
    new_station[new_arrangement == 2] = -1
    lost = (new_arrangement != 2) & (new_station < 0)
    new_station[lost] = rng.integers(0, sites, int(lost.sum()))
    second = (rng.random(n) < 0.03) & ((new_arrangement != arrangement) | (new_station != station))
    return {
        "arrangement": arrangement,
        "station": station,
        "schedule": rng.choice(len(SCHEDULES), n, p=SCHEDULE_P),
        "division": rng.integers(0, 40, n),
        "second": second,
        # the first day of the second version (``days``: none in the range)
        "change_day": np.where(second, rng.integers(1, days, n), days),
        "new_arrangement": np.where(second, new_arrangement, arrangement),
        "new_station": np.where(second, new_station, station),
    }


def _write_roster(raw: object, roster: dict[str, np.ndarray], sites: int) -> None:
    con: sqlite3.Connection = raw.driver_connection  # type: ignore[attr-defined]
    n = len(roster["arrangement"])
    units: list[tuple[int, str, str, str, int | None]]
    units = [(1, "BEN", "Bench Department", "department", None)]
    units += [(2 + c, f"BEN-C{c}", f"Component {c}", "component", 1) for c in range(10)]
    units += [
        (12 + d, f"BEN-C{d // 4}-D{d % 4}", f"Division {d}", "division", 2 + d // 4)
        for d in range(40)
    ]
    offices = [(i + 1, f"S{i:05d}", f"Office {i}", "America/New_York", 500) for i in range(sites)]
    employees = [(i + 1, f"E{i:07d}", f"Employee {i:07d}", 1, None) for i in range(n)]
    second = np.flatnonzero(roster["second"])
    moved = [(START + timedelta(days=int(d))).isoformat() for d in roster["change_day"][second]]
    until: list[str | None] = [None] * n
    for i, day in zip(second.tolist(), moved, strict=True):
        until[i] = day
    who = list(range(n)) + second.tolist()
    since = ["2024-10-01"] * n + moved
    ends = until + [None] * len(second)
    arrangement = np.concatenate([roster["arrangement"], roster["new_arrangement"][second]])
    station = np.concatenate([roster["station"], roster["new_station"][second]])
    rows = zip(
        range(1, len(who) + 1),
        [i + 1 for i in who],
        since,
        ends,
        (12 + roster["division"][who]).tolist(),
        [s + 1 if s >= 0 else None for s in station.tolist()],
        ARRANGEMENTS[arrangement].tolist(),
        SCHEDULES[roster["schedule"][who]].tolist(),
        strict=True,
    )
    # The engine's connections run in autocommit mode (SQLAlchemy issues BEGIN itself):
    # one explicit transaction, or every row is fsynced on its own.
    con.execute("BEGIN")
    con.executemany("INSERT INTO org_unit VALUES (?, ?, ?, ?, ?)", units)
    con.executemany(
        "INSERT INTO office (id, site_id, name, timezone, seats) VALUES (?, ?, ?, ?, ?)",
        offices,
    )
    con.executemany("INSERT INTO office_org_unit VALUES (?, 1)", [(o[0],) for o in offices])
    con.executemany("INSERT INTO employee VALUES (?, ?, ?, NULL, ?, ?)", employees)
    con.executemany(
        "INSERT INTO employee_assignment (id, employee_pk, effective_from, effective_to, "
        "org_unit_id, duty_station_id, arrangement, schedule, position, job_function, "
        "telework_eligible) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'Analyst', 'analysis', 1)",
        rows,
    )
    con.execute("COMMIT")


def _month_spans(weeks: int) -> list[tuple[str, int, int]]:
    """(YYYY-MM, first day index, last day index + 1) of each month of the range."""
    spans: list[tuple[str, int, int]] = []
    for d in range(7 * weeks):
        month = (START + timedelta(days=d)).strftime("%Y-%m")
        if spans and spans[-1][0] == month:
            spans[-1] = (month, spans[-1][1], d + 1)
        else:
            spans.append((month, d, d + 1))
    return spans


def _write_events(
    store: EventStore,
    rng: np.random.Generator,
    roster: dict[str, np.ndarray],
    weeks: int,
    sites: int,
) -> None:
    n = len(roster["arrangement"])
    hours = schedule_hours(START, end_of(weeks))
    kinds = hours.column("schedule").to_numpy(zero_copy_only=False)
    table = {
        k: (
            hours.column("hours_scheduled").to_numpy()[kinds == k],
            hours.column("hours_holiday").to_numpy()[kinds == k],
        )
        for k in SCHEDULES
    }
    scheduled = np.stack([table[k][0] for k in SCHEDULES])  # schedule x day
    holiday = np.stack([table[k][1] for k in SCHEDULES])
    cumulative = CATEGORY_P.cumsum(axis=1)
    ids = pa.array([f"E{i:07d}" for i in range(n)], pa.string())
    site_ids = pa.array([f"S{i:05d}" for i in range(sites)], pa.string())
    site_offset_s = rng.choice([-5, -6, -7, -8], sites) * 3600
    staged: dict[EventKind, list[tuple[str, Path]]] = {
        EventKind.BADGES: [],
        EventKind.TIMECARDS: [],
    }
    with store.lock() as held:
        batch = {k: f"bench-{k}-{SEED}" for k in staged}
        for month, first, after in _month_spans(weeks):
            d = np.arange(first, after)
            later = d[None, :] >= roster["change_day"][:, None]
            arrangement = np.where(
                later, roster["new_arrangement"][:, None], roster["arrangement"][:, None]
            )
            station = np.where(later, roster["new_station"][:, None], roster["station"][:, None])
            sched = scheduled[roster["schedule"][:, None], d[None, :]]
            hol = holiday[roster["schedule"][:, None], d[None, :]]
            work = sched - hol
            u = rng.random(work.shape, dtype=np.float32)
            category = (u[..., None] > cumulative[arrangement]).sum(axis=-1)
            emp, day = np.nonzero(work > 0)
            cat = category[emp, day]
            site = station[emp, day].copy()
            elsewhere = rng.random(len(emp)) < 0.03
            site[elsewhere] = rng.integers(0, sites, int(elsewhere.sum()))
            h_emp, h_day = np.nonzero(hol > 0)
            timecards = _timecards(
                ids,
                site_ids,
                np.concatenate([emp, h_emp]),
                first + np.concatenate([day, h_day]),
                np.concatenate([cat, np.full(len(h_emp), 6)]),
                np.concatenate([work[emp, day], hol[h_emp, h_day]]),
                np.concatenate([np.where(cat == 0, site, -1), np.full(len(h_emp), -1)]),
            )
            present = np.where(cat == 0, rng.random(len(emp)) < 0.98, rng.random(len(emp)) < 0.01)
            where = np.where(site >= 0, site, rng.integers(0, sites, len(emp)))[present]
            badges = _badges(
                rng, ids, site_ids, site_offset_s, emp[present], first + day[present], where
            )
            for kind, rows in ((EventKind.TIMECARDS, timecards), (EventKind.BADGES, badges)):
                path = held.staging_dir(batch[kind]) / f"{month}.parquet"
                pq.write_table(
                    rows,
                    path,
                    compression="zstd",
                    row_group_size=262_144,
                    use_dictionary=[
                        "category",
                        "source_code",
                        "site_id",
                        "local_date",
                        "direction",
                    ],
                )
                staged[kind].append((month, path))
        for sequence, kind in enumerate((EventKind.BADGES, EventKind.TIMECARDS), start=1):
            held.commit(
                kind=kind,
                batch_id=batch[kind],
                sequence=sequence,
                created_at=datetime.now(UTC),
                profile="bench",
                sources=[],
                staged=staged[kind],
                rows_read=sum(pq.read_metadata(p).num_rows for _, p in staged[kind]),
                duplicates=0,
                rejected=0,
            )


def _dates(day_index: np.ndarray) -> pa.Array:
    epoch = (START - date(1970, 1, 1)).days
    return pa.array((day_index + epoch).astype(np.int32), pa.date32())


def _timecards(
    ids: pa.Array,
    site_ids: pa.Array,
    emp: np.ndarray,
    day: np.ndarray,
    cat: np.ndarray,
    hours: np.ndarray,
    site: np.ndarray,
) -> pa.Table:
    names = np.append(CATEGORIES, "holiday")
    return pa.table(
        {
            "employee_id": ids.take(pa.array(emp)),
            "date": _dates(day),
            "category": pa.array(names[cat]),
            "source_code": pa.array(CODES[cat]),
            "hours": pa.array(hours.astype(np.float64)),
            "site_id": site_ids.take(pa.array(np.where(site >= 0, site, 0), mask=site < 0)),
            "batch_seq": pa.array(np.full(len(emp), 2, np.int64)),
        },
        schema=TIMECARDS_SCHEMA,
    )


def _badges(
    rng: np.random.Generator,
    ids: pa.Array,
    site_ids: pa.Array,
    offsets: np.ndarray,
    emp: np.ndarray,
    day: np.ndarray,
    site: np.ndarray,
) -> pa.Table:
    taps = 2 + rng.binomial(8, 0.4, len(emp))
    row = np.repeat(np.arange(len(emp)), taps)
    k = np.arange(len(row)) - np.repeat(np.cumsum(taps) - taps, taps)  # tap number in its day
    local_s = 7 * 3600 + k * 5000 + rng.integers(0, 4500, len(row))
    epoch_day = (START - date(1970, 1, 1)).days + day[row]
    utc_us = (epoch_day.astype(np.int64) * 86400 + local_s - offsets[site[row]]) * 1_000_000
    return pa.table(
        {
            "employee_id": ids.take(pa.array(emp[row])),
            "badge_id": pa.nulls(len(row), pa.string()),
            "ts_utc": pa.array(utc_us, pa.timestamp("us", tz="UTC")),
            "source_offset_minutes": pa.nulls(len(row), pa.int16()),
            "local_date": _dates(day[row] - 0),
            "site_id": site_ids.take(pa.array(site[row])),
            "direction": pa.array(np.where(k % 2 == 0, "IN", "OUT")),
            "batch_seq": pa.array(np.ones(len(row), np.int64)),
            "event_key": pa.array(rng.integers(0, 2**63, len(row), dtype=np.uint64)),
        },
        schema=BADGE_EVENTS_SCHEMA,
    )
