"""Accepting and moderating submissions, shared by the form, the JSON API and the admin pages.

Approval re-validates the stored draft (dated today), picks a free slug with ``kb.free_slug`` and
writes it with ``kb.add_entry``: an atomic file write plus an immediate re-index, so the entry is
searchable as soon as the moderator's page reloads.  A lock makes approve-twice and two moderators
approving at once safe.
"""

from __future__ import annotations

import dataclasses
import threading

from synapse_ai.kb.errors import UserError
from synapse_ai.kb.model import Entry
from synapse_ai.kb.parse import render_entry
from synapse_ai.kb.service import KnowledgeBase
from synapse_ai.web.settings import Settings
from synapse_ai.web.sitestore import SiteStore, Submission
from synapse_ai.web.submissions import Draft, Validation, slugify, validate

_approve_lock = threading.Lock()


class ModerationError(UserError):
    """Why a pending submission cannot be approved or rejected (shown to the moderator)."""


def store_submission(site: SiteStore, draft: Draft, validation: Validation) -> str:
    """Persist a valid submission as pending; returns the reference for its status page."""
    assert validation.entry is not None
    return site.add_submission(
        title=validation.entry.title,
        data=draft.to_dict(),
        markdown=render_entry(validation.entry),
        flags=[f.to_dict() for f in validation.flags],
        contact=draft.contact.strip(),
    )


def duplicates(kb: KnowledgeBase, draft: Draft, limit: int = 3):
    """Existing entries that look like this submission: (matched, results)."""
    text = "\n".join(
        part for part in (draft.title, draft.summary, draft.symptom[:1500], draft.patterns[:500]) if part.strip()
    )
    if not text.strip():
        return False, []
    response = kb.search(text, limit)
    return response.matched, response.results


def submission_entry(submission: Submission) -> Entry | None:
    """The entry a stored submission makes today (None if it no longer validates)."""
    return validate(Draft.from_dict(submission.data)).entry


def approve(kb: KnowledgeBase, site: SiteStore, settings: Settings, ref: str) -> Entry:
    """Publish a pending submission as an entry; raises ModerationError, OSError or sqlite3.Error (nothing kept)."""
    with _approve_lock:
        submission = site.submission(ref)
        if submission is None:
            raise ModerationError("no such submission")
        if submission.status != "pending":
            raise ModerationError(f"this submission is already {submission.status}")
        validation = validate(Draft.from_dict(submission.data))
        if validation.entry is None:
            problems = "; ".join(f"{k}: {v}" for k, v in validation.errors.items())
            raise ModerationError(f"the submission no longer validates ({problems})")
        entry = dataclasses.replace(validation.entry, slug=kb.free_slug(slugify(validation.entry.title)))
        try:
            written = kb.add_entry(entry, settings.write_dir)
        except ValueError as exc:  # slug taken between free_slug and add_entry (another writer)
            entry = dataclasses.replace(entry, slug=kb.free_slug(entry.slug))
            try:
                written = kb.add_entry(entry, settings.write_dir)
            except ValueError:
                raise ModerationError(str(exc)) from exc
        if not site.mark_approved(ref, written.slug):
            # Another server (same database) moderated it between the check above and now: take
            # back this copy, so one approval publishes one entry whichever server it went through.
            kb.remove_entry(written.slug)
            raise ModerationError(f"this submission is already {(site.submission(ref) or submission).status}")
        return written


def reject(site: SiteStore, ref: str, reason: str) -> None:
    """Reject a pending submission with a reason for the submitter; raises ModerationError."""
    reason = reason.strip()
    if not reason:
        raise ModerationError("give a reason: the submitter sees it on the status page")
    if len(reason) > 2000:
        raise ModerationError("the reason is at most 2,000 characters")
    with _approve_lock:
        submission = site.submission(ref)
        if submission is None:
            raise ModerationError("no such submission")
        if not site.mark_rejected(ref, reason):
            raise ModerationError(f"this submission is already {submission.status}")
