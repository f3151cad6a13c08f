"""The feedback loop: confirm ("this fixed it"), flag (stale, incorrect, duplicate, harmful) and
propose (a new entry, pending until a moderator approves it).

One set of operations serves the JSON API (``web/routes/feedback.py``), the CLI
(``synapse confirm/flag/propose``) and the agent tools (``skill/tools.py``).  The CLI and the tools
talk to a ``FeedbackTarget``: ``LocalFeedback`` writes to this machine's site store;
``HttpFeedback`` sends the same requests to a server when ``SYNAPSE_URL`` is set.  The wire format
(docs/feedback.md) is what both sides share::

    POST /api/entries/{slug}/confirm                            -> {"slug", "confirmations"}
    POST /api/entries/{slug}/flag  {"reason", "note"}           -> {"slug", "reason", "status", "open_flags"}
    POST /api/proposals            (the /api/submissions body)  -> 201 {"ref", "status": "pending", "status_url"}

Nothing here imports FastAPI, numpy or a model: the remote path stays light.
"""

from __future__ import annotations

import getpass
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote

from synapse_ai.kb.config import API_KEY_ENV, SERVER_URL_ENV, Config
from synapse_ai.kb.errors import UserError

REASONS = ("stale", "incorrect", "duplicate", "harmful")
MAX_NOTE_CHARS = 2000
URL_ENV, KEY_ENV = SERVER_URL_ENV, API_KEY_ENV  # the settings' names live in kb/config.py


class FeedbackError(UserError, ValueError):
    """A refused feedback request: ``status`` is the HTTP status it maps to, ``detail`` the JSON detail."""

    def __init__(self, status: int, message: str, detail: Any = None):
        super().__init__(message)
        self.status, self.message, self.detail = status, message, detail

    def explain(self) -> str:
        """The message with what the detail adds (close slugs, field errors, parse problems)."""
        detail = self.detail if isinstance(self.detail, dict) else {}
        if detail.get("did_you_mean"):
            return f"{self.message}; did you mean: {', '.join(detail['did_you_mean'])}"
        if detail.get("fields"):
            return self.message + "".join(f"\n  {name}: {text}" for name, text in detail["fields"].items())
        if detail.get("problems"):
            return self.message + "".join(f"\n  {text}" for text in detail["problems"])
        return self.message


# ---------------------------------------------------------------------- the operations
def check_flag(reason: Any, note: Any) -> tuple[str, str]:
    """The flag's reason and stripped note; raises FeedbackError 422 for an unknown reason or a non-string
    note, 413 for a note over MAX_NOTE_CHARS."""
    if reason not in REASONS:
        raise FeedbackError(422, f"reason must be one of {', '.join(REASONS)}", {"reasons": list(REASONS)})
    note = "" if note is None else note
    if not isinstance(note, str):
        raise FeedbackError(422, "note must be a string")
    note = note.strip()
    if len(note) > MAX_NOTE_CHARS:
        raise FeedbackError(413, f"the note is at most {MAX_NOTE_CHARS:,} characters ({len(note):,} given)")
    return reason, note


def require_entry(kb, slug: str) -> None:
    """FeedbackError 404 (with close slugs) unless the entry exists."""
    from synapse_ai.kb.parse import SLUG_RE

    if not isinstance(slug, str) or not SLUG_RE.match(slug) or kb.get(slug) is None:
        text = slug[:100] if isinstance(slug, str) else repr(slug)[:100]
        raise FeedbackError(404, f"no entry '{text}'", {"did_you_mean": kb.nearest_slugs(text)})


def confirm(kb, site, slug: str, voter: str) -> dict:
    """Record the voter's confirmation of an entry and return the new count; raises FeedbackError 404 if unknown."""
    require_entry(kb, slug)
    site.confirm(slug, voter)
    return {"slug": slug, "confirmations": site.confirmation_count(slug)}


def flag(kb, site, slug: str, voter: str, reason: Any, note: Any = "") -> dict:
    """Record an open flag on an entry; raises FeedbackError 422/413 for a bad reason or note, 404 if unknown."""
    reason, note = check_flag(reason, note)
    require_entry(kb, slug)
    site.add_entry_flag(slug, voter, reason, note)
    return {"slug": slug, "reason": reason, "status": "open", "open_flags": len(site.open_entry_flags(slug))}


TEXT_FIELDS = ("title", "summary", "quick_fix", "category", "symptom", "root_cause", "savings", "contact")
LIST_FIELDS = ("tags", "patterns", "environment", "sources")


