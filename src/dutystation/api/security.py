"""The edge: security headers on every answer, a request body limit enforced while the
body streams in, and a login rate limit.

Pure ASGI middleware (not ``BaseHTTPMiddleware``) so that bodies are never buffered here.
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dutystation.api.errors import problem_response
from dutystation.settings import Settings

CSP = (
    "default-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}
HSTS = "max-age=31536000"
# Static assets carry no personal data and may be cached; everything else may.
CACHEABLE_PREFIX = "/static/"
MULTIPART = b"multipart/form-data"


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp, *, hsts: bool) -> None:
        self.app = app
        self.hsts = hsts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in HEADERS.items():
                    # A route's own policy (a document download's sandbox) is kept.
                    if name == "Content-Security-Policy" and name in headers:
                        continue
                    headers[name] = value
                if self.hsts:
                    headers["Strict-Transport-Security"] = HSTS
                if not path.startswith(CACHEABLE_PREFIX):
                    headers["Cache-Control"] = "no-store"
            await send(message)

        await self.app(scope, receive, send_with_headers)


class BodyTooLarge(Exception):
    pass


class BodyLimitMiddleware:
    """Refuse (413) a request body larger than the limit: at once when Content-Length says
    so, else as soon as the streamed (chunked) body passes it. The application then sees
    the client as gone, and whatever it answers is replaced by the 413, so nothing beyond
    the limit is read and nothing is changed. Multipart uploads have their own, larger
    limit. A body that stalls longer than ``idle_seconds`` between two pieces (a slow
    upload holding a connection) is refused the same way, with 408."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_bytes: int,
        upload_max_bytes: int,
        idle_seconds: float | None = None,
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.upload_max_bytes = upload_max_bytes
        self.idle_seconds = idle_seconds

    def _limit(self, scope: Scope) -> int:
        for name, value in scope["headers"]:
            if name == b"content-type" and value.lower().startswith(MULTIPART):
                return self.upload_max_bytes
        return self.max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self._limit(scope)
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _too_large(scope, receive, send, limit)
            return
        received = 0
        exceeded = False
        slow = False
        complete = False
        answered = False

        async def limited_receive() -> Message:
            nonlocal received, exceeded, slow, complete
            if exceeded:
                return {"type": "http.disconnect"}
            try:
                wait = None if complete else self.idle_seconds
                message = await asyncio.wait_for(receive(), wait)
            except TimeoutError:
                exceeded = slow = True
                return {"type": "http.disconnect"}
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                complete = not message.get("more_body", False)
                if received > limit:
                    exceeded = True
                    return {"type": "http.disconnect"}
            return message

        async def refuse() -> None:
            if slow:
                await _too_slow(scope, receive, send, self.idle_seconds or 0)
            else:
                await _too_large(scope, receive, send, limit)

        async def guarded_send(message: Message) -> None:
            nonlocal answered
            if not exceeded:
                await send(message)
                return
            if not answered:
                answered = True
                await refuse()

        try:
            await self.app(scope, limited_receive, guarded_send)
        except Exception:
            if not exceeded:
                raise
        if exceeded and not answered:
            await refuse()


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _too_large(scope: Scope, receive: Receive, send: Send, limit: int) -> None:
    response = problem_response(
        413,
        "body-too-large",
        f"the request body is larger than {limit} bytes",
        scope["path"],
        headers={"Connection": "close"},
    )
    await response(scope, receive, send)


async def _too_slow(scope: Scope, receive: Receive, send: Send, seconds: float) -> None:
    response = problem_response(
        408,
        "body-too-slow",
        f"the request body stalled for more than {seconds:g} seconds",
        scope["path"],
        headers={"Connection": "close"},
    )
    await response(scope, receive, send)


# --- login rate limit ------------------------------------------------------------------


@dataclass
class _Bucket:
    tokens: float
    updated: float


class TokenBuckets:
    """In-process token buckets by key: ``per_minute`` attempts, refilled continuously.
    Bounded: the least recently used keys are forgotten beyond ``max_keys`` (a forgotten
    key starts full again, which only ever errs towards letting someone try)."""

    def __init__(self, per_minute: int, max_keys: int = 100_000) -> None:
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0
        self.max_keys = max_keys
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, key: str, now: float | None = None) -> float:
        """Take one token for ``key``: 0 when allowed, else seconds until one is free."""
        at = time.monotonic() if now is None else now
        with self._lock:
            bucket = self._buckets.pop(key, None) or _Bucket(self.capacity, at)
            bucket.tokens = min(self.capacity, bucket.tokens + (at - bucket.updated) * self.rate)
            bucket.updated = at
            self._buckets[key] = bucket
            while len(self._buckets) > self.max_keys:
                self._buckets.popitem(last=False)
            if bucket.tokens >= 1:
                bucket.tokens -= 1
                return 0.0
            return (1 - bucket.tokens) / self.rate


class LoginRateLimiter:
    """Sign-in attempts per username and per client address, on top of the account
    lockout: the lockout protects one account, this also slows spraying one password over
    many accounts and keeps Argon2 from being used to exhaust the server."""

    def __init__(self, settings: Settings) -> None:
        self.by_user = TokenBuckets(settings.login_rate_per_minute)
        self.by_address = TokenBuckets(settings.login_rate_per_address_per_minute)

    def retry_after(self, username: str, address: str) -> int:
        """0 when the attempt may go ahead, else whole seconds to wait. Both buckets are
        charged, so hammering one name also counts against the address."""
        wait = max(
            self.by_user.take("u:" + username.strip().lower()),
            self.by_address.take("a:" + address),
        )
        return math.ceil(wait) if wait > 0 else 0
