"""Checks that keep entries current: model ids in code, canonical tags, re-verification age.

Why these live apart from ``kb.parse``: parsing must give the same answer on every machine (the
indexer and the web form rely on it), while "is this model still current" depends on the installed
``anthropic`` SDK, which is the one authority on model ids that moves with the API.  ``synapse lint``
runs both.
"""

from __future__ import annotations

import re
import typing
from datetime import date
from functools import lru_cache

from kb.model import Entry

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
                    found.append((block.line + offset, f"code names model '{model}', which the installed anthropic SDK does not list as current; take the model from one MODEL constant set to a current id, or mark a deliberate example with '{RETIRED_MARK}'"))
    return found


def is_stale(entry: Entry, days: int, today: date | None = None) -> bool:
    """True when the entry was never verified or not within the last ``days`` days."""
    today = today or date.today()
    return entry.verified is None or (today - entry.verified.on).days > days
