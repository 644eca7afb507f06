"""The web application: the JSON API under ``/api/v1`` and the dashboard, one app.

``create_app`` is the only way to build it (``dutystation serve``, tests). Every router in
``ROUTERS`` is mounted under ``/api/v1`` with the CSRF check for cookie sessions
(``deps.require_csrf``); the dashboard's router (``dutystation.web.routes``) is mounted
at the root and checks CSRF on its own forms.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Depends, FastAPI
from fastapi.staticfiles import StaticFiles

from dutystation import __version__
from dutystation.api import errors, openapi
from dutystation.api.deps import require_csrf, single_query_values
from dutystation.api.routes import (
    agreements,
    audit,
    auth,
    designation,
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
from dutystation.bootstrap import bootstrap
from dutystation.settings import Settings
from dutystation.web import routes as web_routes

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
]
# Run before every API route: CSRF for cookie sessions, no repeated scalar parameters.
API_CHECKS = [Depends(require_csrf), Depends(single_query_values)]
STATIC_DIR = Path(__file__).resolve().parents[1] / "web" / "static"

DESCRIPTION = """
The dutystation JSON API: the same services as the command line.

Authenticate with an API token (`Authorization: Bearer dst_...`, made with
`dutystation users token create` or `POST /api/v1/users/{username}/tokens`) or with the
session cookie that `POST /api/v1/auth/login` sets; cookie-authenticated changes need the
session's CSRF token in `X-CSRF-Token`. Errors are `application/problem+json`. Lists take
`limit` (1-500, default 50) and `offset`. See docs/api.md.
"""


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
    openapi.install(app)
    app.include_router(
        auth.public_router, prefix=API_PREFIX, dependencies=[Depends(single_query_values)]
    )
    for router in ROUTERS:
        app.include_router(router, prefix=API_PREFIX, dependencies=API_CHECKS)
    app.include_router(web_routes.router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    # The last added runs first: headers go on every answer, 413 and 500 included.
    app.add_middleware(errors.InternalErrorMiddleware)
    app.add_middleware(
        BodyLimitMiddleware,
        max_bytes=runtime.settings.request_body_max_bytes,
        upload_max_bytes=runtime.settings.upload_body_max_bytes,
    )
    app.add_middleware(SecurityHeadersMiddleware, hsts=runtime.settings.cookie_secure)
    return app
