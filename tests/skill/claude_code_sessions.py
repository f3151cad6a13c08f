"""Labelled Claude Code session transcripts for ``synapse diagnose`` and the PostToolUse nudge.

The sessions are hand-built in Claude Code's record format (see ``synapse_ai.skill.claude_code`` for
the public sources of that format): one record per content block, blocks of one response sharing
``message.id`` and ``requestId``, tool results in ``user`` records with ``toolUseResult`` and
``sourceToolAssistantUUID``, ISO-8601 timestamps, ``parentUuid`` chains, ``isSidechain`` records of
a subagent, and the record types a reader must skip (``summary``, ``file-history-snapshot``,
``system``, ``progress``). No private data: paths, ids and contents are made up.

``python -m tests.skill.claude_code_sessions`` rewrites ``tests/skill/data/claude_code/`` (one
``.jsonl`` per session plus ``labels.json``); the tests and ``bench/nudge.py`` read those files.

Labels: ``nudge_runs`` lists, per session, the runs of calls that went out one per turn although
they were independent (each a list of ``tool_use`` ids). A nudge at any call of a labelled run
is a true positive for that run (once); a nudge anywhere else is a false positive.
"""

from __future__ import annotations

import json
import uuid
import zlib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parent / "data" / "claude_code"
MODEL = "claude-test"  # not a real model id: fixtures must never name one
VERSION = "2.1.12"
CWD = "/home/dev/shop"
T0 = datetime(2026, 11, 20, 9, 0, 0, tzinfo=UTC)


class Session:
    """Writes records the way Claude Code does, on a simulated clock."""

    def __init__(self, session_id: str, seed: int = 0) -> None:
        self.session_id = session_id
        self.rows: list[dict[str, Any]] = []
        self.clock = 0.0
        self.parent: str | None = None
        self.counter = seed * 1000
        self.calls: dict[str, str] = {}  # label -> tool_use id

    def _id(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}{self.session_id[:4]}{self.counter:05d}"

    def _uuid(self) -> str:
        self.counter += 1
        return str(uuid.UUID(int=zlib.crc32(self.session_id.encode()) << 64 | self.counter))

    def _stamp(self, at: float) -> str:
        return (T0 + timedelta(seconds=at)).isoformat(timespec="milliseconds").replace("+00:00", "Z")

    def _base(self, kind: str, at: float, sidechain: str | None) -> dict[str, Any]:
        record = {
            "parentUuid": self.parent,
            "isSidechain": sidechain is not None,
            "userType": "external",
            "cwd": CWD,
            "sessionId": self.session_id,
            "version": VERSION,
            "gitBranch": "main",
            "type": kind,
            "uuid": self._uuid(),
            "timestamp": self._stamp(at),
        }
        if sidechain is not None:
            record["agentId"] = sidechain
        self.parent = record["uuid"]
        return record

    def noise(self, kind: str) -> None:
        """A record a reader must skip."""
        at = self.clock
        if kind == "file-history-snapshot":
            self.rows.append(
                {
                    "type": kind,
                    "messageId": self._uuid(),
                    "isSnapshotUpdate": False,
                    "snapshot": {"messageId": "m", "trackedFileBackups": {}, "timestamp": self._stamp(at)},
                }
            )
        elif kind == "summary":
            self.rows.append({"type": "summary", "summary": "Checkout flow fixes", "leafUuid": self.parent})
        elif kind == "system":
            row = self._base("system", at, None)
            row.update(subtype="informational", content="Running PostToolUse hooks…", level="info", isMeta=False)
            self.rows.append(row)
        elif kind == "progress":
            row = self._base("progress", at, None)
            row.update(data={"type": "hook_progress", "hookEvent": "PostToolUse"}, toolUseID="toolu_x")
            self.rows.append(row)

    def user(self, text: str, after: float = 20.0, sidechain: str | None = None) -> None:
        self.clock += after
        row = self._base("user", self.clock, sidechain)
        row["message"] = {"role": "user", "content": text}
        self.rows.append(row)

    def respond(self, *blocks: dict[str, Any], think: float = 3.0, sidechain: str | None = None) -> list[str]:
        """One API response: one record per block; tool calls run together and report back."""
        self.clock += think
        message_id, request_id = self._id("msg_01"), self._id("req_01")
        ids, pending = [], []
        for n, block in enumerate(blocks):
            at = self.clock + 0.04 * n
            row = self._base("assistant", at, sidechain)
            row["requestId"] = request_id
            if block["type"] == "text":
                content = {"type": "text", "text": block["text"]}
            else:
                call_id = self._id("toolu_01")
                ids.append(call_id)
                self.calls[block.get("label") or call_id] = call_id
                content = {"type": "tool_use", "id": call_id, "name": block["name"], "input": block["input"]}
                pending.append((at + block["seconds"], call_id, row["uuid"], block))
            row["message"] = {
                "id": message_id,
                "type": "message",
                "role": "assistant",
                "model": MODEL,
                "content": [content],
                "stop_reason": None,
                "stop_sequence": None,
                "usage": {
                    "input_tokens": 4,
                    "cache_creation_input_tokens": 310,
                    "cache_read_input_tokens": 18000,
                    "output_tokens": 60,
                    "service_tier": "standard",
                },
            }
            self.rows.append(row)
        end = self.clock + 0.04 * len(blocks)
        for done, call_id, source, block in sorted(pending, key=lambda p: p[0]):
            row = self._base("user", done, sidechain)
            result: dict[str, Any] = {"tool_use_id": call_id, "type": "tool_result", "content": block["result"]}
            if block.get("is_error"):
                result["is_error"] = True
            row["message"] = {"role": "user", "content": [result]}
            row["toolUseResult"] = block.get("tool_use_result") or {
                "stdout": block["result"],
                "stderr": "",
                "interrupted": False,
                "isImage": False,
            }
            row["sourceToolAssistantUUID"] = source
            self.rows.append(row)
            end = max(end, done)
        self.clock = end
        return ids


