"""The labelled failure corpus: routine tool failures and buried agent/LLM-API failures.

Why it exists: the hook and ``synapse match`` must stay silent on the everyday failures an agent
meets while coding (a wrong fix is worse than none) and still find the right entry when an API
error sits at the very end of a long, noisy log. ``tests/queries/failures/routine.yaml`` holds
complete Claude Code ``PostToolUseFailure`` events; ``buried.yaml`` holds only the failure text
(``tail``) and a description of the output in front of it, and this module builds the full event
from that, deterministically: the noise is generated from realistic line templates with
``random.Random(item id)``, so every run sees the same payloads without the YAML carrying
hundreds of kilobytes of log lines.

Public helpers:

* ``routine_payloads() -> [(id, payload)]``
* ``buried_payloads() -> [(id, slug, payload)]``
* ``buried_output(item) -> str``: the command's output alone (what ``synapse match`` would read
  from a pipe), ``build_buried_payload(item)``, ``noise_text(kind, kb, rng)``,
  ``middle_truncate(text)``.
"""

from __future__ import annotations

import copy
import hashlib
import random
import re
import uuid
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path

import yaml

FAILURES_DIR = Path(__file__).resolve().parent / "queries" / "failures"
ROUTINE_FILE = FAILURES_DIR / "routine.yaml"
BURIED_FILE = FAILURES_DIR / "buried.yaml"

EVENT = "PostToolUseFailure"
# Claude Code keeps a head-and-tail excerpt of a long failed-tool error (10,000 characters: the
# first and last 5,000) around this marker; see the header of buried.yaml for the sources.
TRUNCATE_ABOVE = 10_000
TRUNCATE_KEEP = 5_000
TRUNCATION_MARKER = "\n\n... [{n} characters truncated] ...\n\n"
_TAIL_PIPE = re.compile(r"\|\s*tail\s+-n?\s*(\d+)")

# --------------------------------------------------------------------------- loading


@cache
def _load(path: Path) -> tuple:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return tuple(data["items"])


def routine_items() -> list[dict]:
    return [copy.deepcopy(item) for item in _load(ROUTINE_FILE)]


def buried_items() -> list[dict]:
    return [copy.deepcopy(item) for item in _load(BURIED_FILE)]


def routine_payloads() -> list[tuple[str, dict]]:
    """``(id, payload)`` for every routine failure: the hook event exactly as stored."""
    return [(item["id"], item["payload"]) for item in routine_items()]


def buried_payloads() -> list[tuple[str, str, dict]]:
    """``(id, expected slug, payload)`` for every buried agent failure, built deterministically."""
    return [(item["id"], item["slug"], build_buried_payload(item)) for item in buried_items()]


# --------------------------------------------------------------------------- building payloads


def buried_output(item: dict) -> str:
    """What the command printed: generated noise, then the failure text at the end.

    A command piped into ``tail -N`` shows only the last N lines, as the shell would.
    """
    rng = random.Random(item["id"])
    noise = noise_text(item["noise"], item["noise_kb"], rng)
    output = noise + "\n" + item["tail"]
    piped = _TAIL_PIPE.search(item["command"])
    if piped:
        output = "\n".join(output.split("\n")[-int(piped.group(1)) :])
    return output


def middle_truncate(text: str) -> str:
    """Claude Code's head-and-tail excerpt of a long error string (unchanged when short)."""
    if len(text) <= TRUNCATE_ABOVE:
        return text
    removed = len(text) - 2 * TRUNCATE_KEEP
    return text[:TRUNCATE_KEEP] + TRUNCATION_MARKER.format(n=removed) + text[-TRUNCATE_KEEP:]


