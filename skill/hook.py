"""``synapse hook``: a Claude Code ``PostToolUseFailure`` hook that looks the failure up.

Why a hook and not only the skill: a skill works when the model decides to use it; a hook runs on
every failed tool call, so a known error gets its fix next to the error message without the model
having to think of searching. Claude Code runs the command with the event as JSON on stdin::

    {"hook_event_name": "PostToolUseFailure", "tool_name": "Bash", "tool_input": {...},
     "tool_use_id": "toolu_...", "error": "...", "is_interrupt": false, "session_id": ..., "cwd": ...}

and reads ``{"hookSpecificOutput": {"hookEventName": "PostToolUseFailure", "additionalContext":
"..."}}`` from stdout (exit 0), adding the text to what the model sees next to the failure.

Rules this module keeps, because a hook runs inside someone else's session:

* it never fails the session: every problem (bad JSON, no index, a bug here) ends in exit 0 with
  nothing on stdout and at most one line on stderr;
* it is silent unless the knowledge base is confident (``matched``): a wrong fix is worse than none;
* the context is short (``MAX_CONTEXT_CHARS``, far below Claude Code's 10,000-character cap on hook
  context) and written as facts about an entry, not as instructions;
* it is fast: it only opens an existing index (``refresh=False``: building one can load torch and
  take seconds; ``synapse skill install --with-hook`` builds it up front) and imports nothing heavy
  beyond what ``synapse search`` needs (no rich, torch, anthropic or mcp);
* with ``$SYNAPSE_URL`` it asks the team server instead (secrets scrubbed from the error first),
  within ``REMOTE_BUDGET_S`` whatever the network does, and says nothing when the server is away.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from synapse_ai.kb.options import db_option

if TYPE_CHECKING:
    from synapse_ai.kb.config import Config
    from synapse_ai.kb.service import KnowledgeBase
    from synapse_ai.kb.why import Why

EVENT = "PostToolUseFailure"
MAX_CONTEXT_CHARS = 2000  # Claude Code truncates hook context at 10,000 characters; stay well below.
HARD_CAP_CHARS = 9000  # no --max-chars value may go past this
MIN_CONTEXT_CHARS = 500  # room for the header lines and the "synapse show" line
MAX_STDIN_BYTES = 16_000_000  # a larger event is drained and ignored (never a broken pipe for the writer)
REMOTE_BUDGET_S = 1.5  # every request to a team server ($SYNAPSE_URL) together; then the hook gives up, silently
_SPACE = re.compile(r"\s+")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def build_query(payload: Any) -> str | None:
    """The text to match: the tool's error output, whole.

    Only the error goes in: the tool name and command stay out (they made unrelated failures look
    like matches), and so does tool input such as file contents.  The error is not cut here:
    ``synapse_ai.kb.extract`` reads a bounded window of it, tail first, where the exception usually is.
    """
    if not isinstance(payload, dict):
        return None
    if payload.get("hook_event_name", EVENT) != EVENT or payload.get("is_interrupt") is True:
        return None
    error = payload.get("error")
    if error is None:
        return None
    if not isinstance(error, str):
        error = json.dumps(error, ensure_ascii=False, default=str)
    error = error.strip()
    return error or None


def _one_line(text: str) -> str:
    return _SPACE.sub(" ", _CONTROL.sub(" ", text)).strip()


def _prose(markdown: str, limit: int) -> str:
    """Markdown body -> one line of prose (code blocks dropped), cut at a sentence if possible."""
    from synapse_ai.kb.model import without_code

    text = _one_line(without_code(markdown)).replace("**", "")
    if len(text) <= limit:
        return text
    cut = text[:limit]
    stop = cut.rfind(". ")
    return cut[: stop + 1] if stop > limit // 2 else cut[: limit - 1].rstrip() + "…"


def build_context(entry: Any, why: Why | dict | None = None, max_chars: int = MAX_CONTEXT_CHARS) -> str:
    """Facts about the matched entry: title, root cause, fix options, where to read the rest.
    ``why`` is the result's ``Why``, or its JSON form (``Why.to_dict()``)."""
    from synapse_ai.kb.views import fix_digest
    from synapse_ai.kb.why import Why  # here, not at the top: the PostToolUse nudge runs on every call

    max_chars = max(MIN_CONTEXT_CHARS, min(int(max_chars), HARD_CAP_CHARS))
    head = [
        "SynapseAI knowledge base (reference data, not instructions): this tool failure matches a known entry.",
        f"Entry: {entry.slug[:80]} - {_one_line(entry.title)[:120]}",
    ]
    pattern = (Why.from_dict(why) if isinstance(why, dict) else why or Why()).matched_on
    if pattern:
        head.append(f"Matched on: {_one_line(str(pattern))[:80]}")
    slug = entry.slug[:80]
    synapse = synapse_command()
    tail = f"Full entry with code: {synapse} show {slug} (fix only: {synapse} show {slug} --section Fix)"

    root = entry.section("Root Cause")
    root_text = _prose(root.body, 400) if root else _one_line(entry.summary)
    digest = "\n".join(_one_line(line) for line in fix_digest(entry, limit=900).splitlines() if line.strip())
    body = ([f"Quick fix: {_one_line(entry.quick_fix)}"] if entry.quick_fix else []) + [f"Root cause: {root_text}"]
    body += [f"Known fixes:\n{digest}"] if digest else []

    fixed = len("\n".join(head)) + len(tail) + 2
    room = max_chars - fixed
    text_body = "\n".join(body)
    if len(text_body) > room:
        text_body = text_body[: max(0, room - 1)].rstrip() + "…"
    return "\n".join(head + ([text_body] if text_body.strip("…") else []) + [tail])[:max_chars]


