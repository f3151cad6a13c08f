"""Suggested edits to entries: validation, the diff a moderator reviews, approval, and an entry's history.

An edit is the entry's whole markdown file, as the reader saw it and changed it.  It is checked twice:
``synapse_ai.kb.parse.parse_entry`` (the file must still be an entry lint accepts, under the same slug)
and the submission rules of ``synapse_ai.web.submissions.validate`` on the fields it makes, so an edit
cannot smuggle in what a new submission could not.  Problems the entry already had are not charged
to the editor: only those the edit adds refuse it.

Approval writes the proposed text over the entry's file atomically (``write_text_atomically``) with
its ``updated:`` date set to today, then re-indexes; if indexing fails the old text is put back.  On a
shared store (PostgreSQL, several servers) the database is the source of truth: the edit replaces the
entry's row (``KnowledgeBase.replace_in_store``), not one server's file, so every server serves it.
The suggestion rows stay, so the approved ones are the entry's history, with their authors.
"""

from __future__ import annotations

import difflib
import re
import threading
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from synapse_ai.kb.errors import UserError
from synapse_ai.kb.model import Entry
from synapse_ai.kb.parse import EntryError, parse_entry
from synapse_ai.kb.paths import write_text_atomically
from synapse_ai.kb.service import KnowledgeBase
from synapse_ai.web import flags as flagging
from synapse_ai.web.sitestore import Revision, SiteStore
from synapse_ai.web.submissions import LIMITS, MAX_OPTIONS, TEXT_FIELDS, Draft, validate

# The largest file an edit may be: every field of a submission at its limit.
MAX_EDIT_CHARS = sum(LIMITS[name] for name in TEXT_FIELDS) + MAX_OPTIONS * (
    LIMITS["option_title"] + LIMITS["option_body"]
)
MAX_NOTE_CHARS = 500
MAX_AUTHOR_CHARS = 80
_UPDATED_LINE = re.compile(r"^updated:.*$", re.MULTILINE)

_decide_lock = threading.Lock()


class RevisionError(UserError):
    """Why a moderation step on a suggested edit cannot be done (shown to the moderator)."""


@dataclass
class EditCheck:
    entry: Entry | None  # the edited entry, when the edit is acceptable
    errors: list[str] = field(default_factory=list)
    flags: list[flagging.Flag] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when the edit produced an entry and found no errors; raises nothing."""
        return self.entry is not None and not self.errors


def draft_from_entry(entry: Entry) -> Draft:
    """The submission fields an entry fills (sections other than the three cards are not fields)."""

    def body(name: str) -> str:
        section = entry.section(name)
        return section.body if section else ""

    options = entry.fix_options
    return Draft(
        title=entry.title,
        summary=entry.summary,
        quick_fix=entry.quick_fix,
        category=entry.category,
        tags=", ".join(entry.tags),
        patterns="\n".join(entry.patterns),
        symptom=body("Symptom"),
        root_cause=body("Root Cause"),
        option_titles=[o.title for o in options],
        option_bodies=[o.body for o in options],
        environment="\n".join(entry.environment),
        sources="\n".join(entry.sources),
        savings=entry.savings,
    )


def _flags(entry: Entry) -> list[flagging.Flag]:
    """What the moderator is asked to look at in an entry's text (as for a submission)."""
    return flagging.scan(draft_from_entry(entry).scan_text()) + flagging.regex_flags(entry.patterns)


def _field_problems(entry: Entry) -> dict[str, str]:
    return validate(draft_from_entry(entry)).errors


def check_edit(original: Entry, base: str, markdown: str) -> EditCheck:
    """Whether ``markdown`` may replace ``original`` (whose file text is ``base``)."""
    markdown = markdown.replace("\r\n", "\n")
    if len(markdown) > MAX_EDIT_CHARS:
        return EditCheck(None, [f"The entry is too long: {len(markdown):,} characters (at most {MAX_EDIT_CHARS:,})."])
    if markdown.strip() == base.strip():
        return EditCheck(None, ["Nothing was changed: edit the text before sending it."])
    try:
        edited = parse_entry(markdown)
    except EntryError as exc:
        return EditCheck(None, [f"Line {p.line}: {p.message}." if p.line else f"{p.message}." for p in exc.problems])
    errors = []
    if edited.slug != original.slug:
        errors.append(f"The slug must stay “{original.slug}”: an edit changes an entry, it does not move it.")
    before = _field_problems(original)
    for name, message in _field_problems(edited).items():
        if before.get(name) != message:
            errors.append(f"{name.replace('_', ' ').capitalize()}: {message}")
    # Only what the edit brings in is flagged: the entry's own text was reviewed when it was published.
    known = {(f.rule, f.excerpt) for f in _flags(original)}
    found = [f for f in _flags(edited) if (f.rule, f.excerpt) not in known]
    return EditCheck(None if errors else edited, errors, found)


