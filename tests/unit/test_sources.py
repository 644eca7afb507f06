"""The file-source layer: every shape a user file arrives in becomes the same canonical
Arrow batches, or one clear InputFileError. Fixture files are built here, in tmp_path."""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
from pathlib import Path
from typing import Any

import openpyxl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from dutystation.errors import ConfigError, InputFileError
from dutystation.ingest import _stream
from dutystation.ingest.fields import ImportKind
from dutystation.ingest.profiles import Profile, default_profile, load_profile
from dutystation.ingest.sources import LINE, Source, open_source
from dutystation.reports.spreadsheet_safety import escape_cell

PROFILES = Path(__file__).resolve().parents[2] / "profiles"
BADGES = default_profile(ImportKind.BADGES)
HEADER = "employee_id,timestamp,site_id,direction"
SECRET = "Zanzibar-4471"  # a cell value that must never appear in an error message


# --- builders ---------------------------------------------------------------------------


def write(tmp_path: Path, name: str, data: bytes | str) -> Path:
    path = tmp_path / name
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def rows_of(source: Source) -> list[dict[str, Any]]:
    return [row for batch in source.batches() for row in batch.to_pylist()]


def read(path: Path, profile: Profile = BADGES, **kw: Any) -> list[dict[str, Any]]:
    return rows_of(open_source(path, profile, **kw))


def refused(path: Path, profile: Profile = BADGES) -> InputFileError:
    with pytest.raises(InputFileError) as info:
        read(path, profile)
    assert SECRET not in str(info.value)
    return info.value


def with_source(profile: Profile, **options: Any) -> Profile:
    source = profile.source.model_copy(update=options)
    return profile.model_copy(update={"source": source})


def badge_csv(rows: list[str], header: str = HEADER, sep: str = ",", end: str = "\n") -> str:
    return end.join([header.replace(",", sep), *(r.replace(",", sep) for r in rows)]) + end


def xlsx(tmp_path: Path, rows: list[list[Any]], name: str = "x.xlsx", **kw: Any) -> Path:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = kw.get("title", "Events")
    for row in rows:
        sheet.append(row)
    path = tmp_path / name
    workbook.save(path)
    return path


# --- encodings --------------------------------------------------------------------------


def test_utf8_bom_does_not_hide_the_first_column(tmp_path: Path) -> None:
    path = write(tmp_path, "b.csv", b"\xef\xbb\xbf" + badge_csv(["007,t,DC1,IN"]).encode())
    source = open_source(path, BADGES)
    assert source.info.columns == ["employee_id", "timestamp", "site_id", "direction"]
    assert rows_of(source)[0]["employee_id"] == "007"


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_excel_unicode_text_export_is_read(tmp_path: Path, encoding: str) -> None:
    bom = b"\xff\xfe" if encoding.endswith("le") else b"\xfe\xff"
    text = badge_csv(["00042,2026-01-05T08:00:00Z,DC1,IN", "7,t,Zürich,OUT"], sep="\t")
    path = write(tmp_path, "unicode.txt", bom + text.encode(encoding))
    source = open_source(path, BADGES)
    rows = rows_of(source)
    assert (source.info.encoding, source.info.delimiter) == (encoding, "\t")
    assert [r["employee_id"] for r in rows] == ["00042", "7"]
    assert rows[1]["site_id"] == "Zürich"


def test_utf16_without_bom_is_refused_with_an_encoding_hint(tmp_path: Path) -> None:
    path = write(tmp_path, "u.txt", badge_csv(["1,t,DC1,IN"], sep="\t").encode("utf-16-le"))
    error = refused(path)
    assert "UTF-16" in error.reason and 'encoding = "utf-16-le"' in error.reason


def test_latin1_file_is_refused_without_a_declared_encoding(tmp_path: Path) -> None:
    text = badge_csv(["1,t,Besançon,IN"])
    path = write(tmp_path, "l.csv", text.encode("latin-1"))
    error = refused(path)
    assert f"offset {text.index('ç')}" in error.reason
    assert 'encoding = "latin-1"' in error.reason