def text(value: str) -> dict[str, Any]:
    return {"type": "text", "text": value}


def read(path: str, body: str, seconds: float = 0.05, label: str | None = None) -> dict[str, Any]:
    numbered = "\n".join(f"{n:>6}→{line}" for n, line in enumerate(body.splitlines(), 1))
    lines = body.count("\n") + 1
    result = {
        "type": "text",
        "file": {"filePath": path, "content": body, "numLines": lines, "startLine": 1, "totalLines": lines},
    }
    return {
        "type": "tool_use",
        "name": "Read",
        "input": {"file_path": path},
        "result": numbered,
        "seconds": seconds,
        "label": label,
        "tool_use_result": result,
    }


def tool(
    name: str, inp: dict[str, Any], result: str, seconds: float = 0.3, label: str | None = None, is_error: bool = False
) -> dict[str, Any]:
    return {
        "type": "tool_use",
        "name": name,
        "input": inp,
        "result": result,
        "seconds": seconds,
        "label": label,
        "is_error": is_error,
    }


def bash(command: str, output: str, seconds: float = 0.4, **kw: Any) -> dict[str, Any]:
    return tool("Bash", {"command": command, "description": command[:40]}, output, seconds, **kw)


# --------------------------------------------------------------------------- the sessions

P = CWD + "/"
CART = "from shop.prices import total\n\nclass Cart:\n    def __init__(self):\n        self.items = []\n"
PRICES = "def total(items):\n    return sum(i.price * i.qty for i in items)\n"
ORDERS = "from shop.cart import Cart\n\ndef place(cart: Cart):\n    return {'ok': True}\n"


