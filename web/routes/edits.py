"""Suggest an edit to an entry, follow it, moderate it, and read an entry's history.

``/entries/{slug}/edit`` shows the entry's markdown file in a form; "Preview" shows the diff and
any problem, "Send" queues it (the submission rate limit applies).  The moderator reviews the diff
at ``/admin/edits`` and approves (the entry file is rewritten, see ``synapse_ai.web.revisions``) or
rejects with a reason the editor sees on the edit's status page.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from synapse_ai.web import revisions
from synapse_ai.web.deps import KB, AdminAction, AdminAuth, AppSettings, ClientIP, CsrfProtected, Limits, Site
from synapse_ai.web.errors import SiteError
from synapse_ai.web.revisions import MAX_AUTHOR_CHARS, MAX_EDIT_CHARS, MAX_NOTE_CHARS, RevisionError
from synapse_ai.web.routes.entries import find_entry
from synapse_ai.web.routes.submit import EXPIRED_NOTE, _preview_limiter
from synapse_ai.web.sitestore import Revision, SiteStore
from synapse_ai.web.templating import render

router = APIRouter(include_in_schema=False)
NO_STORE = {"Cache-Control": "no-store"}


def _edit_page(request: Request, entry, base: str, markdown: str, author: str = "", note: str = "", **extra):
    context = {
        "entry": entry,
        "markdown": markdown,
        "author": author,
        "note": note,
        "errors": [],
        "diff": None,
        "flags": [],
        "limits": {"markdown": MAX_EDIT_CHARS, "author": MAX_AUTHOR_CHARS, "note": MAX_NOTE_CHARS},
        "base": base,
    }
    status_code = extra.pop("status_code", 200)
    return render(request, "edit.html", context | extra, status_code=status_code, headers=NO_STORE)


def _file_text(kb, entry) -> str:
    """The entry's file, or a clear 409 when it cannot be read."""
    try:
        return revisions.entry_file_text(kb, entry)
    except RevisionError as exc:
        raise SiteError(409, f"This entry cannot be edited here: {exc}.") from exc


def expired_edit_form(request: Request, form) -> HTMLResponse:
    """An edit form sent with a token that no longer verifies comes back with what was typed and a
    note (as the submit form does), with a fresh token, instead of a 403 page that loses the text."""
    entry = find_entry(request.app.state.kb, request.path_params.get("slug", ""))
    typed = {name: str(form.get(name, "")) for name in ("markdown", "author", "note")}
    base = _file_text(request.app.state.kb, entry)
    return _edit_page(request, entry, base, **typed, errors=[EXPIRED_NOTE], status_code=403)


@router.get("/entries/{slug}/edit", response_class=HTMLResponse, name="edit_entry")
def edit_form(request: Request, slug: str, kb: KB):
    entry = find_entry(kb, slug)
    base = _file_text(kb, entry)
    return _edit_page(request, entry, base, base)


@router.post("/entries/{slug}/edit", response_class=HTMLResponse, name="edit_entry_post", dependencies=[CsrfProtected])
def edit_post(
    request: Request,
    slug: str,
    kb: KB,
    site: Site,
    ip: ClientIP,
    limits: Limits,
    markdown: Annotated[str, Form()] = "",
    author: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "",
    action: Annotated[Literal["preview", "send"], Form()] = "preview",
):
    entry = find_entry(kb, slug)
    base = _file_text(kb, entry)
    page = {"author": author, "note": note}
    if action == "preview":
        wait = _preview_limiter(request).hit(ip)  # previews cost a validation too: the same limit as the form's
        if wait:
            note_text = f"You have asked for many previews in a short time. Wait {wait} seconds; your text is kept."
            return _edit_page(request, entry, base, markdown, **page, errors=[note_text], status_code=429)
        check = revisions.check_edit(entry, base, markdown)
        return _edit_page(
            request,
            entry,
            base,
            markdown,
            **page,
            errors=check.errors,
            flags=check.flags,
            diff=revisions.diff_lines(base, markdown.replace("\r\n", "\n")),
        )
    wait = limits.submit.hit(ip)
    if wait:
        note_text = f"You have sent several suggestions in a short time. Please wait {wait} seconds; your text is kept."
        return _edit_page(request, entry, base, markdown, **page, errors=[note_text], status_code=429)
    ref, check = revisions.suggest(site, entry, base, markdown, author, note)
    if ref is None:
        diff = revisions.diff_lines(base, markdown.replace("\r\n", "\n"))
        return _edit_page(request, entry, base, markdown, **page, errors=check.errors, diff=diff, status_code=422)
    return RedirectResponse(f"{request.url_for('edit_status', ref=ref)}?sent=1", status_code=303)


