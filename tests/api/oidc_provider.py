"""A small, real OpenID Connect provider for the single sign-on tests, served over HTTP
by uvicorn in a thread: discovery, JWKS, an authorization endpoint that signs the test's
chosen user in at once and redirects back with a code, and a token endpoint that checks
the client, the redirect URI, the code (once only) and the PKCE verifier before issuing an
RS256-signed ID token.

What the next sign-in does is set per test (``provider.next = SignIn(...)``): who signs
in, claims to change or remove (wrong audience, expired, wrong nonce), a signature by a key
the JWKS does not hold, or a refusal (``error=access_denied``).
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from joserfc import jwt
from joserfc.jwk import RSAKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

CLIENT_ID = "dutystation-test"
CLIENT_SECRET = "test-client-secret-0123456789"
KEY_ID = "test-key-1"
REDIRECT_URI = "https://testserver/api/v1/auth/oidc/callback"


@dataclass
class SignIn:
    """What the provider does at the next authorization request."""

    username: str = "w1"
    claims: dict[str, Any] = field(default_factory=dict)  # overrides; None removes a claim
    wrong_key: bool = False  # sign with a key that is not in the JWKS (same key id)
    deny: bool = False  # answer error=access_denied instead of a code


@dataclass
class Issued:
    client_id: str
    redirect_uri: str
    challenge: str
    nonce: str
    sign_in: SignIn


class Provider:
    """The provider's state; ``app`` serves it. ``issuer`` is set once it is served."""

    def __init__(self, signing_key: RSAKey, other_key: RSAKey) -> None:
        self.signing_key = signing_key
        self.other_key = other_key
        self.issuer = ""
        self.client_secret: str | None = CLIENT_SECRET  # None: a public client
        self.next = SignIn()
        self.codes: dict[str, Issued] = {}
        self.authorize_requests: list[dict[str, str]] = []
        self.token_requests = 0
        self.app = Starlette(
            routes=[
                Route("/.well-known/openid-configuration", self.discovery),
                Route("/jwks", self.jwks),
                Route("/authorize", self.authorize),
                Route("/token", self.token, methods=["POST"]),
            ]
        )

    def reset(self) -> None:
        self.client_secret = CLIENT_SECRET
        self.next = SignIn()
        self.codes.clear()
        self.authorize_requests.clear()
        self.token_requests = 0

    async def discovery(self, request: Request) -> Response:
        return JSONResponse(
            {
                "issuer": self.issuer,
                "authorization_endpoint": f"{self.issuer}/authorize",
                "token_endpoint": f"{self.issuer}/token",
                "jwks_uri": f"{self.issuer}/jwks",
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "code_challenge_methods_supported": ["S256"],
                "token_endpoint_auth_methods_supported": ["client_secret_basic", "none"],
                "scopes_supported": ["openid", "profile", "email"],
            }
        )

    async def jwks(self, request: Request) -> Response:
        return JSONResponse({"keys": [self.signing_key.as_dict(private=False)]})

    async def authorize(self, request: Request) -> Response:
        """Signs ``next.username`` in without asking, as a provider with a live session
        would, after checking the request the way a provider must."""
        params = dict(request.query_params)
        self.authorize_requests.append(params)
        valid = (
            params.get("client_id") == CLIENT_ID
            and params.get("redirect_uri") == REDIRECT_URI
            and params.get("response_type") == "code"
            and "openid" in params.get("scope", "").split()
            and params.get("code_challenge_method") == "S256"
            and params.get("code_challenge")
            and params.get("state")
            and params.get("nonce")
        )
        if not valid:
            return JSONResponse({"error": "invalid_request"}, status_code=400)
        back: dict[str, str] = {"state": params["state"]}
        if self.next.deny:
            back["error"] = "access_denied"
        else:
            code = secrets.token_urlsafe(16)
            self.codes[code] = Issued(
                CLIENT_ID, REDIRECT_URI, params["code_challenge"], params["nonce"], self.next
            )
            back["code"] = code
        return RedirectResponse(f"{REDIRECT_URI}?{urlencode(back)}", status_code=302)

    async def token(self, request: Request) -> Response:
        self.token_requests += 1
        form = dict(await request.form())
        if not self._client_authenticated(request, form):
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        issued = self.codes.pop(str(form.get("code", "")), None)  # a code works once
        verifier = str(form.get("code_verifier", ""))
        challenge = (
            base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
            .rstrip(b"=")
            .decode()
        )
        if (
            form.get("grant_type") != "authorization_code"
            or issued is None
            or form.get("redirect_uri") != issued.redirect_uri
            or not secrets.compare_digest(challenge, issued.challenge)
        ):
            return JSONResponse({"error": "invalid_grant"}, status_code=400)
        return JSONResponse(
            {
                "access_token": secrets.token_urlsafe(16),
                "token_type": "Bearer",
                "expires_in": 300,
                "id_token": self.id_token(issued),
            },
            headers={"Cache-Control": "no-store"},
        )

    def _client_authenticated(self, request: Request, form: dict[str, Any]) -> bool:
        if self.client_secret is None:
            return form.get("client_id") == CLIENT_ID
        scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "basic":
            return False
        client_id, _, secret = base64.b64decode(encoded).decode().partition(":")
        return client_id == CLIENT_ID and secrets.compare_digest(secret, self.client_secret)

    def id_token(self, issued: Issued) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": f"subject-{issued.sign_in.username}",
            "aud": issued.client_id,
            "iat": now,
            "exp": now + 300,
            "nonce": issued.nonce,
            "preferred_username": issued.sign_in.username,
            "email": f"{issued.sign_in.username}@example.gov",
        }
        for name, value in issued.sign_in.claims.items():
            if value is None:
                claims.pop(name, None)
            else:
                claims[name] = value
        key = self.other_key if issued.sign_in.wrong_key else self.signing_key
        return jwt.encode({"alg": "RS256", "kid": KEY_ID}, claims, key)


def new_provider() -> Provider:
    """A provider with a fresh RSA key (and a second one, for forged signatures)."""
    signing = RSAKey.generate_key(2048, parameters={"kid": KEY_ID, "use": "sig"})
    other = RSAKey.generate_key(2048, parameters={"kid": KEY_ID, "use": "sig"})
    return Provider(signing, other)
