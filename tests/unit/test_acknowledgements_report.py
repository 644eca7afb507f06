"""The ``acknowledgements`` report from small tables: its figures, every format, its docs,
and the notice rules that need no database (deadlines, backoff, scope)."""

from __future__ import annotations

import io
import json
import re
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from rich.console import Console

from dutystation.domain.directive import Directive
from dutystation.domain.notices import (
    MAX_RETRY_DELAY,
    DeadlineKind,
    component_of,
    due_for_reminder,
    in_scope,
    retry_delay,
    scope_day,
)
from dutystation.domain.vocabulary import Arrangement
from dutystation.reports.formats import Format, write_report
from dutystation.reports.model import Report
from dutystation.services.reporting import KINDS
from dutystation.services.reporting.acknowledgements import (
    COUNTS_SCHEMA,
    NOTICES_SCHEMA,
    acknowledgements,
)
from dutystation.services.reporting.tables import ReportContext
from dutystation.services.smtp_client import build_message

DOCS = (Path(__file__).resolve().parents[2] / "docs" / "reports.md").read_text()
REF = "ORDER@1"


def counts(*rows: tuple[str, str, str, int, int]) -> pa.Table:
    """(org_unit, org_path, component, recipients, acknowledged) rows of REF."""
    data: dict[str, list[Any]] = {f.name: [] for f in COUNTS_SCHEMA}
    for unit, path, component, recipients, acknowledged in rows:
        values = [REF, unit, component, path, recipients, acknowledged, 1, recipients - 1, 1, 0, 0]
        for field, value in zip(COUNTS_SCHEMA, values, strict=True):
            data[field.name].append(value)
    return pa.Table.from_pydict(data, schema=COUNTS_SCHEMA)


def notices() -> pa.Table:
    row = [1, "announcement", REF, None, None, date(2025, 1, 21), "COMP-A", "DEPT/COMP-A"]
    values = [[v] for v in [*row, 4, 1, 3, 1, 0]]
    return pa.Table.from_arrays(
        [pa.array(v, f.type) for v, f in zip(values, NOTICES_SCHEMA, strict=True)],
        schema=NOTICES_SCHEMA,
    )


def report(org_unit: str | None = None) -> Report:
    table = counts(
        ("COMP-A", "DEPT/COMP-A", "COMP-A", 2, 1),
        ("DIV-A1", "DEPT/COMP-A/DIV-A1", "COMP-A", 2, 0),
        ("=cmd|' /C calc'!A0", "DEPT/=cmd|' /C calc'!A0", "=cmd|' /C calc'!A0", 1, 1),
    )
    context = ReportContext(
        date(2025, 1, 21),
        date(2025, 3, 1),
        date(2025, 3, 1),
        org_unit=org_unit,
        unit_names={"COMP-A": "Component A", "DEPT": "Department"},
    )
    return acknowledgements(table, notices(), context)


def test_rates_per_component_and_below_an_org_unit() -> None:
    rows = report().section("by-unit").table.to_pylist()
    got = {(r["org_unit"], r["is_total"]): r for r in rows}
    assert got[("COMP-A", False)]["recipients"] == 4
    assert got[("COMP-A", False)]["share_acknowledged"] == 0.25
    assert got[("COMP-A", False)]["name"] == "Component A"
    assert got[("DEPT", True)]["share_acknowledged"] == 0.4
    assert got[("DEPT", True)]["name"] == "All of Department"
    inside = report("COMP-A").section("by-unit").table.to_pylist()
    assert [(r["org_unit"], r["share_acknowledged"]) for r in inside] == [
        ("COMP-A", 0.5),
        ("DIV-A1", 0.0),
        ("COMP-A", 0.25),
    ]


@pytest.mark.parametrize("fmt", list(Format))
def test_the_report_renders_in_every_format(fmt: Format, tmp_path: Path) -> None:
    console = Console(file=io.StringIO(), width=100)
    output = None if fmt is Format.TABLE else tmp_path / f"out.{fmt}"
    write_report(report(), fmt, console=console, output=output)
    if fmt is Format.CSV:
        text = output.read_text(encoding="utf-8-sig")  # type: ignore[union-attr]
        assert "share_acknowledged" in text and "'=cmd" in text  # no formula
    if fmt is Format.JSON:
        data = json.loads(output.read_text())  # type: ignore[union-attr]
        assert data["report"] == "acknowledgements"
        assert [s["key"] for s in data["sections"]] == ["by-unit", "notices"]
        assert data["sections"][0]["row_count"] == 3  # two components and the total
    if fmt is Format.TABLE:
        assert "Acknowledgement rate per org unit" in console.file.getvalue()  # type: ignore[attr-defined]


