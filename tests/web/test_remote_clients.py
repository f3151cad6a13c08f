"""``SYNAPSE_URL``: the CLI, the hook and the agent tools against a real server on localhost.

One ``synapse serve``-equivalent (uvicorn in a thread, the real app) per module; the commands run as
subprocesses with the default ``http.client`` transport, exactly as an agent runs them.  A small
stdlib server stands in for servers that misbehave (another API version, a refusal, no answer).
"""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from synapse_ai.kb.scrub import REDACTED
from tests.conftest import ENTRIES, ROOT

SYNAPSE = str(Path(sys.executable).with_name("synapse"))
HANG_GUARD_S = 20  # subprocess timeouts catch a hang; they do not measure speed
SECRET_KEY = "sk-ant-api03-Xq3vT9bLm2Rk8Zp4Wc7Nd1Hf6Js0Ga5Ye2Ub8Io3Pl7Kx9Mq4Vw-AbCdEfGh1234AA"
ERROR = (
    'Traceback (most recent call last):\n  File "agent.py", line 12, in <module>\n'
    "anthropic.RateLimitError: Error code: 429 - {'type': 'error', 'error': {'type': 'rate_limit_error', "
    "'message': \"This request would exceed your organization's rate limit\"}}"
)
HOOK_EVENT = {
    "hook_event_name": "PostToolUseFailure",
    "tool_name": "Bash",
    "tool_input": {"command": "python agent.py"},
    "tool_use_id": "toolu_01",
    "error": "Exit code 1\n" + ERROR,
    "is_interrupt": False,
}
# Loaded by the local path; none may be loaded on the remote one.
HEAVY = (
    "numpy",
    "sqlite_utils",
    "sqlite3",
    "torch",
    "sentence_transformers",
    "tokenizers",
    "httpx",
    "rich",
    "synapse_ai.kb.embed",
    "synapse_ai.kb.store",
    "synapse_ai.kb.service",
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def index_db(tmp_path_factory) -> Path:
    """An index over the shipped entries that a ``synapse`` subprocess finds current (the folders are
    remembered in it, the model is "hash")."""
    from synapse_ai.kb import KnowledgeBase
    from synapse_ai.kb.embed import HashingEmbedder

    path = tmp_path_factory.mktemp("remote-db") / "kb.db"
    KnowledgeBase.open(path, [ENTRIES], embedder=HashingEmbedder(), remember_dirs=True).close()
    return path


@pytest.fixture(scope="module")
def live(index_db):
    """The real app served by uvicorn on 127.0.0.1 (access log on, captured in ``live.access``)."""
    import uvicorn

    from synapse_ai.kb import KnowledgeBase
    from synapse_ai.kb.embed import HashingEmbedder
    from synapse_ai.web.app import create_app
    from synapse_ai.web.settings import Settings

    app = create_app(
        Settings(db=index_db, entries_dirs=[ENTRIES]),
        kb_factory=lambda: KnowledgeBase.open(index_db, [ENTRIES], embedder=HashingEmbedder()),
    )
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_config=None, access_log=True, lifespan="on"))
    access: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record):
            access.append(self.format(record))

    handler = Keep()
    logging.getLogger("uvicorn.access").addHandler(handler)
    logging.getLogger("uvicorn.access").setLevel(logging.INFO)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started
    server.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    server.app = app
    server.access = access
    from synapse_ai.web.keys import hash_key, key_prefix, new_key

    server.key = new_key()  # a real key of this server (scopes read, vote, propose)
    scopes = ("read", "vote", "propose")
    app.state.site.add_api_key("remote-tests", scopes, hash_key(server.key), key_prefix(server.key))
    yield server
    server.should_exit = True
    thread.join(10)
    logging.getLogger("uvicorn.access").removeHandler(handler)