def diff_lines(before: str, after: str) -> list[tuple[str, str]]:
    """(kind, line) of a unified diff: kind is "add", "del", "hunk" or "same"."""
    out = []
    lines = difflib.unified_diff(before.splitlines(), after.splitlines(), "current", "suggested", n=3, lineterm="")
    for line in list(lines)[2:]:  # the two file-name lines say nothing here
        kind = {"+": "add", "-": "del", "@": "hunk"}.get(line[:1], "same")
        out.append((kind, line))
    return out


def entry_file_text(kb: KnowledgeBase, entry: Entry) -> str:
    """The entry's file as it is now (what an edit is made on): on a shared store the text the database
    holds, which every server sees; otherwise the file on disk."""
    if kb.store.shared:
        text = kb.store.markdown(entry.slug)
        if text:
            return text
    if entry.path is None:
        raise RevisionError("this entry has no file to edit")
    try:
        return Path(entry.path).read_text(encoding="utf-8")
    except OSError as exc:  # removed or unreadable since it was indexed
        raise RevisionError(f"its file cannot be read ({exc.strerror or exc})") from exc


def with_updated(markdown: str, today: date) -> str:
    """``markdown`` with its front matter's ``updated:`` set to ``today``."""
    head, sep, rest = markdown.partition("\n---")
    return _UPDATED_LINE.sub(f"updated: {today.isoformat()}", head, count=1) + sep + rest


def suggest(
    site: SiteStore, original: Entry, base: str, markdown: str, author: str, note: str
) -> tuple[str | None, EditCheck]:
    """Check an edit and, when it is acceptable, queue it for moderation: (ref, check)."""
    check = check_edit(original, base, markdown)
    if not check.ok:
        return None, check
    ref = site.add_revision(
        original.slug,
        base,
        markdown.replace("\r\n", "\n"),
        author.strip()[:MAX_AUTHOR_CHARS],
        note.strip()[:MAX_NOTE_CHARS],
        [f.to_dict() for f in check.flags],
    )
    return ref, check


def approve(kb: KnowledgeBase, site: SiteStore, ref: str, today: date | None = None) -> Revision:
    """Rewrite the entry with the suggested text (atomically) and re-index; the row records it."""
    with _decide_lock:
        revision = _pending(site, ref)
        entry = kb.get(revision.slug)
        if entry is None:
            raise RevisionError(f"the entry “{revision.slug}” no longer exists")
        current = entry_file_text(kb, entry)
        if current != revision.base:
            raise RevisionError("the entry has changed since this edit was suggested; reject it and ask for a new one")
        check = check_edit(entry, current, revision.markdown)
        if not check.ok:
            raise RevisionError("the edit no longer validates: " + " ".join(check.errors))
        text = with_updated(revision.markdown, today or date.today())
        if kb.store.shared:
            kb.replace_in_store(text)
            site.decide_revision(ref, "approved")
            return site.revision(ref)
        parse_entry(text, entry.path)  # never write a file that would not index
        path = Path(entry.path)
        try:
            write_text_atomically(path, text)
        except OSError as exc:  # e.g. entries installed read-only
            raise RevisionError(f"cannot write {path.name}: {exc.strerror or exc}") from exc
        try:
            kb.index()
        except BaseException:
            write_text_atomically(path, current)
            kb.index()
            raise
        site.decide_revision(ref, "approved")
        return site.revision(ref)


def reject(site: SiteStore, ref: str, reason: str) -> None:
    """Reject a pending suggested edit with a reason; raises RevisionError for an empty or over-long
    reason, or when the edit is unknown or no longer pending."""
    reason = reason.strip()
    if not reason:
        raise RevisionError("give a reason: the editor sees it on the status page")
    if len(reason) > 2000:
        raise RevisionError("the reason is at most 2,000 characters")
    with _decide_lock:
        _pending(site, ref)
        site.decide_revision(ref, "rejected", reason)


def _pending(site: SiteStore, ref: str) -> Revision:
    revision = site.revision(ref)
    if revision is None:
        raise RevisionError("no such suggested edit")
    if revision.status != "pending":
        raise RevisionError(f"this suggested edit is already {revision.status}")
    return revision


def history(site: SiteStore, slug: str) -> list[Revision]:
    """The approved edits of an entry, newest first (each credits its author)."""
    return site.revisions(status="approved", slug=slug)
