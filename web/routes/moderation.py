"""The moderation queue at /admin.

Moderation exists only when ``SYNAPSE_ADMIN_TOKEN`` is set; without it the page says so and every
moderation POST is refused.  A moderator signs in with the token (a form that sets a signed HttpOnly
cookie) or sends ``Authorization: Bearer <token>`` with each request (scripts, tests).
"""

from __future__ import annotations

import errno
import sqlite3
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from synapse_ai.kb.model import Entry
from synapse_ai.web.deps import (
    KB,
    AdminAction,
    AdminAuth,
    AppSettings,
    ClientIP,
    CsrfProtected,
    Limits,
    Site,
    TokenSigner,
)
from synapse_ai.web.entryview import entry_view
from synapse_ai.web.errors import SiteError
from synapse_ai.web.moderate import ModerationError, approve, duplicates, reject, submission_entry
from synapse_ai.web.security import ADMIN_COOKIE, ADMIN_SESSION_SECONDS, check_admin_token
from synapse_ai.web.sitestore import Submission
from synapse_ai.web.submissions import Draft, slugify
from synapse_ai.web.templating import render

router = APIRouter(include_in_schema=False)


def _login_page(request: Request, error: str | None = None, status_code: int = 200):
    return render(
        request, "admin_login.html", {"error": error}, status_code=status_code, headers={"Cache-Control": "no-store"}
    )


@router.get("/admin", response_class=HTMLResponse, name="admin")
def admin_queue(request: Request, settings: AppSettings, auth: AdminAuth, site: Site, done: str = "", slug: str = ""):
    """The moderation queue, the login form, or a page saying moderation is off."""
    if not settings.admin_token:
        return render(request, "admin_off.html", {})
    if auth is None:
        return _login_page(request)
    return render(
        request,
        "admin_queue.html",
        {
            "pending": site.submissions("pending"),
            "approved": site.submissions("approved", limit=10),
            "rejected": site.submissions("rejected", limit=10),
            "counts": site.submission_counts(),
            "entry_flags": site.open_entry_flags(),
            "done": done if done in ("approved", "rejected") else "",
            "done_slug": slug,
            "via_cookie": auth == "cookie",
        },
        headers={"Cache-Control": "no-store"},
    )


@router.post("/admin/login", name="admin_login", dependencies=[CsrfProtected])
def admin_login(
    request: Request,
    settings: AppSettings,
    signer: TokenSigner,
    ip: ClientIP,
    limits: Limits,
    token: Annotated[str, Form()] = "",
):
    """Check the admin token (rate-limited) and set the signed admin cookie."""
    if not settings.admin_token:
        return render(request, "admin_off.html", {}, status_code=403)
    wait = limits.login.retry_after(ip)
    if wait:
        return _login_page(request, f"Too many sign-in attempts. Try again in {wait} seconds.", 429)
    if not check_admin_token(settings.admin_token, token.strip()):
        limits.login.record(ip)
        return _login_page(request, "That token is not right.", 401)
    response = RedirectResponse(str(request.url_for("admin")), status_code=303)
    response.set_cookie(
        ADMIN_COOKIE,
        signer.admin_cookie(settings.admin_token),
        max_age=ADMIN_SESSION_SECONDS,
        path="/admin",
        httponly=True,
        samesite="strict",
        secure=settings.secure_cookies,
    )
    return response


@router.post("/admin/logout", name="admin_logout", dependencies=[CsrfProtected])
def admin_logout(request: Request, site: Site):
    """Drop the admin cookie, and revoke it server-side."""
    # Revoked server-side too: a copy of the cookie (another browser, a proxy log) stops working now,
    # not when its signed expiry passes.
    cookie = request.cookies.get(ADMIN_COOKIE, "")
    expires = cookie.partition(".")[0]
    if expires.isdigit():
        site.revoke_admin_session(cookie, float(expires))
    response = RedirectResponse(str(request.url_for("admin")), status_code=303)
    response.delete_cookie(ADMIN_COOKIE, path="/admin")
    return response


def _submission_or_404(site, ref: str) -> Submission:
    submission = site.submission(ref) if len(ref) <= 64 else None
    if submission is None:
        raise SiteError(404, "There is no submission with this reference.")
    return submission


