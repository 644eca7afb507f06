"""Org-unit and office row validation, shared field parsers, cycles and duplicates."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dutystation.domain.org import (
    OfficeRow,
    OrgUnitRow,
    ancestor_chains,
    deduplicate,
    find_cycle,
    validate_office_row,
    validate_org_unit_row,
)
from dutystation.domain.values import REASONS, Rejection, RowError, parse_id
from dutystation.domain.vocabulary import OrgUnitKind


def office(**fields: Any) -> dict[str, str | None]:
    row: dict[str, str | None] = {
        "site_id": "HQ",
        "name": "Headquarters",
        "address": "1 Main St",
        "zip": "20001",
        "latitude": "38.9",
        "longitude": "-77.03",
        "timezone": "America/New_York",
        "seats": "300",
        "org_unit": "DEPT;COMP-A",
        "job_functions": "legal; analysis",
    }
    row.update(fields)
    return row


def rejection_of(raw: dict[str, str | None]) -> Rejection:
    result = validate_office_row(raw)
    assert isinstance(result, Rejection), result
    return result


def test_identifiers_keep_leading_zeros_and_surrounding_noise_is_trimmed() -> None:
    assert parse_id("00012345", "employee_id") == "00012345"
    assert parse_id(" EMP-7.a_b ", "employee_id") == "EMP-7.a_b"


@pytest.mark.parametrize(
    "value",
    ["EMP-00\u041e12", "emp 12", "a/b", "x" * 65, "e\u0301", "EMP;1"],
    ids=["cyrillic-homoglyph", "space", "slash", "too-long", "combining-accent", "semicolon"],
)
def test_identifiers_outside_the_ascii_pattern_are_rejected(value: str) -> None:
    with pytest.raises(RowError) as err:
        parse_id(value, "employee_id")
    assert err.value.rejection == Rejection("invalid_id", "employee_id")


def test_zero_width_and_bidi_characters_are_stripped_from_identifiers() -> None:
    assert parse_id("\u200bEMP-1\u202e\ufeff", "employee_id") == "EMP-1"


@pytest.mark.parametrize("value", ["1.23457E+11", "12345.0", "4.5e-3"])
def test_numbers_reformatted_by_a_spreadsheet_are_not_accepted_as_identifiers(value: str) -> None:
    with pytest.raises(RowError) as err:
        parse_id(value, "employee_id")
    assert err.value.rejection.reason == "excel_mangled_id"


def test_an_empty_required_identifier_is_a_missing_value() -> None:
    with pytest.raises(RowError) as err:
        parse_id("  ", "site_id", required=True)
    assert err.value.rejection == Rejection("missing_value", "site_id")


def test_org_unit_kind_defaults_to_other_and_must_be_a_known_kind() -> None:
    row = validate_org_unit_row({"org_unit": "X", "name": "X unit", "parent": None})
    assert row == OrgUnitRow("X", "X unit", None, OrgUnitKind.OTHER)
    assert validate_org_unit_row({"org_unit": "X", "name": "X", "kind": "Component"}) == OrgUnitRow(
        "X", "X", None, OrgUnitKind.COMPONENT
    )
    assert validate_org_unit_row({"org_unit": "X", "name": "X", "kind": "bureau"}) == Rejection(
        "invalid_kind", "kind"
    )


def test_a_nul_byte_anywhere_rejects_the_row_naming_its_column() -> None:
    assert validate_org_unit_row({"org_unit": "X", "name": "Smith\x00"}) == Rejection(
        "nul_byte", "name"
    )


def test_a_valid_office_row_is_normalised() -> None:
    row = validate_office_row(office(zip="20001-1234"))
    assert row == OfficeRow(
        "HQ",
        "Headquarters",
        "1 Main St",
        "20001",
        38.9,
        -77.03,
        "America/New_York",
        300,
        ("COMP-A", "DEPT"),
        ("analysis", "legal"),
    )


@pytest.mark.parametrize("zone", ["Mars/Olympus", "../../etc/passwd", "new york", "UTC+5"])
def test_office_time_zone_must_be_an_iana_name(zone: str) -> None:
    assert rejection_of(office(timezone=zone)) == Rejection("invalid_timezone", "timezone")


@pytest.mark.parametrize(
    ("column", "value", "reason"),
    [
        ("latitude", "90.5", "invalid_latitude"),
        ("latitude", "north", "invalid_latitude"),
        ("latitude", "nan", "invalid_latitude"),
        ("longitude", "-180.01", "invalid_longitude"),
        ("longitude", "inf", "invalid_longitude"),
    ],
)
def test_office_coordinates_out_of_range_are_rejected(column: str, value: str, reason: str) -> None:
    assert rejection_of(office(**{column: value})) == Rejection(reason, column)


def test_office_needs_both_coordinates_or_neither() -> None:
    assert rejection_of(office(longitude=None)) == Rejection("incomplete_coordinates", "longitude")
    assert isinstance(validate_office_row(office(latitude=None, longitude=None)), OfficeRow)


@pytest.mark.parametrize("seats", ["-1", "12.5", "1,200", "ten", "12.0", "\u0661\u0662"])
def test_office_seats_must_be_a_whole_number_of_zero_or_more(seats: str) -> None:
    assert rejection_of(office(seats=seats)) == Rejection("invalid_seats", "seats")


def test_an_office_without_an_owning_org_unit_is_rejected() -> None:
    assert rejection_of(office(org_unit=" ; ")) == Rejection("missing_value", "org_unit")


def test_an_invalid_office_zip_is_rejected() -> None:
    assert rejection_of(office(zip="2000")) == Rejection("invalid_zip", "zip")


def test_every_reason_code_has_a_sentence() -> None:
    assert all(message and "{" not in message for message in REASONS.values())


def test_a_tree_has_no_cycle_however_deep() -> None:
    chain = {f"U{i}": f"U{i - 1}" if i else None for i in range(100_000)}
    assert find_cycle(chain) is None


def test_a_parent_loop_is_reported_with_the_units_on_it() -> None:
    edges = {"ROOT": None, "A": "ROOT", "B": "C", "C": "D", "D": "B", "E": "B"}
    cycle = find_cycle(edges)
    assert cycle is not None and sorted(cycle) == ["B", "C", "D"]
    assert find_cycle({"SELF": "SELF"}) == ["SELF"]


def test_ancestor_chains_run_from_the_root_down_to_the_unit() -> None:
    chains = ancestor_chains({"T": "B", "B": "D", "D": None, "X": "D"})
    assert chains == {"D": ("D",), "B": ("D", "B"), "T": ("D", "B", "T"), "X": ("D", "X")}


def test_identical_duplicates_collapse_and_conflicting_ones_reject_every_copy() -> None:
    rows = [("A", 1), ("B", 2), ("A", 1), ("B", 3), ("C", 4), ("B", 2)]
    result = deduplicate(rows, key=lambda r: r[0])
    assert {k: v for k, (v, _) in result.kept.items()} == {"A": ("A", 1), "C": ("C", 4)}
    assert result.repeats == 1
    assert result.conflicting == [1, 3, 5]


@given(st.lists(st.tuples(st.sampled_from("abcde"), st.integers(0, 2)), max_size=30))
def test_deduplication_accounts_for_every_row(rows: list[tuple[str, int]]) -> None:
    result = deduplicate(rows, key=lambda r: r[0])
    assert len(result.kept) + result.repeats + len(result.conflicting) == len(rows)