def sequential_reads() -> tuple[Session, list[list[str]]]:
    s = Session("1f0a2b3c-0001-4000-8000-000000000001", 1)
    s.noise("file-history-snapshot")
    s.user("Review shop/cart.py, shop/prices.py, shop/orders.py and shop/tax.py and tell me where discounts belong.")
    s.respond(text("I'll read the four files."), read(P + "shop/cart.py", CART, label="a"))
    s.noise("system")
    s.respond(read(P + "shop/prices.py", PRICES, label="b"), think=3.4)
    s.respond(read(P + "shop/orders.py", ORDERS, label="c"), think=2.9)
    s.respond(read(P + "shop/tax.py", "RATE = 0.2\n", label="d"), think=3.1)
    s.respond(text("Discounts belong in prices.total: ..."), think=6.0)
    return s, [[s.calls[k] for k in "abcd"]]


def batched_reads() -> tuple[Session, list[list[str]]]:
    s = Session("1f0a2b3c-0002-4000-8000-000000000002", 2)
    s.user("Review shop/cart.py, shop/prices.py and shop/orders.py.")
    s.respond(
        text("Reading all three."),
        read(P + "shop/cart.py", CART),
        read(P + "shop/prices.py", PRICES),
        read(P + "shop/orders.py", ORDERS),
    )
    s.respond(text("They look fine."), think=5.0)
    s.user("Now run the tests.")
    s.respond(bash("python -m pytest -q", "12 passed in 1.9s", seconds=2.4))
    s.respond(text("All 12 tests pass."))
    return s, []


def dependent_chain() -> tuple[Session, list[list[str]]]:
    s = Session("1f0a2b3c-0003-4000-8000-000000000003", 3)
    s.user("The checkout total ignores quantity somewhere. Find it and fix it.")
    s.respond(
        tool(
            "Grep",
            {"pattern": "def total", "output_mode": "files_with_matches"},
            "Found 1 file\n" + P + "shop/pricing/engine.py",
            seconds=0.2,
        )
    )
    s.respond(read(P + "shop/pricing/engine.py", "def total(items):\n    return sum(i.price for i in items)\n"))
    s.respond(
        tool(
            "Edit",
            {
                "file_path": P + "shop/pricing/engine.py",
                "old_string": "i.price for",
                "new_string": "i.price * i.qty for",
            },
            "The file " + P + "shop/pricing/engine.py has been updated.",
            seconds=0.1,
        )
    )
    s.respond(bash("python -m pytest -q tests/test_pricing.py", "4 passed in 0.8s", seconds=1.6))
    s.respond(text("Fixed: total now multiplies by quantity."))
    return s, []


def write_then_test() -> tuple[Session, list[list[str]]]:
    s = Session("1f0a2b3c-0004-4000-8000-000000000004", 4)
    s.user("Add a test for empty carts, then make it pass.")
    s.respond(
        tool(
            "Write",
            {
                "file_path": P + "tests/test_empty_cart.py",
                "content": "def test_empty():\n    assert Cart().total() == 0\n",
            },
            "File created successfully at: " + P + "tests/test_empty_cart.py",
            seconds=0.1,
        )
    )
    s.respond(bash("python -m pytest -q tests/test_empty_cart.py", "1 failed", seconds=1.2))
    s.respond(
        tool(
            "Edit",
            {
                "file_path": P + "shop/cart.py",
                "old_string": "self.items = []",
                "new_string": "self.items = []\n\n    def total(self):\n        return 0",
            },
            "The file " + P + "shop/cart.py has been updated.",
            seconds=0.1,
        )
    )
    s.respond(bash("python -m pytest -q tests/test_empty_cart.py", "1 passed", seconds=1.1))
    s.respond(text("Done."))
    return s, []


def polling() -> tuple[Session, list[list[str]]]:
    s = Session("1f0a2b3c-0005-4000-8000-000000000005", 5)
    s.user("Start the dev server and wait until it is up.")
    s.respond(
        tool(
            "Bash",
            {"command": "npm run dev", "run_in_background": True},
            "Command running in background with ID: bash_1",
            seconds=0.2,
        )
    )
    for _ in range(4):
        s.respond(
            tool("BashOutput", {"bash_id": "bash_1"}, "<status>running</status>\n> vite", seconds=0.05), think=2.5
        )
    for _ in range(3):
        s.respond(
            tool(
                "WebFetch",
                {"url": "http://localhost:5173/health", "prompt": "Is it up?"},
                "Request failed with status code 503",
                seconds=0.3,
            ),
            think=2.0,
        )
    s.respond(text("The server is up."))
    return s, []