def synapse(args, *, url=None, stdin=b"", extra_env=None, timeout=HANG_GUARD_S) -> subprocess.CompletedProcess:
    env = {**os.environ, **(extra_env or {})}
    env.pop("SYNAPSE_URL", None)
    if url is not None:
        env["SYNAPSE_URL"] = url
    return subprocess.run([SYNAPSE, *args], input=stdin, capture_output=True, timeout=timeout, env=env)


# ------------------------------------------------------------------ the same JSON, local or remote


@pytest.mark.parametrize(
    ("args", "stdin"),
    [
        (["search", "--json", "429 rate_limit_error"], b""),
        (["search", "--json", "--limit", "3", "my agent's tool calls run one after another"], b""),
        (["match", "--json"], ERROR.encode()),
        (["show", "--json", "rate-limit-429"], b""),
        (["show", "--json", "--section", "Fix", "tool-use-without-tool-result"], b""),
        (["show", "--raw", "rate-limit-429"], b""),
    ],
)
def test_commands_print_the_same_output_remotely(live, index_db, args, stdin):
    local = synapse([*args, "--db", str(index_db)], stdin=stdin)
    remote = synapse(args, url=live.url, stdin=stdin)
    assert local.returncode == remote.returncode == 0, (local.stderr, remote.stderr)
    assert remote.stdout == local.stdout
    assert remote.stderr == b""


def test_a_missing_entry_says_the_same_remotely(live, index_db):
    local = synapse(["show", "rate-limit-42", "--db", str(index_db)])
    remote = synapse(["show", "rate-limit-42"], url=live.url)
    assert local.returncode == remote.returncode == 1
    assert remote.stderr == local.stderr and b"did you mean: rate-limit-429" in remote.stderr


def test_batch_search_goes_to_the_server(live, index_db):
    lines = b"429 rate_limit_error\n\ntool_use ids were found without tool_result blocks\n"
    local = synapse(["search", "--batch", "-", "--db", str(index_db)], stdin=lines)
    remote = synapse(["search", "--batch", "-"], url=live.url, stdin=lines)
    assert remote.stdout == local.stdout and len(remote.stdout.splitlines()) == 3


@pytest.mark.parametrize(
    "argv",
    [["search", "--json", "429 rate_limit_error"], ["match", "--json"], ["show", "--json", "rate-limit-429"], ["hook"]],
)
def test_the_remote_path_imports_no_numpy_sqlite_or_model_code(live, argv):
    probe = (
        "import sys, json\n"
        "from synapse_ai.cli import main  # the synapse program\n"
        f"try:\n    main({argv!r})\nexcept SystemExit:\n    pass\n"
        f"print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)), file=sys.stderr)\n"
    )
    stdin = json.dumps(HOOK_EVENT).encode() if argv == ["hook"] else ERROR.encode()
    env = {**os.environ, "SYNAPSE_URL": live.url}
    done = subprocess.run(
        [sys.executable, "-c", probe], input=stdin, capture_output=True, timeout=HANG_GUARD_S, env=env, cwd=ROOT
    )
    assert done.stdout.strip(), done.stderr
    assert json.loads(done.stderr.decode().strip().splitlines()[-1]) == []


# ------------------------------------------------------------------ the server cannot be reached


def test_read_commands_fall_back_to_the_local_index_with_one_line(index_db):
    dead = f"http://127.0.0.1:{free_port()}"
    local = synapse(["search", "--json", "429 rate_limit_error", "--db", str(index_db)])
    fallen = synapse(["search", "--json", "429 rate_limit_error", "--db", str(index_db)], url=dead)
    assert fallen.returncode == 0 and fallen.stdout == local.stdout
    lines = fallen.stderr.decode().splitlines()
    assert len(lines) == 1
    assert lines[0] == f"synapse: {dead} cannot be reached (connection refused); answering from the local index"


def test_the_hook_answers_remotely_like_locally(live, index_db):
    event = json.dumps(HOOK_EVENT).encode()
    local = synapse(["hook", "--db", str(index_db)], stdin=event)
    remote = synapse(["hook"], url=live.url, stdin=event)
    assert json.loads(local.stdout)["hookSpecificOutput"]["additionalContext"]
    assert remote.stdout == local.stdout and remote.stderr == b""


