"""``synapse keys`` and ``synapse confirm/flag/propose``, on the local store and against a real server."""

from __future__ import annotations

import json
import socket
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from synapse_ai.kb.cli import main
from synapse_ai.web.feedback import FeedbackError, HttpFeedback, proposal_from_markdown
from synapse_ai.web.sitestore import SiteStore, open_site_store

ROOT = Path(__file__).resolve().parents[2]
SLUG = "rate-limit-429"


def run(*args, env=None):
    result = CliRunner().invoke(main, list(args), env=env)
    return result


def site(db_path) -> SiteStore:
    return open_site_store(db_path)


# ---------------------------------------------------------------------- keys
def test_keys_create_list_revoke(tmp_path):
    db = str(tmp_path / "fresh.db")  # a new database: created and migrated, no entries indexed
    scopes = ["--scope", "read", "--scope", "vote", "--scope", "read"]
    created = run("keys", "create", "--name", "ci agent", *scopes, "--json", "--db", db)
    assert created.exit_code == 0, created.output
    data = json.loads(created.stdout)
    assert set(data) == {"id", "key"} and data["key"].startswith("syn_") and len(data["key"]) >= 40
    plain = run("keys", "create", "--name", "mod", "--scope", "moderate", "--db", db)
    assert plain.exit_code == 0 and plain.stdout.strip().startswith("syn_") and "not shown again" in plain.stderr

    listed = json.loads(run("keys", "list", "--json", "--db", db).stdout)
    assert [(k["name"], k["scopes"], k["revoked_at"]) for k in listed] == [
        ("ci agent", ["read", "vote"], None),
        ("mod", ["moderate"], None),
    ]
    assert data["key"] not in run("keys", "list", "--db", db).stdout  # only a prefix is ever shown
    stored = open_site_store(db)
    assert stored.api_key_by_hash(__import__("hashlib").sha256(data["key"].encode()).hexdigest()).id == data["id"]
    stored.close()

    assert run("keys", "revoke", data["id"], "--db", db).exit_code == 0
    again = run("keys", "revoke", data["id"], "--db", db)
    assert again.exit_code == 1 and "already revoked" in again.stderr
    missing = run("keys", "revoke", "nope", "--db", db)
    assert missing.exit_code == 1 and "no key with id 'nope'" in missing.stderr
    assert json.loads(run("keys", "list", "--json", "--db", db).stdout)[0]["revoked_at"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--name", "x", "--scope", "admin"], "Invalid value for '--scope'"),
        (["--scope", "read"], "Missing option '--name'"),
        (["--name", "x"], "Missing option '--scope'"),
        (["--name", "  ", "--scope", "read"], "give the key a name"),
    ],
)
def test_keys_create_refuses_bad_input(tmp_path, args, message):
    result = run("keys", "create", *args, "--db", str(tmp_path / "k.db"))
    assert result.exit_code != 0 and message in result.output and "Traceback" not in result.output


# ---------------------------------------------------------------------- local store
def test_confirm_and_flag_on_the_local_store(db_path):
    first = run("confirm", SLUG, "--json", "--db", str(db_path))
    assert first.exit_code == 0, first.output
    assert json.loads(first.stdout) == {"slug": SLUG, "confirmations": 1}
    assert run("confirm", SLUG, "--db", str(db_path)).stdout.strip() == f"{SLUG}: fixed it for 1"  # one local user
    unknown = run("confirm", "rate-limit-42", "--db", str(db_path))
    assert unknown.exit_code == 1 and "did you mean" in unknown.stderr and SLUG in unknown.stderr

    flagged = run("flag", SLUG, "--reason", "stale", "--note", "SDK 3 renamed it", "--json", "--db", str(db_path))
    assert json.loads(flagged.stdout) == {"slug": SLUG, "reason": "stale", "status": "open", "open_flags": 1}
    bad = run("flag", SLUG, "--reason", "meh", "--db", str(db_path))
    assert bad.exit_code == 2 and "'meh' is not one of" in bad.output
    long = run("flag", SLUG, "--reason", "stale", "--note", "n" * 3000, "--db", str(db_path))
    assert long.exit_code == 1 and "at most 2,000 characters" in long.stderr
    store = site(db_path)
    assert [(f["reason"], f["note"]) for f in store.open_entry_flags(SLUG)] == [("stale", "SDK 3 renamed it")]
    assert store.confirmation_count(SLUG) == 1
    store.close()


def _new_entry_file(tmp_path) -> Path:
    """A shipped entry rewritten as a new one about an error nobody else explains."""
    text = (ROOT / "entries" / "tool-use-without-tool-result.md").read_text()
    text = text.replace("slug: tool-use-without-tool-result", "slug: zorblax-handshake-refused", 1)
    text = text.replace(text.split("\n")[2], 'title: "ZorblaxHandshakeError: zorblax refused the handshake"', 1)
    text = text.replace("patterns:\n", "patterns:\n  - 'zorblax refused the handshake'\n", 1)
    path = tmp_path / "zorblax.md"
    path.write_text(text)
    return path


def test_propose_a_file_locally_and_nothing_is_searchable_before_approval(db_path, tmp_path):
    answer = run("propose", str(_new_entry_file(tmp_path)), "--json", "--db", str(db_path))
    assert answer.exit_code == 0, answer.output
    data = json.loads(answer.stdout)
    assert data["status"] == "pending" and "does not carry" in answer.stderr  # says what the proposal leaves out
    store = site(db_path)
    submission = store.submission(data["ref"])
    assert submission.status == "pending" and submission.title.startswith("ZorblaxHandshakeError")
    assert "local user" in submission.contact
    store.close()
    query = "ZorblaxHandshakeError: zorblax refused the handshake"
    found = json.loads(run("search", "--json", "--db", str(db_path), query).stdout)
    assert all("Zorblax" not in r["title"] for r in found["results"]) and not found["matched"]
    assert run("show", "zorblax-handshake-refused", "--db", str(db_path)).exit_code == 1


