"""The site under hostile clients: a fence-bomb submission, late-failing submissions against the rate
limit, a client that never finishes its headers, and SIGTERM with a request stuck in flight.

The server tests run a real ``synapse serve`` (uvicorn) subprocess on 127.0.0.1 and a free port, with
the hashing embedder and a small entries folder, and talk to it over real sockets.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.kb.helpers import write_entry
from tests.web.conftest import valid_api_payload

SYNAPSE = str(Path(sys.executable).with_name("synapse"))
FENCE_BOMB = "```a\n" * 5990  # ~30 kB of unclosed fences per option: the body that froze the site for 62 s


payload = valid_api_payload  # one valid submission, shared with the other web tests


BOMB = payload(fix_options=[{"title": f"Option {i}", "body": FENCE_BOMB} for i in range(3)])
# Passes every field check and fails only late, in the parse: such sends used to go uncounted.
LATE_FAILURE = payload(fix_options=[{"title": "Broken code", "body": "```python\nclient = dict(timeout=\n```"}])


# ------------------------------------------------------------------ in-process: validation and the rate limit


def test_fence_bomb_is_refused_with_the_reason(client):
    r = client.post("/api/submissions", json=BOMB)
    assert r.status_code == 422
    assert r.json()["detail"]["fields"] == {
        "option_body_1": "Too many code fences: the whole entry may have at most 400 lines starting with ``` (17,970 "
        "here)."
    }
    assert client.app.state.site.submission_counts()["pending"] == 0


def test_refused_api_submissions_count_against_the_rate_limit(make_app):
    with TestClient(make_app(submit_limit=3)) as c:
        codes = [
            c.post("/api/submissions", json=body).status_code
            for body in (LATE_FAILURE, BOMB, payload(title="t" * 201), payload())
        ]
        assert codes == [422, 422, 413, 429]
        assert c.app.state.site.submission_counts()["pending"] == 0


def test_refused_form_sends_count_but_previews_do_not(make_app, form, csrf):
    with TestClient(make_app(submit_limit=2)) as c:
        token = csrf(c)
        broken = form(csrf_token=token, option_body=["```python\nx = (\n```"])
        assert [c.post("/submit", data=broken).status_code for _ in range(2)] == [422, 422]
        assert c.post("/submit", data=form(csrf_token=token), follow_redirects=False).status_code == 429
        assert c.post("/submit", data=form(csrf_token=token, action="preview")).status_code == 200


def test_previews_have_their_own_more_generous_limit(make_app, form, csrf):
    with TestClient(make_app(submit_limit=1)) as c:
        token = csrf(c)
        codes = [c.post("/submit", data=form(csrf_token=token, action="preview")).status_code for _ in range(11)]
        assert codes == [200] * 10 + [429]
        assert (
            c.post("/submit", data=form(csrf_token=token), follow_redirects=False).status_code == 303
        )  # sends are separate


def test_a_pattern_too_deep_to_compile_is_a_field_error():
    from synapse_ai.web.submissions import Draft, validate

    draft = Draft.from_api(payload(patterns=["a{99999999999999999999}"]))
    assert validate(draft).errors == {
        "patterns": "Line 1 is not a usable regular expression: a repetition count is too large."
    }


def test_oversized_patterns_are_refused_without_the_slow_checks():
    """The nested-quantifier flag check is quadratic in a pattern's length: it must never see a 100 kB one."""
    from synapse_ai.web.submissions import Draft, validate

    started = time.monotonic()
    result = validate(Draft.from_api(payload(patterns=["(" + "+" * 100_000])))
    assert result.too_large and set(result.errors) == {"patterns"} and result.flags == []
    assert time.monotonic() - started < 20  # hang guard only: quadratic would be hours