def test_the_hook_falls_back_silently_when_the_server_is_down(index_db):
    event = json.dumps(HOOK_EVENT).encode()
    local = synapse(["hook", "--db", str(index_db)], stdin=event)
    fallen = synapse(["hook", "--db", str(index_db)], url=f"http://127.0.0.1:{free_port()}", stdin=event)
    assert fallen.returncode == 0 and fallen.stdout == local.stdout and fallen.stderr == b""


# ------------------------------------------------------------------ servers that misbehave


class FakeServer:
    """A stdlib server answering every request with ``reply(handler) -> (status, body)``; it records
    what it received.  ``reply`` returning None means: never answer (hold the connection)."""

    def __init__(self, reply):
        self.requests: list[dict] = []
        self.release = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _answer(self):
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                seen = {"method": self.command, "path": self.path, "headers": dict(self.headers), "body": body}
                outer.requests.append(seen)
                answer = reply(self)
                if answer is None:
                    outer.release.wait(30)
                    return
                status, data = answer
                payload = json.dumps(data).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = _answer

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


def health(api_version="1"):
    return {"version": "9.9.9", "api_version": api_version, "model": "hash", "entries": 1}


def test_another_api_version_is_refused_with_one_line():
    fake = FakeServer(lambda h: (200, health("2")))
    try:
        done = synapse(["search", "--json", "429"], url=fake.url)
    finally:
        fake.close()
    assert done.returncode == 1 and done.stdout == b""
    assert done.stderr.decode() == (
        f"synapse: {fake.url} speaks API version 2; this synapse speaks 1 (upgrade whichever is older)\n"
    )


def test_a_refusal_is_one_line_and_not_a_fallback(index_db):
    refusal = {"error": "invalid API key", "detail": None}
    fake = FakeServer(lambda h: (200, health()) if h.path == "/api/health" else (401, refusal))
    try:
        done = synapse(
            ["search", "--json", "429", "--db", str(index_db)], url=fake.url, extra_env={"SYNAPSE_API_KEY": "syn_k1"}
        )
    finally:
        fake.close()
    assert done.returncode == 1 and done.stdout == b""
    assert done.stderr.decode() == "synapse: the server refused the search: invalid API key\n"


def test_requests_carry_the_key_and_a_scrubbed_body_never_the_text_in_the_url():
    empty = {"query": "q", "matched": False, "results": []}
    fake = FakeServer(lambda h: (200, health()) if h.path == "/api/health" else (200, empty))
    leaked = f"{ERROR}\nAuthorization: Bearer {SECRET_KEY}\nDATABASE_URL=postgresql://app:S3cr3t-P4ss@db/prod"
    try:
        done = synapse(
            ["match", "--json"], url=fake.url, stdin=leaked.encode(), extra_env={"SYNAPSE_API_KEY": "syn_k1"}
        )
    finally:
        fake.close()
    assert done.returncode == 0, done.stderr
    assert [(r["method"], r["path"]) for r in fake.requests] == [("GET", "/api/health"), ("POST", "/api/match")]
    assert all(r["headers"]["Authorization"] == "Bearer syn_k1" for r in fake.requests)
    sent = json.loads(fake.requests[1]["body"])
    assert set(sent) == {"text", "limit"}
    assert SECRET_KEY not in sent["text"] and "S3cr3t-P4ss" not in sent["text"]
    assert f"Bearer {REDACTED}" in sent["text"] and "rate_limit_error" in sent["text"]


