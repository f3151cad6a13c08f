"""One entry: its page, its raw markdown, and the no-JS star, "This fixed it" and "Outdated" forms.

The star form says what it wants (``action=star`` or ``unstar``) instead of toggling blindly, so a
double-submitted form or a back-button resend cannot flip the star back.  "This fixed it" and
"Outdated" store a confirmation and a ``stale`` flag with the voter ``site:<client cookie>``, in the
same tables as API-key feedback (one per identity; resending changes nothing).  They are not undone
by a second click: the button turns into a plain "You said this fixed it" mark, since a report is a
statement about the fix, not a bookmark to toggle.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse

from synapse_ai.kb.errors import EntryNotFound
from synapse_ai.kb.model import Entry
from synapse_ai.kb.parse import SLUG_RE
from synapse_ai.kb.service import KnowledgeBase
from synapse_ai.web.deps import KB, ClientId, ClientIP, CsrfProtected, Limits, Site
from synapse_ai.web.entryview import entry_view
from synapse_ai.web.errors import SiteError
from synapse_ai.web.feedback import MAX_NOTE_CHARS
from synapse_ai.web.rendering import SLUG_SPAN, plain
from synapse_ai.web.security import CLIENT_COOKIE
from synapse_ai.web.templating import render
from synapse_ai.web.urls import absolute_url

router = APIRouter(include_in_schema=False)


def find_entry(kb: KnowledgeBase, slug: str):
    """The entry.  Raises ``EntryNotFound`` with the nearest slugs (a 404, as ``synapse_ai.web.errors``
    maps it; ``synapse show`` suggests the same ones); a long slug is echoed and matched by its first
    100 characters."""
    entry = kb.get(slug) if SLUG_RE.match(slug) else None
    if entry is None:
        raise EntryNotFound(slug[:100], kb.nearest_slugs(slug[:100]))
    return entry


@router.get("/entries/{slug}.md", name="entry_raw")
def entry_raw(slug: str, kb: KB):
    """The entry's markdown source; 404 with close slugs when there is no such entry."""
    find_entry(kb, slug)
    return PlainTextResponse(kb.markdown(slug), media_type="text/markdown; charset=utf-8")


def agent_prompts(entry: Entry, url: str) -> list[tuple[str, str]]:
    """(label, text) per fix option: a compact prompt an agent can act on, the entry's quick fix
    plus that option's code (its prose is left out: the code and the quick fix carry the fix)."""
    head = [f"Apply this fix (SynapseAI: {url})", f"Problem: {plain(entry.title)}"]
    if entry.quick_fix:
        head.append(f"Quick fix: {plain(entry.quick_fix)}")
    prompts = []
    for option in entry.fix_options or []:
        lines = [*head, f"Fix option {option.number}: {plain(option.title)}"]
        for block in option.code_blocks:
            lines += [f"```{block.language}", block.code.rstrip("\n"), "```"]
        prompts.append((f"Option {option.number}: {plain(option.title)}", "\n".join(lines)))
    return prompts or [("Quick fix", "\n".join(head))]


def linked_slugs(request: Request, kb: KnowledgeBase, entry: Entry) -> dict[str, str]:
    """Pages of the other entries this entry names in inline code (only slugs that exist)."""
    named = {m.group(1) for s in entry.sections for m in SLUG_SPAN.finditer(s.body)} - {entry.slug}
    existing = [slug for slug in sorted(named) if kb.get(slug) is not None]
    return {slug: str(request.app.url_path_for("entry", slug=slug)) for slug in existing}


