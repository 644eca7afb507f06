"""Single sign-on with the agency's identity provider (OpenID Connect), for browsers.

``GET /auth/oidc/login`` sends the browser to the provider; the provider sends it back to
``GET /auth/oidc/callback``, which signs the user in and goes on to the dashboard (``/``, or
the ``next`` path given to the login route). Both answer 404 when ``oidc_issuer`` and
``oidc_client_id`` are not set. They are navigations, not JSON operations, so they stay out
of the OpenAPI document (docs/api.md describes them).

Authlib's Starlette client runs the protocol: discovery (``<issuer>/.well-known/
openid-configuration``), the authorization-code flow with state, nonce and PKCE (S256), the
code exchange, and the ID token's verification: signature against the provider's JWKS,
issuer, audience, expiry and nonce. The verified claims go to
``services.login.actor_for_oidc_claims``, which names an existing, active, unlocked account
(never creates one), audits the sign-in, and is followed by a session as for a password.

Between the two requests the flow's state, nonce and PKCE verifier live in a cookie sealed
with Fernet (``cryptography``: AES and HMAC, with a timestamp checked on opening): nothing
is stored on the server, so an anonymous visitor cannot fill a table, and any replica can
finish a sign-in another began. Sealed rather than only signed, so the verifier and nonce
cannot be read from the cookie either. The cookie is HttpOnly, limited to the callback's
path, lives ten minutes, and is SameSite=Lax whatever ``session_cookie_samesite`` says: the
provider's redirect back is a cross-site navigation, on which a Strict cookie is withheld.
The sealing key is derived (HKDF) from the client secret; a public client (no secret) gets
a random key per process, so its sign-in must finish on the process that started it.
"""

from __future__ import annotations

import base64
import json
import logging
from dataclasses import dataclass
from html import escape
from typing import Any
from urllib.parse import urlsplit

import httpx2
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.base_client.errors import MismatchingStateError, OAuthError
from authlib.integrations.starlette_client import OAuth
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from joserfc.errors import ClaimError, JoseError
from starlette.concurrency import run_in_threadpool

from dutystation.api.deps import get_runtime
from dutystation.api.errors import problem_response
from dutystation.domain.access import Actor
from dutystation.errors import NotAuthenticated, NotFound
from dutystation.services import audit, login, sessions
from dutystation.settings import Settings
from dutystation.web.auth import safe_next, set_session_cookies

log = logging.getLogger("dutystation.api")

router = APIRouter(prefix="/auth/oidc", tags=["auth"])

FLOW_COOKIE = "dutystation_oidc"
FLOW_SECONDS = 600
# Clock skew allowed on the ID token's exp/iat (Authlib's default is 120 s).
LEEWAY_SECONDS = 60
CLIENT_NAME = "dutystation"
KEY_INFO = b"dutystation oidc sign-in state"
LOOPBACK = frozenset({"localhost", "127.0.0.1", "::1"})
NEXT_MAX = 1000  # a longer ``next`` is ignored: the flow cookie must stay under 4 KB

NOT_CONFIGURED = "single sign-on is not configured"
FLOW_LOST = (
    "single sign-on failed: the sign-in took too long or began in another browser; sign in again"
)
DECLINED = "single sign-on failed: the identity provider did not sign you in"
NOT_VERIFIED = (
    "single sign-on failed: the identity provider's answer could not be verified; "
    "sign in again or ask an administrator"
)
NO_ACCOUNT = (
    "single sign-on failed: no active dutystation account matches your sign-in; "
    "ask an administrator"
)
UNREACHABLE = "the identity provider cannot be reached; try again later"
INSECURE = "single sign-on is misconfigured: oidc_issuer must be an https:// URL"
WRONG_ISSUER = (
    "single sign-on is misconfigured: the provider's discovery document names another issuer"
)


class Misconfigured(Exception):
    """Single sign-on is set up in a way that cannot work (503 with one sentence)."""


@dataclass(frozen=True)
class SingleSignOn:
    """The registered Authlib client (it caches the discovery document and the JWKS) and
    the key that seals the flow cookie; one per app."""

    client: Any  # authlib's StarletteOAuth2App (untyped)
    sealer: Fernet
    issuer: str
    client_id: str

    def claims_options(self) -> dict[str, Any]:
        # Authlib checks the issuer against the discovery document and requires ``azp`` to
        # be this client when ``aud`` is another; audience is required here outright.
        # (A fresh dict each time: Authlib pops entries from it.)
        return {
            "iss": {"essential": True, "value": self.issuer},
            "aud": {"essential": True, "value": self.client_id},
        }