def search_then_read_hits() -> tuple[Session, list[list[str]]]:
    s = Session("1f0a2b3c-0006-4000-8000-000000000006", 6)
    s.user("Where do we call the payment gateway?")
    s.respond(
        tool(
            "Grep",
            {"pattern": "gateway.charge", "output_mode": "files_with_matches"},
            "Found 3 files\n" + P + "shop/checkout.py\n" + P + "shop/refunds.py\n" + P + "shop/subscriptions.py",
            seconds=0.2,
        )
    )
    s.respond(read(P + "shop/checkout.py", "gateway.charge(order.total)\n", label="a"))
    s.respond(read(P + "shop/refunds.py", "gateway.charge(-refund.amount)\n", label="b"), think=3.3)
    s.respond(read(P + "shop/subscriptions.py", "gateway.charge(plan.price)\n", label="c"), think=3.0)
    s.respond(text("Three call sites: checkout, refunds, subscriptions."))
    return s, [[s.calls[k] for k in "abc"]]


def git_inspection() -> tuple[Session, list[list[str]]]:
    s = Session("1f0a2b3c-0007-4000-8000-000000000007", 7)
    s.user("What changed on this branch?")
    s.respond(bash("git status --short", " M shop/cart.py", seconds=0.1, label="a"))
    s.respond(bash("git log --oneline -5", "a1b2c3d Cart totals\n9f8e7d6 Init", seconds=0.1, label="b"), think=2.6)
    s.respond(bash("git diff --stat", " shop/cart.py | 4 ++--", seconds=0.1, label="c"), think=2.8)
    s.respond(text("One file changed: shop/cart.py."))
    return s, [[s.calls[k] for k in "abc"]]


def two_reads_then_answer() -> tuple[Session, list[list[str]]]:
    s = Session("1f0a2b3c-0008-4000-8000-000000000008", 8)
    s.user("Compare shop/cart.py with shop/orders.py.")
    s.respond(read(P + "shop/cart.py", CART))
    s.respond(read(P + "shop/orders.py", ORDERS))
    s.respond(text("orders.py uses Cart directly."))
    return s, []


def read_follow_import() -> tuple[Session, list[list[str]]]:
    s = Session("1f0a2b3c-0009-4000-8000-000000000009", 9)
    s.user("Explain how an order total is computed.")
    s.respond(read(P + "shop/orders.py", "from shop.cart import Cart\nfrom shop.pricing.rules import apply_rules\n"))
    s.respond(read(P + "shop/pricing/rules.py", "from shop.pricing.coupons import coupon_value\n"))
    s.respond(read(P + "shop/pricing/coupons.py", "def coupon_value(code): ...\n"))
    s.respond(text("orders → rules → coupons."))
    return s, []


