"""The OpenAPI document, finished after FastAPI builds it: every error answer is
problem+json (FastAPI would add its own 422 shape and plain JSON variants), the answers
the edge gives to any request are documented on every operation (413, 422, 500, 503, 507),
and the two ways to authenticate are declared."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from dutystation.api.errors import PROBLEM_TYPE, TITLES, Problem

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
BODY_METHODS = frozenset({"post", "put", "patch", "delete"})
# Operations anyone may call: no credentials are needed (logout just clears the cookie).
PUBLIC_PATHS = frozenset({"/api/v1/auth/login", "/api/v1/auth/logout"})
SECURITY_SCHEMES = {
    "bearerToken": {
        "type": "http",
        "scheme": "bearer",
        "description": "An API token (dst_...) made with `dutystation users token create`.",
    },
    "sessionCookie": {
        "type": "apiKey",
        "in": "cookie",
        "name": "dutystation_session",
        "description": "Set by POST /api/v1/auth/login; changes also need X-CSRF-Token.",
    },
}


def _problem(status: int, description: str | None = None) -> dict[str, Any]:
    return {
        "description": description or TITLES.get(status, "Error"),
        "content": {PROBLEM_TYPE: {"schema": PROBLEM_REF}},
    }


def finish(document: dict[str, Any]) -> dict[str, Any]:
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas["Problem"] = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    document["components"]["securitySchemes"] = SECURITY_SCHEMES
    for path, item in document.get("paths", {}).items():
        for method, operation in item.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses: dict[str, Any] = operation["responses"]
            for code, answer in list(responses.items()):
                if code[0] in "45":
                    responses[code] = _problem(int(code), answer.get("description"))
            generic = [422, 500, 503, 507] + ([413] if method in BODY_METHODS else [])
            for status in generic:
                responses.setdefault(str(status), _problem(status))
            if path.startswith("/api/") and path not in PUBLIC_PATHS:
                operation["security"] = [{"bearerToken": []}, {"sessionCookie": []}]
                responses.setdefault("401", _problem(401))
    return document


def install(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = finish(
                get_openapi(
                    title=app.title,
                    version=app.version,
                    description=app.description,
                    routes=app.routes,
                    tags=app.openapi_tags,
                )
            )
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