def _same_entry(a: Entry, b: Entry) -> bool:
    return (a.title, a.summary, a.category, a.tags, a.patterns, [(x.name, x.body) for x in a.sections]) == (
        b.title,
        b.summary,
        b.category,
        b.tags,
        b.patterns,
        [(x.name, x.body) for x in b.sections],
    )


def _finish_interrupted_approval(kb, site, submission: Submission) -> Entry | None:
    """The entry an earlier approval of this submission already published (its file written and
    indexed) before it could mark the submission approved, e.g. the process was killed or the disk
    filled up in between.  Marking that one approved, instead of approving again, keeps a retry from
    publishing a second copy under ``<slug>-2``."""
    if submission.status != "pending":
        return None
    wanted = submission_entry(submission)
    if wanted is None:
        return None
    base, claimed = slugify(wanted.title), site.approved_slugs()
    for slug in [base] + [f"{base}-{n}" for n in range(2, 100)]:
        published = kb.get(slug)
        if published is None:
            break
        if slug not in claimed and _same_entry(published, wanted):
            site.mark_approved(submission.ref, slug)
            return published
    return None


def _storage_problem(exc: Exception) -> str:
    """One line for a storage failure, naming what went wrong and that nothing was kept."""
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        what = "the disk is full"
    elif isinstance(exc, OSError) and exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        what = f"the entries folder or the database cannot be written ({exc.strerror or exc})"
    elif isinstance(exc, OSError):
        what = exc.strerror or str(exc)
    else:
        what = str(exc)
    return f"{what}; nothing was published, and the submission is still pending: retry once this is fixed"


def _detail(request: Request, kb, submission: Submission, error: str | None = None, status_code: int = 200):
    entry = submission_entry(submission)
    matched, similar = duplicates(kb, Draft.from_dict(submission.data))
    if submission.slug:  # approved: the entry it became is not a duplicate of it (review L10)
        matched = matched and bool(similar) and similar[0].slug != submission.slug
        similar = [r for r in similar if r.slug != submission.slug]
    return render(
        request,
        "admin_detail.html",
        {
            "submission": submission,
            "preview": entry_view(entry) if entry else None,
            "duplicates": similar,
            "dup_matched": matched,
            "error": error,
        },
        status_code=status_code,
        headers={"Cache-Control": "no-store"},
    )


@router.get("/admin/submissions/{ref}", response_class=HTMLResponse, name="admin_submission")
def admin_submission(request: Request, ref: str, settings: AppSettings, auth: AdminAuth, site: Site, kb: KB):
    """One submission with its preview and flags, for a moderator."""
    if not settings.admin_token or auth is None:
        return RedirectResponse(str(request.url_for("admin")), status_code=303)
    return _detail(request, kb, _submission_or_404(site, ref))


@router.post("/admin/submissions/{ref}/approve", name="admin_approve")
def admin_approve(request: Request, ref: str, _admin: AdminAction, kb: KB, site: Site, settings: AppSettings):
    """Approve a submission (409 when it cannot be, 503 on a storage failure; nothing half-written)."""
    submission = _submission_or_404(site, ref)
    try:
        entry = _finish_interrupted_approval(kb, site, submission) or approve(kb, site, settings, ref)
    except ModerationError as exc:
        return _detail(request, kb, site.submission(ref) or submission, f"Not approved: {exc}.", 409)
    except (OSError, sqlite3.Error) as exc:
        # A full disk, a read-only entries folder, a locked database: the approval was undone
        # (``KnowledgeBase.add_entry`` removes its file), so the moderator can simply retry.
        return _detail(request, kb, site.submission(ref) or submission, f"Not approved: {_storage_problem(exc)}.", 503)
    return RedirectResponse(f"{request.url_for('admin')}?done=approved&slug={entry.slug}", status_code=303)


@router.post("/admin/submissions/{ref}/reject", name="admin_reject")
def admin_reject(
    request: Request, ref: str, _admin: AdminAction, kb: KB, site: Site, reason: Annotated[str, Form()] = ""
):
    """Reject a submission with a reason (409 or 422 when it cannot be)."""
    submission = _submission_or_404(site, ref)
    try:
        reject(site, ref, reason)
    except ModerationError as exc:
        return _detail(
            request,
            kb,
            site.submission(ref) or submission,
            f"Not rejected: {exc}.",
            409 if submission.status != "pending" else 422,
        )
    return RedirectResponse(f"{request.url_for('admin')}?done=rejected", status_code=303)
