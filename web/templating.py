"""The one ``Jinja2Templates`` of the site, with its filters and globals registered once.

Autoescape is on for every template, so a value only becomes markup through one of the filters from
``synapse_ai.web.rendering`` (which sanitise or escape first).  A context processor adds what every page needs:
the CSRF token for the visitor's forms and the category names.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import jinja2
from fastapi.templating import Jinja2Templates
from markupsafe import Markup
from starlette.requests import Request

from synapse_ai.kb import __version__
from synapse_ai.kb.model import CATEGORIES
from synapse_ai.web import rendering
from synapse_ai.web.tags import canonical_tags
from synapse_ai.web.urls import canonical_url

TEMPLATES_DIR = Path(__file__).parent / "templates"

# Display name and one-line description of each category (kb.model.CATEGORIES is the source of truth
# for which exist; a category missing here is shown by its slug).
CATEGORY_INFO: dict[str, tuple[str, str]] = {
    "api-errors": ("API errors", "HTTP errors and rejected requests from model APIs."),
    "tool-use": ("Tool use", "Tool calls, tool results and function arguments."),
    "agent-loops": ("Agent loops", "Loops that stall, repeat, or never stop."),
    "mcp": ("MCP", "Model Context Protocol servers, clients and transports."),
    "async-execution": ("Async execution", "Concurrency, parallel tool calls and event loops."),
    "token-cost": ("Token cost", "Context size, caching and wasted tokens."),
    "performance": ("Performance", "Latency and throughput of agents."),
    "output-handling": ("Output handling", "Parsing model output, JSON and structured output."),
}


def category_label(slug: str) -> str:
    """A category's display name (the slug when unknown)."""
    return CATEGORY_INFO.get(slug, (slug, ""))[0]


def category_description(slug: str) -> str:
    """A category's one-line description ("" when unknown)."""
    return CATEGORY_INFO.get(slug, ("", ""))[1]


def nice_date(value) -> str:
    """A datetime as ``YYYY-MM-DD HH:MM UTC``, a date as ISO; a string that is not a date stays as it is."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M UTC")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _site_context(request: Request) -> dict:
    state = request.app.state
    cid = getattr(request.state, "cid", "")
    signer = getattr(state, "signer", None)
    return {
        "csrf_token": signer.csrf_token(cid) if signer and cid else "",
        "all_categories": CATEGORIES,
        "version": __version__,
    }


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        markdown=rendering.render_markdown,
        inline_code=rendering.inline_code,
        snippet=rendering.highlight_snippet,
        plain=rendering.plain,
        category_label=category_label,
        category_description=category_description,
        nice_date=nice_date,
        code=lambda code, language="text": Markup(rendering.code_block_html(code, language)),
    )
    env.globals["canonical_url"] = canonical_url
    env.filters.update(canonical_tags=canonical_tags, link_slugs=rendering.link_slugs)
    return env


templates = Jinja2Templates(env=_environment(), context_processors=[_site_context])


def render(
    request: Request, name: str, context: dict | None = None, status_code: int = 200, headers: dict | None = None
):
    """Render a template with the site's context into an HTML response."""
    return templates.TemplateResponse(request, name, context or {}, status_code=status_code, headers=headers)
