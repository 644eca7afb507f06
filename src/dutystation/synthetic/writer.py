"""Write the generated department as the files a user would bring: each in the shape of
its source system (generic CSV, an Excel sheet, a pipe-delimited T&A extract, a gzipped
access-control export). Strings are built column-wise with pyarrow; fixed-width text
(timestamps) is assembled as a byte matrix, which is much faster than strftime."""

from __future__ import annotations

import gzip
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.csv as pacsv
from openpyxl import Workbook

from dutystation.ingest.fields import ImportKind, field_names
from dutystation.synthetic.attendance import PAY_CODES, REG, Cells, timecard_rows
from dutystation.synthetic.badges import BadgeEvents
from dutystation.synthetic.history import History
from dutystation.synthetic.offices import Offices
from dutystation.synthetic.org import Org
from dutystation.synthetic.people import People
from dutystation.synthetic.timeline import Timeline

# The column names of the example source profiles (profiles/*.toml).
TIMECARD_COLUMNS = ("Emp No", "Work Date", "Pay Code", "Hours", "Duty Loc")
BADGE_COLUMNS = ("Card Number", "Event Time (UTC)", "Reader", "Event Type")
EVENT_TYPES = ("Access Granted - Entry", "Access Granted - Exit", "Access Granted")
CHUNK_ROWS = 1_000_000


def write_org_units(org: Org, path: Path) -> int:
    table = pa.table(
        {
            "org_unit": [u.code for u in org.units],
            "name": [u.name for u in org.units],
            "parent": [None if u.parent is None else org.units[u.parent].code for u in org.units],
            "kind": [str(u.kind) for u in org.units],
        }
    )
    _write_csv(table, path)
    return int(table.num_rows)


def write_offices(org: Org, offices: Offices, seats: npt.NDArray[np.int64], path: Path) -> int:
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("Offices")
    ws.append(field_names(ImportKind.OFFICES))
    z = offices.zips
    comp_codes = [u.code for u in org.units if u.component is not None and u.parent == 0]
    for i in range(len(offices)):  # a few hundred rows
        zi = offices.zip_index[i]
        ws.append(
            [
                offices.site_id[i],
                offices.name[i],
                offices.address[i],
                str(z.zip[zi]),
                float(z.lat[zi]),
                float(z.lon[zi]),
                str(z.timezone[zi]),
                int(seats[i]),
                ";".join(comp_codes[c] for c in offices.owners[i]),
                ";".join(offices.functions[i]),
            ]
        )
    wb.save(path)
    return len(offices)


def write_roster(table: pa.Table, path: Path) -> int:
    _write_csv(table, path)
    return int(table.num_rows)


def write_timecards(
    cells: Cells, people: People, history: History, offices: Offices, timeline: Timeline, path: Path
) -> int:
    index, code, hours = timecard_rows(cells)
    emp, day = cells.emp[index], cells.day[index]
    station = history.station_on(emp, day)
    quarter = np.rint(hours * 4).astype(np.int32)
    ids, dates = pa.array(people.employee_id), pa.array(timeline.us_dates)
    codes, sites = pa.array(PAY_CODES), pa.array(offices.site_id)
    hour_labels = pa.array([f"{q / 4:.2f}" for q in range(97)])

    def rows(s: slice) -> pa.Table:
        return pa.table(
            {
                "Emp No": ids.take(emp[s]),
                "Work Date": dates.take(day[s]),
                "Pay Code": codes.take(code[s]),
                "Hours": hour_labels.take(quarter[s]),
                "Duty Loc": sites.take(pa.array(station[s], mask=code[s] != REG)),
            }
        )

    with path.open("wb") as fh:
        _write_chunks(fh, TIMECARD_COLUMNS, "|", len(index), rows)
    return len(index)


def write_badges(events: BadgeEvents, offices: Offices, path: Path) -> int:
    readers = pa.array([r for per_office in offices.readers for r in per_office])
    kinds = pa.array(EVENT_TYPES)

    def rows(s: slice) -> pa.Table:
        return pa.table(
            {
                "Card Number": pa.array(events.badge[s]).cast(pa.string()),
                "Event Time (UTC)": utc_strings(events.utc[s]),
                "Reader": readers.take(events.reader[s]),
                "Event Type": kinds.take(events.direction[s]),
            }
        )

    # mtime=0 and no file name in the gzip header: the same seed gives the same bytes.
    with (
        path.open("wb") as raw,
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=1, mtime=0) as gz,
    ):
        _write_chunks(gz, BADGE_COLUMNS, ",", len(events), rows)
    return len(events)


def utc_strings(utc: npt.NDArray[np.int64]) -> pa.Array:
    """``YYYY-MM-DDTHH:MM:SSZ`` for each epoch second, without a per-row strftime."""
    days, secs = np.divmod(utc, 86_400)
    first = int(days.min()) if len(days) else 0
    span = (int(days.max()) - first + 1) if len(days) else 1
    labels = np.datetime_as_string(np.arange(first, first + span).astype("datetime64[D]"))
    date_bytes = np.frombuffer("".join(labels).encode(), dtype=np.uint8).reshape(span, 10)
    out = np.empty((len(utc), 20), dtype=np.uint8)
    out[:, :10] = date_bytes[days - first]
    out[:, 10], out[:, 13], out[:, 16], out[:, 19] = ord("T"), ord(":"), ord(":"), ord("Z")
    hh, rest = np.divmod(secs, 3600)
    mm, ss = np.divmod(rest, 60)
    for col, value in ((11, hh), (14, mm), (17, ss)):
        out[:, col] = 48 + value // 10
        out[:, col + 1] = 48 + value % 10
    offsets = pa.py_buffer(np.arange(0, 20 * (len(utc) + 1), 20, dtype=np.int32).tobytes())
    return pa.StringArray.from_buffers(len(utc), offsets, pa.py_buffer(out.tobytes()))


def _write_csv(table: pa.Table, path: Path) -> None:
    pacsv.write_csv(table, path, pacsv.WriteOptions(quoting_style="needed"))


class _Sink(Protocol):
    def write(self, data: bytes, /) -> int: ...


def _write_chunks(
    sink: _Sink,
    header: tuple[str, ...],
    delimiter: str,
    n: int,
    rows: Callable[[slice], pa.Table],
) -> None:
    """Unquoted, as system extracts are (the values never contain the delimiter), and a
    slice at a time so the text of millions of rows is never in memory at once."""
    sink.write((delimiter.join(header) + "\n").encode())
    options = pacsv.WriteOptions(include_header=False, delimiter=delimiter, quoting_style="none")
    for start in range(0, n, CHUNK_ROWS):
        pacsv.write_csv(rows(slice(start, start + CHUNK_ROWS)), sink, options)