def check_proposal_shape(body: Any) -> None:
    """The types of the /api/submissions body (the API checks them with pydantic; agents' tool
    calls reach ``propose`` without it).  FeedbackError 422 naming each wrong field."""
    if not isinstance(body, dict):
        raise FeedbackError(422, "a proposal is a JSON object of entry fields")
    errors = {}
    for name, value in body.items():
        if name in TEXT_FIELDS:
            ok = isinstance(value, str)
        elif name in LIST_FIELDS:
            ok = isinstance(value, list) and all(isinstance(item, str) for item in value)
        elif name == "fix_options":
            ok = isinstance(value, list) and all(
                isinstance(o, dict) and set(o) <= {"title", "body"} and all(isinstance(v, str) for v in o.values())
                for o in value
            )
        else:
            errors[name] = "unknown field"
            continue
        if not ok:
            errors[name] = (
                "a list of {title, body} strings"
                if name == "fix_options"
                else ("a list of strings" if name in LIST_FIELDS else "a string")
            )
    if errors:
        raise FeedbackError(422, "validation failed", {"fields": errors})


def propose(site, body: dict, proposer: str) -> str:
    """Validate a proposal (the /api/submissions body) and store it as a pending submission.

    Returns its reference.  Nothing is indexed: only a moderator's approval publishes it.
    """
    from synapse_ai.web.moderate import store_submission
    from synapse_ai.web.submissions import Draft, validate

    check_proposal_shape(body)
    draft = Draft.from_api(body)
    validation = validate(draft)
    if validation.too_large:
        raise FeedbackError(413, "a field is too large", {"fields": validation.errors})
    if not validation.ok:
        raise FeedbackError(422, "validation failed", {"fields": validation.errors})
    contact = draft.contact.strip()
    draft.contact = f"proposed with {proposer}" + (f"; contact: {contact}" if contact else "")
    return store_submission(site, draft, validation)


# ---------------------------------------------------------------------- an entry file as a proposal
def proposal_from_markdown(text: str) -> tuple[dict, list[str]]:
    """The proposal body for an entry written in the entry format, and what it cannot carry.

    The file's name and slug need not agree (the moderator's approval picks the slug).  Raises
    FeedbackError 422 naming each problem (with its line) when the file does not parse, or when the
    body would not pass the server's validation.
    """
    from synapse_ai.kb.parse import EntryError, parse_entry
    from synapse_ai.web.submissions import Draft, validate

    try:
        entry = parse_entry(text)
    except EntryError as exc:
        problems = [f"line {p.line}: {p.message}" if p.line else p.message for p in exc.problems]
        raise FeedbackError(422, "the file is not a valid entry", {"problems": problems}) from None
    section = {s.name: s.body for s in entry.sections}
    body = {
        "title": entry.title,
        "summary": entry.summary,
        "quick_fix": entry.quick_fix,
        "category": entry.category,
        "tags": list(entry.tags),
        "patterns": list(entry.patterns),
        "symptom": section.get("Symptom", ""),
        "root_cause": section.get("Root Cause", ""),
        "fix_options": [{"title": o.title, "body": o.body} for o in entry.fix_options],
        "environment": list(entry.environment),
        "sources": list(entry.sources),
        "savings": entry.savings,
    }
    from synapse_ai.kb.model import fix_preamble

    left_out = [f"section '{name}'" for name in section if name not in ("Symptom", "Root Cause", "Fix")]
    if fix_preamble(section.get("Fix", "")):
        left_out.append("the text before the first fix option")
    for name in ("verified", "http_statuses", "error_types", "generic_patterns"):
        if getattr(entry, name):
            left_out.append(f"front matter '{name}'")
    validation = validate(Draft.from_api(body))
    if not validation.ok:
        status = 413 if validation.too_large else 422
        raise FeedbackError(status, "the entry would be refused", {"fields": validation.errors})
    return body, left_out


# ---------------------------------------------------------------------- where the CLI and tools send it
class FeedbackTarget(Protocol):
    def confirm(self, slug: str) -> dict:
        """Confirm an entry; raises FeedbackError when refused."""
        ...

    def flag(self, slug: str, reason: str, note: str = "") -> dict:
        """Flag an entry with a reason and note; raises FeedbackError when refused."""
        ...

    def propose(self, body: dict) -> dict:
        """Submit a proposal body for moderation; raises FeedbackError when refused."""
        ...

    def close(self) -> None:
        """Release what the target holds open."""
        ...