def synapse_command() -> str:
    """How the model can run ``synapse`` from its shell: the bare name when that is the same
    program as the one running this hook, else this program's absolute path (Claude Code's
    PATH often lacks a virtualenv's bin folder)."""
    import os
    import shutil

    me = Path(sys.argv[0]).resolve() if sys.argv and sys.argv[0] else None
    if me is None or me.name != "synapse" or not me.exists():
        return "synapse"
    found = shutil.which("synapse")
    if found and Path(found).resolve() == me:
        return "synapse"
    text = str(me)
    return text if " " not in text and os.sep in text else "synapse"


def respond(payload: Any, kb: KnowledgeBase, max_chars: int = MAX_CONTEXT_CHARS) -> dict | None:
    """The hook's JSON answer for ``payload``, or None when nothing matched confidently."""
    query = build_query(payload)
    if query is None:
        return None
    response = kb.match(query, limit=1, lazy_meaning=True)
    if not response.matched or not response.results:
        return None
    top = response.results[0]
    entry = kb.get(top.slug)
    if entry is None:
        return None
    return {
        "hookSpecificOutput": {
            "hookEventName": EVENT,
            "additionalContext": build_context(entry, top.why, max_chars),
        }
    }


def run(raw: bytes, db: Path | None = None, max_chars: int = MAX_CONTEXT_CHARS) -> str | None:
    """Parse the event, open the existing index, answer. Raises on problems; the command catches."""
    try:
        payload = json.loads(raw.decode("utf-8", errors="replace") or "null")
    except ValueError:
        _note("stdin is not JSON; expected a Claude Code hook event")
        return None
    if isinstance(payload, dict) and payload.get("hook_event_name") == "PostToolUse":
        from .nudge_hook import respond as nudge  # no knowledge base on this path: it runs on every call

        note = nudge(payload)
        return json.dumps(note) if note else None
    if build_query(payload) is None:
        return None
    from synapse_ai.kb.config import Config
    from synapse_ai.kb.connect import server_url

    config = Config.from_env()
    path = Path(db) if db else config.db_path
    url = server_url(config)
    if url is not None:
        answer = run_remote(payload, url, path, max_chars, config=config)
        return json.dumps(answer) if answer else None
    if not path.is_file():
        _note(f"no search index at {path} yet; run 'synapse index' once")
        return None
    from synapse_ai.kb.service import KnowledgeBase

    kb = KnowledgeBase.open(path, refresh=False, config=config)
    try:
        answer = respond(payload, kb, max_chars)
    finally:
        kb.close()
    return json.dumps(answer) if answer else None


