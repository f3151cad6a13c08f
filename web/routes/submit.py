"""Submit a solution: the form, its preview, sending it, and the submitter's status page.

The form works without JavaScript (three option slots, full page round trips); JS only adds option
slots and live duplicate hints.  Every refusal re-shows the form with everything the person typed and
the message next to the field.  A filled honeypot gets the same redirect as a real send, to a status
page that says "pending", and nothing is stored, so a bot learns nothing.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import BaseModel, ConfigDict, create_model

from synapse_ai.web.deps import KB, ClientIP, CsrfProtected, Limits, Site
from synapse_ai.web.entryview import entry_view
from synapse_ai.web.errors import SiteError, http_error
from synapse_ai.web.moderate import duplicates, store_submission, submission_entry
from synapse_ai.web.security import ExpiredForm, RateLimiter
from synapse_ai.web.sitestore import Submission
from synapse_ai.web.submissions import FORM_OPTION_SLOTS, LIMITS, MAX_OPTIONS, Draft, form_fields, validate
from synapse_ai.web.templating import render

router = APIRouter(include_in_schema=False)


class _FormExtras(BaseModel):
    """The form's fields as posted.  Everything is a string here; ``synapse_ai.web.submissions`` validates."""

    model_config = ConfigDict(extra="ignore")
    website: str = ""  # honeypot: hidden from people, filled by bots
    action: str = "preview"

    def draft(self) -> Draft:
        return Draft.from_form(self)


# The submission's own fields come from ``Draft``, where they are declared once.
SubmitForm = create_model("SubmitForm", __base__=_FormExtras, **form_fields())


PREVIEWS_PER_SEND = 10  # previews allowed per send in the same window
_preview_lock = threading.Lock()


def _preview_limiter(request: Request) -> RateLimiter:
    """Previews validate, render and search the draft as a send does, so they are limited too, more
    generously than sends (a person previews several times before sending)."""
    state = request.app.state
    with _preview_lock:
        limiter = getattr(state, "preview_limiter", None)
        if limiter is None:
            settings = state.settings
            limiter = state.preview_limiter = RateLimiter(
                settings.submit_limit * PREVIEWS_PER_SEND, settings.submit_window
            )
    return limiter


def _form_page(request: Request, draft: Draft, status_code: int = 200, headers: dict | None = None, **extra):
    context = {
        "draft": draft,
        "slots": draft.slots(FORM_OPTION_SLOTS),
        "errors": {},
        "limits": LIMITS,
        "max_options": MAX_OPTIONS,
        "preview": None,
        "duplicates": [],
        "dup_matched": False,
        "banner": None,
    }
    context.update(extra)
    return render(request, "submit.html", context, status_code=status_code, headers=headers)


@router.get("/submit", response_class=HTMLResponse, name="submit")
def submit_form(request: Request):
    """The empty submission form."""
    return _form_page(request, Draft())


def _too_many(request: Request, draft, wait: int, banner: str):
    """The form again, as typed, with a 429 and how long to wait (``{minutes}`` in ``banner``)."""
    minutes = max(1, round(wait / 60))
    text = banner.format(minutes=f"{minutes} minute{'s' if minutes != 1 else ''}")
    return _form_page(request, draft, status_code=429, banner=text, headers={"Retry-After": str(wait)})


@router.post("/submit", response_class=HTMLResponse, name="submit_post", dependencies=[CsrfProtected])
def submit_post(
    request: Request, form: Annotated[SubmitForm, Form()], kb: KB, site: Site, ip: ClientIP, limits: Limits
):
    """Preview or send a submission: errors re-show the form with its values; sending is rate-limited."""
    # A plain ``def`` route: FastAPI runs it in its thread pool, so validating (markdown scanning,
    # code and pattern checks) never runs on the event loop that serves everyone else.
    draft = form.draft()
    if form.action != "send":
        wait = _preview_limiter(request).hit(ip)
        if wait:
            return _too_many(
                request,
                draft,
                wait,
                "You have asked for many previews in a short time. Please wait about {minutes}; your text is kept "
                "below.",
            )
        validation = validate(draft)
        matched, similar = duplicates(kb, draft)
        return _form_page(
            request,
            draft,
            errors=validation.errors,
            preview=entry_view(validation.entry) if validation.entry else None,
            duplicates=similar,
            dup_matched=matched,
            banner=None if validation.ok else "Fix the highlighted fields to see the preview.",
        )
    # Every send counts against the limit before any work is done, whatever its outcome: a send that
    # fails validation late cost as much as one that passes.
    wait = limits.submit.hit(ip)
    if wait:
        return _too_many(
            request,
            draft,
            wait,
            "You have sent several solutions in a short time. Please wait about {minutes} and send again; your text "
            "is kept below.",
        )
    if form.website.strip():  # the same redirect as a real send, to a status page that says pending
        fake = request.app.state.signer.honeypot_ref()
        return RedirectResponse(f"{request.url_for('submission_status', ref=fake)}?sent=1", status_code=303)
    validation = validate(draft)
    if not validation.ok:
        return _form_page(
            request,
            draft,
            status_code=422,
            errors=validation.errors,
            banner=f"{len(validation.errors)} field{'s need' if len(validation.errors) != 1 else ' needs'} attention "
            "before this can be sent.",
        )
    ref = store_submission(site, draft, validation)
    return RedirectResponse(f"{request.url_for('submission_status', ref=ref)}?sent=1", status_code=303)


EXPIRED_NOTE = (
    "This form had expired (the site restarted or the page was open for a long time), so nothing was sent. "
    "Your text is below: check it and send again."
)


async def expired_form(request: Request, exc: ExpiredForm):
    """An expired submit form (the site restarted, or the cookie is gone) comes back with what was
    typed and a note; this response carries a fresh token.  Other forms get the usual error page."""
    if request.url.path != "/submit" or exc.form is None:
        return await http_error(request, exc)
    fields = [k for k in SubmitForm.model_fields if k in exc.form]
    typed = {k: [v for v in exc.form.getlist(k) if isinstance(v, str)] for k in fields}
    values = {k: v if k.startswith("option_") else "".join(v[:1]) for k, v in typed.items()}
    draft = SubmitForm.model_validate(values).draft()
    return _form_page(request, draft, status_code=403, banner=EXPIRED_NOTE)


def honeypot_submission(ref: str) -> Submission:
    now = datetime.now(UTC).isoformat(timespec="seconds")
    return Submission(
        ref=ref, status="pending", created_at=now, updated_at=now, title="Your submission", data={}, markdown=""
    )


@router.get("/submissions/{ref}", response_class=HTMLResponse, name="submission_status")
def submission_status(request: Request, ref: str, site: Site, sent: int = 0):
    """A submission's status page; 404 for an unknown reference."""
    submission = site.submission(ref) if len(ref) <= 64 else None
    if submission is None and request.app.state.signer.is_honeypot_ref(ref):
        submission = honeypot_submission(ref)  # a bot's "submission": looks pending, nothing stored
    if submission is None:
        raise SiteError(404, "There is no submission with this reference. Check the link you were given.")
    entry = submission_entry(submission)
    return render(
        request,
        "submission_status.html",
        {"submission": submission, "preview": entry_view(entry) if entry else None, "sent": bool(sent)},
        headers={"X-Robots-Tag": "noindex"},
    )
