"""Directive models (validation) and which directive binds a person on a day."""

from __future__ import annotations

import ast
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from dutystation.domain.directive import (
    BindingKind,
    Directive,
    KeyedValueError,
    Requirement,
    binding_directive,
    in_force,
    parse_ref,
)
from dutystation.domain.vocabulary import Arrangement

TELEWORK = Arrangement.TELEWORK
CHAIN = ("DEA-ECA-IR", "DEA-ECA", "DEA")  # nearest first


def directive(**changes: Any) -> Directive:
    data: dict[str, Any] = {
        "id": "US-RTO-2025",
        "version": 1,
        "issuer": "The President",
        "title": "Return to In-Person Work",
        "issued": date(2025, 1, 20),
        "effective": date(2025, 1, 20),
        "scope": {"org_units": ["*"], "arrangements": ["telework", "remote"]},
        "requirement": {"onsite_share_of_hours": 1.0},
    }
    for key, value in changes.items():
        *parents, last = key.split("__")
        target = data
        for parent in parents:
            target = target.setdefault(parent, {})
        target[last] = value
    return Directive.model_validate(data)


def problem(**changes: Any) -> tuple[str, str]:
    with pytest.raises(ValidationError) as caught:
        directive(**changes)
    error = caught.value.errors()[0]
    cause = (error.get("ctx") or {}).get("error")
    if isinstance(cause, KeyedValueError):
        return cause.key, cause.problem
    return ".".join(str(p) for p in error["loc"]), error["msg"]


def test_a_minimal_directive_has_a_ref_and_defaults() -> None:
    found = directive()
    assert found.ref == "US-RTO-2025@1"
    assert found.counts_at == "duty_station"
    assert found.deadlines.full_compliance is None
    assert found.not_returned_report_due is None


def test_full_compliance_may_be_written_as_days_after_the_effective_date() -> None:
    found = directive(deadlines__full_compliance="effective + 30 days")
    assert found.deadlines.full_compliance == date(2025, 2, 19)


def test_policy_revision_reads_a_time_with_an_iana_zone() -> None:
    found = directive(deadlines__policy_revision="2025-01-24 17:00 America/New_York")
    expected = datetime(2025, 1, 24, 17, tzinfo=ZoneInfo("America/New_York"))
    assert found.deadlines.policy_revision == expected


def test_not_returned_report_is_due_days_after_the_effective_date() -> None:
    found = directive(deadlines__not_returned_report_days=30)
    assert found.not_returned_report_due == date(2025, 2, 19)


@pytest.mark.parametrize(
    ("changes", "key", "says"),
    [
        (
            {"deadlines__full_compliance": date(2025, 1, 10)},
            "deadlines.full_compliance",
            "is before the effective date 2025-01-20",
        ),
        ({"deadlines__full_compliance": "soon"}, "deadlines.full_compliance", "neither a date"),
        (
            {"deadlines__policy_revision": "2025-01-19 17:00 America/New_York"},
            "deadlines.policy_revision",
            "is before the effective date",
        ),
        (
            {"deadlines__policy_revision": "2025-01-24 17:00 Mars/Olympus_Mons"},
            "deadlines.policy_revision",
            "not an IANA time zone",
        ),
        (
            {"deadlines__policy_revision": datetime(2025, 1, 24, 17)},
            "deadlines.policy_revision",
            "timezone",
        ),
        ({"expires": date(2025, 1, 1)}, "expires", "is before the effective date"),
        (
            {"requirement": {"onsite_share_of_hours": 1.5}},
            "requirement.onsite_share_of_hours",
            "less than or equal to 1",
        ),
        (
            {"requirement": {"onsite_share_of_hours": 0}},
            "requirement.onsite_share_of_hours",
            "greater than 0",
        ),
        ({"requirement": {"days_per_week": 8}}, "requirement.days_per_week", "7"),
        ({"requirement": {"days_per_pay_period": 0}}, "requirement.days_per_pay_period", "1"),
        ({"requirement": {}}, "requirement", "exactly one"),
        (
            {"requirement": {"days_per_week": 3, "onsite_share_of_hours": 0.6}},
            "requirement",
            "exactly one",
        ),
        ({"scope__colour": "blue"}, "scope.colour", "Extra inputs"),
        ({"scope__arrangements": ["hybrid"]}, "scope.arrangements.0", "'onsite'"),
        (
            {"scope__not_bound": [{"org_unit": "*", "legal_basis": "x"}]},
            "scope.not_bound[0].org_unit",
            "both in scope and not bound",
        ),
        (
            {"scope__presumed_compliant": ["telework"]},
            "scope.presumed_compliant",
            "also in scope.arrangements",
        ),
        ({"scope__org_units": ["DEA", "DEA"]}, "scope.org_units", "twice"),
        (
            {"scope__not_bound": [{"org_unit": "DEA-OIG"}]},
            "scope.not_bound.0.legal_basis",
            "Field required",
        ),
        ({"supersedes": "US-RTO-2025@1"}, "supersedes", "cannot supersede itself"),
        ({"supersedes": "US-RTO-2025"}, "supersedes", "pattern"),
        ({"version": 0}, "version", "greater than or equal to 1"),
        (
            {"exemptions__categories": ["boredom"]},
            "exemptions.categories.0",
            "'disability_accommodation'",
        ),
    ],
)
def test_invalid_directives_name_the_key(changes: dict[str, Any], key: str, says: str) -> None:
    found_key, found_problem = problem(**changes)
    assert found_key == key
    assert says in found_problem


