"""The feedback loop over HTTP: confirm, flag, propose (API keys), and flag review (moderators).

The operations live in ``synapse_ai.web.feedback`` (shared with the CLI and the agent tools); this
module maps them to routes and their errors to the site's JSON error shape.  These routes need a
bearer key, which browsers never send by themselves, so they need no CSRF token; the moderator's
HTML form for resolving flags is CSRF-protected like every other form.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse
from pydantic import BaseModel, ConfigDict, Field

from synapse_ai.web import feedback
from synapse_ai.web.auth import Moderator, Proposer, Voter, too_many
from synapse_ai.web.deps import KB, AdminAction, Site
from synapse_ai.web.errors import SiteError
from synapse_ai.web.routes.api import SubmissionIn, SubmissionOut, _err

router = APIRouter(prefix="/api", tags=["feedback"])
admin_router = APIRouter(include_in_schema=False)

_KEY_ERRORS = {
    401: _err("No API key, or an invalid or revoked one (WWW-Authenticate: Bearer)."),
    403: _err("The key lacks the scope this needs (detail.required_scope)."),
    429: _err("Too many requests with this key; see Retry-After."),
}


class ConfirmOut(BaseModel):
    slug: str
    confirmations: int = Field(description="Distinct keys (and signed-in users) that confirmed the fix worked.")


class FlagIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(description="One of: " + ", ".join(feedback.REASONS) + ".")
    note: str = Field("", description=f"What is wrong, at most {feedback.MAX_NOTE_CHARS} characters.")


class FlagOut(BaseModel):
    slug: str
    reason: str
    status: str
    open_flags: int = Field(description="Open flags on this entry, from everyone.")


class OpenFlag(BaseModel):
    id: str
    slug: str
    reason: str
    note: str
    created_at: str


class ResolveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    resolution: str = Field("", description="What the moderator decided (kept, fixed, removed...).")


def _answer(operation, *args):
    try:
        return operation(*args)
    except feedback.FeedbackError as exc:
        raise SiteError(exc.status, exc.message, exc.detail) from None


@router.post(
    "/entries/{slug}/confirm",
    name="api_confirm",
    summary="Say an entry's fix worked (idempotent; counted once per key)",
    response_model=ConfirmOut,
    responses={**_KEY_ERRORS, 404: _err("No such entry.")},
)
def api_confirm(slug: str, kb: KB, site: Site, caller: Voter):
    return _answer(feedback.confirm, kb, site, slug, caller.voter)


@router.post(
    "/entries/{slug}/flag",
    name="api_flag",
    summary="Report an entry as stale, incorrect, a duplicate or harmful (goes to the moderation queue)",
    response_model=FlagOut,
    responses={**_KEY_ERRORS, 404: _err("No such entry."), 422: _err("Unknown reason.")},
)
def api_flag(slug: str, body: FlagIn, kb: KB, site: Site, caller: Voter):
    return _answer(feedback.flag, kb, site, slug, caller.voter, body.reason, body.note)


@router.post(
    "/proposals",
    name="api_propose",
    summary="Propose a new entry (pending until a moderator approves it; not searchable before)",
    status_code=201,
    response_model=SubmissionOut,
    responses={**_KEY_ERRORS, 413: _err("A field too large."), 422: _err("Validation failed; detail.fields.")},
)
def api_propose(request: Request, body: SubmissionIn, site: Site, caller: Proposer):
    wait = 0 if caller.admin else request.app.state.key_limits.proposals.hit(caller.key.id)
    if wait:
        raise too_many("proposals", wait)
    ref = _answer(feedback.propose, site, body.model_dump(exclude={"website"}), caller.label)
    return {"ref": ref, "status": "pending", "status_url": str(request.url_for("submission_status", ref=ref))}


@router.get(
    "/flags",
    name="api_flags",
    summary="Open flags, oldest first (moderators)",
    response_model=list[OpenFlag],
    responses=_KEY_ERRORS,
)
def api_flags(site: Site, caller: Moderator):
    return site.open_entry_flags()


@router.post(
    "/entries/{slug}/flags/resolve",
    name="api_resolve_flags",
    summary="Close an entry's open flags after review (moderators); lifts its demotion",
    responses=_KEY_ERRORS,
)
def api_resolve_flags(slug: str, body: ResolveIn, site: Site, caller: Moderator):
    return {"slug": slug, "resolved": site.resolve_entry_flags(slug, body.resolution.strip()[:500])}


@admin_router.post("/admin/flags/{slug}/resolve", name="admin_resolve_flags")
def admin_resolve_flags(
    request: Request, slug: str, _admin: AdminAction, site: Site, resolution: Annotated[str, Form()] = ""
):
    site.resolve_entry_flags(slug, resolution.strip()[:500] or "reviewed")
    return RedirectResponse(f"{request.url_for('admin')}#flags", status_code=303)
