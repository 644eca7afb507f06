"""docs/reports.md cannot rot: every report, section, column, type and option is in it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from report_tables import every_report

from dutystation.cli.reports import ReportKind, report
from dutystation.reports.model import ColumnKind, Report
from dutystation.services.reporting import KINDS

DOCS = (Path(__file__).resolve().parents[2] / "docs" / "reports.md").read_text()


def _section(kind: str) -> str:
    match = re.search(rf"^## `{re.escape(kind)}`$(.*?)(?=^## |\Z)", DOCS, re.M | re.S)
    assert match, f"docs/reports.md has no section ## `{kind}`"
    return match.group(1)


@pytest.mark.parametrize("built", every_report(), ids=lambda r: r.kind)
def test_every_section_and_column_of_a_report_is_documented(built: Report) -> None:
    text = _section(built.kind)
    for section in built.sections:
        assert f"`{section.key}`" in text, f"{built.kind}: section {section.key}"
        for column in section.columns:
            assert f"`{column.name}`" in text, f"{built.kind}.{section.key}: {column.name}"


def test_every_report_kind_is_listed_and_the_cli_offers_exactly_them() -> None:
    assert [str(k) for k in ReportKind] == list(KINDS)
    for kind in KINDS:
        assert f"| `{kind}` |" in DOCS, kind


def test_every_column_type_is_documented() -> None:
    for kind in ColumnKind:
        assert f"`{kind}`" in _section_json(), kind


def _section_json() -> str:
    return DOCS.split("## JSON", 1)[1]


def test_every_option_of_the_report_command_is_documented() -> None:
    import inspect

    for parameter in inspect.signature(report).parameters.values():
        info = parameter.default
        for flag in getattr(info, "param_decls", None) or []:
            if flag.startswith("--"):
                assert f"`{flag}" in DOCS, flag
