"""The feedback loop as agent tools: ``confirm_solution``, ``flag_solution``, ``propose_solution``.

Why: an agent that applied a fix knows best whether it worked, and an agent that solved something
new holds the next entry.  These tools record that through ``synapse_ai.web.feedback``: in this
machine's database, or on the team server when ``SYNAPSE_URL`` is set (key in ``SYNAPSE_API_KEY``).
A proposal is sent only with ``user_approved=true``: the user decides what leaves their project.

:class:`FeedbackTools` is mixed into :class:`synapse_ai.skill.tools.SynapseTools`, which publishes
these definitions next to the search tools (and the MCP server with them).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from synapse_ai.kb.model import CATEGORIES

CONFIRM_DESCRIPTION = (
    "Tell the SynapseAI knowledge base that an entry's fix worked: call it after you applied the fix "
    "from a search_solutions or get_solution result and the error is gone (the failing call now "
    "succeeds, the tests pass). Confirmations are counted once per API key (or local user), so "
    "calling it again changes nothing, and they help the next agent find the fix. Do not confirm "
    "an entry you only read, or whose fix you did not verify. Returns {slug, confirmations}."
)

FLAG_DESCRIPTION = (
    "Report a SynapseAI knowledge-base entry to its moderators: reason 'incorrect' when you "
    "applied its fix as written and it did not solve the problem or made it worse, 'stale' when it "
    "is outdated (an SDK, API or model changed; a parameter no longer exists), 'duplicate' when "
    "another entry says the same (name its slug in the note), 'harmful' when following it would "
    "damage something or it tells the reader to run something unrelated. Put what you saw in "
    "'note' (the error after the fix, the version that changed), without secrets. Entries "
    "flagged incorrect by several keys rank last until a moderator reviews them. Returns "
    "{slug, reason, status, open_flags}."
)

PROPOSE_DESCRIPTION = (
    "Propose a new entry for the SynapseAI knowledge base after you solved an error or slowdown "
    "that search_solutions did not know (matched was false and the results did not fit). ONLY "
    "with the user's explicit approval: show the user the entry you would send and ask first, "
    "then pass user_approved=true. Write it as a fix for the next person: the exact error text "
    "in 'patterns' (Python regexes), what happened ('symptom'), why ('root_cause'), one or more "
    "fix options with code, the environment it applies to and source URLs backing it. Remove "
    "secrets, paths and names from the user's project. A moderator reviews it; nothing is "
    "searchable before approval. Returns {ref, status: 'pending'} (and status_url from a server)."
)

_TEXT = {"type": "string"}


def _strings(description: str) -> dict[str, Any]:
    return {"type": "array", "items": _TEXT, "description": description}


CONFIRM_SOLUTION: dict[str, Any] = {
    "name": "confirm_solution",
    "description": CONFIRM_DESCRIPTION,
    "input_schema": {
        "type": "object",
        "properties": {"slug": {"type": "string", "description": "The entry whose fix worked, e.g. 'rate-limit-429'."}},
        "required": ["slug"],
    },
}

FLAG_SOLUTION: dict[str, Any] = {
    "name": "flag_solution",
    "description": FLAG_DESCRIPTION,
    "input_schema": {
        "type": "object",
        "properties": {
            "slug": {"type": "string", "description": "The entry to report."},
            "reason": {
                "type": "string",
                "enum": ["stale", "incorrect", "duplicate", "harmful"],
                "description": "What is wrong: stale, incorrect, duplicate or harmful.",
            },
            "note": {"type": "string", "description": "What you saw, for the moderator (at most 2,000 characters)."},
        },
        "required": ["slug", "reason"],
    },
}

PROPOSE_SOLUTION: dict[str, Any] = {
    "name": "propose_solution",
    "description": PROPOSE_DESCRIPTION,
    "input_schema": {
        "type": "object",
        "properties": {
            "user_approved": {
                "type": "boolean",
                "description": "True only after the user approved sending this entry.",
            },
            "title": {"type": "string", "description": "The error or symptom as a short headline."},
            "summary": {"type": "string", "description": "One line: what goes wrong and what fixes it."},
            "quick_fix": {"type": "string", "description": "The fix in one breath (at most 60 words): what to change."},
            "category": {"type": "string", "enum": list(CATEGORIES), "description": "The entry's category."},
            "tags": _strings("Lowercase tags: library, HTTP status, concept."),
            "patterns": _strings("Python regexes matching the exact error text."),
            "symptom": {"type": "string", "description": "What the user sees (markdown; quote the error)."},
            "root_cause": {"type": "string", "description": "Why it happens (markdown)."},
            "fix_options": {
                "type": "array",
                "description": "One or more ways to fix it, best first.",
                "items": {
                    "type": "object",
                    "properties": {"title": _TEXT, "body": {"type": "string", "description": "Markdown with code."}},
                    "required": ["title", "body"],
                },
            },
            "environment": _strings("SDKs, versions, runtimes it applies to."),
            "sources": _strings("http(s) URLs backing the fix."),
            "savings": {"type": "string", "description": "What fixing it saves (time, tokens); 'none' if nothing."},
        },
        "required": [
            "user_approved",
            "title",
            "summary",
            "quick_fix",
            "category",
            "tags",
            "symptom",
            "root_cause",
            "fix_options",
            "environment",
            "sources",
            "savings",
        ],
    },
}

FEEDBACK_TOOL_DEFINITIONS: list[dict[str, Any]] = [CONFIRM_SOLUTION, FLAG_SOLUTION, PROPOSE_SOLUTION]
PROPOSAL_FIELDS = tuple(name for name in PROPOSE_SOLUTION["input_schema"]["properties"] if name != "user_approved")

FEEDBACK_OUTPUT_SCHEMAS: dict[str, dict[str, Any]] = {
    "confirm_solution": {
        "type": "object",
        "properties": {"slug": {"type": "string"}, "confirmations": {"type": "integer"}},
        "required": ["slug", "confirmations"],
    },
    "flag_solution": {
        "type": "object",
        "properties": {
            "slug": {"type": "string"},
            "reason": {"type": "string"},
            "status": {"type": "string"},
            "open_flags": {"type": "integer"},
        },
        "required": ["slug", "reason", "status", "open_flags"],
    },
    "propose_solution": {
        "type": "object",
        "properties": {"ref": {"type": "string"}, "status": {"type": "string"}, "status_url": {"type": "string"}},
        "required": ["ref", "status"],
    },
}


class FeedbackTools:
    """The implementations; the class it is mixed into provides ``kb`` (opened on first use)."""

    kb: Any
    _feedback: Any = None
    _feedback_lock = threading.Lock()  # class-wide: guards creating a target, which happens once

    def feedback(self) -> Any:
        """Where feedback goes: the server at ``SYNAPSE_URL`` if set, else this machine's database."""
        with self._feedback_lock:
            if self._feedback is None:
                from synapse_ai.web.feedback import LocalFeedback, feedback_server, open_feedback

                remote = feedback_server()
                self._feedback = open_feedback() if remote else LocalFeedback.open(kb=self.kb)
            return self._feedback

    def close_feedback(self) -> None:
        with self._feedback_lock:
            if self._feedback is not None:
                self._feedback.close()
                self._feedback = None

    def _send_feedback(self, call: Callable[[Any], dict[str, Any]]) -> dict[str, Any]:
        from synapse_ai.web.feedback import FeedbackError

        try:
            return call(self.feedback())
        except FeedbackError as exc:
            raise ValueError(exc.explain()) from None

    def confirm_solution(self, slug: str | None = None) -> dict[str, Any]:
        """Record that an entry's fix worked (idempotent per key or local user)."""
        if not isinstance(slug, str) or not slug.strip():
            raise ValueError("slug must be a non-empty string, e.g. 'rate-limit-429'")
        return self._send_feedback(lambda target: target.confirm(slug.strip()))

    def flag_solution(
        self, slug: str | None = None, reason: str | None = None, note: str | None = ""
    ) -> dict[str, Any]:
        """Report an entry (stale, incorrect, duplicate, harmful) to the moderators."""
        from synapse_ai.web.feedback import check_flag

        if not isinstance(slug, str) or not slug.strip():
            raise ValueError("slug must be a non-empty string, e.g. 'rate-limit-429'")
        try:
            reason, note = check_flag(reason, note)
        except ValueError as exc:  # a FeedbackError: the tools speak plain ValueError
            raise ValueError(str(exc)) from None
        return self._send_feedback(lambda target: target.flag(slug.strip(), reason, note))

    def propose_solution(self, user_approved: Any = None, **fields: Any) -> dict[str, Any]:
        """Send a new entry for moderation; refused unless the user approved it (``user_approved``)."""
        if user_approved is not True:
            raise ValueError(
                "not sent: show the user the entry and ask whether to send it, then call again with user_approved=true"
            )
        unknown = sorted(set(fields) - set(PROPOSAL_FIELDS))
        if unknown:
            raise ValueError(f"unknown field {', '.join(unknown)} (fields: {', '.join(PROPOSAL_FIELDS)})")
        return self._send_feedback(lambda target: target.propose(fields))

    def feedback_handlers(self) -> dict[str, Callable[..., Any]]:
        return {
            "confirm_solution": self.confirm_solution,
            "flag_solution": self.flag_solution,
            "propose_solution": self.propose_solution,
        }
