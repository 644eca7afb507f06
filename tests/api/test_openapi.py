"""The OpenAPI document is the API's contract: served at /api/v1/openapi.json, every
operation versioned under /api/v1 with a summary, its errors documented as problem+json,
and examples for what goes in and comes out."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI

from api_world import make_client
from dutystation.api.app import OPENAPI_URL

METHODS = ("get", "post", "put", "patch", "delete")


@pytest.fixture
def document(app: FastAPI) -> dict[str, Any]:
    answer = make_client(app).get(OPENAPI_URL)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = answer.json()
    return body


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    ]


def resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    """The schema a body refers to (an optional body: the non-null choice)."""
    for option in schema.get("anyOf", []):
        if "$ref" in option:
            schema = option
    ref = schema.get("$ref")
    if ref is None:
        return schema
    found: dict[str, Any] = document["components"]["schemas"][ref.rsplit("/", 1)[-1]]
    return found


def test_every_operation_is_versioned_summarised_and_documents_its_errors(
    document: dict[str, Any],
) -> None:
    assert document["openapi"].startswith("3.")
    found = operations(document)
    assert len(found) >= 15
    for path, method, operation in found:
        where = f"{method.upper()} {path}"
        assert path.startswith("/api/v1/"), where
        assert operation.get("summary"), where
        responses = operation["responses"]
        assert any(code.startswith("2") for code in responses), where
        for code in ("422", "500"):
            assert code in responses, where
        for code, answer in responses.items():
            if code[0] in "45":
                assert list(answer["content"]) == ["application/problem+json"], (where, code)
        if "security" in operation:
            assert "401" in responses, where


def test_request_bodies_carry_examples(document: dict[str, Any]) -> None:
    """JSON request bodies show an example (``json_schema_extra`` on the model, or
    ``openapi_examples`` on the parameter)."""
    missing = []
    for path, method, operation in operations(document):
        content = operation.get("requestBody", {}).get("content", {})
        spec = content.get("application/json")
        if spec is None:
            continue
        schema = resolve(document, spec["schema"])
        if not (schema.get("examples") or spec.get("examples")):
            missing.append(f"{method.upper()} {path}")
    assert missing == [], "request bodies without an example"


def test_problem_and_security_schemes_are_declared(document: dict[str, Any]) -> None:
    problem = document["components"]["schemas"]["Problem"]
    assert set(problem["required"]) >= {"type", "title", "status", "detail", "instance"}
    schemes = document["components"]["securitySchemes"]
    assert schemes["bearerToken"]["scheme"] == "bearer"
    assert schemes["sessionCookie"]["name"] == "dutystation_session"
    login = document["paths"]["/api/v1/auth/login"]["post"]
    assert "security" not in login and "429" in login["responses"]


def test_the_interactive_docs_pages_are_not_served(app: FastAPI) -> None:
    # They load scripts from a CDN, which the content security policy forbids.
    client = make_client(app)
    assert client.get("/docs").status_code == 404
    assert client.get("/redoc").status_code == 404