def test_utf16_without_bom_is_read_when_the_profile_declares_it(tmp_path: Path) -> None:
    path = write(tmp_path, "u.txt", badge_csv(["007,t,Köln,IN"], sep="\t").encode("utf-16-le"))
    rows = read(path, with_source(BADGES, encoding="utf-16-le"))
    assert (rows[0]["employee_id"], rows[0]["site_id"]) == ("007", "Köln")


def test_latin1_file_is_read_when_the_profile_declares_it(tmp_path: Path) -> None:
    path = write(tmp_path, "l.csv", badge_csv(["1,t,Besançon,IN"]).encode("latin-1"))
    assert read(path, with_source(BADGES, encoding="latin-1"))[0]["site_id"] == "Besançon"


def test_invalid_utf8_deep_in_the_file_fails_naming_the_offset(tmp_path: Path) -> None:
    good = badge_csv([f"{i},t,DC1,IN" for i in range(20_000)])
    data = good.encode() + b"99,t,Caf\xe9,IN\n"
    error = refused(write(tmp_path, "late.csv", data))
    assert f"offset {len(good) + 8}" in error.reason


def test_a_profile_naming_an_unknown_encoding_is_a_config_error(tmp_path: Path) -> None:
    path = write(tmp_path, "x.csv", badge_csv(["1,t,DC1,IN"]))
    with pytest.raises(ConfigError):
        open_source(path, with_source(BADGES, encoding="klingon"))


# --- dialect ----------------------------------------------------------------------------


@pytest.mark.parametrize("sep", [",", ";", "\t", "|"])
def test_delimiter_is_detected_from_the_header(tmp_path: Path, sep: str) -> None:
    path = write(tmp_path, "d.csv", badge_csv(['1,"2026-01-05 08:00",DC1,IN'], sep=sep))
    source = open_source(path, BADGES)
    assert source.info.delimiter == sep
    assert rows_of(source)[0]["timestamp"] == "2026-01-05 08:00"


def test_excel_sep_line_sets_the_delimiter_and_keeps_line_numbers(tmp_path: Path) -> None:
    path = write(tmp_path, "s.csv", "sep=;\n" + badge_csv(["1,t,DC1,IN", "2,t,DC2,OUT"], sep=";"))
    source = open_source(path, BADGES)
    assert (source.info.delimiter, source.info.header_line) == (";", 2)
    assert [r[LINE] for r in rows_of(source)] == [3, 4]


def test_quoted_newline_stays_one_record_and_later_lines_keep_numbers(tmp_path: Path) -> None:
    text = badge_csv(['1,t,"DC1\nAnnex",IN', "2,t,DC2,OUT", "3,t,DC3,IN"])
    rows = read(write(tmp_path, "q.csv", text))
    assert [r["site_id"] for r in rows] == ["DC1\nAnnex", "DC2", "DC3"]
    assert [r[LINE] for r in rows] == [2, 3, 4]  # record numbers, as in a spreadsheet


@pytest.mark.parametrize(
    "end, tail", [("\r\n", ""), ("\n", ""), ("\r", ""), ("\r\n", "\r\n\r\n"), ("\n", "\n\n \n")]
)
def test_line_endings_and_trailing_blank_lines_are_fine(
    tmp_path: Path, end: str, tail: str
) -> None:
    text = badge_csv(["1,t,DC1,IN", "2,t,DC2,OUT"], end=end)
    for data in (text + tail, text.rstrip(end)):  # also: no final newline
        source = open_source(write(tmp_path, "e.csv", data), BADGES)
        rows = rows_of(source)
        assert [(r["employee_id"], r["direction"], r[LINE]) for r in rows] == [
            ("1", "IN", 2),
            ("2", "OUT", 3),
        ]
        assert source.malformed_rows == []


def test_blank_line_in_the_middle_keeps_the_physical_line_numbers(tmp_path: Path) -> None:
    rows = read(write(tmp_path, "b.csv", badge_csv(["1,t,DC1,IN", "", "", "2,t,DC2,OUT"])))
    assert [r[LINE] for r in rows] == [2, 5]