@router.get("/entries/{slug}", response_class=HTMLResponse, name="entry")
def entry_page(request: Request, slug: str, kb: KB, site: Site, client: ClientId):
    """The entry page; 404 with close slugs when there is no such entry."""
    entry = find_entry(kb, slug)
    return render(
        request,
        "entry.html",
        {
            "entry": entry,
            "view": entry_view(entry),
            "stars": site.star_count(slug),
            "starred": site.is_starred(slug, client),
            "confirmations": site.confirmation_count(slug),
            "confirmed": site.has_confirmed(slug, site_voter(client)),
            "open_flags": site.open_entry_flags(slug),
            "related": kb.related(slug, 5),
            "agent_prompts": agent_prompts(entry, absolute_url(request, "entry", slug=slug)),
            "slug_urls": linked_slugs(request, kb, entry),
        },
    )


@router.post("/entries/{slug}/star", name="star_form", dependencies=[CsrfProtected])
def star_form(
    request: Request,
    slug: str,
    kb: KB,
    site: Site,
    client: ClientId,
    ip: ClientIP,
    limits: Limits,
    action: Annotated[Literal["star", "unstar"], Form()] = "star",
):
    """Star or unstar from the entry page (CSRF-checked, rate-limited); 404 for an unknown entry."""
    find_entry(kb, slug)
    if action == "star":
        if not site.is_starred(slug, client):
            wait = limits.star.hit(ip)
            if wait:
                raise SiteError(
                    429,
                    f"Too many stars from your address; try again in {wait} seconds.",
                    headers={"Retry-After": str(wait)},
                )
        site.star(slug, client)
    else:
        site.unstar(slug, client)
    return RedirectResponse(f"{request.url_for('entry', slug=slug)}#star", status_code=303)


def site_voter(client: str) -> str:
    """The voter of feedback given on the entry page: the client cookie (``key:<id>`` is an API key)."""
    return f"site:{client}"


async def require_client_cookie(request: Request) -> None:
    """428 for a page-feedback form sent without the client cookie (checked before CSRF, as for API
    stars): a fresh id per request would make "one per identity" meaningless.  The cookie is set on
    this very response, so sending again from the page works."""
    if not request.state.cid_from_cookie:
        raise SiteError(
            428,
            f"Not counted: your browser sent no {CLIENT_COOKIE} cookie. It has just been set; send the form again.",
            detail={"retry_with_cookie": CLIENT_COOKIE},
        )


def _claim_feedback_slot(limits, ip: str) -> None:
    wait = limits.page_feedback.hit(ip)
    if wait:
        raise SiteError(
            429,
            f"Too many reports from your address; try again in {wait} seconds.",
            headers={"Retry-After": str(wait)},
        )


@router.post("/entries/{slug}/fixed", name="fixed_form", dependencies=[Depends(require_client_cookie), CsrfProtected])
def fixed_form(request: Request, slug: str, kb: KB, site: Site, client: ClientId, ip: ClientIP, limits: Limits):
    """The "This fixed it" form: one confirmation per client cookie (a resend changes nothing, and is not
    counted against the address cap); 404 for an unknown entry."""
    find_entry(kb, slug)
    voter = site_voter(client)
    if not site.has_confirmed(slug, voter):
        _claim_feedback_slot(limits, ip)
        site.confirm(slug, voter)
    return RedirectResponse(f"{request.url_for('entry', slug=slug)}#page-feedback", status_code=303)


@router.post(
    "/entries/{slug}/outdated", name="outdated_form", dependencies=[Depends(require_client_cookie), CsrfProtected]
)
def outdated_form(
    request: Request,
    slug: str,
    kb: KB,
    site: Site,
    client: ClientId,
    ip: ClientIP,
    limits: Limits,
    note: Annotated[str, Form(max_length=MAX_NOTE_CHARS)] = "",
):
    """The "Outdated" form: a ``stale`` flag for the moderation queue, one open per client cookie (sending
    again only replaces the note); 404 for an unknown entry."""
    find_entry(kb, slug)
    _claim_feedback_slot(limits, ip)
    site.add_entry_flag(slug, site_voter(client), "stale", note.strip())
    return RedirectResponse(f"{request.url_for('entry', slug=slug)}#open-flags", status_code=303)