def test_every_section_and_column_is_documented() -> None:
    assert "acknowledgements" in KINDS
    assert "| `acknowledgements` |" in DOCS
    match = re.search(r"^## `acknowledgements`$(.*?)(?=^## |\Z)", DOCS, re.M | re.S)
    assert match, "docs/reports.md has no section ## `acknowledgements`"
    for section in report().sections:
        assert f"`{section.key}`" in match.group(1), section.key
        for column in section.columns:
            assert f"`{column.name}`" in match.group(1), column.name


def test_an_empty_report_has_empty_sections() -> None:
    empty = acknowledgements(
        COUNTS_SCHEMA.empty_table(),
        NOTICES_SCHEMA.empty_table(),
        ReportContext(date(2025, 3, 1), date(2025, 3, 1), date(2025, 3, 1)),
    )
    assert [s.rows for s in empty.sections] == [0, 0]


# --- rules without a database -------------------------------------------------------------


def directive(**changes: Any) -> Directive:
    data: dict[str, Any] = {
        "id": "ORDER",
        "version": 1,
        "issuer": "Secretary",
        "title": "Return",
        "issued": "2025-01-20",
        "effective": "2025-01-20",
        "scope": {
            "org_units": ["DEPT"],
            "not_bound": [{"org_unit": "OIG", "legal_basis": "Inspector General Act"}],
            "arrangements": ["telework", "remote"],
            "presumed_compliant": ["onsite"],
        },
        "requirement": {"days_per_week": 5},
        "deadlines": {
            "policy_revision": "2025-01-24 17:00 America/New_York",
            "full_compliance": "effective + 30 days",
            "not_returned_report_days": 30,
        },
    }
    return Directive.model_validate(data | changes)


def test_deadlines_due_for_a_reminder_are_those_from_today_to_n_days_ahead() -> None:
    order = directive()
    assert [d.kind for d in due_for_reminder(order, date(2025, 1, 17), 7)] == [
        DeadlineKind.POLICY_REVISION
    ]
    # Full compliance and the report fall on the same day (effective + 30).
    due = due_for_reminder(order, date(2025, 2, 19), 0)
    assert {d.kind for d in due} == {DeadlineKind.FULL_COMPLIANCE, DeadlineKind.REPORT}
    assert due_for_reminder(order, date(2025, 2, 20), 30) == []
    (revision,) = due_for_reminder(order, date(2025, 1, 24), 0)
    assert revision.shown == "2025-01-24 17:00 America/New_York"


def test_scope_follows_the_binding_rules() -> None:
    order = directive()
    day = date(2025, 2, 3)
    assert in_scope(order, ["TEAM", "COMP", "DEPT"], Arrangement.TELEWORK, day)
    assert in_scope(order, ["DEPT"], Arrangement.ONSITE, day)  # presumed compliant: told too
    assert not in_scope(order, ["COMP", "DEPT"], Arrangement.FIELD, day)
    assert not in_scope(order, ["OIG-X", "OIG", "DEPT"], Arrangement.TELEWORK, day)
    assert not in_scope(order, ["OTHER"], Arrangement.TELEWORK, day)
    assert component_of(("DEPT", "COMP", "TEAM")) == "COMP"
    assert component_of(("DEPT",)) == "DEPT"


def test_an_announcement_ahead_of_the_effective_date_follows_that_date() -> None:
    order = directive(expires="2025-06-30")
    assert scope_day(order, date(2025, 1, 10)) == date(2025, 1, 20)
    assert scope_day(order, date(2025, 3, 1)) == date(2025, 3, 1)
    assert scope_day(order, date(2025, 7, 1)) is None


def test_retries_back_off_exponentially_up_to_a_cap() -> None:
    assert [retry_delay(n, 60).total_seconds() for n in (1, 2, 3, 4)] == [60, 120, 240, 480]
    assert retry_delay(40, 60) == MAX_RETRY_DELAY == timedelta(hours=6)


def test_a_message_is_one_header_line_per_field_and_seven_bit_clean() -> None:
    from datetime import UTC, datetime

    raw = build_message(
        "ds@agency.example.gov",
        "e1@agency.example.gov",
        "Rückkehr\r\nBcc: victim@example.com",
        "Zurück ins Büro.\n.\nEnd",
        "<notice-1.abc@agency.example.gov>",
        datetime(2025, 1, 21, tzinfo=UTC),
    )
    assert raw.isascii()
    headers = raw.split(b"\r\n\r\n", 1)[0]
    assert b"\r\nBcc:" not in headers  # a line break in a subject cannot add a header
    assert b"Message-ID: <notice-1.abc@agency.example.gov>" in headers