def test_ragged_rows_are_reported_with_their_lines(tmp_path: Path) -> None:
    text = badge_csv(["1,t,DC1,IN", f"2,t,{SECRET}", "3,t,DC3,IN,extra", "4,t,DC4,OUT"])
    source = open_source(write(tmp_path, "r.csv", text), BADGES)
    assert [r[LINE] for r in rows_of(source)] == [2, 5]
    assert source.malformed_rows == [
        (3, "expected 4 fields, found 3"),
        (4, "expected 4 fields, found 5"),
    ]
    assert SECRET not in repr(source.malformed_rows)


def test_unbalanced_quote_at_the_end_of_the_file_is_refused(tmp_path: Path) -> None:
    text = badge_csv(["1,t,DC1,IN", f'2,t,"{SECRET},IN', "3,t,DC3,OUT"])
    error = refused(write(tmp_path, "u.csv", text))
    assert "unbalanced quote" in error.reason and error.where.line == 3


def test_unbalanced_quote_cannot_swallow_a_large_file(tmp_path: Path) -> None:
    rows = [f"{i},t,DC1,IN" for i in range(400_000)]
    rows[10] = '10,t,"DC1,IN'
    error = refused(write(tmp_path, "big.csv", badge_csv(rows)))
    assert error.reason == ("unbalanced quote or a field longer than 1 MiB, starting near line 12")


def test_input_without_any_record_ending_is_stopped_at_the_cap(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Backstop for when Arrow keeps growing its buffer instead of failing on the block.
    monkeypatch.setattr(_stream, "RECORD_CAP_BYTES", 1 << 10)
    path = write(tmp_path, "big.csv", badge_csv([f"{i},t,DC1,IN" for i in range(1000)]))
    assert "unbalanced quote or a field longer than" in refused(path).reason


# --- header -----------------------------------------------------------------------------


def test_missing_required_column_is_named_with_the_columns_found(tmp_path: Path) -> None:
    error = refused(write(tmp_path, "m.csv", "employee_id,timestamp,direction\n1,t,IN\n"))
    assert (error.where.line, error.where.column) == (1, "site_id")
    assert error.reason == (
        "required column 'site_id' is missing (found: employee_id, timestamp, direction)"
    )


def test_badges_need_an_employee_or_a_badge_column(tmp_path: Path) -> None:
    error = refused(write(tmp_path, "m.csv", "person,timestamp,site_id\n1,t,DC1\n"))
    assert "one of the columns 'employee_id' or 'badge_id' is required" in error.reason
    rows = read(write(tmp_path, "b.csv", "Badge ID,timestamp,site_id\n0815,t,DC1\n"))
    assert rows[0]["badge_id"] == "0815"


def test_header_case_and_space_variants_map_to_canonical_names(tmp_path: Path) -> None:
    text = ' Employee ID ,TIMESTAMP,"site-id",Direction,Notes\n1,t,DC1,IN,x\n'
    source = open_source(write(tmp_path, "v.csv", text), BADGES)
    assert source.info.columns == ["employee_id", "timestamp", "site_id", "direction"]
    assert list(rows_of(source)[0]) == [*source.info.columns, LINE]


def test_duplicate_header_is_refused(tmp_path: Path) -> None:
    error = refused(write(tmp_path, "d.csv", "employee_id,timestamp,site_id,Employee ID\n"))
    assert "twice" in error.reason and "columns 1 and 4" in error.reason


def test_a_wrong_declared_delimiter_reports_the_missing_columns(tmp_path: Path) -> None:
    profile = with_source(BADGES, delimiter="|")
    error = refused(write(tmp_path, "c.csv", badge_csv(["1,t,DC1,IN"])), profile)
    assert "required column 'timestamp' is missing (found: employee_id,timestamp" in error.reason


def test_a_delimiter_of_more_than_one_character_is_a_config_error(tmp_path: Path) -> None:
    path = write(tmp_path, "c.csv", badge_csv(["1,t,DC1,IN"]))
    with pytest.raises(ConfigError, match="delimiter"):
        open_source(path, with_source(BADGES, delimiter="::"))


# --- format by content ------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, expected",
    [
        ("x.parquet", "this is not a Parquet file (it looks like CSV)"),
        ("x.xlsx", "this is not an XLSX workbook (it looks like CSV)"),
        ("x.csv.gz", "this is not a gzip-compressed CSV file (it looks like CSV)"),
    ],
)
def test_content_contradicting_the_extension_is_refused(
    tmp_path: Path, name: str, expected: str
) -> None:
    assert refused(write(tmp_path, name, badge_csv(["1,t,DC1,IN"]))).reason == expected