def build_buried_payload(item: dict) -> dict:
    """The ``PostToolUseFailure`` event for one buried item (Bash: ``Exit code N`` + output)."""
    output = buried_output(item)
    tool = item.get("tool_name", "Bash")
    error = f"Exit code {item.get('exit_code', 1)}\n{output}" if tool == "Bash" else output
    if item.get("truncate"):
        error = middle_truncate(error)
    digest = hashlib.sha256(item["id"].encode()).hexdigest()
    session = str(uuid.UUID(digest[:32]))
    cwd = _cwd_for(item)
    home = "/".join(cwd.split("/")[:3])
    return {
        "session_id": session,
        "transcript_path": f"{home}/.claude/projects/{cwd.replace('/', '-')}/{session}.jsonl",
        "cwd": cwd,
        "permission_mode": "default",
        "hook_event_name": EVENT,
        "tool_name": tool,
        "tool_input": {"command": item["command"]},
        "tool_use_id": "toolu_01" + _base62(int(digest[32:], 16), 22),
        "error": error,
        "is_interrupt": False,
        "duration_ms": 500 + int(digest[:6], 16) % 120_000,
    }


def _cwd_for(item: dict) -> str:
    """The project directory the tail's own paths point at, or a plausible default."""
    found = re.search(r"(/(?:home|Users)/[\w.-]+/(?:projects|code|dev)/[\w.-]+)", item["tail"])
    return found.group(1) if found else "/home/dev/projects/agent"


def _base62(value: int, width: int) -> str:
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
    out = []
    for _ in range(width):
        value, rest = divmod(value, 62)
        out.append(alphabet[rest])
    return "".join(out)


# --------------------------------------------------------------------------- noise


PACKAGES = [
    ("httpx", "0.28.1"),
    ("httpcore", "1.0.7"),
    ("anyio", "4.6.2"),
    ("sniffio", "1.3.1"),
    ("idna", "3.10"),
    ("certifi", "2024.8.30"),
    ("h11", "0.14.0"),
    ("pydantic", "2.9.2"),
    ("pydantic-core", "2.23.4"),
    ("annotated-types", "0.7.0"),
    ("typing-extensions", "4.12.2"),
    ("jiter", "0.7.1"),
    ("distro", "1.9.0"),
    ("tqdm", "4.67.0"),
    ("numpy", "2.1.3"),
    ("pyyaml", "6.0.2"),
    ("rich", "13.9.4"),
    ("click", "8.1.7"),
    ("tenacity", "9.0.0"),
    ("orjson", "3.10.11"),
    ("charset-normalizer", "3.4.0"),
    ("urllib3", "2.2.3"),
    ("requests", "2.32.3"),
    ("python-dotenv", "1.0.1"),
    ("markdown-it-py", "3.0.0"),
    ("mdurl", "0.1.2"),
    ("pygments", "2.18.0"),
    ("tokenizers", "0.20.3"),
    ("filelock", "3.16.1"),
    ("fsspec", "2024.10.0"),
    ("packaging", "24.2"),
    ("attrs", "24.2.0"),
    ("frozenlist", "1.5.0"),
    ("multidict", "6.1.0"),
    ("yarl", "1.17.1"),
    ("aiohttp", "3.11.2"),
    ("aiosignal", "1.3.1"),
    ("anthropic", "0.40.0"),
    ("openai", "1.55.0"),
    ("tiktoken", "0.8.0"),
    ("sqlalchemy", "2.0.36"),
    ("greenlet", "3.1.1"),
]
NPM_PACKAGES = [
    "react",
    "react-dom",
    "typescript",
    "zod",
    "@types/node",
    "eslint",
    "vite",
    "esbuild",
    "rollup",
    "postcss",
    "tailwindcss",
    "undici",
    "ws",
    "dotenv",
    "commander",
    "chalk",
    "semver",
    "glob",
    "minimatch",
    "@anthropic-ai/sdk",
    "openai",
    "@modelcontextprotocol/sdk",
    "tsx",
    "prettier",
    "lru-cache",
    "debug",
    "ms",
    "uuid",
    "yargs",
    "cross-spawn",
    "picomatch",
    "fast-glob",
]
NPM_DEPRECATIONS = [
    "npm warn deprecated inflight@1.0.6: This module is not supported, and leaks memory. Do not use it. "
    "Check out lru-cache if you want a good and tested way to coalesce async requests by a key value, "
    "which is much more comprehensive and powerful.",
    "npm warn deprecated glob@7.2.3: Glob versions prior to v9 are no longer supported",
    "npm warn deprecated rimraf@3.0.2: Rimraf versions prior to v4 are no longer supported",
    "npm warn deprecated @humanwhocodes/config-array@0.13.0: Use @eslint/config-array instead",
]
AGENT_TOOL_ARGS = {
    "search_docs": ["{'query': 'billing retry policy'}", "{'query': 'refund window for annual plans'}"],
    "read_file": ["{'path': 'src/app.py'}", "{'path': 'docs/architecture.md'}", "{'path': 'config/settings.yaml'}"],
    "list_dir": ["{'path': 'src'}", "{'path': 'tests/unit'}"],
    "run_tests": ["{'cmd': ['pytest', '-q', 'tests/unit']}", "{'cmd': ['npm', 'test', '--', '--runInBand']}"],
    "fetch_url": ["{'url': 'https://docs.example.com/api'}", "{'url': 'https://status.example.com/'}"],
    "grep_code": ["{'pattern': 'def charge', 'path': 'app/'}", "{'pattern': 'TODO', 'path': 'src/'}"],
    "write_file": ["{'path': 'notes/plan.md', 'content': '...'}", "{'path': 'src/report.py', 'content': '...'}"],
}
ROUTES = [
    "/health",
    "/v1/chat",
    "/api/sessions",
    "/api/sessions/{n}",
    "/static/app.js",
    "/metrics",
    "/api/tools",
    "/docs",
    "/openapi.json",
]


