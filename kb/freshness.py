"""Checks that keep entries current: model ids in code, canonical tags, re-verification age.

Why these live apart from ``synapse_ai.kb.parse``: parsing must give the same answer on every machine (the
indexer and the web form rely on it), while "is this model still current" depends on the installed
``anthropic`` SDK, which is the one authority on model ids that moves with the API.  ``synapse lint``
runs both.
"""

from __future__ import annotations

import re
import typing
from datetime import date
from functools import lru_cache

from synapse_ai.kb.model import Entry

# A Claude model id as it appears in code: claude-sonnet-5-5, claude-haiku-4-5-20251001,
# claude-3-5-sonnet-latest.  "claude-code" and friends are product names, not models.
CLAUDE_MODEL_RE = re.compile(r"\bclaude-(?:[a-z]+-)*\d[\w.-]*|\bclaude-(?:opus|sonnet|haiku|fable|mythos)(?:-[\w.]+)*")
RETIRED_MARK = "# retired"  # a code line that names a retired model on purpose (e.g. to show the 404)

# Canonical tags: one spelling per concept, so tag pages and filters gather everything.
TAG_RE = re.compile(r"^[a-z][a-z0-9._+-]*$")
TAG_SYNONYMS = {
    "retry": "retries",
    "rate-limits": "rate-limit",
    "ratelimit": "rate-limit",
    "parallel-tools": "parallel-tool-use",
    "parallel-tool-calls": "parallel-tool-use",
    "structured-output": "structured-outputs",
    "strict-mode": "strict-tool-use",
    "jsonschema": "json-schema",
    "tool-calls": "tool-use",
    "tools": "tool-use",
    "timeouts": "timeout",
    "image": "vision",
    "images": "vision",
    "agent-loops": "agent-loop",
    "prompt-cache": "prompt-caching",
    "thinking": "extended-thinking",
}
_STATUS_TAG = re.compile(r"^-?\d+$")


# Everyday failures that have nothing to do with agents or LLM APIs.  A specific pattern (one that
# decides ``matched`` alone) must match none of them; lint says which one it hit.  The labelled
# routine-failure set in tests/queries/failures holds many more.
EVERYDAY_ERRORS = (
    "File does not exist.",
    "String to replace not found in file.",
    "Request failed with status code 404",
    "Request failed with status code 403",
    "HTTP Error 404: Not Found",
    "requests.exceptions.HTTPError: 500 Server Error: Internal Server Error for url: https://example.com/api",
    "Error: listen EADDRINUSE: address already in use :::3000",
    "OSError: [Errno 98] Address already in use",
    "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?",
    "Killed",
    "subprocess.TimeoutExpired: Command '['make', 'test']' timed out after 600 seconds",
    "Command timed out after 2m 0s",
    "TypeError: f() missing 1 required positional argument: 'x'",
    "TypeError: Object of type datetime is not JSON serializable",
    "TypeError: Cannot read properties of undefined (reading 'map')",
    "json.decoder.JSONDecodeError: Expecting value: line 1 column 1 (char 0)",
    "OSError: [Errno 24] Too many open files",
    "asyncio.exceptions.TimeoutError",
    "TimeoutError: timed out",
    "ConnectionRefusedError: [Errno 111] Connection refused",
    "KeyError: 'name'",
    "ValueError: invalid literal for int() with base 10: 'abc'",
    "RuntimeError: dictionary changed size during iteration",
    "RecursionError: maximum recursion depth exceeded",
    "ModuleNotFoundError: No module named 'pandas'",
    "FileNotFoundError: [Errno 2] No such file or directory: 'config.yaml'",
    "PermissionError: [Errno 13] Permission denied: '/etc/hosts'",
    "npm ERR! code ELIFECYCLE",
    "error: failed to push some refs to 'origin'",
    "fatal: not a git repository (or any of the parent directories): .git",
    "error[E0382]: borrow of moved value: `v`",
    "src/app.ts(12,5): error TS2322: Type 'string' is not assignable to type 'number'.",
    "sqlite3.OperationalError: database is locked",
    'psycopg2.errors.UndefinedTable: relation "users" does not exist',
    'Error from server (Forbidden): pods is forbidden: User "dev" cannot list resource "pods"',
    "AssertionError: assert 3 == 4",
    "MemoryError",
    "BrokenPipeError: [Errno 32] Broken pipe",
    "ssl.SSLCertVerificationError: certificate verify failed: unable to get local issuer certificate",
    "UnicodeDecodeError: 'utf-8' codec can't decode byte 0xff in position 0: invalid start byte",
    "Error: spawn esbuild ENOENT",
    "FileNotFoundError: [Errno 2] No such file or directory: 'node'",
    "pydantic_core._pydantic_core.ValidationError: 2 validation errors for PaginationParams",
    "TypeError: update_price() got an unexpected keyword argument 'currency'",
    "jsonschema.exceptions.ValidationError: 'replicas' is a required property",
    "MCP error -32602: Invalid params: path must be absolute",
    "httpx.HTTPStatusError: Client error '404 Not Found' for url 'https://example.com/page'",
    "cloudflare.NotFoundError: Error code: 404 - {'success': False, 'errors': [{'code': 7003, 'message': 'Could not "
    "route'}]}",
    "stripe.error.RateLimitError: Request rate limit exceeded",
    'github.GithubException: 403 {"message": "API rate limit exceeded for user ID 1."}',
)