def test_parquet_named_csv_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    pq.write_table(pa.table({"employee_id": ["1"]}), path)
    assert refused(path).reason == "this is not a CSV file (it looks like Parquet)"


def test_unknown_extension_is_read_by_content(tmp_path: Path) -> None:
    path = tmp_path / "export.dat"
    pq.write_table(pa.table({"employee_id": ["1"], "timestamp": ["t"], "site_id": ["s"]}), path)
    assert open_source(path, BADGES).info.format == "parquet"


def test_empty_file_is_refused(tmp_path: Path) -> None:
    assert refused(write(tmp_path, "e.csv", b"")).reason == "the file is empty"
    assert refused(write(tmp_path, "bom.csv", b"\xef\xbb\xbf")).reason == "the file is empty"


def test_header_only_file_has_no_rows(tmp_path: Path) -> None:
    for data in (HEADER, HEADER + "\n", HEADER + "\r\n\r\n"):
        source = open_source(write(tmp_path, "h.csv", data), BADGES)
        assert list(source.batches()) == []
        assert source.malformed_rows == []


def test_missing_file_is_refused_with_the_reason(tmp_path: Path) -> None:
    assert "cannot read the file" in refused(tmp_path / "nope.csv").reason


# --- gzip -------------------------------------------------------------------------------


def test_gzip_csv_is_read_as_a_stream(tmp_path: Path) -> None:
    rows = [f"{i:08d},t,DC1,IN" for i in range(50_000)]
    path = write(tmp_path, "b.csv.gz", gzip.compress(badge_csv(rows).encode()))
    source = open_source(path, BADGES, batch_rows=10_000)
    batches = list(source.batches())
    assert source.info.compression == "gzip"
    assert sum(b.num_rows for b in batches) == 50_000
    assert max(b.num_rows for b in batches) <= 10_000
    assert batches[0].column("employee_id")[0].as_py() == "00000000"
    assert source.bytes_read == path.stat().st_size


def test_a_reader_abandoned_halfway_can_be_read_again(tmp_path: Path) -> None:
    rows = [f"{i},t,DC1,IN" for i in range(300_000)]
    path = write(tmp_path, "b.csv.gz", gzip.compress(badge_csv(rows).encode()))
    source = open_source(path, BADGES)
    batches = source.batches()
    next(batches)
    batches.close()  # Arrow's read-ahead thread must see end-of-file, not a closed file
    assert sum(b.num_rows for b in source.batches()) == 300_000