def subagent_sequential() -> tuple[Session, list[list[str]]]:
    """A Task subagent (records inline, ``isSidechain``) reading three files one per turn."""
    s = Session("1f0a2b3c-0010-4000-8000-000000000010", 10)
    s.user("Use an explore agent to summarise the docs folder.")
    s.respond(
        tool(
            "Task",
            {"description": "Summarise docs", "prompt": "Summarise docs/*.md", "subagent_type": "Explore"},
            "(running)",
            seconds=0.0,
        )
    )
    task_id = s.rows[-1]["message"]["content"][0]["tool_use_id"]
    s.rows.pop()  # the Task result comes after the subagent's work
    task_uuid = s.rows[-1]["uuid"]
    agent = "a3f9c21"
    s.parent = None
    s.user("Summarise docs/*.md", after=0.2, sidechain=agent)
    s.respond(read(P + "docs/setup.md", "# Setup\n", label="a"), sidechain=agent)
    s.respond(read(P + "docs/deploy.md", "# Deploy\n", label="b"), sidechain=agent, think=2.7)
    s.respond(read(P + "docs/api.md", "# API\n", label="c"), sidechain=agent, think=2.9)
    s.respond(text("Setup, deploy and API docs."), sidechain=agent)
    s.clock += 0.3
    s.parent = task_uuid
    row = s._base("user", s.clock, None)
    summary = [{"type": "text", "text": "Setup, deploy and API docs."}]
    row["message"] = {"role": "user", "content": [{"tool_use_id": task_id, "type": "tool_result", "content": summary}]}
    row["toolUseResult"] = {"status": "completed", "totalDurationMs": 11000}
    s.rows.append(row)
    s.respond(text("The docs cover setup, deploy and the API."))
    return s, [[s.calls[k] for k in "abc"]]


def long_session() -> tuple[Session, list[list[str]]]:
    """Compaction summary, mixed work, one sequential run of web fetches, then batched reads."""
    s = Session("1f0a2b3c-0011-4000-8000-000000000011", 11)
    s.noise("summary")
    s.user("Check the three payment providers' status pages and tell me if any has an incident.")
    s.noise("progress")
    s.respond(
        tool(
            "WebFetch",
            {"url": "https://status.stripe.example/api", "prompt": "incidents?"},
            "No incidents.",
            seconds=1.4,
            label="a",
        )
    )
    s.respond(
        tool(
            "WebFetch",
            {"url": "https://status.adyen.example/api", "prompt": "incidents?"},
            "No incidents.",
            seconds=1.1,
            label="b",
        ),
        think=3.5,
    )
    s.respond(
        tool(
            "WebFetch",
            {"url": "https://status.paypal.example/api", "prompt": "incidents?"},
            "Degraded performance since 08:40.",
            seconds=1.6,
            label="c",
        ),
        think=3.2,
    )
    s.respond(text("PayPal reports degraded performance."))
    s.user("Show me our paypal client and its retry settings.")
    s.respond(
        read(P + "shop/paypal.py", "from shop.settings import PAYPAL_RETRIES\n"),
        read(P + "shop/settings.py", "PAYPAL_RETRIES = 1\n"),
    )
    s.respond(
        tool(
            "Edit",
            {
                "file_path": P + "shop/settings.py",
                "old_string": "PAYPAL_RETRIES = 1",
                "new_string": "PAYPAL_RETRIES = 3",
            },
            "The file " + P + "shop/settings.py has been updated.",
        )
    )
    s.respond(bash("python -m pytest -q", "12 passed", seconds=2.0))
    s.respond(text("Retries raised to 3; tests pass."))
    return s, [[s.calls[k] for k in "abc"]]


SESSIONS = {
    "sequential_reads": sequential_reads,
    "batched_reads": batched_reads,
    "dependent_chain": dependent_chain,
    "write_then_test": write_then_test,
    "polling": polling,
    "search_then_read_hits": search_then_read_hits,
    "git_inspection": git_inspection,
    "two_reads_then_answer": two_reads_then_answer,
    "read_follow_import": read_follow_import,
    "subagent_sequential": subagent_sequential,
    "long_session": long_session,
}


def load_labelled() -> dict[str, tuple[list[dict[str, Any]], list[list[str]]]]:
    """``name -> (records, nudge_runs)`` from the committed files."""
    labels = json.loads((DATA / "labels.json").read_text(encoding="utf-8"))
    out = {}
    for name, entry in labels.items():
        rows = [
            json.loads(line)
            for line in (DATA / f"{name}.jsonl").read_text(encoding="utf-8").splitlines()
            if line.strip()
        ]
        out[name] = (rows, entry["nudge_runs"])
    return out