def test_propose_refuses_a_broken_file_and_stores_nothing(db_path, tmp_path):
    broken = tmp_path / "broken.md"
    broken.write_text("---\ntitle: Half an entry\n---\n\n## Symptom\n\nIt breaks.\n")
    result = run("propose", str(broken), "--db", str(db_path))
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "not a valid entry" in result.stderr and "missing front matter field 'summary'" in result.stderr
    assert "missing required section '## Fix'" in result.stderr
    missing = run("propose", str(tmp_path / "nope.md"), "--db", str(db_path))
    assert missing.exit_code == 1 and "cannot read" in missing.stderr
    store = site(db_path)
    assert store.submissions() == []
    store.close()


def test_proposal_from_markdown_maps_the_entry_and_says_what_it_leaves_out():
    text = (ROOT / "entries" / "tool-use-without-tool-result.md").read_text()
    body, left_out = proposal_from_markdown(text)
    assert body["title"] and body["fix_options"] and body["symptom"] and body["root_cause"]
    assert set(body) == {
        "title",
        "summary",
        "quick_fix",
        "category",
        "tags",
        "patterns",
        "symptom",
        "root_cause",
        "fix_options",
        "environment",
        "sources",
        "savings",
    }
    assert all(isinstance(item, str) for item in left_out)
    with pytest.raises(FeedbackError) as caught:
        proposal_from_markdown(text.replace("category: tool-use", "category: nonsense"))
    assert caught.value.status == 422


# ---------------------------------------------------------------------- against a server (SYNAPSE_URL)
@pytest.fixture
def server(make_app):
    """The real app served by uvicorn on a free local port, in a thread of this process."""
    import uvicorn

    app = make_app()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(app, log_level="warning", lifespan="on")
    running = uvicorn.Server(config)
    thread = threading.Thread(target=running.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not running.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert running.started
    yield app, f"http://127.0.0.1:{sock.getsockname()[1]}"
    running.should_exit = True
    thread.join(10)
    sock.close()


def _server_key(app, *scopes) -> str:
    from synapse_ai.web.keys import hash_key, key_prefix, new_key

    key = new_key()
    app.state.site.add_api_key("cli", scopes, hash_key(key), key_prefix(key))
    return key


def test_cli_talks_to_a_server_when_synapse_url_is_set(server, tmp_path):
    app, url = server
    key = _server_key(app, "vote", "propose")
    env = {"SYNAPSE_URL": url, "SYNAPSE_API_KEY": key, "SYNAPSE_DB": str(tmp_path / "never-opened.db")}
    assert json.loads(run("confirm", SLUG, "--json", env=env).stdout) == {"slug": SLUG, "confirmations": 1}
    other = {**env, "SYNAPSE_API_KEY": _server_key(app, "vote")}
    assert json.loads(run("confirm", SLUG, "--json", env=other).stdout)["confirmations"] == 2
    secret = "sk-ant-api03-" + "Q7xv2LmN9pRt4WcYb8KdJf3HsZa6" * 3  # made up, in the real shape
    note = f"off by one; my key {secret} was in the log"
    flagged = json.loads(run("flag", SLUG, "--reason", "incorrect", "--note", note, "--json", env=env).stdout)
    assert flagged == {"slug": SLUG, "reason": "incorrect", "status": "open", "open_flags": 1}
    stored = [flag["note"] for flag in app.state.site.open_entry_flags(SLUG)]
    assert stored and "off by one" in stored[0] and secret not in stored[0]  # scrubbed before it left
    proposed = run("propose", str(ROOT / "entries" / "agent-infinite-loop.md"), env=env)
    assert proposed.exit_code == 0, proposed.output
    assert "pending moderation" in proposed.stdout and "/submissions/" in proposed.stdout
    assert app.state.site.submission_counts()["pending"] == 1
    assert not (tmp_path / "never-opened.db").exists()  # the remote path never touches a local store

    no_key = run("confirm", SLUG, env={**env, "SYNAPSE_API_KEY": ""})
    assert no_key.exit_code == 1 and "answered 401" in no_key.stderr and "SYNAPSE_API_KEY" in no_key.stderr
    bad_key = run("confirm", SLUG, env={**env, "SYNAPSE_API_KEY": "syn_wrong"})
    assert bad_key.exit_code == 1 and "invalid or revoked API key" in bad_key.stderr
    wrong_scope = run("propose", str(ROOT / "entries" / "agent-infinite-loop.md"), env=other)
    assert wrong_scope.exit_code == 1 and "lacks the 'propose' scope" in wrong_scope.stderr
    unknown = run("confirm", "rate-limit-42", env=env)
    assert unknown.exit_code == 1 and f"did you mean: {SLUG}" in unknown.stderr


def test_an_unreachable_server_is_one_clear_line():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    result = run("confirm", SLUG, env={"SYNAPSE_URL": f"http://127.0.0.1:{port}", "SYNAPSE_API_KEY": "syn_x"})
    assert result.exit_code == 1 and "cannot reach" in result.stderr and "Traceback" not in result.output
    with pytest.raises(FeedbackError) as caught:
        HttpFeedback(f"http://127.0.0.1:{port}", "k", timeout=2).confirm(SLUG)
    assert caught.value.status == 503