def test_truncated_gzip_fails_with_a_clear_error(tmp_path: Path) -> None:
    rows = [f"{i},t,DC{i % 97},IN" for i in range(200_000)]
    packed = gzip.compress(badge_csv(rows).encode())
    for cut in (len(packed) // 2, len(packed) - 4):
        error = refused(write(tmp_path, "t.csv.gz", packed[:cut]))
        assert error.reason == "truncated or corrupt gzip data"
    tiny = write(tmp_path, "tiny.csv.gz", gzip.compress(badge_csv(["1,t,DC1,IN"]).encode())[:20])
    assert refused(tiny).reason == "truncated or corrupt gzip data"


# --- XLSX -------------------------------------------------------------------------------


def test_xlsx_numbers_and_dates_become_text(tmp_path: Path) -> None:
    path = xlsx(
        tmp_path,
        [
            [],  # the header need not be on row 1
            ["Employee ID", "Timestamp", "Site ID", "Direction"],
            [12345, dt.datetime(2026, 1, 5, 8, 30), "DC1", "IN"],
            ["00042", dt.date(2026, 1, 6), 17.0, None],
            [None, None, None, None],
            [1.5, dt.datetime(2026, 1, 7, 9, 0, 0, 250000), True, " OUT "],
        ],
    )
    source = open_source(path, BADGES)
    assert (source.info.format, source.info.header_line) == ("xlsx", 2)
    assert [
        (r["employee_id"], r["timestamp"], r["site_id"], r["direction"], r[LINE])
        for r in rows_of(source)
    ] == [
        ("12345", "2026-01-05T08:30:00", "DC1", "IN", 3),
        ("00042", "2026-01-06", "17", None, 4),
        ("1.5", "2026-01-07T09:00:00.250000", "true", "OUT", 6),
    ]


def test_xlsx_sheet_is_chosen_by_the_profile(tmp_path: Path) -> None:
    workbook = openpyxl.Workbook()
    workbook.active.append(["something else"])
    other = workbook.create_sheet("Badges")
    other.append(["employee_id", "timestamp", "site_id"])
    other.append(["1", "t", "DC1"])
    path = tmp_path / "two.xlsx"
    workbook.save(path)
    assert read(path, with_source(BADGES, sheet="Badges"))[0]["site_id"] == "DC1"
    error = refused(path, with_source(BADGES, sheet="Nope"))
    assert "no sheet named 'Nope'" in error.reason and "Badges" in error.reason


def test_xlsx_header_only_sheet_has_no_rows(tmp_path: Path) -> None:
    path = xlsx(tmp_path, [["employee_id", "timestamp", "site_id"]])
    assert read(path) == []


def test_xlsx_rows_come_in_batches_of_batch_rows(tmp_path: Path) -> None:
    path = xlsx(
        tmp_path, [["employee_id", "timestamp", "site_id"], *[[i, "t", "s"] for i in range(5)]]
    )
    sizes = [b.num_rows for b in open_source(path, BADGES, batch_rows=2).batches()]
    assert sizes == [2, 2, 1]


# --- Parquet ----------------------------------------------------------------------------


def test_parquet_timestamps_and_integers_become_text(tmp_path: Path) -> None:
    table = pa.table(
        {
            "employee_id": pa.array([12345, 42], pa.int64()),
            "timestamp": pa.array(
                [dt.datetime(2026, 1, 5, 13, 0), dt.datetime(2026, 1, 5, 13, 0, 1, 500000)],
                pa.timestamp("us", "America/New_York"),
            ),
            "site_id": pa.array(["DC1", "DC2"]).dictionary_encode(),
            "local_time": pa.array([dt.datetime(2026, 1, 5, 8, 0), None], pa.timestamp("ms")),
            "direction": pa.array([None, "OUT"]),
        }
    )
    path = tmp_path / "e.parquet"
    pq.write_table(table, path)
    rows = read(path)
    assert rows == [
        {
            "employee_id": "12345",
            "timestamp": "2026-01-05T13:00:00Z",
            "site_id": "DC1",
            "direction": None,
            LINE: 2,
        },
        {
            "employee_id": "42",
            "timestamp": "2026-01-05T13:00:01.500000Z",
            "site_id": "DC2",
            "direction": "OUT",
            LINE: 3,
        },
    ]
    profile = BADGES.model_copy(update={"columns": {"timestamp": "local_time"}})
    assert [r["timestamp"] for r in read(path, profile)] == ["2026-01-05T08:00:00", None]


def test_parquet_floats_dates_and_booleans_become_text(tmp_path: Path) -> None:
    table = pa.table(
        {
            "Emp No": pa.array([12345.0, 7.5]),
            "Work Date": pa.array([dt.date(2026, 1, 5), dt.date(2026, 1, 6)]),
            "Pay Code": pa.array([True, False]),
            "Hours": pa.array([8, 4], pa.int8()),
        }
    )
    path = tmp_path / "t.parquet"
    pq.write_table(table, path)
    profile = load_profile(PROFILES / "time-and-attendance.toml", ImportKind.TIMECARDS)
    rows = read(path, profile)
    assert [(r["employee_id"], r["date"], r["code"], r["hours"]) for r in rows] == [
        ("12345", "2026-01-05", "true", "8"),
        ("7.5", "2026-01-06", "false", "4"),
    ]


def test_parquet_nested_column_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "n.parquet"
    table = pa.table({"employee_id": [["1", "2"]], "timestamp": ["t"], "site_id": ["s"]})
    pq.write_table(table, path)
    error = refused(path)
    assert error.where.column == "employee_id" and "nested" in error.reason


def test_truncated_parquet_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "t.parquet"
    pq.write_table(pa.table({"employee_id": ["1"] * 1000, "timestamp": ["t"] * 1000}), path)
    path.write_bytes(path.read_bytes()[:-100])
    assert "damaged or truncated" in refused(path).reason


# --- values -----------------------------------------------------------------------------


def test_access_control_profile_maps_readers_and_event_types(tmp_path: Path) -> None:
    profile = load_profile(PROFILES / "access-control.toml", ImportKind.BADGES)
    text = (
        "Card Number,Event Time (UTC),Reader,Event Type,Operator\n"
        "000123,2026-01-05T13:02:11Z,DC0001-L1-LOBBY-3,Access Granted - Entry,x\n"
        "000123,2026-01-05T21:40:00Z,dc0001-L1-LOBBY-3,Access Granted - Exit,x\n"
        "000124,2026-01-05T14:00:00Z,LOBBY,Access Granted,x\n"
        "000125,2026-01-05T14:00:00Z,NY0003-G-TURNSTILE,Access Denied,x\n"
    )
    source = open_source(write(tmp_path, "events.csv", text), profile)
    assert source.info.columns == ["badge_id", "timestamp", "site_id", "direction"]
    rows = rows_of(source)
    assert [(r["badge_id"], r["site_id"], r["direction"]) for r in rows] == [
        ("000123", "DC0001", "IN"),
        ("000123", "dc0001", "OUT"),
        ("000124", "LOBBY", None),  # no match: kept as is, so validation names it
        ("000125", "NY0003", "Access Denied"),  # unmapped values pass through
    ]


def test_time_and_attendance_profile_maps_pay_codes(tmp_path: Path) -> None:
    profile = load_profile(PROFILES / "time-and-attendance.toml", ImportKind.TIMECARDS)
    text = (
        "Emp No|Work Date|Pay Code|Hours|Duty Loc\n"
        "00012345|01/05/2026|REG|8.0|DC0001\n"
        "00012345|01/06/2026|TWR|8|\n"
        "00012345|01/07/2026|HOL|8|N/A\n"
        "00012345|01/08/2026|XYZ|8|DC0001\n"
    )
    rows = read(write(tmp_path, "ta.txt", text), profile)
    assert [(r["employee_id"], r["code"], r["site_id"]) for r in rows] == [
        ("00012345", "onsite", "DC0001"),
        ("00012345", "telework_routine", None),
        ("00012345", "holiday", None),
        ("00012345", "XYZ", "DC0001"),
    ]
    assert rows[0]["hours"] == "8.0" and rows[0]["date"] == "01/05/2026"


def test_leading_zeros_are_kept(tmp_path: Path) -> None:
    rows = read(write(tmp_path, "z.csv", badge_csv(["00012345,t,0001,IN", "0,t,00,OUT"])))
    assert [(r["employee_id"], r["site_id"]) for r in rows] == [("00012345", "0001"), ("0", "00")]


def test_null_texts_become_null_after_trimming(tmp_path: Path) -> None:
    text = badge_csv(['1,t,DC1,""', "2,t,DC1, NULL ", "3,t,DC1,n/a", "4,t,DC1,   ", "5,t,DC1,none"])
    rows = read(write(tmp_path, "n.csv", text))
    assert [r["direction"] for r in rows] == [None, None, None, None, "none"]
    custom = with_source(BADGES, null_values=["none", "-"])
    assert [r["direction"] for r in read(tmp_path / "n.csv", custom)] == [
        "",
        "NULL",
        "n/a",
        "",
        None,
    ]


def test_a_pattern_without_exactly_one_group_is_a_config_error(tmp_path: Path) -> None:
    path = write(tmp_path, "p.csv", badge_csv(["1,t,DC1,IN"]))
    for pattern in ("^[A-Z]+", "^(A)(B)", "^([A-Z+"):
        with pytest.raises(ConfigError, match="exactly one capturing group"):
            open_source(path, BADGES.model_copy(update={"patterns": {"site_id": pattern}}))


def test_formula_cells_are_plain_text_and_escape_cell_escapes_them(tmp_path: Path) -> None:
    payload = '=HYPERLINK("http://evil.example","click")'
    text = f'"{payload.replace(chr(34), chr(34) * 2)}",t,@SUM(A1),+1\n'
    rows = read(write(tmp_path, "f.csv", HEADER + "\n" + text))
    assert (rows[0]["employee_id"], rows[0]["site_id"]) == (payload, "@SUM(A1)")
    assert escape_cell(rows[0]["employee_id"]) == "'" + payload

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["employee_id", "timestamp", "site_id"])
    sheet.append(["1", "t", "=1+2"])  # a real formula, stored without a cached value
    sheet.append(["2", "t", "x"])
    sheet["C3"].value, sheet["C3"].data_type = payload, "s"  # text that looks like one
    path = tmp_path / "f.xlsx"
    workbook.save(path)
    assert [r["site_id"] for r in read(path)] == [None, payload]


