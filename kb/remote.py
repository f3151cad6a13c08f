"""``RemoteKnowledgeBase``: a ``KnowledgeReader`` over a SynapseAI team server's JSON API.

Why HTTP is spoken with ``http.client`` and not httpx: an agent runs ``synapse search`` or the hook
as a fresh process on every failure, and the remote path exists to be cheaper than the local one
(no numpy, no model, no SQLite).  Importing httpx costs about as much as importing numpy (it pulls
in click's and rich's siblings, anyio, h11, certifi); ``http.client`` costs a few milliseconds.  Any
object with httpx's ``request(method, url, params=, json=, headers=)`` can be passed as ``http``
instead (the tests pass FastAPI's ``TestClient`` and run the whole labelled query set through it).

What leaves the machine: the query after ``synapse_ai.kb.scrub`` has removed secrets from it; of a
long log only its head and tail (search reads no more: ``synapse_ai.kb.extract.bounded_window``);
always in a POST body, never in a URL (URLs end up in access logs and proxies).
"""

from __future__ import annotations

import http.client
import json
import socket
import time
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from synapse_ai.kb import __version__
from synapse_ai.kb.errors import EntryNotFound
from synapse_ai.kb.model import Entry
from synapse_ai.kb.reader import API_VERSION, IncompatibleServer, ServerRefused, ServerUnreachable
from synapse_ai.kb.scrub import scrub, scrub_json
from synapse_ai.kb.search import SearchResponse
from synapse_ai.kb.views import entry_from_dict

DEFAULT_TIMEOUT = 10.0  # seconds per request (connect, and then each read) for the CLI and MCP
MAX_RESPONSE_BYTES = 16 * 1024 * 1024  # a reply larger than this is not one of ours
SEND_HEAD, SEND_TAIL = 16_000, 120_000  # characters of a long text sent: its head and its tail
SEND_BYTES = 200_000  # ...and at most this much UTF-8 (the server refuses bodies over 256 KiB)
SCRUB_MARGIN = 8_000  # scrubbed beyond each cut, so a secret (a PEM block) across a cut is gone whole
USER_AGENT = f"synapse/{__version__}"


class Response:
    """The parts of an HTTP response the client reads (the same names as httpx's)."""

    def __init__(self, status_code: int, headers: dict[str, str], content: bytes) -> None:
        self.status_code = status_code
        self.headers = headers
        self.content = content

    @property
    def text(self) -> str:
        """The body decoded as UTF-8, bad bytes replaced. Raises nothing of its own."""
        return self.content.decode("utf-8", "replace")

    def json(self) -> Any:
        """The body parsed as JSON; raises ``ValueError`` (``json.JSONDecodeError``) when it is not JSON."""
        return json.loads(self.content)