def test_the_hook_gives_up_silently_on_a_server_that_never_answers(index_db):
    fake = FakeServer(lambda h: None)
    try:
        started = time.monotonic()
        done = synapse(["hook", "--db", str(index_db)], url=fake.url, stdin=json.dumps(HOOK_EVENT).encode())
        elapsed = time.monotonic() - started
    finally:
        fake.close()
    assert done.returncode == 0 and done.stdout == b"" and done.stderr == b""
    assert elapsed < HANG_GUARD_S  # the budget is 1.5 s; bench/remote_cli.py measures it


def test_read_commands_fall_back_when_the_server_fails(index_db):
    overloaded = {"error": "overloaded", "detail": None}
    fake = FakeServer(lambda h: (200, health()) if h.path == "/api/health" else (503, overloaded))
    try:
        done = synapse(["search", "--json", "429 rate_limit_error", "--db", str(index_db)], url=fake.url)
    finally:
        fake.close()
    local = synapse(["search", "--json", "429 rate_limit_error", "--db", str(index_db)])
    assert done.returncode == 0 and done.stdout == local.stdout
    expected = f"synapse: {fake.url} answered 503 to POST /api/search; answering from the local index\n"
    assert done.stderr.decode() == expected


# ------------------------------------------------------------------ the server side


def test_access_log_lines_never_hold_query_strings(live):
    from synapse_ai.kb.remote import RemoteKnowledgeBase

    live.access.clear()
    remote = RemoteKnowledgeBase(live.url, api_key=live.key)
    try:
        response = remote._http.request(
            "GET",
            "/api/search",
            params={"q": f"429 {SECRET_KEY}", "limit": 1},
            headers={"Authorization": f"Bearer {live.key}"},
        )
        assert response.status_code == 200
        remote.search("tool calls run one after another")
    finally:
        remote.close()
    deadline = time.monotonic() + 5
    while not any("POST /api/search" in line for line in live.access) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert any('"GET /api/search HTTP/1.1" 200' in line for line in live.access), live.access
    assert any('"POST /api/search HTTP/1.1" 200' in line for line in live.access), live.access
    assert not any("?" in line or "q=" in line or "sk-ant" in line or "tool calls" in line for line in live.access)
    assert not any(live.key in line for line in live.access)


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"text": ""}, 400),
        ({"text": "  "}, 400),
        ({}, 422),
        ({"text": "x", "limit": 0}, 422),
        ({"text": "x", "limit": 51}, 422),
        ({"text": "x", "extra": 1}, 422),
        ({"text": 5}, 422),
        ({"text": "x" * 300_000}, 413),
    ],
)
def test_match_endpoint_errors_are_json(live, body, status):
    from synapse_ai.kb.remote import HttpTransport

    transport = HttpTransport(live.url)
    try:
        response = transport.request("POST", "/api/match", json=body)
    finally:
        transport.close()
    assert response.status_code == status
    assert set(response.json()) == {"error", "detail"}


def test_post_json_sends_a_scrubbed_submission(live):
    from synapse_ai.kb.remote import RemoteKnowledgeBase
    from tests.web.conftest import valid_api_payload

    payload = valid_api_payload(symptom=f"Every call fails with 401 although ANTHROPIC_API_KEY={SECRET_KEY} is set.")
    remote = RemoteKnowledgeBase(live.url)
    try:
        answer = remote.post_json("/api/submissions", payload)
    finally:
        remote.close()
    assert answer["status"] == "pending" and answer["ref"]
    stored = repr(live.app.state.site.submission(answer["ref"]))
    assert "ANTHROPIC_API_KEY=sk-ant-api03-[REDACTED]" in stored and SECRET_KEY not in stored


# ------------------------------------------------------------------ the agent tools (MCP)