# ------------------------------------------------------------------ a real server


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, home: Path, *options: str):
        self.port = free_port()
        entries = home / "entries"
        write_entry(
            entries,
            "rate-limited",
            title="429 rate_limit_error from the API",
            patterns=r"'rate_limit_error'",
            symptom="Requests fail with 429.",
        )
        write_entry(entries, "slow-tools", title="Tool calls run one after another", symptom="The agent is slow.")
        env = {**os.environ, "SYNAPSE_HOME": str(home), "SYNAPSE_MODEL": "hash", "PYTHONUNBUFFERED": "1"}
        env.pop("SYNAPSE_DB", None)
        self.log = (home / "server.log").open("w+b")
        self.process = subprocess.Popen(
            [SYNAPSE, "serve", "--port", str(self.port), "--entries", str(entries), "--log-level", "info", *options],
            stdout=self.log,
            stderr=subprocess.STDOUT,
            env=env,
        )
        deadline = time.monotonic() + 90
        while True:
            try:
                self.get("/api/search?q=429", timeout=5)
                break
            except (OSError, urllib.error.URLError):
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    pytest.fail(f"synapse serve did not start:\n{self.output()}")
                time.sleep(0.2)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def get(self, path: str, timeout: float = 10) -> tuple[int, dict]:
        with urllib.request.urlopen(self.url(path), timeout=timeout) as r:
            return r.status, json.loads(r.read())

    def post_json(self, path: str, body: dict, timeout: float = 60) -> tuple[int, dict]:
        request = urllib.request.Request(
            self.url(path), data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read())

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read().decode("utf-8", "replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=30)
        self.log.close()


@pytest.fixture
def server(tmp_path):
    started = Server(tmp_path, "--header-timeout", "1", "--shutdown-timeout", "2")
    yield started
    started.stop()


def test_search_answers_within_a_second_while_fence_bombs_are_processed(server):
    results: list[int] = []

    def bombard():
        for _ in range(3):
            results.append(server.post_json("/api/submissions", BOMB)[0])

    senders = [threading.Thread(target=bombard) for _ in range(2)]
    for t in senders:
        t.start()
    latencies = []
    while any(t.is_alive() for t in senders) or len(latencies) < 5:
        started = time.monotonic()
        status, data = server.get("/api/search?q=rate_limit_error+429", timeout=30)
        latencies.append(time.monotonic() - started)
        assert status == 200 and data["results"][0]["slug"] == "rate-limited"
    for t in senders:
        t.join(timeout=60)
    assert sorted(results) == [422] * 5 + [429]  # the default limit is 5 sends per window
    assert max(latencies) < 1.0, latencies


def test_a_client_that_never_finishes_its_headers_is_disconnected(server):
    with socket.create_connection(("127.0.0.1", server.port), timeout=15) as slow:
        slow.sendall(b"GET /api/search?q=429 HTTP/1.1\r\nHost: x\r\n")  # ...and never the blank line
        started = time.monotonic()
        assert slow.recv(1024) == b""  # closed by the server, nothing sent
        waited = time.monotonic() - started
    assert 0.5 < waited < 10
    assert server.get("/api/search?q=429")[0] == 200  # everyone else is served as usual
    assert "closed: no complete request headers within 1s" in server.output()


def test_a_connection_that_sends_nothing_is_disconnected(server):
    with socket.create_connection(("127.0.0.1", server.port), timeout=15) as idle:
        assert idle.recv(1024) == b""


def test_sigterm_exits_within_the_bound_even_with_a_stuck_request(server):
    stuck = socket.create_connection(("127.0.0.1", server.port), timeout=30)
    try:
        # Complete headers, then a body that never arrives: the request stays in flight.
        stuck.sendall(
            b"POST /api/submissions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: "
            b'100000\r\n\r\n{"title": '
        )
        time.sleep(1.5)  # past the header timeout: a request in flight is not cut by it
        assert server.process.poll() is None
        started = time.monotonic()
        server.process.send_signal(signal.SIGTERM)
        server.process.wait(timeout=30)
        elapsed = time.monotonic() - started
    finally:
        stuck.close()
    assert elapsed < 2 + 8, elapsed  # --shutdown-timeout 2, plus the app's own shutdown
    log = server.output()
    assert "timeout graceful shutdown exceeded" in log and "Application shutdown complete" in log