class HttpTransport:
    """A keep-alive HTTP/1.1 connection to one server (``http`` or ``https``), with timeouts.

    ``request`` raises ``OSError`` (refused, reset, timed out, unknown host) or
    ``http.client.HTTPException``; ``RemoteKnowledgeBase`` turns both into ``ServerUnreachable``.
    """

    def __init__(self, base_url: str, *, timeout: float = DEFAULT_TIMEOUT) -> None:
        try:
            parts = urlsplit(base_url)
            port = parts.port  # raises for a port that is not a number
        except ValueError as exc:
            raise ValueError(f"not a usable server URL: {base_url!r} ({exc})") from None
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {base_url!r}")
        self.scheme, self.host, self.port = parts.scheme, parts.hostname, port
        self.prefix = parts.path.rstrip("/")  # a server mounted under a path: https://host/synapse
        self.timeout = timeout
        self._conn: http.client.HTTPConnection | None = None

    def _connect(self, timeout: float) -> http.client.HTTPConnection:
        if self.scheme == "https":
            import ssl

            context = ssl.create_default_context()
            return http.client.HTTPSConnection(self.host, self.port, timeout=timeout, context=context)
        return http.client.HTTPConnection(self.host, self.port, timeout=timeout)

    def request(
        self,
        method: str,
        url: str,
        *,
        params: dict | None = None,
        json: Any = None,
        headers: dict | None = None,
        timeout: float | None = None,
        retry: bool = True,
    ) -> Response:
        """Send one request (once more on a fresh connection if a reused one was dropped); raises ``OSError``
        or ``http.client.HTTPException``."""
        timeout = self.timeout if timeout is None else timeout
        target = self.prefix + url + (f"?{urlencode(params)}" if params else "")
        body = None if json is None else _dumps(json)
        sent = {"User-Agent": USER_AGENT, "Accept": "application/json", **(headers or {})}
        if body is not None:
            sent["Content-Type"] = "application/json"
        reused = self._conn is not None
        try:
            return self._send(method, target, body, sent, timeout)
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            self.close()
            if not (reused and retry):
                raise
            # The server closed an idle keep-alive connection: once more on a fresh one.
            try:
                return self._send(method, target, body, sent, timeout)
            except BaseException:
                self.close()
                raise
        except BaseException:
            self.close()
            raise

    def _send(self, method: str, target: str, body: bytes | None, headers: dict, timeout: float) -> Response:
        if self._conn is None:
            self._conn = self._connect(timeout)
        else:
            self._conn.timeout = timeout
            if self._conn.sock is not None:
                self._conn.sock.settimeout(timeout)
        self._conn.request(method, target, body=body, headers=headers)
        reply = self._conn.getresponse()
        content = reply.read(MAX_RESPONSE_BYTES + 1)
        if len(content) > MAX_RESPONSE_BYTES:
            self.close()
            raise http.client.HTTPException(f"reply larger than {MAX_RESPONSE_BYTES} bytes")
        if reply.will_close:
            self.close()
        return Response(reply.status, {k.lower(): v for k, v in reply.getheaders()}, content)

    def close(self) -> None:
        """Close the open connection, if any. Raises nothing of its own."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def _dumps(data: Any) -> bytes:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "replace")


def outgoing_text(text: str) -> str:
    """What is sent for ``text``: all of it when it is short, else its head and tail (at most
    ``SEND_BYTES`` as JSON), secrets removed."""
    if len(text) <= SEND_HEAD + SEND_TAIL:
        head, tail = scrub(text), ""
    else:
        # Scrub a margin beyond each cut first: cutting through a key would leave a part no rule knows.
        head = scrub(text[: SEND_HEAD + SCRUB_MARGIN])[:SEND_HEAD]
        tail = scrub(text[-(SEND_TAIL + SCRUB_MARGIN) :])[-SEND_TAIL:]
    while len(_dumps(head)) + len(_dumps(tail)) > SEND_BYTES:  # wide characters, escaped quotes
        if len(tail) > 1000:
            tail = tail[len(tail) // 4 :]
        else:
            head = head[: len(head) // 2]
    return head + "\n" + tail if tail else head


class RemoteKnowledgeBase:
    """A ``KnowledgeReader`` over ``base_url``'s ``/api`` (see the module docstring).

    ``api_key`` goes in ``Authorization: Bearer``.  ``timeout`` bounds each request; ``budget``, if
    given, bounds all requests of this client together (the hook's promise to finish quickly): once
    spent, requests fail with ``ServerUnreachable`` without touching the network.  The server's API
    version is checked once, before the first request.
    """

    def __init__(
        self,
        base_url: str = "",
        *,
        api_key: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        budget: float | None = None,
        http: Any = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._http = http if http is not None else HttpTransport(self.base_url, timeout=timeout)
        self._own_transport = http is None
        self._headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._timeout = timeout
        self._deadline = time.monotonic() + budget if budget is not None else None
        self._health: dict | None = None
        self._near: dict[str, list[str]] = {}  # slug -> did_you_mean from the server's 404

    # ------------------------------------------------------------------ plumbing
    def _send(self, method: str, url: str, *, retry: bool = True, **kwargs) -> Any:
        server = self.base_url or "the server"
        options: dict[str, Any] = {"headers": self._headers, **kwargs}
        if isinstance(self._http, HttpTransport):
            options["retry"] = retry
            if self._deadline is not None:
                left = self._deadline - time.monotonic()
                if left <= 0.05:
                    raise ServerUnreachable(f"{self.base_url}: no answer within the time budget")
                options["timeout"] = min(self._timeout, left)
        try:
            response = self._http.request(method, url, **options)
        except (OSError, http.client.HTTPException) as exc:
            raise ServerUnreachable(f"{server} cannot be reached ({_describe(exc)})") from None
        if response.status_code >= 500:
            raise ServerUnreachable(f"{server} answered {response.status_code} to {method} {url}")
        return response

    def _data(self, response: Any, what: str) -> Any:
        try:
            data = response.json()
        except ValueError:
            raise ServerUnreachable(f"{self.base_url or 'the server'} sent no JSON for {what}") from None
        if response.status_code >= 400:
            message = data.get("error") if isinstance(data, dict) else None
            detail = data.get("detail") if isinstance(data, dict) else None
            reason = message or response.status_code
            raise ServerRefused(response.status_code, f"the server refused {what}: {reason}", detail)
        return data

    def health(self) -> dict:
        """``GET /api/health`` (asked once): ``{version, api_version, model, entries}``."""
        if self._health is None:
            response = self._send("GET", "/api/health")
            if response.status_code == 404:
                raise IncompatibleServer(
                    f"{self.base_url or 'the server'} has no /api/health: not a SynapseAI server, or one older than "
                    "this synapse"
                )
            data = self._data(response, "the health check")
            if not isinstance(data, dict) or "api_version" not in data:
                raise ServerUnreachable(f"{self.base_url or 'the server'} does not look like a SynapseAI server")
            self._health = data
        return self._health

    def _checked(self) -> None:
        version = str(self.health()["api_version"])
        if version.split(".")[0] != API_VERSION.split(".")[0]:
            raise IncompatibleServer(
                f"{self.base_url or 'the server'} speaks API version {version}; this synapse speaks {API_VERSION} "
                f"(upgrade whichever is older)"
            )

    def _post(self, url: str, body: dict, what: str, *, retry: bool = True) -> Any:
        self._checked()
        return self._data(self._send("POST", url, json=body, retry=retry), what)

    # ------------------------------------------------------------------ KnowledgeReader
    def search(
        self, query: str, limit: int = 5, *, error_text: bool | None = None, lazy_meaning: bool = False
    ) -> SearchResponse:
        """``KnowledgeBase.search`` on the server (``lazy_meaning`` only applies to error text)."""
        if error_text:
            return self.match(query, limit, lazy_meaning=lazy_meaning)
        data = self._post("/api/search", {"query": outgoing_text(query), "limit": limit}, "the search")
        return SearchResponse.from_dict(data)

    def match(self, error_text: str, limit: int = 5, *, lazy_meaning: bool = False) -> SearchResponse:
        """``KnowledgeBase.match`` on the server: the error text goes in the body (logs are long).
        ``lazy_meaning`` (the hook's) is passed on, so the server does what the local hook would."""
        body = {"text": outgoing_text(error_text), "limit": limit}
        if lazy_meaning:
            body["lazy_meaning"] = True
        data = self._post("/api/match", body, "the match")
        return SearchResponse.from_dict(data)

    def get(self, slug: str) -> Entry | None:
        """The entry ``slug`` from the server, or None on a 404 (its did-you-mean slugs kept); raises
        ``ServerUnreachable``, ``ServerRefused`` or ``IncompatibleServer``."""
        self._checked()
        response = self._send("GET", f"/api/entries/{quote(slug, safe='')}")
        if response.status_code == 404:
            detail = _json_or_none(response)
            near = (detail or {}).get("detail") or {}
            self._near[slug] = list(near.get("did_you_mean") or []) if isinstance(near, dict) else []
            return None
        return entry_from_dict(self._data(response, f"entry '{slug}'"))

    def require(self, slug: str) -> Entry:
        """The entry ``slug``; raises ``EntryNotFound`` with the server's closest slugs."""
        entry = self.get(slug)
        if entry is None:
            raise EntryNotFound(slug, self.nearest_slugs(slug))
        return entry

    def markdown(self, slug: str) -> str | None:
        """Entry ``slug``'s Markdown from the server, or None on a 404; raises ``ServerRefused`` (4xx),
        ``ServerUnreachable`` or ``IncompatibleServer``."""
        self._checked()
        response = self._send("GET", f"/entries/{quote(slug, safe='')}.md")
        if response.status_code == 404:
            return None
        if response.status_code >= 400:
            raise ServerRefused(response.status_code, f"the server refused entry '{slug}': {response.status_code}")
        return response.text

    def nearest_slugs(self, slug_like: str, n: int = 3) -> list[str]:
        """Close slugs, as the server's 404 for ``slug_like`` suggests them."""
        if slug_like not in self._near:
            self.get(slug_like)
        return self._near.get(slug_like, [])[:n]

    def post_json(self, path: str, body: dict, *, scrubbed: bool = True) -> Any:
        """POST ``body`` to ``path`` (``/api/entries/SLUG/confirm``, ``/api/proposals``) and return the
        JSON answer.  Every string in the body is scrubbed of secrets first unless ``scrubbed=False``.
        Not retried on a dropped connection: a write may already have happened."""
        return self._post(path, scrub_json(body) if scrubbed else body, f"POST {path}", retry=False)

    def close(self) -> None:
        """Close the HTTP transport if this client created it. Raises nothing of its own."""
        if self._own_transport:
            self._http.close()


def _json_or_none(response: Any) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _describe(exc: BaseException) -> str:
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return "timed out"
    if isinstance(exc, socket.gaierror):
        return "unknown host"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    return str(exc) or type(exc).__name__
