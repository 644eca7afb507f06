"""The designation rules: which directive's distance rule holds whom, which offices host
which units, who needs a designation, the rules file, homes by ZIP code; and docs that
cannot rot (every rules key and plan column is in docs/designation.md)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pytest

from dutystation.analytics.zip_centroids import check_points, place_zips
from dutystation.domain.designation import (
    DesignationRules,
    HostLevel,
    Need,
    distance_limit,
    hosted_keys,
    need_for,
)
from dutystation.domain.directive import Directive
from dutystation.domain.geodesy import miles_to_metres
from dutystation.errors import ConfigError
from dutystation.policy_files import policy_keys
from dutystation.services.designation_inputs import load_rules
from dutystation.services.designation_report import (
    EXCLUDED_OFFICE_COLUMNS,
    OFFICE_COLUMNS,
    PEOPLE_COLUMNS,
    SUMMARY_COLUMNS,
    WHAT_IF_COLUMNS,
)

DOCS = (Path(__file__).resolve().parents[2] / "docs" / "designation.md").read_text()
CHAINS = {
    "DEPT": ("DEPT",),
    "COMP-A": ("DEPT", "COMP-A"),
    "DIV-A1": ("DEPT", "COMP-A", "DIV-A1"),
    "DIV-A2": ("DEPT", "COMP-A", "DIV-A2"),
    "COMP-B": ("DEPT", "COMP-B"),
}


def _directive(ref: str, miles: float | None, **scope: object) -> Directive:
    data: dict[str, object] = {
        "id": ref,
        "version": 1,
        "issuer": "x",
        "title": "x",
        "issued": "2025-01-20",
        "effective": "2025-01-20",
        "scope": {"org_units": ["*"], "arrangements": ["telework", "remote"], **scope},
        "requirement": {"onsite_share_of_hours": 1.0},
    }
    if miles is not None:
        data["distance_rule"] = {"designate_beyond_miles": miles}
    return Directive.model_validate(data)


def test_the_smallest_limit_of_the_directives_that_hold_a_unit_applies() -> None:
    day = date(2025, 3, 3)
    wide = _directive("WIDE", 50)
    strict = _directive("STRICT", 30, org_units=["COMP-B"])
    found = distance_limit([wide, strict], CHAINS["COMP-B"], day)
    assert found is not None and found.directive_ref == "STRICT@1"
    assert found.limit_m == miles_to_metres(30)
    other = distance_limit([wide, strict], CHAINS["DIV-A1"], day)
    assert other is not None and other.directive_ref == "WIDE@1"
    assert distance_limit([_directive("NONE", None)], CHAINS["COMP-A"], day) is None
    before = distance_limit([wide], CHAINS["COMP-A"], date(2025, 1, 1))
    assert before is None  # not in force yet


def test_a_unit_a_directive_names_as_not_bound_has_no_distance_rule() -> None:
    excused = _directive(
        "X", 50, not_bound=[{"org_unit": "COMP-B", "legal_basis": "legal impediment"}]
    )
    assert distance_limit([excused], CHAINS["COMP-B"], date(2025, 3, 3)) is None


def test_an_office_listing_a_division_hosts_its_whole_component_at_component_level() -> None:
    assert hosted_keys(["DIV-A1"], CHAINS, HostLevel.COMPONENT) == {"COMP-A"}
    assert hosted_keys(["DEPT"], CHAINS, HostLevel.COMPONENT) == {"DEPT", "COMP-A", "COMP-B"}
    # At org-unit level only the unit and those below it.
    assert hosted_keys(["DIV-A1"], CHAINS, HostLevel.ORG_UNIT) == {"DIV-A1"}
    assert hosted_keys(["COMP-A"], CHAINS, HostLevel.ORG_UNIT) == {"COMP-A", "DIV-A1", "DIV-A2"}


@pytest.mark.parametrize(
    ("subject", "station", "metres", "need"),
    [
        (False, False, None, None),  # the rule does not order their arrangement designated
        (True, False, None, Need.NO_AGENCY_OFFICE),
        (True, True, 80_000.0, None),
        (True, True, 81_000.0, Need.DUTY_STATION_BEYOND_LIMIT),
    ],
)
def test_who_needs_a_designation(
    subject: bool, station: bool, metres: float | None, need: Need | None
) -> None:
    assert need_for(subject, station, metres, miles_to_metres(50)) == need


def test_a_rules_file_with_a_mistake_is_one_sentence_naming_the_key(tmp_path: Path) -> None:
    path = tmp_path / "rules.toml"
    path.write_text('host_level = "building"\n')
    with pytest.raises(ConfigError, match=r"rules.toml: key 'host_level'"):
        load_rules(path)
    path.write_text(
        '[[hosts]]\nsite_id = "A"\norg_units = ["X"]\n[[hosts]]\nsite_id = "A"\norg_units = ["Y"]\n'
    )
    with pytest.raises(ConfigError, match=r"key 'hosts\[1\].site_id': lists 'A' twice"):
        load_rules(path)
    path.write_text("maximum_candidates = 3\n")
    with pytest.raises(ConfigError, match="is not a known key"):
        load_rules(path)
    assert load_rules(None) == DesignationRules()


@pytest.mark.parametrize(
    ("zip_code", "state", "problem"),
    [
        ("20024", "DC", ""),
        ("20024-1234", "DC", ""),  # ZIP+4
        ("00918", "PR", ""),  # territories are supported
        ("96910", "GU", ""),
        ("09001", "AE", "home_abroad"),  # APO: military mail overseas
        ("96941", "FM", "home_abroad"),  # Micronesia: a freely associated state
        ("00003", "", "unknown_zip"),
        ("2002", "", "invalid_zip"),
    ],
)
def test_homes_given_as_zip_codes_resolve_offline(zip_code: str, state: str, problem: str) -> None:
    placed = place_zips([zip_code])
    assert (str(placed.state[0]), str(placed.problem[0])) == (state, problem)
    assert np.isnan(placed.lat[0]) == bool(problem)


def test_homes_given_as_coordinates_far_from_every_us_zip_are_abroad() -> None:
    checked = check_points(np.array([51.5, 64.84, 21.31]), np.array([-0.12, -147.72, -157.86]))
    assert checked.problem.tolist() == ["home_abroad", "", ""]
    assert checked.state.tolist() == ["", "AK", "HI"]


def test_every_rules_key_is_documented() -> None:
    for key in policy_keys(DesignationRules):
        assert f"`{key}`" in DOCS, key


def test_every_column_of_a_plan_is_documented() -> None:
    for columns in (
        PEOPLE_COLUMNS,
        SUMMARY_COLUMNS,
        WHAT_IF_COLUMNS,
        OFFICE_COLUMNS,
        EXCLUDED_OFFICE_COLUMNS,
    ):
        for column in columns:
            assert f"`{column.name}`" in DOCS, column.name
    for key in ("summary", "what-if", "people", "offices", "excluded-offices"):
        assert f"`{key}`" in DOCS, key