def post_tool_use_events(
    rows: list[dict[str, Any]], transcript_path: str, lagging: bool = False
) -> list[tuple[int, dict[str, Any], float]]:
    """Each tool call as Claude Code's PostToolUse hook sees it: ``(records written so far, payload, time)``,
    the time (epoch seconds) being when the call finished, the hook's "now".

    The hook runs when the call has finished and before its result record is written, so the
    transcript then holds every record up to (not including) that result record. With
    ``lagging``, the call's own response is not on disk yet either (Claude Code writes the
    transcript asynchronously): the file ends before that response's first record.
    """
    calls: dict[str, tuple[dict[str, Any], float, int]] = {}
    first_record: dict[str, int] = {}
    events = []
    for index, row in enumerate(rows):
        message = row.get("message") if isinstance(row.get("message"), dict) else {}
        content = message.get("content") if isinstance(message.get("content"), list) else []
        if row.get("type") == "assistant":
            first_record.setdefault(message.get("id"), index)
        for block in content:
            if not isinstance(block, dict):
                continue
            if block.get("type") == "tool_use":
                calls[block["id"]] = (block, _seconds(row["timestamp"]), first_record[message.get("id")])
            elif block.get("type") == "tool_result" and block.get("tool_use_id") in calls:
                use, started, response_start = calls[block["tool_use_id"]]
                payload = {
                    "session_id": row.get("sessionId"),
                    "transcript_path": transcript_path,
                    "cwd": CWD,
                    "permission_mode": "default",
                    "hook_event_name": "PostToolUse",
                    "tool_name": use["name"],
                    "tool_input": use["input"],
                    "tool_response": row.get("toolUseResult") or block.get("content"),
                    "tool_use_id": use["id"],
                    "duration_ms": round((_seconds(row["timestamp"]) - started) * 1000),
                }
                if row.get("isSidechain"):
                    payload["agent_id"] = row.get("agentId")
                    payload["agent_type"] = "Explore"
                events.append((response_start if lagging else index, payload, _seconds(row["timestamp"])))
    return events


def score(workdir: Path, respond: Any, lagging: bool = False) -> dict[str, Any]:
    """Replay every labelled session through ``respond(payload, now=...) -> dict | None`` (the hook's logic).

    For each call the transcript file in ``workdir`` holds exactly what Claude Code had written
    when the hook ran (``lagging``: see :func:`post_tool_use_events`). Returns precision and
    recall over runs, and per-session details.
    """
    true_pos = false_pos = labelled = 0
    sessions = {}
    for name, (rows, runs) in load_labelled().items():
        path = workdir / f"{name}.jsonl"
        said = []
        for index, payload, now in post_tool_use_events(rows, str(path), lagging):
            path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows[:index]), encoding="utf-8")
            if respond(payload, now=now):
                said.append(payload["tool_use_id"])
        credited = set()
        for call_id in said:
            hit = next((i for i, run in enumerate(runs) if call_id in run and i not in credited), None)
            if hit is None:
                false_pos += 1
            else:
                credited.add(hit)
                true_pos += 1
        labelled += len(runs)
        sessions[name] = {"labelled_runs": len(runs), "nudges": said, "runs_found": len(credited)}
    precision = true_pos / (true_pos + false_pos) if true_pos + false_pos else 1.0
    recall = true_pos / labelled if labelled else 1.0
    return {
        "precision": precision,
        "recall": recall,
        "true_positives": true_pos,
        "false_positives": false_pos,
        "labelled_runs": labelled,
        "sessions": sessions,
    }


def _seconds(stamp: str) -> float:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def write_all() -> None:
    DATA.mkdir(parents=True, exist_ok=True)
    labels = {}
    for name, build in SESSIONS.items():
        session, runs = build()
        lines = [json.dumps(r, ensure_ascii=False, separators=(",", ":")) for r in session.rows]
        (DATA / f"{name}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
        labels[name] = {"nudge_runs": runs}
    (DATA / "labels.json").write_text(json.dumps(labels, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    write_all()