def enabled(settings: Settings) -> bool:
    """Whether single sign-on is configured (the dashboard shows its link then)."""
    return bool(settings.oidc_issuer and settings.oidc_client_id)


def configured(request: Request) -> SingleSignOn:
    """The app's single sign-on client; ``NotFound`` when it is not configured."""
    settings = get_runtime(request).settings
    if not (enabled(settings) and settings.oidc_issuer and settings.oidc_client_id):
        raise NotFound(NOT_CONFIGURED)
    found: SingleSignOn | None = getattr(request.app.state, "single_sign_on", None)
    if found is None:
        found = build(settings, settings.oidc_issuer, settings.oidc_client_id)
        request.app.state.single_sign_on = found
    return found


def build(settings: Settings, issuer: str, client_id: str) -> SingleSignOn:
    parts = urlsplit(issuer)
    if not (parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in LOOPBACK)):
        raise Misconfigured(INSECURE)
    secret = settings.oidc_client_secret.get_secret_value() if settings.oidc_client_secret else ""
    scopes = settings.oidc_scopes.split()
    if "openid" not in scopes:
        scopes.insert(0, "openid")
    client = OAuth().register(
        name=CLIENT_NAME,
        client_id=client_id,
        client_secret=secret or None,
        server_metadata_url=f"{issuer.rstrip('/')}/.well-known/openid-configuration",
        client_kwargs={
            "scope": " ".join(scopes),
            "code_challenge_method": "S256",
            "token_endpoint_auth_method": "client_secret_basic" if secret else "none",
        },
    )
    return SingleSignOn(client, Fernet(_sealing_key(secret)), issuer, client_id)


def _sealing_key(client_secret: str) -> bytes:
    if not client_secret:
        return Fernet.generate_key()
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=KEY_INFO)
    return base64.urlsafe_b64encode(hkdf.derive(client_secret.encode()))


@router.get("/login", name="oidc_login", include_in_schema=False)
async def oidc_login(request: Request, next: str | None = None) -> Response:
    """Send the browser to the identity provider (a 302), with the flow cookie set."""
    settings = get_runtime(request).settings
    try:
        sso = configured(request)
        redirect_uri = settings.oidc_redirect_url or str(request.url_for("oidc_callback"))
        metadata = await sso.client.load_server_metadata()
        if metadata.get("issuer") != sso.issuer:
            raise Misconfigured(WRONG_ISSUER)
        # Authlib keeps the flow's state in ``request.session``; here that is a plain dict
        # that goes into the sealed cookie below.
        request.scope["session"] = {}
        response: Response = await sso.client.authorize_redirect(request, redirect_uri)
    except Misconfigured as exc:
        return problem_response(503, "single-sign-on-misconfigured", str(exc), request.url.path)
    except (httpx2.HTTPError, ValueError) as exc:
        return _unreachable(request, exc)
    target = safe_next(next) if next is None or len(next) <= NEXT_MAX else "/"
    flow = {"next": target, "authlib": request.session}
    response.set_cookie(
        FLOW_COOKIE,
        # Without the base64 padding, which would make the value a quoted string.
        sso.sealer.encrypt(json.dumps(flow).encode()).decode().rstrip("="),
        max_age=FLOW_SECONDS,
        path=_callback_path(request),
        secure=settings.cookie_secure,
        httponly=True,
        samesite="lax",
    )
    return response


