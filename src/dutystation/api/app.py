"""The web application: the JSON API under ``/api/v1`` and the dashboard, one app.

``create_app`` is the only way to build it (``dutystation serve``, tests). Every router in
``ROUTERS`` is mounted under ``/api/v1`` with the CSRF check for cookie sessions
(``deps.require_csrf``); the dashboard's router (``dutystation.web.routes``) is mounted
at the root and checks CSRF on its own forms.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from dutystation import __version__
from dutystation.api import errors, openapi
from dutystation.api.deps import require_csrf, single_query_values
from dutystation.api.routes import (
    agreements,
    audit,
    auth,
    designation,
    disclosures,
    exemptions,
    grievances,
    imports,
    notices,
    oidc,
    reports,
    status,
    users,
)
from dutystation.api.security import (
    BodyLimitMiddleware,
    LoginRateLimiter,
    SecurityHeadersMiddleware,
)
from dutystation.api.text_checks import refuse_nul_characters
from dutystation.bootstrap import bootstrap
from dutystation.settings import Settings
from dutystation.web import routes as web_routes
from dutystation.web.templating import render

API_PREFIX = "/api/v1"
OPENAPI_URL = f"{API_PREFIX}/openapi.json"
# One line per area: ``<module>.router``, mounted under /api/v1.
ROUTERS: list[APIRouter] = [
    auth.router,
    oidc.router,
    users.router,
    users.tokens_router,
    audit.router,
    exemptions.router,
    agreements.router,
    grievances.router,
    notices.router,
    designation.router,
    reports.router,
    imports.router,
    status.router,
    disclosures.router,
]
# Run before every API route: CSRF for cookie sessions, no repeated scalar parameters, no
# NUL characters (which PostgreSQL cannot hold).
API_CHECKS = [
    Depends(require_csrf),
    Depends(single_query_values),
    Depends(refuse_nul_characters),
]
STATIC_DIR = Path(__file__).resolve().parents[1] / "web" / "static"

DESCRIPTION = """
The dutystation JSON API: the same services as the command line.

Authenticate with an API token (`Authorization: Bearer dst_...`, made with
`dutystation users token create` or `POST /api/v1/users/{username}/tokens`) or with the
session cookie that `POST /api/v1/auth/login` sets; cookie-authenticated changes need the
session's CSRF token in `X-CSRF-Token`. Errors are `application/problem+json`. Lists take
`limit` (1-500, default 50) and `offset`. See docs/api.md.
"""


# A browser that follows a wrong link outside the API gets a page, not JSON.
PAGE_ERRORS = {
    404: ("Not found", "there is no page at this address"),
    405: ("Not possible here", "this page cannot be used that way"),
}


def wants_page(request: Request) -> bool:
    """Anything outside ``/api/`` is the dashboard's: a page, unless the client asks for
    JSON and not HTML (a script probing a URL)."""
    path = request.url.path
    if path == "/api" or path.startswith("/api/"):
        return False
    accept = request.headers.get("accept", "*/*")
    return "html" in accept or "json" not in accept


async def http_error(request: Request, exc: Exception) -> Response:
    """No such route, or not with this method: a page for browsers (with the security
    headers every answer gets), problem+json for API clients."""
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code in PAGE_ERRORS and wants_page(request):
        heading, message = PAGE_ERRORS[exc.status_code]
        context = {"title": heading, "heading": heading, "message": message}
        headers = dict(exc.headers or {})
        return render(request, "error.html", context, status_code=exc.status_code, headers=headers)
    return await errors.http_problem(request, exc)


def create_app(settings: Settings | None = None) -> FastAPI:
    runtime = bootstrap(settings)
    app = FastAPI(
        title="dutystation",
        version=__version__,
        description=DESCRIPTION,
        openapi_url=OPENAPI_URL,
        # The interactive docs pages load their scripts from a CDN, which the CSP (and the
        # no-CDN rule) forbids; the OpenAPI document is served instead.
        docs_url=None,
        redoc_url=None,
        swagger_ui_oauth2_redirect_url=None,
    )
    app.state.runtime = runtime
    app.state.login_limiter = LoginRateLimiter(runtime.settings)
    errors.install(app)
    app.add_exception_handler(StarletteHTTPException, http_error)
    openapi.install(app)
    app.include_router(
        auth.public_router,
        prefix=API_PREFIX,
        dependencies=[Depends(single_query_values), Depends(refuse_nul_characters)],
    )
    for router in ROUTERS:
        app.include_router(router, prefix=API_PREFIX, dependencies=API_CHECKS)
    app.include_router(web_routes.router, dependencies=[Depends(refuse_nul_characters)])
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    # The last added runs first: headers go on every answer, 413 and 500 included.
    app.add_middleware(errors.InternalErrorMiddleware)
    app.add_middleware(
        BodyLimitMiddleware,
        max_bytes=runtime.settings.request_body_max_bytes,
        upload_max_bytes=runtime.settings.upload_body_max_bytes,
        idle_seconds=runtime.settings.request_body_idle_seconds,
    )
    app.add_middleware(SecurityHeadersMiddleware, hsts=runtime.settings.cookie_secure)
    app.add_middleware(errors.RequestIdMiddleware)  # outermost: every answer has the id
    return app
