"""The HR roster as effective-dated rows (generic column names): a baseline row per
employee as of the fiscal-year snapshot, an entry-on-duty row per new hire, and one row
per change day (move, return to the office, new badge), each repeating the whole record
as of that day, as HR systems export history."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from dutystation.synthetic.history import NEVER, History
from dutystation.synthetic.offices import Offices
from dutystation.synthetic.org import Org
from dutystation.synthetic.people import (
    ARRANGEMENTS,
    FUNCTION_NAMES,
    HEAD,
    REMOTE,
    SCHEDULES,
    SUPERVISOR,
    TELEWORK,
    People,
)
from dutystation.synthetic.spec import BARGAINING_UNITS, JOB_FUNCTIONS
from dutystation.synthetic.timeline import BASELINE, Timeline


def roster_table(
    org: Org, offices: Offices, people: People, history: History, timeline: Timeline
) -> pa.Table:
    n = people.n
    everyone = np.arange(n)
    first_day = np.where(everyone < people.n_baseline, timeline.index(BASELINE), people.hire_day)
    emp: npt.NDArray[np.int32] = np.concatenate(
        [everyone]
        + [
            np.flatnonzero(days < NEVER)
            for days in (history.move_day, history.change_day, history.badge_day)
        ]
    )
    day: npt.NDArray[np.int32] = np.concatenate(
        [
            first_day,
            history.move_day[history.move_day < NEVER],
            history.change_day[history.change_day < NEVER],
            history.badge_day[history.badge_day < NEVER],
        ]
    )
    # A badge replaced before a new hire's entry is still on the roster from its day.
    day = np.maximum(day, first_day[emp])
    offset = 1 << 20
    key = np.unique(emp.astype(np.int64) * offset + (day + offset // 2))
    emp = (key // offset).astype(np.int32)
    day = (key % offset - offset // 2).astype(np.int32)

    moved = day >= history.move_day[emp]
    changed = day >= history.change_day[emp]
    leaf = np.where(moved, history.leaf_after[emp], people.leaf[emp])
    sup = np.where(moved, history.supervisor_after[emp], people.supervisor[emp])
    arrangement = np.where(changed, history.arrangement_after[emp], people.arrangement[emp])
    station = history.station_on(emp, day)
    badge = history.badge_on(emp, day)

    ids = pa.array(people.employee_id)
    sites = pa.array(offices.site_id)
    z = offices.zips
    home = people.home_zip[emp]
    start = np.datetime64(timeline.start.isoformat(), "D")
    eligible = np.isin(people.arrangement, (TELEWORK, REMOTE))[emp]
    bu_codes = pa.array([b.code for b in BARGAINING_UNITS])
    bu = people.bargaining_unit[emp]
    return pa.table(
        {
            "employee_id": ids.take(emp),
            "name": pa.array(people.name).take(emp),
            "org_unit": pa.array([org.units[u].code for u in org.leaves]).take(leaf),
            "duty_station": sites.take(_nullable(station)),
            "arrangement": pa.array([str(a) for a in ARRANGEMENTS]).take(arrangement),
            "effective_date": pa.array(np.datetime_as_string(start + day, unit="D")),
            "schedule": pa.array([str(k) for k, _ in SCHEDULES]).take(people.schedule[emp]),
            "supervisor_id": ids.take(_nullable(sup)),
            "position": pa.array(_positions(org, people)).take(emp),
            "job_function": pa.array(list(FUNCTION_NAMES)).take(people.function[emp]),
            "bargaining_unit": bu_codes.take(_nullable(bu)),
            "telework_eligible": pa.array(np.where(eligible, "true", "false")),
            "badge_id": pa.array(badge).cast(pa.string()),
            "email": pa.array(people.email).take(emp),
            "home_zip": pa.array(z.zip[home]),
            "home_latitude": pa.array(np.char.mod("%.4f", z.lat[home])),
            "home_longitude": pa.array(np.char.mod("%.4f", z.lon[home])),
        }
    )


def _nullable(index: npt.NDArray[np.int32]) -> pa.Array:
    return pa.array(index, mask=index < 0)


def _positions(org: Org, people: People) -> list[str]:
    titles = [JOB_FUNCTIONS[f].position for f in FUNCTION_NAMES]
    out = []
    for i in range(people.n):  # cheap: string formatting only
        role = people.role[i]
        if people.supervisor[i] < 0:
            out.append("Secretary of Example Affairs")
        elif role == HEAD:
            out.append(f"Director, {org.units[org.leaves[people.leaf[i]]].name}")
        elif role == SUPERVISOR:
            out.append(f"Supervisory {titles[people.function[i]]}")
        else:
            out.append(titles[people.function[i]])
    return out


def effective(timeline: Timeline, day: int) -> str:
    return (timeline.start + timedelta(days=day)).isoformat()
