"""Dependencies shared by the routers, as ``Annotated`` aliases.

The KnowledgeBase, the site store, the signer and the rate limiters are created once in the app's
lifespan and live on ``app.state``; routes ask for them by type here instead of reaching into the
app, so a test can build an app around any ``KnowledgeBase``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from synapse_ai.kb.service import KnowledgeBase
from synapse_ai.web.errors import SiteError, is_api
from synapse_ai.web.keys import hash_key
from synapse_ai.web.security import (
    ADMIN_COOKIE,
    CSRF_FIELD,
    CSRF_HEADER,
    ExpiredForm,
    RateLimiter,
    Signer,
    check_admin_token,
)
from synapse_ai.web.settings import Settings
from synapse_ai.web.sitestore import SiteStore


def get_kb(request: Request) -> KnowledgeBase:
    """The app's KnowledgeBase (opened once in the lifespan)."""
    return request.app.state.kb


def get_site(request: Request) -> SiteStore:
    """The app's SiteStore (submissions and stars)."""
    return request.app.state.site


def get_settings(request: Request) -> Settings:
    """The app's Settings."""
    return request.app.state.settings


def get_signer(request: Request) -> Signer:
    """The app's Signer (CSRF tokens and admin cookies)."""
    return request.app.state.signer


def get_client_id(request: Request) -> str:
    """The random id from the client cookie (set by ``ClientIdMiddleware``)."""
    return request.state.cid


def get_client_ip(request: Request) -> str:
    """The address rate limits are keyed by: the peer, or behind a proxy listed in
    ``SYNAPSE_TRUSTED_PROXIES`` the client it forwarded for (``security.ClientAddressMiddleware``)."""
    return request.client.host if request.client else "unknown"


@dataclass
class Limiters:
    submit: RateLimiter
    star: RateLimiter
    login: RateLimiter
    page_feedback: RateLimiter  # "This fixed it" / "Outdated" on entry pages


def get_limiters(request: Request) -> Limiters:
    """The app's rate limiters."""
    return request.app.state.limiters


KB = Annotated[KnowledgeBase, Depends(get_kb)]
Site = Annotated[SiteStore, Depends(get_site)]
AppSettings = Annotated[Settings, Depends(get_settings)]
TokenSigner = Annotated[Signer, Depends(get_signer)]
ClientId = Annotated[str, Depends(get_client_id)]
ClientIP = Annotated[str, Depends(get_client_ip)]
Limits = Annotated[Limiters, Depends(get_limiters)]


# ---------------------------------------------------------------------- CSRF
def _is_json(request: Request) -> bool:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    return content_type == "application/json" or (
        content_type.startswith("application/") and content_type.endswith("+json")
    )


async def csrf_protect(request: Request) -> None:
    """Refuse a state-changing request that another site could have made the browser send.

    * HTML forms must carry this client's signed token (hidden ``csrf_token`` field).
    * ``/api`` calls must send either the ``X-CSRF-Token`` header (the site's own JS) or a JSON
      ``Content-Type`` (scripts, agents).  A page on another origin can send neither without a CORS
      preflight, which this server never approves, so API clients need no token dance.
    """
    signer: Signer = request.app.state.signer
    cid = request.state.cid
    header = request.headers.get(CSRF_HEADER, "")
    if is_api(request):
        if header:
            if request.state.cid_from_cookie and signer.check_csrf(cid, header):
                return
            raise SiteError(403, "invalid CSRF token (X-CSRF-Token does not match this client's cookie)")
        if _is_json(request):
            return
        raise SiteError(403, "send Content-Type: application/json (or the X-CSRF-Token header from a site page)")
    token, form = header, None
    if not token:
        form = await request.form()  # cached: FastAPI has usually parsed it already
        token = str(form.get(CSRF_FIELD, ""))
    if not request.state.cid_from_cookie or not signer.check_csrf(cid, token):
        raise ExpiredForm(form)


CsrfProtected = Depends(csrf_protect)


# ---------------------------------------------------------------------- admin
def admin_auth(request: Request) -> str | None:
    """How the request proves it is the moderator: "bearer", "cookie", or None."""
    settings: Settings = request.app.state.settings
    if not settings.admin_token:
        return None
    header = request.headers.get("authorization", "")
    if header[:7].lower() == "bearer ":
        token = header[7:].strip()
        if check_admin_token(settings.admin_token, token):
            return "bearer"
        key = request.app.state.site.api_key_by_hash(hash_key(token))  # an API key with the moderate scope
        return "bearer" if key is not None and key.active and key.allows("moderate") else None
    cookie = request.cookies.get(ADMIN_COOKIE, "")
    if cookie and request.app.state.signer.check_admin_cookie(settings.admin_token, cookie):
        return None if request.app.state.site.admin_session_revoked(cookie) else "cookie"
    return None


AdminAuth = Annotated[str | None, Depends(admin_auth)]


async def admin_action(request: Request) -> str:
    """Guard for moderation POSTs: an admin, and (for cookie sessions) a valid CSRF token.

    A bearer header is not sent automatically by browsers, so it needs no CSRF token."""
    settings: Settings = request.app.state.settings
    if not settings.admin_token:
        raise SiteError(403, "Moderation is off: set SYNAPSE_ADMIN_TOKEN and restart the server.")
    how = admin_auth(request)
    if how is None:
        raise SiteError(401, "Sign in as the moderator first.", headers={"WWW-Authenticate": "Bearer"})
    if how == "cookie":
        await csrf_protect(request)
    return how


AdminAction = Annotated[str, Depends(admin_action)]