def test_agent_tools_answer_the_same_from_the_server(live, index_db, monkeypatch):
    from synapse_ai.kb import KnowledgeBase
    from synapse_ai.kb.connect import FallbackReader
    from synapse_ai.kb.embed import HashingEmbedder
    from synapse_ai.skill.tools import SynapseTools

    local_kb = KnowledgeBase.open(index_db, [ENTRIES], embedder=HashingEmbedder())
    local = SynapseTools(local_kb)
    monkeypatch.setenv("SYNAPSE_URL", live.url)
    remote = SynapseTools()
    try:
        assert remote.search_solutions(ERROR, 3) == local.search_solutions(ERROR, 3)
        assert remote.get_solution("rate-limit-429") == local.get_solution("rate-limit-429")
        assert remote.get_solution("rate-limit-429", "Fix") == local.get_solution("rate-limit-429", "Fix")
        with pytest.raises(ValueError, match="close slugs: rate-limit-429"):
            remote.get_solution("rate-limit-42")
        assert isinstance(remote.kb, FallbackReader) and remote.kb.local is None
    finally:
        remote.close()
        local_kb.close()


@pytest.mark.parametrize("url", ["team-server", "http://", "ftp://team-server", "http://[::1", "http://host:abc"])
def test_a_malformed_server_url_is_one_line(url, index_db):
    done = synapse(["search", "--json", "429", "--db", str(index_db)], url=url)
    assert done.returncode == 1 and done.stdout == b""
    lines = done.stderr.decode().splitlines()
    assert len(lines) == 1 and lines[0].startswith("synapse: ") and url in lines[0]
    hook_run = synapse(["hook", "--db", str(index_db)], url=url, stdin=json.dumps(HOOK_EVENT).encode())
    assert hook_run.returncode == 0 and hook_run.stdout == b""


def test_a_server_without_health_is_named_as_such(index_db):
    fake = FakeServer(lambda h: (404, {"detail": "Not Found"}))
    try:
        done = synapse(["show", "rate-limit-429", "--db", str(index_db)], url=fake.url)
    finally:
        fake.close()
    assert done.returncode == 1 and done.stdout == b""
    assert done.stderr.decode() == (
        f"synapse: {fake.url} has no /api/health: not a SynapseAI server, or one older than this synapse\n"
    )


def test_the_mcp_server_on_a_team_server_imports_no_numpy_sqlite_or_model_code(live):
    probe = (
        "import sys, json\n"
        "from synapse_ai.skill.mcp_server import build_server\n"
        "from synapse_ai.skill.tools import SynapseTools\n"
        "tools = SynapseTools()\n"
        "build_server(tools)\n"
        "answer = tools.search_solutions('anthropic.RateLimitError: Error code: 429 rate_limit_error', 2)\n"
        "print(json.dumps([answer['matched'], tools.get_solution('rate-limit-429')['slug']]))\n"
        f"print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)), file=sys.stderr)\n"
    )
    env = {**os.environ, "SYNAPSE_URL": live.url}
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, timeout=HANG_GUARD_S * 3, env=env, cwd=ROOT
    )
    assert json.loads(done.stdout) == [True, "rate-limit-429"], done.stderr
    # The MCP SDK itself brings httpx and rich (a long-lived process: their import cost is paid once).
    assert json.loads(done.stderr.decode().strip().splitlines()[-1]) in ([], ["httpx"], ["rich"], ["httpx", "rich"])


def test_post_json_confirms_and_proposes_with_the_key(live):
    from synapse_ai.kb.remote import RemoteKnowledgeBase
    from tests.web.conftest import valid_api_payload

    remote = RemoteKnowledgeBase(live.url, api_key=live.key)
    try:
        first = remote.post_json("/api/entries/tool-use-without-tool-result/confirm", {})
        again = remote.post_json("/api/entries/tool-use-without-tool-result/confirm", {})
        leaky = valid_api_payload(root_cause=f"The key {SECRET_KEY} was revoked.")
        proposal = remote.post_json("/api/proposals", leaky)
    finally:
        remote.close()
    assert first == again == {"slug": "tool-use-without-tool-result", "confirmations": 1}  # one key counts once
    assert proposal["status"] == "pending"
    stored = repr(live.app.state.site.submission(proposal["ref"]))
    assert "sk-ant-api03-[REDACTED]" in stored and SECRET_KEY not in stored
