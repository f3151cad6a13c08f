"""One entry: its page, its raw markdown, and the no-JS star form.

The star form says what it wants (``action=star`` or ``unstar``) instead of toggling blindly, so a
double-submitted form or a back-button resend cannot flip the star back.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse

from synapse_ai.kb.errors import EntryNotFound
from synapse_ai.kb.parse import SLUG_RE
from synapse_ai.kb.service import KnowledgeBase
from synapse_ai.web.deps import KB, ClientId, ClientIP, CsrfProtected, Limits, Site
from synapse_ai.web.entryview import entry_view
from synapse_ai.web.errors import SiteError
from synapse_ai.web.templating import render

router = APIRouter(include_in_schema=False)


def find_entry(kb: KnowledgeBase, slug: str):
    """The entry.  Raises ``EntryNotFound`` with the nearest slugs (a 404, as ``synapse_ai.web.errors``
    maps it; ``synapse show`` suggests the same ones); a long slug is echoed and matched by its first
    100 characters."""
    entry = kb.get(slug) if SLUG_RE.match(slug) else None
    if entry is None:
        raise EntryNotFound(slug[:100], kb.nearest_slugs(slug[:100]))
    return entry


MAX_PROMPT_CODE_LINES = 60  # a longer listing is cut: the prompt says where the rest is


def agent_prompts(entry, url: str) -> dict[int, str]:
    """Per fix option, a compact prompt for a coding agent: the error it is about, the quick fix,
    that option's first code block and the entry's address (for "copy for my agent")."""
    prompts = {}
    for option in entry.fix_options:
        lines = [f"Known fix for: {entry.title}"]
        if entry.quick_fix:
            lines.append(f"Quick fix: {entry.quick_fix}")
        lines.append(f"Chosen fix, option {option.number}: {option.title}")
        if option.code_blocks:
            block = option.code_blocks[0]
            code = block.code.rstrip("\n").split("\n")
            cut = len(code) > MAX_PROMPT_CODE_LINES
            lines += [f"```{block.language}", *code[:MAX_PROMPT_CODE_LINES], "```"]
            if cut:
                lines.append(f"(code cut at {MAX_PROMPT_CODE_LINES} lines; the rest is at the address below)")
        lines.append(f"Full entry (symptom, root cause, sources): {url}")
        prompts[option.number] = "\n".join(lines)
    return prompts


@router.get("/entries/{slug}.md", name="entry_raw")
def entry_raw(slug: str, kb: KB):
    """The entry's markdown source; 404 with close slugs when there is no such entry."""
    find_entry(kb, slug)
    return PlainTextResponse(kb.markdown(slug), media_type="text/markdown; charset=utf-8")


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
            "open_flags": site.open_entry_flags(slug),
            "related": kb.related(slug, 5),
            "prompts": agent_prompts(entry, str(request.url_for("entry", slug=slug))),
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
                raise SiteError(429, f"Too many stars from your address; try again in {wait} seconds.", headers={"Retry-After": str(wait)})
        site.star(slug, client)
    else:
        site.unstar(slug, client)
    return RedirectResponse(f"{request.url_for('entry', slug=slug)}#star", status_code=303)