@pytest.mark.parametrize(
    ("requirement", "strictness"),
    [
        ({"onsite_share_of_hours": 1.0}, 1.0),
        ({"onsite_share_of_hours": 0.6}, 0.6),
        ({"days_per_week": 3}, 0.6),
        ({"days_per_pay_period": 2}, 0.2),
        ({"days_per_pay_period": 10}, 1.0),
    ],
)
def test_strictness_is_a_share_of_a_five_day_week(
    requirement: dict[str, Any], strictness: float
) -> None:
    assert Requirement.model_validate(requirement).strictness == pytest.approx(strictness)


def test_parse_ref_splits_id_and_version() -> None:
    assert parse_ref("DEA-RTO-2025-01@3") == ("DEA-RTO-2025-01", 3)
    with pytest.raises(ValueError, match="id@version"):
        parse_ref("DEA")


# --- which directive binds ----------------------------------------------------------------

GOVERNMENT_WIDE = directive()
DEPARTMENT = directive(
    id="DEA-RTO",
    issued=date(2025, 1, 24),
    effective=date(2025, 1, 24),
    scope={
        "org_units": ["DEA"],
        "arrangements": ["onsite", "telework", "remote"],
        "presumed_compliant": ["field"],
        "not_bound": [{"org_unit": "DEA-OIG", "legal_basis": "legal impediment: IG Act"}],
    },
)
HYBRID = directive(
    id="DEA-HYBRID",
    scope={"org_units": ["DEA"], "arrangements": ["telework"]},
    requirement={"days_per_week": 3},
    effective=date(2025, 2, 1),
)


def test_stricter_of_two_directives_binds() -> None:
    found = binding_directive([HYBRID, GOVERNMENT_WIDE], CHAIN, TELEWORK, date(2025, 2, 3))
    assert found.kind is BindingKind.BOUND
    assert found.directive is GOVERNMENT_WIDE
    assert found.also_in_force == ("DEA-HYBRID@1",)
    assert "also in force, not binding: DEA-HYBRID@1" in found.reason


def test_equally_strict_directives_bind_by_the_later_effective_date() -> None:
    before = binding_directive([GOVERNMENT_WIDE, DEPARTMENT], CHAIN, TELEWORK, date(2025, 1, 23))
    after = binding_directive([GOVERNMENT_WIDE, DEPARTMENT], CHAIN, TELEWORK, date(2025, 1, 24))
    assert before.directive is GOVERNMENT_WIDE
    assert after.directive is DEPARTMENT
    assert after.org_unit == "DEA"


def test_the_choice_does_not_depend_on_the_order_of_the_directives() -> None:
    day = date(2025, 2, 3)
    one = binding_directive([GOVERNMENT_WIDE, DEPARTMENT, HYBRID], CHAIN, TELEWORK, day)
    two = binding_directive([HYBRID, DEPARTMENT, GOVERNMENT_WIDE], CHAIN, TELEWORK, day)
    assert one.directive is two.directive is DEPARTMENT


