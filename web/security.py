"""The site's defences: signed tokens (CSRF, admin session), the client-id cookie, rate limits and
security headers.

Why these choices:

* CSRF: a token in every POST form that is an HMAC of the visitor's client-id cookie.  Another site
  can make a browser send the cookie but cannot read it or our pages, so it cannot produce the token;
  there is no server-side session table to lose.  The cookie is also ``SameSite=Lax``.
* Admin: the token from ``SYNAPSE_ADMIN_TOKEN`` is compared with ``hmac.compare_digest``; logging in
  sets an HttpOnly, SameSite=Strict cookie holding an expiry signed with a key derived from the
  secret *and* the admin token, so changing the token logs every session out.
* Rate limits that guard the moderation queue, stars and sign-in are counted in the database in one
  atomic step (``StoredRateLimiter``), so simultaneous requests cannot all pass the check before any
  of them is recorded, and several processes sharing the database share the limits.  Previews keep
  an in-memory limiter (``RateLimiter``): they store nothing.
* The client address limits are keyed by is the peer's address; ``X-Forwarded-For`` is read only
  from peers in ``SYNAPSE_TRUSTED_PROXIES`` (``ClientAddressMiddleware``), so a client cannot pick
  its own key.
* A strict Content-Security-Policy (no inline script or style) means that even if something slipped
  past the markdown sanitiser, a browser would not run it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import re
import secrets
import threading
import time
from collections import deque
from http.cookies import SimpleCookie
from urllib.parse import urlsplit

from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
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

    # -- honeypot references --------------------------------------------------------------------
    def _honeypot_mac(self, nonce: str) -> str:
        mac = hmac.new(self._key, f"honeypot\0{nonce}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac).decode()[:10]

    def honeypot_ref(self) -> str:
        """A submission reference for a filled honeypot: shaped like a real one (22 URL-safe
        characters) and recognisable by its signature, so its status page can answer like a real
        pending one although nothing was stored."""
        nonce = secrets.token_urlsafe(9)
        return nonce + self._honeypot_mac(nonce)

    def is_honeypot_ref(self, ref: str) -> bool:
        """True when `ref` carries this site's honeypot signature; raises nothing of its own."""
        return len(ref) == 22 and hmac.compare_digest(ref[12:].encode(), self._honeypot_mac(ref[:12]).encode())

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


class StoredRateLimiter:
    """At most ``limit`` events per ``window`` seconds per key, counted in the site database.

    Same interface as ``RateLimiter``; ``hit`` is one atomic claim (``SiteStore.claim_rate_slot``).
    Waits are whole seconds, at least 1, for the ``Retry-After`` header."""

    CLEANUP_EVERY = 500  # claims between sweeps of every key's expired events

    def __init__(self, store, action: str, limit: int, window: float):
        self.store, self.action, self.limit, self.window = store, action, limit, window
        self._claims = 0

    @staticmethod
    def _seconds(wait: float) -> int:
        return 0 if wait <= 0 else max(1, int(wait + 0.999))

    def hit(self, key: str) -> int:
        """Check and record in one step: 0 if allowed (and counted), else seconds to wait."""
        self._claims += 1
        if self._claims % self.CLEANUP_EVERY == 0:
            self.store.forget_rate_events(time.time() - self.window)
        return self._seconds(self.store.claim_rate_slot(self.action, key, self.limit, self.window))

    def retry_after(self, key: str) -> int:
        """Seconds until ``key`` may act again; 0 when it may act now (nothing is counted)."""
        return self._seconds(self.store.rate_wait(self.action, key, self.limit, self.window))

    def record(self, key: str) -> None:
        """Count one event (e.g. a failed sign-in), whether or not the key is over its limit."""
        self.store.claim_rate_slot(self.action, key, self.limit + 10**9, self.window)


def parse_networks(spec: str | None) -> tuple:
    """``"10.0.0.0/8, 127.0.0.1"`` -> networks; raises ValueError naming the entry it cannot read."""
    networks = []
    for part in (spec or "").replace(";", ",").split(","):
        part = part.strip()
        if not part:
            continue
        try:
            networks.append(ipaddress.ip_network(part, strict=False))
        except ValueError:
            raise ValueError(f"not an IP address or CIDR network: {part!r}") from None
    return tuple(networks)


