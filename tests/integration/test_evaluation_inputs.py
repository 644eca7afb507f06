"""Exemption and agreement files as the evaluator reads them until the workflow stores
them: the demo's files load, and every problem is one sentence naming file, line and
column or key."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from dutystation.domain.directive import ExemptionCategory, Requirement
from dutystation.errors import ConfigError, InputFileError
from dutystation.evaluation_inputs import load_agreements, load_exemptions
from dutystation.synthetic.agreements import agreements_toml

HEADER = "employee_id,category,requested_on,status,decided_on,start,end,documentation\n"


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_the_demo_agreements_load_with_their_hybrid_terms(tmp_path: Path) -> None:
    agreements = load_agreements(write(tmp_path, "agreements.toml", agreements_toml()))
    by_unit = {a.bargaining_unit: a for a in agreements}
    assert by_unit["EEU-L1"].terms == Requirement(days_per_pay_period=4)
    assert by_unit["EPA-C7"].terms == Requirement(days_per_pay_period=2)
    assert by_unit["ECG-3"].terms is None  # telework per agency policy: covers nobody
    assert by_unit["ECG-3"].end == date(2025, 6, 30)


def test_requests_are_pending_until_decided_and_approved_ones_cover_their_dates(
    tmp_path: Path,
) -> None:
    path = write(
        tmp_path,
        "x.csv",
        HEADER
        + "E1,qualifying_medical_condition,2025-01-24,,,,,on file\n"
        + "E2,compelling_reason,2025-01-20,approved,2025-01-27,2025-02-01,2025-03-31,memo\n"
        + "E3,lack_of_office_space,2025-01-20,denied,2025-02-03,,,\n",
    )
    approved, requests = load_exemptions(path)
    assert [(x.employee_id, x.exemption.start, x.exemption.end) for x in approved] == [
        ("E2", date(2025, 2, 1), date(2025, 3, 31))
    ]
    pending = {r.employee_id: r for r in requests}
    assert pending["E1"].category is ExemptionCategory.MEDICAL_CONDITION
    assert pending["E1"].pending_at(date(2026, 1, 1))
    assert pending["E2"].pending_at(date(2025, 1, 26))
    assert not pending["E2"].pending_at(date(2025, 1, 27))
    assert not pending["E3"].pending_at(date(2025, 2, 3))


@pytest.mark.parametrize(
    ("row", "column", "problem"),
    [
        ("E1,flu,2025-01-24,,,,,", "category", "is not an exemption category"),
        ("E1,compelling_reason,24/01/2025,,,,,", "requested_on", "is not a date"),
        ("E1,compelling_reason,2025-01-24,approved,,,,", "start", "needs a start date"),
        ("E1,compelling_reason,2025-01-24,maybe,,,,", "status", "is not a request status"),
        ("E1,compelling_reason,2025-01-24,denied,,,,", "decided_on", "a denied request"),
        ("E1,compelling_reason,2025-01-24,denied,2025-01-01,,,", "decided_on", "before"),
        (",compelling_reason,2025-01-24,,,,,", "employee_id", "is empty"),
    ],
)
def test_a_bad_exemption_row_names_the_file_line_and_column(
    tmp_path: Path, row: str, column: str, problem: str
) -> None:
    path = write(tmp_path, "x.csv", HEADER + "E0,compelling_reason,2025-01-02,,,,,\n" + row + "\n")
    with pytest.raises(InputFileError) as caught:
        load_exemptions(path)
    message = str(caught.value)
    assert message.startswith(f"{path}, line 3, column {column!r}: ")
    assert problem in message


def test_an_exemptions_file_without_a_required_column_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "x.csv", "employee_id,category\nE1,compelling_reason\n")
    with pytest.raises(InputFileError, match="column 'requested_on': the column is missing"):
        load_exemptions(path)


def test_a_misspelt_agreement_key_names_the_line_and_key(tmp_path: Path) -> None:
    text = '[[agreement]]\nunit = "U1"\neffective_from = 2024-01-01\n\n'
    text += '[[agreement]]\nunit = "U2"\neffective_form = 2024-01-01\n'
    with pytest.raises(ConfigError) as caught:
        load_agreements(write(tmp_path, "a.toml", text))
    assert "a.toml, line 5: key 'agreement[1].effective_form': is not a known key" in str(
        caught.value
    )


def test_two_agreements_of_one_unit_in_force_together_are_refused(tmp_path: Path) -> None:
    text = '[[agreement]]\nunit = "U1"\neffective_from = 2024-01-01\n\n'
    text += '[[agreement]]\nunit = "U1"\neffective_from = 2025-01-01\n'
    with pytest.raises(ConfigError, match="in force on 2025-01-01"):
        load_agreements(write(tmp_path, "a.toml", text))


def test_hybrid_terms_out_of_range_are_refused_with_the_key(tmp_path: Path) -> None:
    text = '[[agreement]]\nunit = "U1"\neffective_from = 2024-01-01\n'
    text += "[agreement.hybrid]\nmin_onsite_days_per_pay_period = 20\n"
    with pytest.raises(ConfigError, match=r"hybrid\.min_onsite_days_per_pay_period'"):
        load_agreements(write(tmp_path, "a.toml", text))