def test_unit_not_bound_by_one_directive_stays_bound_by_another() -> None:
    chain = ("DEA-OIG", "DEA")
    found = binding_directive([GOVERNMENT_WIDE, DEPARTMENT], chain, TELEWORK, date(2025, 2, 3))
    assert found.directive is GOVERNMENT_WIDE


def test_unit_not_bound_is_reported_with_its_legal_basis() -> None:
    chain = ("DEA-OIG-AUD", "DEA-OIG", "DEA")
    found = binding_directive([DEPARTMENT], chain, TELEWORK, date(2025, 2, 3))
    assert found.kind is BindingKind.NOT_BOUND
    assert found.legal_basis == "legal impediment: IG Act"
    assert found.org_unit == "DEA-OIG"
    assert found.reason == "DEA-OIG is not bound by DEA-RTO@1: legal impediment: IG Act"


def test_nothing_in_force_before_the_effective_date() -> None:
    found = binding_directive([DEPARTMENT], CHAIN, TELEWORK, date(2025, 1, 23))
    assert found.kind is BindingKind.NOT_IN_SCOPE
    assert "no directive in force on 2025-01-23" in found.reason


def test_an_arrangement_the_directive_does_not_cover_is_not_in_scope() -> None:
    found = binding_directive([GOVERNMENT_WIDE], CHAIN, Arrangement.ONSITE, date(2025, 2, 3))
    assert found.kind is BindingKind.NOT_IN_SCOPE
    assert "arrangement onsite is not covered by US-RTO-2025@1" in found.reason


def test_an_org_unit_outside_the_scope_is_not_in_scope() -> None:
    found = binding_directive([DEPARTMENT], ("OTHER",), TELEWORK, date(2025, 2, 3))
    assert found.kind is BindingKind.NOT_IN_SCOPE


def test_presumed_compliant_arrangements_are_bound_and_flagged() -> None:
    found = binding_directive([DEPARTMENT], CHAIN, Arrangement.FIELD, date(2025, 2, 3))
    assert found.kind is BindingKind.BOUND and found.presumed_compliant


def test_a_superseded_version_stops_the_day_before_its_successor() -> None:
    second = directive(
        version=2,
        effective=date(2025, 3, 1),
        supersedes="US-RTO-2025@1",
        requirement={"days_per_week": 4},
    )
    both = [GOVERNMENT_WIDE, second]
    assert in_force(both, date(2025, 2, 28)) == [GOVERNMENT_WIDE]
    assert in_force(both, date(2025, 3, 1)) == [second]
    found = binding_directive(both, CHAIN, TELEWORK, date(2025, 3, 1))
    assert found.directive is second  # less strict, but the first one is gone


def test_an_expired_directive_binds_no_one_the_next_day() -> None:
    short = directive(expires=date(2025, 1, 31))
    assert binding_directive([short], CHAIN, TELEWORK, date(2025, 1, 31)).directive is short
    after = binding_directive([short], CHAIN, TELEWORK, date(2025, 2, 1))
    assert after.kind is BindingKind.NOT_IN_SCOPE


# --- the domain stays pure --------------------------------------------------------------

DOMAIN = Path(__file__).resolve().parents[2] / "src" / "dutystation" / "domain"
ALLOWED = {
    "__future__",
    "collections",
    "dataclasses",
    "datetime",
    "enum",
    "functools",
    "math",
    "re",
    "types",
    "typing",
    "zoneinfo",
    "pydantic",
    "holidays",
    "dutystation",
}


@pytest.mark.parametrize("module", ["calendar", "directive", "presence", "status"])
def test_domain_modules_import_only_the_standard_library_pydantic_and_holidays(
    module: str,
) -> None:
    tree = ast.parse((DOMAIN / f"{module}.py").read_text())
    roots = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            roots.add(node.module.split(".")[0])
            if node.module.startswith("dutystation"):
                assert node.module.startswith("dutystation.domain"), node.module
    assert roots <= ALLOWED, roots - ALLOWED