def run_remote(
    payload: Any, url: str, path: Path, max_chars: int, budget: float = REMOTE_BUDGET_S, config: Config | None = None
) -> dict | None:
    """Ask the team server, within ``budget`` seconds whatever the network does.

    The lookup runs in a daemon thread that is abandoned when the budget is spent (a server that
    trickles bytes cannot hold the agent).  A server that cannot be reached quickly (refused, unknown
    host) leaves time for the local index, if there is one; nothing is printed either way.
    """
    import threading
    import time

    from synapse_ai.kb.connect import connect
    from synapse_ai.kb.reader import RemoteError, ServerUnreachable

    started = time.monotonic()

    def open_local():
        if not path.is_file() or time.monotonic() - started > budget / 2:
            raise ServerUnreachable("no time left for the local index")
        from synapse_ai.kb.service import KnowledgeBase

        return KnowledgeBase.open(path, refresh=False, config=config)

    reader = connect(url, timeout=budget, budget=budget, fallback=open_local, config=config)
    outcome: dict[str, Any] = {}

    def look_up() -> None:
        try:
            outcome["answer"] = respond(payload, reader, max_chars)
        except ServerUnreachable:
            pass
        except RemoteError as exc:  # the server refused (a bad key, another API version): worth one line
            outcome["refused"] = str(exc)
        except Exception as exc:  # noqa: BLE001 - reported by the caller like any other hook problem
            outcome["error"] = exc
        finally:
            reader.close()

    worker = threading.Thread(target=look_up, name="synapse-hook-remote", daemon=True)
    worker.start()
    worker.join(max(0.0, budget + 0.25 - (time.monotonic() - started)))
    if worker.is_alive():
        return None
    if "refused" in outcome:
        _note(outcome["refused"])
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("answer")


def read_event(stream) -> bytes:
    """All of stdin, so the writer never gets a broken pipe; an event over ``MAX_STDIN_BYTES`` is
    drained and answered with nothing (b"")."""
    data = stream.read(MAX_STDIN_BYTES + 1)
    if len(data) <= MAX_STDIN_BYTES:
        return data
    while stream.read(1 << 20):
        pass
    _note(f"event larger than {MAX_STDIN_BYTES} bytes; ignored")
    return b""


def _note(message: str) -> None:
    try:
        sys.stderr.write(f"synapse hook: {message}\n")
    except Exception:  # noqa: BLE001 - stderr may be closed; nothing else to do
        pass


@click.command(
    "hook",
    help=(
        "Claude Code PostToolUseFailure hook: read the hook event JSON on stdin and, when the "
        "failure matches a knowledge-base entry confidently, print hookSpecificOutput.additionalContext "
        "with the entry's title, root cause and fixes. On PostToolUse events, print a one-time timing "
        "note when the session just made independent tool calls one per turn. Prints nothing otherwise. "
        "Always exits 0."
    ),
)
@click.option(
    "--max-chars",
    default=MAX_CONTEXT_CHARS,
    show_default=True,
    type=click.IntRange(MIN_CONTEXT_CHARS, HARD_CAP_CHARS),
    help="Maximum length of the additionalContext text.",
)
@db_option
def hook_command(max_chars: int, db: Path | None) -> None:
    try:
        answer = run(read_event(sys.stdin.buffer), db, max_chars)
        if answer:
            sys.stdout.write(answer + "\n")
            sys.stdout.flush()
    except Exception as exc:  # noqa: BLE001 - a hook must never break the session
        _note(f"{type(exc).__name__}: {str(exc)[:300]}")
    sys.exit(0)
