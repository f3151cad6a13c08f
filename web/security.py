"""The site's defences: signed tokens (CSRF, admin session), the client-id cookie, rate limits and
security headers.

Why these choices:

* CSRF: a token in every POST form that is an HMAC of the visitor's client-id cookie.  Another site
  can make a browser send the cookie but cannot read it or our pages, so it cannot produce the token;
  there is no server-side session table to lose.  The cookie is also ``SameSite=Lax``.
* Admin: the token from ``SYNAPSE_ADMIN_TOKEN`` is compared with ``hmac.compare_digest``; logging in
  sets an HttpOnly, SameSite=Strict cookie holding an expiry signed with a key derived from the
  secret *and* the admin token, so changing the token logs every session out.
* Rate limits are in memory (one process serves the site; a restart forgets them, which is fine
  for abuse control).
* A strict Content-Security-Policy (no inline script or style) means that even if something slipped
  past the markdown sanitiser, a browser would not run it.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
import time
from collections import deque
from http.cookies import SimpleCookie

from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CLIENT_COOKIE = "synapse_cid"
ADMIN_COOKIE = "synapse_admin"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
ADMIN_SESSION_SECONDS = 12 * 3600
_CID_RE = re.compile(r"^[A-Za-z0-9_-]{20,64}$")

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


class Signer:
    """HMAC-SHA256 tokens bound to a purpose, so a CSRF token can never pass as an admin cookie."""

    def __init__(self, secret: str | bytes | None):
        if isinstance(secret, str):
            secret = secret.encode()
        self._key = secret or secrets.token_bytes(32)

    def sign(self, purpose: str, value: str) -> str:
        """HMAC-SHA256 of ``value``, bound to ``purpose``."""
        return hmac.new(self._key, f"{purpose}\0{value}".encode(), hashlib.sha256).hexdigest()

    def verify(self, purpose: str, value: str, signature: str) -> bool:
        """True when ``signature`` is ``sign(purpose, value)`` (constant-time compare)."""
        return hmac.compare_digest(self.sign(purpose, value).encode(), (signature or "").encode())

    # -- CSRF ---------------------------------------------------------------------------------
    def csrf_token(self, client_id: str) -> str:
        """The CSRF token for a client id."""
        return self.sign("csrf", client_id)

    def check_csrf(self, client_id: str, token: str) -> bool:
        """True when ``token`` is this client's CSRF token."""
        return bool(client_id) and self.verify("csrf", client_id, token)

    # -- admin session ------------------------------------------------------------------------
    @staticmethod
    def _token_id(admin_token: str) -> str:
        return hashlib.sha256(admin_token.encode()).hexdigest()[:16]

    def admin_cookie(self, admin_token: str, now: float | None = None) -> str:
        """A signed admin session cookie, valid for ADMIN_SESSION_SECONDS."""
        expires = int((now or time.time()) + ADMIN_SESSION_SECONDS)
        return f"{expires}.{self.sign('admin', f'{expires}:{self._token_id(admin_token)}')}"

    def check_admin_cookie(self, admin_token: str, cookie: str, now: float | None = None) -> bool:
        """True when the cookie is signed for this admin token and not expired."""
        expires, _, signature = (cookie or "").partition(".")
        if not expires.isdigit() or int(expires) < (now or time.time()):
            return False
        return self.verify("admin", f"{expires}:{self._token_id(admin_token)}", signature)


def check_admin_token(expected: str | None, given: str | None) -> bool:
    """Constant-time comparison; always False when moderation is off (no token configured)."""
    if not expected or not given:
        return False
    return hmac.compare_digest(expected.encode(), given.encode())