class _Clock:
    """Log timestamps that move forward by a few hundred milliseconds per line."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.now = datetime(2026, 11, 30, 8, 0, 0) + timedelta(seconds=rng.randint(0, 3 * 3600))
        self.count = 0  # a progress counter that only goes up (items processed, agent steps)

    def next_count(self) -> int:
        self.count += 1
        return self.count

    def tick(self) -> datetime:
        self.now += timedelta(milliseconds=self.rng.randint(5, 900))
        return self.now

    def log(self) -> str:
        t = self.tick()
        return t.strftime("%Y-%m-%d %H:%M:%S,") + f"{t.microsecond // 1000:03d}"


def _pip_line(rng: random.Random, clock: _Clock) -> str:
    name, version = rng.choice(PACKAGES)
    parent = rng.choice(PACKAGES)[0]
    pick = rng.random()
    if pick < 0.25:
        return f"Collecting {name}>={version.split('.')[0]}.0 (from {parent})"
    if pick < 0.45:
        return (
            f"  Downloading {name.replace('-', '_')}-{version}-py3-none-any.whl.metadata "
            f"({rng.randint(2, 40)}.{rng.randint(0, 9)} kB)"
        )
    if pick < 0.6:
        size = rng.randint(1, 30)
        return (
            f"  Downloading {name.replace('-', '_')}-{version}-cp312-cp312-manylinux_2_17_x86_64.whl "
            f"({size}.{rng.randint(0, 9)} MB)\n"
            f"     ━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━ {size}.{rng.randint(0, 9)}/{size}.{rng.randint(0, 9)} MB "
            f"{rng.randint(2, 60)}.{rng.randint(0, 9)} MB/s eta 0:00:00"
        )
    if pick < 0.85:
        return (
            f"Requirement already satisfied: {name}>={version} in ./.venv/lib/python3.12/site-packages (from "
            f"{parent}) ({version})"
        )
    if pick < 0.95:
        return f"Using cached {name.replace('-', '_')}-{version}-py3-none-any.whl ({rng.randint(20, 900)} kB)"
    chosen = rng.sample(PACKAGES, 4)
    return (
        "Installing collected packages: " + ", ".join(n for n, _ in chosen) + "\n"
        "Successfully installed " + " ".join(f"{n}-{v}" for n, v in chosen)
    )


def _agent_line(rng: random.Random, clock: _Clock) -> str:
    ts = clock.log()
    tool = rng.choice(sorted(AGENT_TOOL_ARGS))
    pick = rng.random()
    if pick < 0.25:
        return f"{ts} INFO agent.loop: step {clock.next_count()} stop_reason=tool_use tools=[{tool}]"
    if pick < 0.45:
        arg = rng.choice(AGENT_TOOL_ARGS[tool])
        return (
            f"{ts} INFO agent.tools: {tool}({arg}) -> {rng.randint(80, 40000)} chars in {rng.uniform(0.05, 4.0):.2f}s"
        )
    if pick < 0.65:
        return f'{ts} INFO httpx: HTTP Request: POST https://api.anthropic.com/v1/messages "HTTP/1.1 200 OK"'
    if pick < 0.8:
        return (
            f"{ts} DEBUG agent.loop: usage input_tokens={rng.randint(2000, 90000)} "
            f"output_tokens={rng.randint(40, 2000)} "
            f"cache_read_input_tokens={rng.randint(1000, 60000)}"
        )
    if pick < 0.9:
        return f"{ts} INFO agent.memory: saved {rng.randint(1, 12)} notes for session s_{rng.randint(1000, 9999)}"
    if pick < 0.97:
        return f"{ts} INFO agent.planner: plan updated, {rng.randint(0, 9)} open items, {rng.randint(1, 20)} done"
    return f"{ts} INFO anthropic._base_client: Retrying request to /v1/messages in {rng.uniform(0.3, 8):.6f} seconds"


def _httpx_line(rng: random.Random, clock: _Clock) -> str:
    pick = rng.random()
    if pick < 0.45:
        return 'INFO:httpx:HTTP Request: POST https://api.anthropic.com/v1/messages "HTTP/1.1 200 OK"'
    if pick < 0.6:
        return (
            f'INFO:httpx:HTTP Request: GET https://api.example.com/v2/items?page={rng.randint(1, 400)} "HTTP/1.1 '
            '200 OK"'
        )
    if pick < 0.85:
        return f"INFO:__main__:processed item {clock.next_count()}/5000 in {rng.uniform(0.2, 9):.2f}s"
    return f"DEBUG:__main__:cache hit for key {rng.getrandbits(48):012x}"


def _pytest_line(rng: random.Random, clock: _Clock) -> str:
    module = rng.choice(["test_tools", "test_loop", "test_memory", "test_api", "test_parsing", "test_config"])
    name = rng.choice(
        [
            "returns_result",
            "handles_empty_input",
            "respects_limit",
            "roundtrip",
            "serializes",
            "retries_once",
            "rejects_bad_path",
            "orders_results",
            "reads_config",
        ]
    )
    status = "SKIPPED" if rng.random() < 0.05 else "PASSED"
    percent = min(99, clock.next_count() // 8)
    return f"tests/{module}.py::test_{name}_{rng.randint(1, 40)} {status}".ljust(73) + f"[{percent:3d}%]"


def _npm_line(rng: random.Random, clock: _Clock) -> str:
    pick = rng.random()
    if pick < 0.85:
        package = rng.choice(NPM_PACKAGES).replace("/", "%2f")
        state = rng.choice(["cache hit", "cache revalidated", "cache miss", "cache stale"])
        return f"npm http fetch GET 200 https://registry.npmjs.org/{package} {rng.randint(3, 900)}ms ({state})"
    if pick < 0.95:
        return rng.choice(NPM_DEPRECATIONS)
    return (
        f"\nadded {rng.randint(200, 1500)} packages, and audited {rng.randint(200, 1500)} packages in "
        f"{rng.randint(5, 90)}s\n\n"
        f"{rng.randint(20, 250)} packages are looking for funding\n  run `npm fund` for details\n\nfound 0 "
        "vulnerabilities"
    )


def _uvicorn_line(rng: random.Random, clock: _Clock) -> str:
    route = rng.choice(ROUTES).replace("{n}", str(rng.randint(1, 9999)))
    method, status = rng.choice(
        [
            ("GET", "200 OK"),
            ("GET", "200 OK"),
            ("POST", "200 OK"),
            ("POST", "201 Created"),
            ("GET", "304 Not Modified"),
            ("DELETE", "204 No Content"),
        ]
    )
    return f'INFO:     127.0.0.1:{rng.randint(40000, 65000)} - "{method} {route} HTTP/1.1" {status}'


def _docker_line(rng: random.Random, clock: _Clock) -> str:
    step = rng.randint(2, 14)
    pick = rng.random()
    if pick < 0.55:
        name, version = rng.choice(PACKAGES)
        return f"#{step} {rng.uniform(0.5, 80):.3f} Collecting {name}=={version}"
    if pick < 0.75:
        return (
            f"#{step} sha256:{rng.getrandbits(256):064x} {rng.uniform(1, 60):.2f}MB / {rng.uniform(60, 120):.2f}MB "
            f"{rng.uniform(0.5, 9):.1f}s"
        )
    if pick < 0.9:
        return f"#{step} DONE {rng.uniform(0.0, 30):.1f}s"
    return f"#{step} [{rng.randint(2, 8)}/9] RUN pip install --no-cache-dir -r requirements.txt"


def _tqdm_line(rng: random.Random, clock: _Clock) -> str:
    total = 5000
    done = min(clock.next_count() * 3, total - 1)
    pct = done * 100 // total
    bar = ("█" * (pct // 10)).ljust(10)
    if rng.random() < 0.2:
        return f"{clock.log()} INFO batch {done // 20} written ({rng.randint(5, 20)} rows)"
    return (
        f"items: {pct:3d}%|{bar}| {done}/{total} [{rng.randint(0, 9):02d}:{rng.randint(0, 59):02d}<"
        f"{rng.randint(0, 30):02d}:{rng.randint(0, 59):02d}, {rng.uniform(0.5, 9):.2f}it/s]"
    )


NOISE_KINDS = {
    "pip_install": _pip_line,
    "agent_log": _agent_line,
    "httpx_log": _httpx_line,
    "pytest_progress": _pytest_line,
    "npm_install": _npm_line,
    "uvicorn_access": _uvicorn_line,
    "docker_build": _docker_line,
    "tqdm_progress": _tqdm_line,
}
_NOISE_PREFIX = {
    "uvicorn_access": "INFO:     Started server process [{pid}]\nINFO:     Waiting for application startup.\n"
    "INFO:     Application startup complete.\nINFO:     Uvicorn running on http://127.0.0.1:8000 (Press CTRL+C to "
    "quit)",
    "pytest_progress": "============================= test session starts ==============================\n"
    "platform linux -- Python 3.12.7, pytest-8.3.3, pluggy-1.5.0\ncollected {pid} items",
    "docker_build": '#0 building with "default" instance using docker driver\n\n#1 [internal] load build definition '
    "from Dockerfile\n"
    "#1 transferring dockerfile: 742B done\n#1 DONE 0.0s",
}
_NOISE_SUFFIX = {
    "pytest_progress": "\n=================================== FAILURES ===================================",
}


def noise_text(kind: str, kb: int, rng: random.Random) -> str:
    """About ``kb`` kilobytes of one kind of log preamble (whole lines, no trailing newline)."""
    if kind not in NOISE_KINDS:
        raise ValueError(f"unknown noise kind {kind!r}; known: {', '.join(sorted(NOISE_KINDS))}")
    make = NOISE_KINDS[kind]
    clock = _Clock(rng)
    lines = []
    prefix = _NOISE_PREFIX.get(kind)
    if prefix:
        lines.append(prefix.format(pid=rng.randint(100, 90000)))
    size = sum(len(line) + 1 for line in lines)
    target = kb * 1024
    while size < target:
        line = make(rng, clock)
        lines.append(line)
        size += len(line) + 1
    return "\n".join(lines) + _NOISE_SUFFIX.get(kind, "")
