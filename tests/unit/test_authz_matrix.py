"""The authorisation matrix: every operation x every role x every relation, compared with a
table written out by hand (tests/authz_operations.yaml). A change to POLICY that nobody
wrote into the table, or an operation nobody classified, fails here by name."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from dutystation.domain.access import POLICY, Operation, Relation, Role, permits

TABLE = Path(__file__).resolve().parents[1] / "authz_operations.yaml"


def _table() -> dict[str, dict[str, list[str]]]:
    loaded: Any = yaml.safe_load(TABLE.read_text())
    assert isinstance(loaded, dict), f"{TABLE.name} must map operations to roles"
    return {str(op): dict(roles or {}) for op, roles in loaded.items()}


EXPECTED = _table()


@pytest.mark.parametrize("operation", list(Operation), ids=str)
def test_every_operation_has_the_outcome_the_table_expects_for_every_role_and_relation(
    operation: Operation,
) -> None:
    if operation.value not in EXPECTED:
        pytest.fail(
            f"operation {operation.value!r} is missing from {TABLE.name}: write down which "
            "roles may do it, and to whom",
            pytrace=False,
        )
    allowed = EXPECTED[operation.value]
    wrong = [
        f"{role.value}/{relation.value}: expected {'allow' if want else 'deny'}"
        for role in Role
        for relation in Relation
        if permits(operation, role, relation) != (want := relation.value in allowed.get(role, []))
    ]
    assert not wrong, f"{operation.value}: " + "; ".join(wrong)


def test_the_table_names_only_operations_roles_and_relations_that_exist() -> None:
    operations, roles, relations = (
        {o.value for o in Operation},
        {r.value for r in Role},
        {r.value for r in Relation},
    )
    unknown = [op for op in EXPECTED if op not in operations]
    unknown += [f"{op}: role {r}" for op, rs in EXPECTED.items() for r in rs if r not in roles]
    unknown += [
        f"{op}: {role}: relation {rel}"
        for op, rs in EXPECTED.items()
        for role, rels in rs.items()
        for rel in rels
        if rel not in relations
    ]
    assert not unknown, f"{TABLE.name} names what does not exist: {unknown}"


def test_out_of_scope_is_never_allowed_and_policy_covers_every_operation() -> None:
    assert set(POLICY) == set(Operation)
    assert not any(permits(op, role, Relation.OUT_OF_SCOPE) for op in Operation for role in Role)


def test_nobody_may_certify_their_own_exemption_or_administer_their_own_account() -> None:
    for operation in (Operation.EXEMPTION_CERTIFY, Operation.USER_MANAGE):
        assert not any(permits(operation, role, Relation.SELF) for role in Role), operation
