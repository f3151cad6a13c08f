"""Builds the FastAPI application.  This module only wires things together; the pages live in
``synapse_ai.web.routes``, the defences in ``synapse_ai.web.security`` and the data access in ``kb`` and
``synapse_ai.web.sitestore`` (both opened from one database URL: a SQLite file, or PostgreSQL for a team).

The KnowledgeBase (and its query embedder, the expensive part) is loaded once in the lifespan and
kept on ``app.state`` so no request ever pays for it.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import Depends, FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool

from synapse_ai.kb import __version__
from synapse_ai.kb.paths import shipped_entries_dir
from synapse_ai.kb.service import KnowledgeBase
from synapse_ai.web import accesslog, errors, openapi_errors
from synapse_ai.web.auth import KeyLimits, SiteAccess
from synapse_ai.web.deps import Limiters
from synapse_ai.web.routes import api, edits, entries, feedback, feeds, moderation, pages, search, submit
from synapse_ai.web.security import (
    BodyLimitMiddleware,
    ClientAddressMiddleware,
    ClientIdMiddleware,
    ExpiredForm,
    HeadAsGetMiddleware,
    PublicUrlMiddleware,
    SecurityHeadersMiddleware,
    Signer,
    StoredRateLimiter,
    parse_networks,
    parse_public_url,
    refuse_unencodable_text,
)
from synapse_ai.web.settings import SETTINGS_ENV, Settings
from synapse_ai.web.sitestore import open_site_store

STATIC_DIR = Path(__file__).parent / "static"

DESCRIPTION = (
    "Search the SynapseAI knowledge base of fixes for errors and slowdowns in AI agents, read entries, "
    'star them and submit new solutions. Errors are JSON objects `{"error": str, "detail": any}`.'
)


def entry_dirs(settings: Settings) -> list[Path] | None:
    """The folders to index.  None lets ``KnowledgeBase.open`` choose (shipped + local entries, or
    what ``synapse index --entries`` remembered).  With explicit folders, the folder approved
    entries are written to is always added, so an approved entry is still indexed after a restart."""
    if settings.entries_dirs is None and settings.write_dir is None:
        return None
    dirs = list(settings.entries_dirs) if settings.entries_dirs is not None else [shipped_entries_dir()]
    write = settings.approved_entries_dir
    if write.resolve() not in [d.resolve() for d in dirs]:
        dirs.append(write)
    return dirs


def open_kb(settings: Settings) -> KnowledgeBase:
    """The knowledge base the settings describe; raises as ``KnowledgeBase.open`` does (CorruptStore, OSError)."""
    return KnowledgeBase.open(settings.db, entry_dirs(settings), config=settings.config)


async def expired_form(request, exc: ExpiredForm):
    """A form whose token expired (a restart, a lost cookie) comes back as typed with a note: the
    suggest-an-edit form and the submit form; any other form gets the usual 403 page."""
    if exc.form is not None and request.scope.get("endpoint") is edits.edit_post:
        return await run_in_threadpool(edits.expired_edit_form, request, exc.form)  # reads the entry's file
    return await submit.expired_form(request, exc)


def create_app(settings: Settings | None = None, *, kb_factory: Callable[[], KnowledgeBase] | None = None) -> FastAPI:
    """The site.  ``kb_factory`` (tests, embedding apps) replaces opening the KnowledgeBase from
    ``settings``; the app closes the KnowledgeBase it gets when it shuts down."""
    settings = settings or Settings()
    parse_public_url(settings.public_url)  # a wrong SYNAPSE_PUBLIC_URL stops the server here, with the reason

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        accesslog.install()  # here: uvicorn has configured its loggers by now
        kb = await run_in_threadpool(kb_factory or (lambda: open_kb(settings)))
        await run_in_threadpool(kb.query_embedder)  # load the model now, not on the first search
        # The site's rows live in the knowledge base's database unless settings name another one.
        site_url = settings.site_url or kb.store.url
        if site_url == ":memory:":
            raise RuntimeError("the web site needs a database file or server (submissions and stars are stored in it)")
        app.state.kb = kb
        app.state.site = site = await run_in_threadpool(open_site_store, site_url)
        # Counted in the database, atomically: simultaneous requests cannot all pass the check, on one
        # server or on replicas sharing the database.
        app.state.limiters = Limiters(
            submit=StoredRateLimiter(site, "submit", settings.submit_limit, settings.submit_window),
            star=StoredRateLimiter(site, "star", settings.star_limit, settings.submit_window),
            login=StoredRateLimiter(site, "login", settings.login_limit, settings.submit_window),
            page_feedback=StoredRateLimiter(site, "page_feedback", settings.star_limit, settings.submit_window),
        )
        app.state.key_limits = KeyLimits.from_settings(settings, site)
        try:
            yield
        finally:
            app.state.site.close()
            kb.close()

    app = FastAPI(
        title="SynapseAI",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,  # FastAPI's Swagger page loads from a CDN; /docs is our own offline page
        redoc_url=None,
        openapi_url="/openapi.json",
        # API keys (SYNAPSE_ANONYMOUS_READ=0 closes reading to keys); text that is not Unicode is a 422.
        dependencies=[SiteAccess, Depends(refuse_unencodable_text)],
    )
    app.state.settings = settings
    app.state.signer = Signer(settings.secret_key)
    # Added last = outermost: security headers wrap everything, including error pages; the client's
    # address and the public URL are settled before anything reads them.
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(ClientIdMiddleware, secure=settings.secure_cookies)
    app.add_middleware(PublicUrlMiddleware, public_url=settings.public_url)
    app.add_middleware(ClientAddressMiddleware, trusted=parse_networks(settings.trusted_proxies))
    app.add_middleware(HeadAsGetMiddleware)
    app.add_middleware(SecurityHeadersMiddleware)
    errors.install(app)
    openapi_errors.install(app)  # /openapi.json and /docs describe the error bodies really sent
    app.add_exception_handler(ExpiredForm, expired_form)  # the form again, as typed, not a 403 page
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    for module in (pages, search, entries, edits, submit, moderation, api, feeds):
        app.include_router(module.router)
    app.include_router(feedback.router)
    app.include_router(feedback.admin_router)
    return app


def create_app_from_env() -> FastAPI:
    """Factory for ``uvicorn --factory`` / ``synapse serve --reload``: the settings ``synapse serve``
    serialised (``SETTINGS_ENV``), else those of the environment."""
    serialised = os.environ.get(SETTINGS_ENV)
    return create_app(Settings.from_json(serialised) if serialised else Settings.from_env())
