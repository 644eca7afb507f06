"""The weekly figure of ``bench/evaluate_handwritten.sql`` in vectorised pandas.

Read one month of the event store at a time: the whole of 100M badge events as pandas
objects would need tens of GB. Each month is reduced to per employee-week partial sums;
weeks that straddle two months are completed when the partials are added up. Employees
are pandas categoricals (integer codes) after reading, so grouping never hashes strings.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd  # type: ignore[import-untyped]  # no stubs installed
import pyarrow as pa
import pyarrow.parquet as pq

from dutystation.analytics.calendar_table import schedule_hours
from dutystation.events.schemas import EventKind
from dutystation.events.store import EventStore


def _weeks(days: pd.Series) -> pd.Series:
    iso = days.dt.isocalendar()
    return iso["year"].astype(str) + "-W" + iso["week"].astype(str).str.zfill(2)


def weekly_figure(roster_table: pa.Table, path: Path, start: date, end: date) -> pa.Table:
    roster = roster_table.to_pandas()
    ids = pd.Index(roster["employee_id"].unique())
    roster["emp"] = ids.get_indexer(roster["employee_id"])
    for column in ("effective_from", "effective_until"):
        roster[column] = pd.to_datetime(roster[column].astype(str).str.replace("9999", "2262"))
    calendar = schedule_hours(start, end).to_pandas()
    calendar["day"] = pd.to_datetime(calendar["day"])
    calendar["net"] = calendar["hours_scheduled"] - calendar["hours_holiday"]
    calendar["week"] = _weeks(calendar["day"])

    # Hours scheduled on every assigned day.
    days = roster[["emp", "schedule", "effective_from", "effective_until"]].merge(
        calendar[["day", "schedule", "net", "week"]], on="schedule"
    )
    days = days[(days["day"] >= days["effective_from"]) & (days["day"] < days["effective_until"])]
    required = days.groupby(["emp", "week"], observed=True)["net"].sum()
    del days

    store = EventStore(path / "events")
    worked_parts, present_parts = [], []
    months = sorted({f.month for m in store.manifests() for f in m.files})
    for month in months:
        files = store.files(EventKind.TIMECARDS, [month])
        if files:
            worked_parts.append(_worked(files, roster, ids, start, end))
        files = store.files(EventKind.BADGES, [month])
        if files:
            present_parts.append(_present(files, ids, start, end))
    worked = pd.concat(worked_parts).groupby(level=[0, 1]).sum()
    present = pd.concat(present_parts).groupby(level=[0, 1]).sum()

    figure = required.to_frame("scheduled").join(worked, how="left").join(present, how="left")
    figure = figure.fillna(0.0).reset_index()
    figure["hours_required"] = figure["scheduled"] - figure["leave"]
    return pa.table(
        {
            "employee_id": pa.array(ids[figure["emp"].to_numpy()], pa.string()),
            "week": pa.array(figure["week"], pa.string()),
            "hours_required": figure["hours_required"].to_numpy(),
            "hours_at_duty_station": figure["at"].to_numpy(),
            "hours_off_site": figure["off"].to_numpy(),
            "days_present_badge": figure["days"].to_numpy().astype(np.int64),
        }
    )


def _worked(
    files: list[Path], roster: pd.DataFrame, ids: pd.Index, start: date, end: date
) -> pd.DataFrame:
    columns = ["employee_id", "date", "category", "hours", "site_id"]
    t = pq.read_table(files, columns=columns).to_pandas()
    t["date"] = pd.to_datetime(t["date"])
    t = t[(t["date"] >= pd.Timestamp(start)) & (t["date"] <= pd.Timestamp(end))]
    t["emp"] = ids.get_indexer(t["employee_id"])
    # The assignment version of each day: merge on the employee, keep the one in force.
    t = t.merge(roster[["emp", "effective_from", "effective_until", "duty_station"]], on="emp")
    t = t[(t["date"] >= t["effective_from"]) & (t["date"] < t["effective_until"])]
    onsite = t["category"] == "onsite"
    own = t["site_id"].isna() | (t["site_id"] == t["duty_station"])
    at = (t["category"] == "field_travel") | (onsite & own)
    off = t["category"].isin(["telework_routine", "telework_situational", "remote"])
    off |= onsite & ~own
    t["at"] = np.where(at, t["hours"], 0.0)
    t["off"] = np.where(off, t["hours"], 0.0)
    t["leave"] = np.where(t["category"] == "leave", t["hours"], 0.0)
    t["week"] = _weeks(t["date"])
    return t.groupby(["emp", "week"])[["at", "off", "leave"]].sum()


def _present(files: list[Path], ids: pd.Index, start: date, end: date) -> pd.DataFrame:
    b = pq.read_table(files, columns=["employee_id", "local_date"]).to_pandas()
    b["local_date"] = pd.to_datetime(b["local_date"])
    b = b[(b["local_date"] >= pd.Timestamp(start)) & (b["local_date"] <= pd.Timestamp(end))]
    b["emp"] = ids.get_indexer(b["employee_id"])
    b = b[["emp", "local_date"]].drop_duplicates()
    b["week"] = _weeks(b["local_date"])
    return b.groupby(["emp", "week"]).size().to_frame("days")
