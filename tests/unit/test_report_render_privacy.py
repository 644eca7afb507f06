"""Medical and disability matters never appear in a report or an export (DESIGN.md §5),
whatever text the evaluation hands over: every report, every format."""

from __future__ import annotations

import io
import re
from datetime import date, timedelta
from pathlib import Path

import pyarrow as pa
import pytest
from openpyxl import load_workbook
from report_tables import every_report, row
from rich.console import Console

from dutystation.domain.directive import ExemptionCategory
from dutystation.reports.csv import write_csv
from dutystation.reports.html import render_html
from dutystation.reports.json import write_json
from dutystation.reports.model import Report
from dutystation.reports.terminal import render_terminal
from dutystation.reports.xlsx import xlsx_bytes

FORBIDDEN = re.compile(
    "|".join(
        [
            *(c.value.replace("_", "[_ ]") for c in ExemptionCategory if c.confidential),
            "medical",
            "disabilit",
            "reasonable[_ ]accommodation",
        ]
    ),
    re.IGNORECASE,
)
LEAKY_REASONS = [
    "approved exemption (medical_condition) from 2025-02-01 to further notice",
    "approved exemption (disability_accommodation) from 2025-02-01 to 2025-06-30",
    "approved exemption (Physical Incapacity) from 2025-02-01",
    "pending: Reasonable Accommodation request for a qualifying medical condition",
]
START = date(2025, 2, 21)


def _rows() -> list[dict[str, object]]:
    rows = []
    for i, reason in enumerate(LEAKY_REASONS):
        for day in (START + timedelta(days=d) for d in range(3)):
            rows.append(
                row(f"E{i}", day, kind="day", on_site=0, off_site=8, status="exempt", reason=reason)
            )
        rows.append(row(f"E{i}", date(2025, 2, 24), status="exempt", reason=reason))
    return rows


def _reports() -> list[Report]:
    return every_report(_rows())


def _outputs(report: Report) -> dict[str, str]:
    console = Console(width=120, record=True, file=io.StringIO())
    render_terminal(report, console)
    json_out = io.StringIO()
    write_json(report, json_out)
    csvs = []
    for section in report.sections:
        sink = io.BytesIO()
        write_csv(section, sink)
        csvs.append(sink.getvalue().decode())
    book = load_workbook(io.BytesIO(xlsx_bytes(report)))
    cells = [str(c.value) for s in book.worksheets for r in s.iter_rows() for c in r if c.value]
    return {
        "table": console.export_text(),
        "json": json_out.getvalue(),
        "csv": "\n".join(csvs),
        "xlsx": "\n".join(cells),
        "html": render_html(report),
    }


@pytest.mark.parametrize("report", _reports(), ids=lambda r: r.kind)
def test_no_output_names_a_confidential_category(report: Report, tmp_path: Path) -> None:
    for fmt, text in _outputs(report).items():
        found = FORBIDDEN.search(text)
        assert found is None, (
            f"{report.kind} {fmt}: {text[max(0, found.start() - 60) : found.end() + 20]!r}"
        )


def test_the_reason_still_says_there_is_a_documented_exemption() -> None:
    people = _reports()[0].section("people").table.to_pylist()
    assert {p["status"] for p in people} == {"exempt"}
    assert "approved exemption (confidential category) from 2025-02-01" in people[0]["reason"]


def test_the_filter_removes_whole_category_words_and_leaves_other_words_alone() -> None:
    from dutystation.services.reporting.tables import redact

    cleaned = redact(
        pa.table({"r": ["(Disability_Accommodation) from x", "Biomedical Research Office"]})
    )
    assert cleaned.column("r").to_pylist() == [
        "(confidential category) from x",
        "Biomedical Research Office",
    ]
