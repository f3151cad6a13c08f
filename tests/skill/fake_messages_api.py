"""A scripted stand-in for Anthropic's ``POST /v1/messages`` on 127.0.0.1, for tests.

Point the real SDK at it and assert on what the SDK actually sent::

    with FakeMessagesAPI([tool_use_response(...), text_response("done")]) as api:
        client = anthropic.AsyncAnthropic(api_key="test", base_url=api.base_url, max_retries=0)
        ...
    body = api.requests[1]            # parsed JSON of the second request
    assert body["messages"][-1]["role"] == "user"

Each scripted item is one of:

* a dict - sent as the JSON body with status 200 (a full Message object; see the builders);
* ``(status, dict)`` - for error responses, e.g. ``(529, {"type": "error", ...})``;
* a callable ``f(request_body) -> dict | (status, dict)`` - for responses computed from input.

When the script runs out the server answers 500 with an error body naming the problem, so a test
that makes one request too many fails loudly instead of hanging.
"""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Callable, Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = [
    "FakeMessagesAPI",
    "message_response",
    "text_block",
    "text_response",
    "tool_use_block",
    "tool_use_response",
]

_ids = itertools.count(1)


def text_block(text: str) -> dict[str, Any]:
    return {"type": "text", "text": text}


def tool_use_block(id: str, name: str, input: dict[str, Any] | None = None) -> dict[str, Any]:  # noqa: A002
    return {"type": "tool_use", "id": id, "name": name, "input": input or {}}


def message_response(
    content: list[dict[str, Any]], stop_reason: str = "end_turn", model: str = "claude-test"
) -> dict[str, Any]:
    """A complete Messages API response body the SDK will parse into a ``Message``."""
    return {
        "id": f"msg_fake_{next(_ids)}",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": {"input_tokens": 10, "output_tokens": 10},
    }


def text_response(text: str) -> dict[str, Any]:
    return message_response([text_block(text)], "end_turn")


def tool_use_response(*calls: tuple[str, str, dict[str, Any]], text: str | None = None) -> dict[str, Any]:
    """A ``stop_reason: tool_use`` response with one ``tool_use`` block per ``(id, name, input)``."""
    content = [text_block(text)] if text else []
    content += [tool_use_block(*call) for call in calls]
    return message_response(content, "tool_use")


class FakeMessagesAPI:
    """Threaded HTTP server playing scripted responses; records every request it receives."""

    def __init__(self, responses: Iterable[Any] = ()) -> None:
        self._script = list(responses)
        self._lock = threading.Lock()
        self.requests: list[dict[str, Any]] = []
        self.paths: list[str] = []
        self.headers: list[dict[str, str]] = []
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -------------------------------------------------------------- lifecycle

    def start(self) -> FakeMessagesAPI:
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802 - http.server naming
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw or b"{}")
                except ValueError:
                    body = {"_unparsed": raw.decode("utf-8", "replace")}
                status, payload = api._answer(self.path, dict(self.headers), body)
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.send_header("request-id", f"req_fake_{len(api.requests)}")
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - silence
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeMessagesAPI:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        """Give this to ``AsyncAnthropic(base_url=...)``; the SDK appends ``/v1/messages``."""
        if self._server is None:
            raise RuntimeError("server not started")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    # -------------------------------------------------------------- scripting

    def add(self, *responses: Any) -> None:
        """Append more scripted responses (safe while the server runs)."""
        with self._lock:
            self._script.extend(responses)

    def _answer(self, path: str, headers: dict[str, str], body: dict[str, Any]) -> tuple[int, Any]:
        with self._lock:
            self.requests.append(body)
            self.paths.append(path)
            self.headers.append(headers)
            if not path.rstrip("/").endswith("/v1/messages"):
                return 404, _error("not_found_error", f"fake server only serves /v1/messages, not {path}")
            if not self._script:
                return 500, _error("api_error", f"fake server script exhausted at request {len(self.requests)}")
            item = self._script.pop(0)
        if callable(item):
            item = item(body)
        if isinstance(item, tuple):
            return int(item[0]), item[1]
        return 200, item


def _error(kind: str, message: str) -> dict[str, Any]:
    return {"type": "error", "error": {"type": kind, "message": message}}


ResponseFactory = Callable[[dict[str, Any]], Any]
