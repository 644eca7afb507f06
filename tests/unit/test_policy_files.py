"""Policy files: the reference directives load, and every mistake is one sentence naming
the file and the key. Also: every key of the model is documented in docs/directives.md."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from dutystation.domain.directive import (
    BindingKind,
    Certifier,
    CountsAt,
    Directive,
    ExemptionCategory,
    binding_directive,
)
from dutystation.domain.vocabulary import Arrangement
from dutystation.errors import ConfigError
from dutystation.policy_files import (
    load_directive,
    load_directives,
    parse_directive,
    policy_keys,
)

ROOT = Path(__file__).resolve().parents[2]
POLICIES = ROOT / "policies"
DOCS = ROOT / "docs" / "directives.md"
GOVERNMENT_WIDE = POLICIES / "2025-01-20-return-to-in-person-work.toml"
DEPARTMENT = POLICIES / "2025-01-department-memo.toml"

MINIMAL = """\
id = "HYBRID"
version = 1
issuer = "CHCO"
title = "Hybrid work"
issued = 2025-01-20
effective = 2025-01-20

[scope]
org_units = ["DEA"]
arrangements = ["telework"]

[requirement]
days_per_week = 3
"""


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def refusal(path: Path, **kwargs: object) -> str:
    with pytest.raises(ConfigError) as caught:
        load_directive(path, **kwargs)  # type: ignore[arg-type]
    return str(caught.value)


# --- the reference case ---------------------------------------------------------------


def test_the_reference_policies_load_together() -> None:
    found = load_directives(POLICIES, known_org_units={"DEA", "DEA-OIG"})
    assert [d.ref for d in found] == ["DEA-RTO-2025-01@1", "US-RTO-2025@1"]


def test_the_government_wide_order_reproduces_the_memorandum_and_opm_guidance() -> None:
    order = load_directive(GOVERNMENT_WIDE)
    assert order.effective == date(2025, 1, 20)
    assert order.requirement.onsite_share_of_hours == 1.0
    assert set(order.scope.arrangements) == {Arrangement.TELEWORK, Arrangement.REMOTE}
    eastern = ZoneInfo("America/New_York")
    assert order.deadlines.policy_revision == datetime(2025, 1, 24, 17, tzinfo=eastern)
    assert order.deadlines.full_compliance == date(2025, 2, 21)
    assert set(order.exemptions.categories) == {
        ExemptionCategory.DISABILITY_ACCOMMODATION,
        ExemptionCategory.MEDICAL_CONDITION,
        ExemptionCategory.COMPELLING_REASON,
    }
    assert set(order.exemptions.certification_required_by) == {
        Certifier.AGENCY_HEAD,
        Certifier.SUPERVISOR,
    }
    assert order.distance_rule is not None and order.distance_rule.designate_beyond_miles == 50
    assert order.duty_station_test is not None
    assert order.duty_station_test.min_days_per_pay_period == 2


def test_the_department_memo_reports_non_returners_and_names_a_unit_not_bound() -> None:
    memo = load_directive(DEPARTMENT)
    assert memo.scope.org_units == ("DEA",)
    assert memo.deadlines.full_compliance == date(2025, 2, 21)
    assert memo.not_returned_report_due == date(2025, 2, 23)
    (excused,) = memo.scope.not_bound
    assert excused.org_unit == "DEA-OIG" and excused.legal_basis.startswith("legal impediment")
    for reason in ("lack_of_office_space", "physical_incapacity", "legal_impediment"):
        assert ExemptionCategory(reason) in memo.exemptions.categories


@pytest.mark.parametrize(
    ("chain", "day", "bound_by"),
    [
        (("DEA-ECA-IR", "DEA-ECA", "DEA"), date(2025, 1, 23), "US-RTO-2025@1"),
        (("DEA-ECA-IR", "DEA-ECA", "DEA"), date(2025, 1, 24), "DEA-RTO-2025-01@1"),
        (("DEA-OIG", "DEA"), date(2025, 2, 3), "US-RTO-2025@1"),
    ],
)
def test_the_report_can_say_which_directive_bound_each_person(
    chain: tuple[str, ...], day: date, bound_by: str
) -> None:
    found = binding_directive(load_directives(POLICIES), chain, Arrangement.TELEWORK, day)
    assert found.kind is BindingKind.BOUND
    assert found.directive is not None and found.directive.ref == bound_by


# --- one sentence per mistake ---------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "sentence"),
    [
        (
            "days_per_week = 3",
            "days_per_week = 3\n[deadlines]\nfull_compliance = 2025-01-10",
            "key 'deadlines.full_compliance': is before the effective date 2025-01-20",
        ),
        (
            "days_per_week = 3",
            "onsite_share_of_hours = 1.5",
            "key 'requirement.onsite_share_of_hours': input should be less than or equal to 1 "
            "(got 1.5)",
        ),
        (
            'arrangements = ["telework"]',
            'arrangment = ["telework"]',
            "key 'scope.arrangment': is not a known key (did you mean 'arrangements'?); known "
            "keys here: arrangements, not_bound, org_units, presumed_compliant",
        ),
        (
            'arrangements = ["telework"]',
            'arrangements = ["telework", "hybrid"]',
            "key 'scope.arrangements[1]': input should be 'onsite', 'telework', 'remote' or "
            "'field' (got 'hybrid')",
        ),
        ('issuer = "CHCO"\n', "", "key 'issuer': is required"),
        (
            "days_per_week = 3",
            "days_per_week = 3\ndays_per_pay_period = 6",
            "key 'requirement': give exactly one of onsite_share_of_hours, days_per_week, "
            "days_per_pay_period",
        ),
        (
            "version = 1",
            'version = 1\nsupersedes = "HYBRID"',
            "key 'supersedes': string should match pattern",
        ),
    ],
)
def test_a_mistake_is_one_sentence_naming_file_and_key(
    tmp_path: Path, old: str, new: str, sentence: str
) -> None:
    path = write(tmp_path, "x.toml", MINIMAL.replace(old, new))
    first = refusal(path).splitlines()[0]
    assert first.startswith(f"{path}: {sentence}"), first


def test_a_misspelt_key_is_named_before_the_key_it_missed(tmp_path: Path) -> None:
    text = MINIMAL.replace("arrangements = ", "arrangment = ")
    lines = refusal(write(tmp_path, "x.toml", text)).splitlines()
    assert [line.split(": ")[1] for line in lines] == [
        "key 'scope.arrangment'",
        "key 'scope.arrangements'",
    ]


def test_several_mistakes_give_one_line_each(tmp_path: Path) -> None:
    text = MINIMAL.replace("version = 1", "version = 0").replace('issuer = "CHCO"\n', "")
    lines = refusal(write(tmp_path, "x.toml", text)).splitlines()
    assert len(lines) == 2
    assert all(line.startswith(str(tmp_path / "x.toml")) for line in lines)


def test_a_scope_naming_an_unknown_org_unit_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "x.toml", MINIMAL.replace('["DEA"]', '["DEA", "DEA-XYZ"]'))
    assert refusal(path, known_org_units={"DEA"}) == (
        f"{path}: key 'scope.org_units[1]': names unknown org unit 'DEA-XYZ'"
    )
    assert load_directive(path).scope.org_units == ("DEA", "DEA-XYZ")  # unchecked without


def test_a_not_bound_unit_must_be_known_too() -> None:
    assert "key 'scope.not_bound[0].org_unit': names unknown org unit 'DEA-OIG'" in refusal(
        DEPARTMENT, known_org_units={"DEA"}
    )


def test_every_org_unit_wildcard_needs_no_known_code() -> None:
    assert load_directive(GOVERNMENT_WIDE, known_org_units=set()).scope.org_units == ("*",)


def test_yaml_files_load_like_toml(tmp_path: Path) -> None:
    text = (
        "id: HYBRID\nversion: 1\nissuer: CHCO\ntitle: Hybrid\nissued: 2025-01-20\n"
        "effective: 2025-01-20\nscope: {org_units: [DEA], arrangements: [telework]}\n"
        "requirement: {days_per_week: 3}\n"
        "deadlines: {policy_revision: 2025-01-24 17:00 America/New_York}\n"
    )
    found = load_directive(write(tmp_path, "x.yaml", text))
    assert found.requirement.days_per_week == 3
    assert found.deadlines.policy_revision is not None
    assert found.deadlines.policy_revision.tzinfo == ZoneInfo("America/New_York")


@pytest.mark.parametrize(
    ("name", "text", "says"),
    [
        ("x.toml", "id = ", "is not valid TOML"),
        ("x.yaml", "id: [unclosed", "is not valid YAML at line"),
        ("x.yaml", "- a\n- b\n", "must hold a table of keys"),
        ("x.json", "{}", "is not a policy file (use .toml, .yaml or .yml)"),
    ],
)
def test_unreadable_files_are_refused_in_one_sentence(
    tmp_path: Path, name: str, text: str, says: str
) -> None:
    path = write(tmp_path, name, text)
    assert refusal(path).startswith(f"{path}: {says}")


def test_a_missing_file_is_refused(tmp_path: Path) -> None:
    assert refusal(tmp_path / "gone.toml").startswith(f"{tmp_path / 'gone.toml'}: cannot be read")


def test_parse_directive_accepts_already_parsed_data() -> None:
    found = parse_directive(
        Directive.model_validate_json(
            load_directive(GOVERNMENT_WIDE).model_dump_json()
        ).model_dump(),
        "api",
    )
    assert found.ref == "US-RTO-2025@1"


# --- rules across the files of a folder ------------------------------------------------

VERSION_2 = MINIMAL.replace("version = 1", "version = 2").replace(
    "effective = 2025-01-20", "effective = 2025-03-01"
)


def folder_refusal(folder: Path) -> str:
    with pytest.raises(ConfigError) as caught:
        load_directives(folder)
    return str(caught.value)


def test_two_versions_in_force_on_the_same_day_are_refused(tmp_path: Path) -> None:
    write(tmp_path, "a.toml", MINIMAL)
    second = write(tmp_path, "b.toml", VERSION_2)
    assert folder_refusal(tmp_path) == (
        f"{second}: key 'effective': version 2 of 'HYBRID' is in force from 2025-03-01, "
        f"overlapping version 1 ({tmp_path / 'a.toml'}, in force 2025-01-20 to further "
        'notice); add supersedes = "HYBRID@1" or give version 1 an expires date'
    )


def test_supersedes_ends_the_earlier_version(tmp_path: Path) -> None:
    write(tmp_path, "a.toml", MINIMAL)
    write(
        tmp_path, "b.toml", VERSION_2.replace("version = 2", 'version = 2\nsupersedes = "HYBRID@1"')
    )
    assert [d.version for d in load_directives(tmp_path)] == [1, 2]


def test_an_expires_date_ends_the_earlier_version(tmp_path: Path) -> None:
    write(
        tmp_path,
        "a.toml",
        MINIMAL.replace("effective = 2025-01-20", "effective = 2025-01-20\nexpires = 2025-02-28"),
    )
    write(tmp_path, "b.toml", VERSION_2)
    assert len(load_directives(tmp_path)) == 2


def test_an_expires_date_after_the_next_version_starts_still_overlaps(tmp_path: Path) -> None:
    write(
        tmp_path,
        "a.toml",
        MINIMAL.replace("effective = 2025-01-20", "effective = 2025-01-20\nexpires = 2025-03-01"),
    )
    write(tmp_path, "b.toml", VERSION_2)
    assert "in force 2025-01-20 to 2025-03-01" in folder_refusal(tmp_path)


def test_the_same_version_twice_is_refused(tmp_path: Path) -> None:
    write(tmp_path, "a.toml", MINIMAL)
    write(tmp_path, "b.toml", MINIMAL)
    assert folder_refusal(tmp_path) == (
        f"{tmp_path / 'b.toml'}: key 'version': HYBRID@1 is also defined in {tmp_path / 'a.toml'}"
    )


def test_supersedes_must_name_a_directive_of_the_folder(tmp_path: Path) -> None:
    write(tmp_path, "a.toml", MINIMAL.replace("version = 1", 'version = 1\nsupersedes = "OLD@4"'))
    assert folder_refusal(tmp_path).endswith(
        "key 'supersedes': names OLD@4, which no policy file in the folder defines"
    )


def test_a_superseding_directive_must_take_effect_later(tmp_path: Path) -> None:
    write(tmp_path, "a.toml", MINIMAL)
    write(
        tmp_path,
        "b.toml",
        MINIMAL.replace('id = "HYBRID"', 'id = "NEW"').replace(
            "version = 1", 'version = 1\nsupersedes = "HYBRID@1"'
        ),
    )
    assert "must be after the effective date 2025-01-20 of HYBRID@1" in folder_refusal(tmp_path)


def test_other_files_in_the_folder_are_left_alone(tmp_path: Path) -> None:
    write(tmp_path, "README.md", "# notes")
    write(tmp_path, "a.toml", MINIMAL)
    assert len(load_directives(tmp_path)) == 1


def test_a_folder_that_is_not_there_is_refused(tmp_path: Path) -> None:
    assert folder_refusal(tmp_path / "nope").endswith("is not a folder of policy files")


# --- docs that cannot rot -------------------------------------------------------------


@pytest.mark.parametrize("key", policy_keys())
def test_every_policy_key_is_documented(key: str) -> None:
    assert f"`{key}`" in DOCS.read_text(), f"docs/directives.md does not mention `{key}`"


@pytest.mark.parametrize(
    "value",
    [*ExemptionCategory, *Certifier, *CountsAt, *Arrangement],
    ids=str,
)
def test_every_allowed_value_is_documented(value: str) -> None:
    assert f"`{value}`" in DOCS.read_text()