def test_batches_respect_batch_rows_and_count_bytes(tmp_path: Path) -> None:
    path = write(tmp_path, "n.csv", badge_csv([f"{i},t,DC1,IN" for i in range(10)]))
    source = open_source(path, BADGES, batch_rows=4)
    assert [b.num_rows for b in source.batches()] == [4, 4, 2]
    assert source.bytes_read == path.stat().st_size
    assert [b.num_rows for b in source.batches()] == [4, 4, 2]  # re-iterable


def test_error_messages_never_quote_cell_values(tmp_path: Path) -> None:
    cases = {
        "ragged.csv": badge_csv([f"1,t,DC1,{SECRET},x"]),
        "quote.csv": badge_csv([f'1,t,"{SECRET}']),
        "latin.csv": badge_csv([f"1,t,{SECRET}\xe9,IN"]).encode("latin-1"),
        "h.xlsx": SECRET,
    }
    for name, data in cases.items():
        path = write(tmp_path, name, data)
        try:
            source = open_source(path, BADGES)
            rows_of(source)
            assert SECRET not in repr(source.malformed_rows)
        except InputFileError as error:
            assert SECRET not in str(error)


# --- property ---------------------------------------------------------------------------

cells = st.text(max_size=12)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=st.lists(st.tuples(cells, cells, cells, cells), max_size=8),
    sep=st.sampled_from([",", ";", "\t", "|"]),
    quoting=st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL, csv.QUOTE_NONNUMERIC]),
    crlf=st.booleans(),
)
def test_any_text_written_by_csv_writer_round_trips(
    tmp_path_factory: pytest.TempPathFactory,
    rows: list[tuple[str, str, str, str]],
    sep: str,
    quoting: int,
    crlf: bool,
) -> None:
    buffer = io.StringIO(newline="")
    writer = csv.writer(
        buffer, delimiter=sep, quoting=quoting, lineterminator="\r\n" if crlf else "\n"
    )
    writer.writerow(HEADER.split(","))
    writer.writerows(rows)
    path = tmp_path_factory.mktemp("prop") / "p.csv"
    path.write_bytes(buffer.getvalue().encode())
    nulls = set(BADGES.source.null_values)

    def expected(value: str) -> str | None:
        value = value.strip()
        return None if value in nulls else value

    # The oracle for record boundaries is the standard library reading the same text back
    # (csv.writer leaves a lone CR unquoted, which both readers then take as a line break).
    wanted: list[tuple[str | None, ...]] = []
    malformed: list[int] = []
    records = csv.reader(io.StringIO(buffer.getvalue(), newline=""), delimiter=sep)
    for line, record in enumerate(records, start=1):
        if line == 1 or not record or (len(record) == 1 and not record[0].strip()):
            continue
        if len(record) != 4:
            malformed.append(line)
        elif any(expected(v) is not None for v in record):
            wanted.append(tuple(expected(v) for v in record))
    try:
        source = open_source(path, BADGES)
        got = [tuple(r[f] for f in HEADER.split(",")) for r in rows_of(source)]
    except InputFileError:
        event("refused")
        return  # e.g. a cell that makes the header undetectable: refused, never a crash
    assert [line for line, _ in source.malformed_rows] == malformed
    assert got == wanted