@lru_cache(maxsize=1)
def builtin_exception_names() -> frozenset[str]:
    """Names of Python's builtin exception classes (``TypeError``, ``TimeoutError``, ...)."""
    import builtins

    return frozenset(
        name for name, value in vars(builtins).items() if isinstance(value, type) and issubclass(value, BaseException)
    )


def specificity_problems(entry: Entry) -> list[tuple[str, str]]:
    """(field, message) for signals declared more specific than they are: a ``patterns`` regex
    that matches an everyday failure, or a builtin exception listed under ``error_types``."""
    from synapse_ai.kb.signature import compile_pattern

    found = []
    for pattern in entry.patterns:
        compiled = compile_pattern(pattern)
        hit = next((e for e in EVERYDAY_ERRORS if compiled and compiled.search(e)), None)
        if hit:
            found.append(
                (
                    "patterns",
                    f"pattern {pattern!r} matches an everyday failure ({hit!r}); make it specific to this error or "
                    "move it to generic_patterns",
                )
            )
    for name in entry.error_types:
        if name.rsplit(".", 1)[-1] in builtin_exception_names():
            found.append(
                (
                    "error_types",
                    f"error type {name!r} is a Python builtin exception, not an API error type; match its message "
                    "with generic_patterns instead",
                )
            )
    return found


def tag_problem(tag: str) -> str | None:
    """Why ``tag`` is not canonical, or None."""
    if _STATUS_TAG.match(tag):
        number = tag.lstrip("-")
        if tag.startswith("-"):
            return f"tag '{tag}': write JSON-RPC codes as 'jsonrpc-{number}'"
        return f"tag '{tag}': write HTTP statuses as 'http-{number}' (and list the status under http_statuses)"
    if tag in TAG_SYNONYMS:
        return f"tag '{tag}': use the canonical tag '{TAG_SYNONYMS[tag]}'"
    if not TAG_RE.match(tag):
        return f"tag '{tag}': tags are lowercase words joined by '-', '_' or '.' (exception names go under error_types)"
    return None


@lru_cache(maxsize=1)
def current_claude_models() -> frozenset[str] | None:
    """The model ids the installed ``anthropic`` SDK lists as current: its ``ModelParam`` literals
    minus its deprecated-models table.  None when the SDK is not installed (the check is skipped)."""
    try:
        from anthropic.types.model_param import ModelParam
    except ImportError:  # pragma: no cover - anthropic is a dependency; tolerate a trimmed install
        return None
    literals: set[str] = set()
    for arg in typing.get_args(ModelParam):
        literals.update(a for a in typing.get_args(arg) if isinstance(a, str))
    try:
        from anthropic._data.deprecated_models import DEPRECATED_MODELS
    except ImportError:  # pragma: no cover - older SDKs have no table
        DEPRECATED_MODELS = {}
    return frozenset(literals - set(DEPRECATED_MODELS))


def model_problems(entry: Entry) -> list[tuple[int, str]]:
    """(line, message) for every Claude model id in a code block that the SDK does not list as current."""
    current = current_claude_models()
    if current is None:
        return []
    found = []
    for block in entry.code_blocks:
        for offset, line in enumerate(block.code.splitlines(), start=1):
            if RETIRED_MARK in line:
                continue
            for model in CLAUDE_MODEL_RE.findall(line):
                model = model.rstrip(".-")
                if model not in current:
                    found.append(
                        (
                            block.line + offset,
                            f"code names model '{model}', which the installed anthropic SDK does not list as current; "
                            "take the model from one MODEL constant set to a current id, or mark a deliberate "
                            f"example with '{RETIRED_MARK}'",
                        )
                    )
    return found


def is_stale(entry: Entry, days: int, today: date | None = None) -> bool:
    """True when the entry was never verified or not within the last ``days`` days."""
    today = today or date.today()
    return entry.verified is None or (today - entry.verified.on).days > days