def _in(networks: tuple, address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return False
    return any(ip.version == n.version and ip in n for n in networks)


class ClientAddressMiddleware:
    """Set the request's client address from ``X-Forwarded-For`` only when the peer is a trusted
    proxy: then the address is the right-most one in the header that is not itself a trusted proxy
    (the left part of the header is whatever the client wrote).  From any other peer the header is
    ignored.  ``synapse serve`` turns uvicorn's own proxy-header handling off, which trusted
    ``X-Forwarded-For`` from 127.0.0.1 and so let a local client choose its rate-limit key."""

    def __init__(self, app: ASGIApp, trusted: tuple = ()):
        self.app, self.trusted = app, trusted

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        client = scope.get("client")
        if scope["type"] in ("http", "websocket") and self.trusted and client and _in(self.trusted, client[0]):
            forwarded = b",".join(v for k, v in scope.get("headers", []) if k == b"x-forwarded-for")
            hops = [h.strip() for h in forwarded.decode("latin-1").split(",") if h.strip()]
            for hop in reversed(hops):
                if not _in(self.trusted, hop):
                    try:
                        address = str(ipaddress.ip_address(hop))
                    except ValueError:
                        break  # garbage where an address should be: keep the proxy's address
                    scope = {**scope, "client": (address, 0)}
                    break
        await self.app(scope, receive, send)


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
                headers.append(
                    "set-cookie", f"{CLIENT_COOKIE}={cid}; Path=/; Max-Age=31536000; HttpOnly; SameSite=Lax{flags}"
                )
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


def parse_public_url(url: str) -> tuple[str, str, str]:
    """``https://kb.example.org/prefix`` -> (scheme, host[:port], path prefix without a trailing /).
    Raises ValueError with the reason, so a wrong setting stops the server at start."""
    parts = urlsplit((url or "").strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"SYNAPSE_PUBLIC_URL must be an http(s) URL such as https://kb.example.org, got {url!r}")
    if parts.query or parts.fragment or parts.username or parts.password:
        raise ValueError(f"SYNAPSE_PUBLIC_URL must be scheme, host, port and path only, got {url!r}")
    return parts.scheme, parts.netloc.lower(), parts.path.rstrip("/")


class PublicUrlMiddleware:
    """Make every absolute URL the app builds (``url_for``, redirects, ``status_url``) use the
    configured public address: the request's scheme, ``Host`` header and root path are replaced
    before the app sees them.  The ``Host`` header is chosen by the client, so a link built from it
    (``Host: evil.example``) would point wherever the client liked."""

    def __init__(self, app: ASGIApp, public_url: str):
        self.app = app
        self.scheme, host, self.root_path = parse_public_url(public_url)
        self.host = host.encode("latin-1")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = [(k, v) for k, v in scope.get("headers", []) if k != b"host"] + [(b"host", self.host)]
            scope = {**scope, "scheme": self.scheme, "headers": headers}
            if self.root_path and not scope.get("root_path"):
                # ASGI paths include the root path; a proxy that strips the prefix sends them without.
                scope["root_path"] = self.root_path
                if not (scope["path"] + "/").startswith(self.root_path + "/"):
                    scope["path"] = self.root_path + scope["path"]
                    if scope.get("raw_path") is not None:
                        scope["raw_path"] = self.root_path.encode() + scope["raw_path"]
        await self.app(scope, receive, send)


class HeadAsGetMiddleware:
    """Answer ``HEAD`` on every page as ``GET`` without the body (uptime monitors, link checkers).
    FastAPI routes declare GET only, so HEAD was a 405."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def send_headers_only(message: Message) -> None:
            if message["type"] == "http.response.body":
                if message.get("more_body", False):
                    return  # drop the body; the final empty message ends the response
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, send_headers_only)


class ExpiredForm(StarletteHTTPException):
    """A form whose CSRF token no longer verifies: the secret changed (a restart without
    ``SYNAPSE_SECRET_KEY``) or the client cookie is gone.  Carries what was posted, so a form page
    can be shown again with the values and a note (``app.expired_form``) instead of
    losing them."""

    MESSAGE = "This form has expired or did not come from this site. Reload the page and send it again."

    def __init__(self, form=None):
        super().__init__(403, self.MESSAGE)
        self.form = form


def unencodable_fields(value, path: str = "") -> dict[str, str]:
    """Fields of a parsed JSON body or form holding text that cannot be stored as UTF-8 (a lone
    surrogate such as ``"\\ud800"``, which JSON allows and Python keeps), each with why."""
    found: dict[str, str] = {}
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            found[path or "body"] = (
                f"contains text that is not valid Unicode (an unpaired surrogate {value[exc.start]!r} at "
                f"character {exc.start + 1}); send UTF-8 text"
            )
    elif isinstance(value, dict):
        for key, item in value.items():
            name = f"{path}.{key}" if path else str(key)
            if unencodable_fields(str(key)):
                found[path or "body"] = "a field name is not valid Unicode"
                continue
            found.update(unencodable_fields(item, name))
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            found.update(unencodable_fields(item, f"{path}[{i}]"))
    return found


async def refuse_unencodable_text(request: Request) -> None:
    """App-wide dependency: a JSON or form body with such text is a 422 naming the fields, before
    a route stores or renders it (it used to fail deep in YAML or SQLite as a 500)."""
    if request.method not in ("POST", "PUT", "PATCH", "DELETE"):
        return
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "application/json" or content_type.endswith("+json"):
        try:
            data = await request.json()  # the body is cached: the route's own parsing reads it once
        except Exception:  # empty or malformed: the route's own parsing answers that
            return
    elif content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        try:
            form = await request.form()  # cached on the request, like FastAPI's own parsing
        except Exception:  # malformed: the route's own parsing (or its CSRF check) answers that
            return
        data = {key: [v for v in form.getlist(key) if isinstance(v, str)] for key in form.keys()}
    else:
        return
    fields = unencodable_fields(data)
    if fields:
        from synapse_ai.web.errors import SiteError

        raise SiteError(422, f"invalid text in {', '.join(sorted(fields))}", {"fields": fields})