def _revision_or_404(site: SiteStore, ref: str) -> Revision:
    revision = site.revision(ref) if len(ref) <= 64 else None
    if revision is None:
        raise SiteError(404, "There is no suggested edit with this reference. Check the link you were given.")
    return revision


@router.get("/edits/{ref}", response_class=HTMLResponse, name="edit_status")
def edit_status(request: Request, ref: str, site: Site, sent: int = 0):
    revision = _revision_or_404(site, ref)
    context = {"revision": revision, "diff": revisions.diff_lines(revision.base, revision.markdown), "sent": bool(sent)}
    return render(request, "edit_status.html", context, headers={"X-Robots-Tag": "noindex"})


@router.get("/entries/{slug}/history", response_class=HTMLResponse, name="entry_history")
def entry_history(request: Request, slug: str, kb: KB, site: Site):
    entry = find_entry(kb, slug)
    return render(request, "history.html", {"entry": entry, "revisions": revisions.history(site, slug)})


# ---------------------------------------------------------------------- moderation
@router.get("/admin/edits", response_class=HTMLResponse, name="admin_edits")
def admin_edits(request: Request, settings: AppSettings, auth: AdminAuth, site: Site, done: str = ""):
    if not settings.admin_token or auth is None:
        return RedirectResponse(str(request.url_for("admin")), status_code=303)
    context = {
        "pending": site.revisions(status="pending"),
        "decided": [r for r in site.revisions(limit=20) if r.status != "pending"],
        "done": done if done in ("approved", "rejected") else "",
    }
    return render(request, "admin_edits.html", context, headers=NO_STORE)


def _admin_detail(request: Request, revision: Revision, error: str | None = None, status_code: int = 200):
    context = {"revision": revision, "diff": revisions.diff_lines(revision.base, revision.markdown), "error": error}
    return render(request, "admin_edit.html", context, status_code=status_code, headers=NO_STORE)


@router.get("/admin/edits/{ref}", response_class=HTMLResponse, name="admin_edit")
def admin_edit(request: Request, ref: str, settings: AppSettings, auth: AdminAuth, site: Site):
    if not settings.admin_token or auth is None:
        return RedirectResponse(str(request.url_for("admin")), status_code=303)
    return _admin_detail(request, _revision_or_404(site, ref))


@router.post("/admin/edits/{ref}/approve", name="admin_edit_approve")
def admin_edit_approve(request: Request, ref: str, _admin: AdminAction, kb: KB, site: Site):
    revision = _revision_or_404(site, ref)
    try:
        revisions.approve(kb, site, ref)
    except RevisionError as exc:
        return _admin_detail(request, site.revision(ref) or revision, f"Not approved: {exc}.", 409)
    return RedirectResponse(f"{request.url_for('admin_edits')}?done=approved", status_code=303)


@router.post("/admin/edits/{ref}/reject", name="admin_edit_reject")
def admin_edit_reject(request: Request, ref: str, _admin: AdminAction, site: Site, reason: Annotated[str, Form()] = ""):
    revision = _revision_or_404(site, ref)
    try:
        revisions.reject(site, ref, reason)
    except RevisionError as exc:
        status = 409 if revision.status != "pending" else 422
        return _admin_detail(request, site.revision(ref) or revision, f"Not rejected: {exc}.", status)
    return RedirectResponse(f"{request.url_for('admin_edits')}?done=rejected", status_code=303)