class LocalFeedback:
    """Feedback recorded in this machine's database, counted for the local user."""

    def __init__(self, kb, site, voter: str | None = None):
        self.kb, self.site = kb, site
        self.voter = voter or f"local:{_user()}"

    @classmethod
    def open(cls, db: Path | str | None = None, kb=None) -> LocalFeedback:
        """A LocalFeedback on the database `db` (or on `kb`); raises FeedbackError 400 for an in-memory database."""
        from synapse_ai.web.sitestore import open_site_store

        if kb is None:
            from synapse_ai.kb.service import KnowledgeBase

            kb = KnowledgeBase.open(db)
        if kb.store.url == ":memory:":
            raise FeedbackError(400, "feedback needs a database file or server")
        return cls(kb, open_site_store(kb.store.url))

    def confirm(self, slug: str) -> dict:
        """Confirm an entry as the local user; raises FeedbackError 404 for an unknown entry."""
        return confirm(self.kb, self.site, slug, self.voter)

    def flag(self, slug: str, reason: str, note: str = "") -> dict:
        """Flag an entry as the local user; raises FeedbackError 422/413 for a bad reason or note, 404 if unknown."""
        return flag(self.kb, self.site, slug, self.voter, reason, note)

    def propose(self, body: dict) -> dict:
        """Store a pending proposal and return its ref; raises FeedbackError 422/413 when it is invalid."""
        return {"ref": propose(self.site, body, f"the local user {_user()}"), "status": "pending"}

    def close(self) -> None:
        """Close the site store; raises nothing of its own."""
        self.site.close()


# (method, path, json body) -> (status, parsed JSON body)
Transport = Callable[[str, str, Any], tuple[int, Any]]


class HttpFeedback:
    """The same operations against a SynapseAI server (``SYNAPSE_URL``, key in ``SYNAPSE_API_KEY``)."""

    def __init__(
        self, base_url: str, api_key: str | None = None, *, timeout: float = 10.0, transport: Transport | None = None
    ):
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.timeout = timeout
        self._transport = transport or self._urllib

    def _urllib(self, method: str, path: str, body: Any) -> tuple[int, Any]:
        import urllib.error  # here, not at the top: the local path never pays for http.client
        import urllib.request

        headers = {"Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        request = urllib.request.Request(self.base_url + path, data=data, headers=headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310 - the user's server
                return response.status, _json_or_text(response.read())
        except urllib.error.HTTPError as exc:
            return exc.code, _json_or_text(exc.read())
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise FeedbackError(503, f"cannot reach {self.base_url}: {reason}") from None

    def _send(self, path: str, body: Any = None) -> dict:
        from synapse_ai.kb.scrub import scrub_json  # what leaves the machine goes without secrets (notes, proposals)

        status, data = self._transport("POST", path, None if body is None else scrub_json(body))
        if 200 <= status < 300 and isinstance(data, dict):
            return data
        message = data.get("error") if isinstance(data, dict) else None
        detail = data.get("detail") if isinstance(data, dict) else None
        if status == 401 and not self.api_key:
            message = f"{message or 'the server needs an API key'}; set {KEY_ENV}"
        raise FeedbackError(status, f"{self.base_url} answered {status}: {message or 'unexpected answer'}", detail)

    def confirm(self, slug: str) -> dict:
        """POST a confirmation to the server; raises FeedbackError for a refusal or an unreachable server."""
        return self._send(f"/api/entries/{quote(slug, safe='')}/confirm")

    def flag(self, slug: str, reason: str, note: str = "") -> dict:
        """POST a flag to the server; raises FeedbackError for a refusal or an unreachable server."""
        return self._send(f"/api/entries/{quote(slug, safe='')}/flag", {"reason": reason, "note": note})

    def propose(self, body: dict) -> dict:
        """POST a proposal to the server; raises FeedbackError for a refusal or an unreachable server."""
        return self._send("/api/proposals", body)

    def close(self) -> None:
        """Nothing to release (each request opens its own connection); raises nothing."""
        pass


def _json_or_text(raw: bytes) -> Any:
    try:
        return json.loads(raw.decode("utf-8", "replace"))
    except ValueError:
        return {"error": raw.decode("utf-8", "replace")[:200]}


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (containers)
        return str(os.getuid()) if hasattr(os, "getuid") else "user"


def feedback_server(config: Config | None = None) -> str | None:
    """The server feedback goes to (``config.server_url``, ``SYNAPSE_URL``), None for this machine; raises nothing."""
    return ((config if config is not None else Config.from_env()).server_url or "").strip() or None


def open_feedback(db: Path | str | None = None, kb=None, config: Config | None = None) -> FeedbackTarget:
    """A server's feedback API when ``SYNAPSE_URL`` is set, else this machine's store (``config``: the
    settings, None to read them from the environment); raises FeedbackError when neither can be used."""
    config = config if config is not None else Config.from_env()
    url = feedback_server(config)
    if url:
        return HttpFeedback(url, (config.api_key or "").strip() or None)
    return LocalFeedback.open(db, kb)
