"""Property-based test of the whole OpenAPI document (RELIABILITY T06): schemathesis
generates requests for every operation and sends them with each role's API token, and
checks every answer: no server error, a documented status code and content type, and a
body that matches the response schema.

Schema-valid requests run as every role (what a role may do differs); schema-violating
ones run as the administrator only, since the API rejects them (422) before any service
looks at who is asking. CI runs a few examples per operation;
``DUTYSTATION_TEST_PROFILE=nightly`` runs a hundred, and invalid requests as every role.
Each role fuzzes its own copy of the world, so an administrator locking accounts does not
spoil the other roles' runs, and a token the fuzzer revokes (DELETE /tokens/{id} with a
small id) is replaced before the next request."""

from __future__ import annotations

import dataclasses
import os

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode, checks
from sqlalchemy import Engine

from api_world import ROLES, World
from dutystation.errors import NotAuthenticated
from dutystation.services import accounts, tokens

NIGHTLY = os.environ.get("DUTYSTATION_TEST_PROFILE") == "nightly"
EXAMPLES = 100 if NIGHTLY else 3
NEGATIVE_ROLES = ROLES if NIGHTLY else ["agency_admin"]
# "Schema-valid request rejected" flags every 422 that a service gives for a rule the
# schema cannot express (a token lifetime above token_max_days, a lock ending in the past,
# an end date before its start); those answers are right. Every other check runs.
EXCLUDED = [checks.positive_data_acceptance]


def live_token(engine: Engine, world: World, key: str) -> str:
    """The role's token, or a new one if the fuzzer revoked it."""
    user = world.users[key]
    try:
        tokens.actor_for_token(engine, user.token)
        return user.token
    except NotAuthenticated:
        with engine.connect() as conn:
            actor = accounts.load_actor(conn, user.username)
        new = tokens.create_token(
            engine, actor, user.username, "fuzz", days=1, settings=world.settings()
        )
        world.users[key] = dataclasses.replace(user, token=new.secret)
        return new.secret


def has_inputs(operation: schemathesis.APIOperation) -> bool:
    """An operation without parameters or body has no invalid request to make."""
    return any(True for _ in operation.iter_parameters()) or bool(
        operation.get_request_payload_content_types()
    )


@pytest.mark.slow
@pytest.mark.parametrize("role", ROLES)
def test_every_operation_as_every_role(role: str, world: World, app: FastAPI) -> None:
    engine: Engine = app.state.runtime.engine
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 15
    for operation in operations:
        modes = [GenerationMode.POSITIVE]
        if role in NEGATIVE_ROLES and has_inputs(operation):
            modes.append(GenerationMode.NEGATIVE)
        for mode in modes:

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(
                max_examples=EXAMPLES if mode is GenerationMode.POSITIVE else EXAMPLES + 2,
                deadline=None,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            def run(case: schemathesis.Case) -> None:
                token = live_token(engine, world, role)
                case.call_and_validate(
                    headers={"Authorization": f"Bearer {token}"}, excluded_checks=EXCLUDED
                )

            run()