class RateLimiter:
    """At most ``limit`` events per ``window`` seconds per key (sliding window, in memory)."""

    def __init__(self, limit: int, window: float, clock=time.monotonic):
        self.limit, self.window, self._clock = limit, window, clock
        self._events: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        events = self._events.setdefault(key, deque())
        while events and events[0] <= now - self.window:
            events.popleft()
        return events

    def retry_after(self, key: str) -> int:
        """Seconds until ``key`` may act again; 0 when it may act now."""
        with self._lock:
            now = self._clock()
            events = self._recent(key, now)
            if len(events) < self.limit:
                return 0
            return max(1, int(events[0] + self.window - now + 0.999))

    def record(self, key: str) -> None:
        """Count one event for ``key`` now."""
        with self._lock:
            now = self._clock()
            self._recent(key, now).append(now)
            if len(self._events) > 10_000:  # forget idle clients so memory stays bounded
                for k in [k for k, v in self._events.items() if not v or v[-1] <= now - self.window]:
                    del self._events[k]

    def hit(self, key: str) -> int:
        """Check and record in one step: 0 if allowed (and counted), else seconds to wait."""
        with self._lock:
            now = self._clock()
            events = self._recent(key, now)
            if len(events) >= self.limit:
                return max(1, int(events[0] + self.window - now + 0.999))
            events.append(now)
            return 0


def _cookies(scope: Scope) -> dict[str, str]:
    for name, value in scope.get("headers", []):
        if name == b"cookie":
            jar = SimpleCookie()
            try:
                jar.load(value.decode("latin-1"))
            except Exception:  # a malformed cookie header is treated as no cookies
                return {}
            return {k: m.value for k, m in jar.items()}
    return {}


class ClientIdMiddleware:
    """Give every visitor a random, HttpOnly client-id cookie (``request.state.cid``).

    It identifies a browser for stars (one per client) and anchors its CSRF tokens.  It is set in a
    middleware rather than a dependency because routes return their own ``Response`` objects.
    """

    def __init__(self, app: ASGIApp, secure: bool = False):
        self.app, self.secure = app, secure

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/static/"):
            await self.app(scope, receive, send)
            return
        cid = _cookies(scope).get(CLIENT_COOKIE, "")
        state = scope.setdefault("state", {})
        state["cid_from_cookie"] = bool(_CID_RE.match(cid))
        if not state["cid_from_cookie"]:
            cid = secrets.token_urlsafe(24)
        state["cid"] = cid

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start" and not state["cid_from_cookie"]:
                headers = MutableHeaders(scope=message)
                flags = "; Secure" if self.secure else ""
                headers.append("set-cookie", f"{CLIENT_COOKIE}={cid}; Path=/; Max-Age=31536000; HttpOnly; SameSite=Lax{flags}")
            await send(message)

        await self.app(scope, receive, send_with_cookie)


class BodyTooLarge(StarletteHTTPException):
    def __init__(self, limit: int):
        super().__init__(413, f"The request is larger than this site accepts ({limit // 1024} KiB at most).")


class BodyLimitMiddleware:
    """Refuse request bodies over ``max_bytes`` with a 413.

    The error is raised from ``receive``, i.e. when a route reads its body, so it travels through
    the app's normal exception handlers and the client gets the same friendly HTML page or JSON
    error as for any other failure.  (Starlette's own limiter replaces the response with plain
    text when the declared length is too big.)  Chunked bodies are counted as they arrive.
    """

    def __init__(self, app: ASGIApp, max_bytes: int):
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        declared = None
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = None
        total = 0

        async def limited_receive() -> Message:
            nonlocal total
            if declared is not None and declared > self.max_bytes:
                raise BodyTooLarge(self.max_bytes)
            message = await receive()
            if message["type"] == "http.request":
                total += len(message.get("body", b""))
                if total > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)
            return message

        await self.app(scope, limited_receive, send)


class SecurityHeadersMiddleware:
    """CSP and friends on every response; HTML pages are marked private (they carry CSRF tokens)."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("content-security-policy", CONTENT_SECURITY_POLICY)
                headers.setdefault("x-content-type-options", "nosniff")
                headers.setdefault("referrer-policy", "same-origin")
                headers.setdefault("x-frame-options", "DENY")
                if headers.get("content-type", "").startswith("text/html"):
                    headers.setdefault("cache-control", "private, no-cache")
            await send(message)

        await self.app(scope, receive, send_with_headers)