@router.get("/callback", name="oidc_callback", include_in_schema=False)
async def oidc_callback(request: Request) -> Response:
    """Verify the provider's answer, sign the user in and go on to the dashboard; 401 with
    one sentence when the answer or the account does not do."""
    try:
        sso = configured(request)
    except Misconfigured as exc:
        return problem_response(503, "single-sign-on-misconfigured", str(exc), request.url.path)
    runtime = get_runtime(request)
    flow = _open_flow(request, sso)
    request.scope["session"] = flow.get("authlib") or {}
    try:
        token = await sso.client.authorize_access_token(
            request, claims_options=sso.claims_options(), leeway=LEEWAY_SECONDS
        )
    except MismatchingStateError:
        # No flow in this browser (expired, replayed, or begun elsewhere): nothing was
        # asked of the provider, and there is no one to name in an audit record.
        return _refused(request, FLOW_LOST)
    except OAuthError as exc:
        if "error" in request.query_params:
            return _refused(request, DECLINED)
        return await _unverified(request, "code_rejected", exc)
    except (AuthlibBaseError, JoseError) as exc:
        return await _unverified(request, "id_token_invalid", exc)
    except (httpx2.HTTPError, ValueError) as exc:
        return _unreachable(request, exc)
    claims = token.get("userinfo")
    if not claims:
        return await _unverified(request, "no_id_token", None)
    try:
        actor = await run_in_threadpool(
            login.actor_for_oidc_claims,
            runtime.engine,
            dict(claims),
            settings=runtime.settings,
            channel="web",
        )
    except NotAuthenticated:
        # actor_for_oidc_claims has audited the denial (naming the account if it exists).
        return _refused(request, NO_ACCOUNT)
    new = await run_in_threadpool(
        sessions.start_session, runtime.engine, actor, settings=runtime.settings
    )
    response = _landing(safe_next(flow.get("next")), runtime.settings)
    set_session_cookies(response, new, runtime.settings)
    _forget_flow(response, request)
    return response


def _open_flow(request: Request, sso: SingleSignOn) -> dict[str, Any]:
    """The flow this browser began, or {} when there is none, it is older than
    ``FLOW_SECONDS``, or the cookie was altered."""
    sealed = request.cookies.get(FLOW_COOKIE)
    if not sealed:
        return {}
    try:
        padded = sealed + "=" * (-len(sealed) % 4)
        opened = json.loads(sso.sealer.decrypt(padded.encode(), ttl=FLOW_SECONDS))
    except (InvalidToken, ValueError):
        return {}
    return opened if isinstance(opened, dict) else {}


def _callback_path(request: Request) -> str:
    """Where the browser will send the flow cookie back: the registered redirect URL's
    path (a proxy may mount the app under a prefix), else this app's own."""
    registered = get_runtime(request).settings.oidc_redirect_url
    return urlsplit(registered).path if registered else request.url_for("oidc_callback").path


def _forget_flow(response: Response, request: Request) -> None:
    settings = get_runtime(request).settings
    response.delete_cookie(
        FLOW_COOKIE,
        path=_callback_path(request),
        secure=settings.cookie_secure,
        httponly=True,
        samesite="lax",
    )


def _landing(target: str, settings: Settings) -> Response:
    if settings.session_cookie_samesite == "lax":
        return RedirectResponse(target, status_code=303)
    # The answer to the provider's cross-site redirect sets the cookies; a SameSite=Strict
    # cookie would be withheld from a redirect that continues that navigation, so a page
    # of our own moves on instead, which makes the next request same-site.
    url = escape(target, quote=True)
    page = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="refresh" content="0;url={url}"><title>Signed in</title></head>'
        f'<body><p><a href="{url}">Continue to dutystation</a></p></body></html>'
    )
    return HTMLResponse(page)


def _refused(request: Request, sentence: str) -> Response:
    response = problem_response(401, "not-authenticated", sentence, request.url.path)
    _forget_flow(response, request)
    return response


async def _unverified(request: Request, reason: str, exc: Exception | None) -> Response:
    """The provider answered this browser's flow with a code or token that does not
    verify: audited as a denied sign-in (nobody is named: the claims are not trusted) and
    logged with the error code, never the token."""
    after: dict[str, Any] = {"via": "oidc", "reason": reason}
    if exc is not None:
        after["error"] = str(getattr(exc, "error", "") or type(exc).__name__)[:64]
    if isinstance(exc, ClaimError):
        after["claim"] = exc.claim[:64]
    log.warning("single sign-on refused: %s", after)
    anonymous = Actor(user_id=None, username=login.ANONYMOUS, channel="web")
    change = audit.Change("login", "user", None, after=after)
    await run_in_threadpool(audit.record_denied, get_runtime(request).engine, anonymous, change)
    return _refused(request, NOT_VERIFIED)


def _unreachable(request: Request, exc: Exception) -> Response:
    log.warning("identity provider unreachable: %s", type(exc).__name__)
    response = problem_response(502, "identity-provider-unavailable", UNREACHABLE, request.url.path)
    _forget_flow(response, request)
    return response
