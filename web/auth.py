"""Who is calling: API keys (``Authorization: Bearer syn_…``), their scopes and per-key rate limits.

* No header: anonymous.  Anonymous callers may read (search, entries, pages) unless
  ``SYNAPSE_ANONYMOUS_READ=0``; they may never confirm, flag or propose.
* A header with a key that is unknown or revoked is refused with 401 on every route, even where
  anonymous access would do: a caller who meant to authenticate should hear that it did not.
* The moderator's ``SYNAPSE_ADMIN_TOKEN`` as a bearer token acts with every scope (voter "admin").
* Errors follow RFC 6750: 401 with ``WWW-Authenticate: Bearer`` (``error="invalid_token"`` for a bad
  key), 403 with ``error="insufficient_scope"`` and the scope that was needed, in the site's JSON
  error shape.

Rate limits are per key (agents share addresses behind NAT; a key is who they are): every
authenticated request counts against ``Settings.key_rate_limit`` per minute, and proposals also
against ``key_propose_limit`` per ``submit_window``.  Both are counted in the site database
(``StoredRateLimiter``: one atomic claim per request), so replicas sharing the database share the limit
instead of each granting it in full.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from synapse_ai.web.errors import SiteError
from synapse_ai.web.keys import ApiKey, bearer_token, hash_key
from synapse_ai.web.security import ADMIN_COOKIE, StoredRateLimiter, check_admin_token
from synapse_ai.web.settings import Settings

REALM = 'Bearer realm="synapse"'
OPEN_PATHS = ("/admin", "/static/")  # the moderator pages have their own sign-in


@dataclass(frozen=True)
class Caller:
    key: ApiKey | None = None
    admin: bool = False

    @property
    def anonymous(self) -> bool:
        """True when the caller sent no key and is not the moderator; raises nothing."""
        return self.key is None and not self.admin

    @property
    def voter(self) -> str:
        """Whom the caller's confirmations and flags count for ("admin", the key's voter, or ""); raises nothing."""
        return "admin" if self.admin else self.key.voter if self.key else ""

    @property
    def label(self) -> str:
        """How the moderator sees who proposed something."""
        return "the moderator token" if self.admin else f"API key '{self.key.name}' ({self.key.id})" if self.key else ""

    def allows(self, scope: str) -> bool:
        """True when the caller may act with `scope` (the moderator may do anything); raises nothing."""
        return self.admin or (self.key is not None and self.key.allows(scope))


@dataclass
class KeyLimits:
    """Per-key limits, counted in the site store under the actions ``key_request`` and ``key_propose``
    with the key's id as the client."""

    requests: StoredRateLimiter
    proposals: StoredRateLimiter

    @classmethod
    def from_settings(cls, settings: Settings, site) -> KeyLimits:
        """The per-key request and proposal limiters from the settings, counted in `site`; raises nothing of its own."""
        return cls(
            StoredRateLimiter(site, "key_request", settings.key_rate_limit, 60),
            StoredRateLimiter(site, "key_propose", settings.key_propose_limit, settings.submit_window),
        )


def too_many(what: str, wait: int) -> SiteError:
    """The 429 SiteError (with Retry-After) for a key over its limit on `what`; returns it, raises nothing."""
    return SiteError(
        429,
        f"too many {what} with this key; try again in {wait} seconds",
        {"retry_after": wait},
        headers={"Retry-After": str(wait)},
    )


def identify(request: Request) -> Caller:
    """The caller of this request (worked out once per request, so the limit counts it once)."""
    cached = getattr(request.state, "caller", None)
    if cached is not None:
        return cached
    token = bearer_token(request.headers.get("authorization"))
    caller = Caller()
    if token is not None:
        settings: Settings = request.app.state.settings
        if check_admin_token(settings.admin_token, token):
            caller = Caller(admin=True)
        else:
            key = request.app.state.site.api_key_by_hash(hash_key(token))
            if key is None or not key.active:
                raise SiteError(
                    401,
                    "invalid or revoked API key",
                    {"hint": "create a key with `synapse keys create`"},
                    headers={"WWW-Authenticate": f'{REALM}, error="invalid_token"'},
                )
            wait = request.app.state.key_limits.requests.hit(key.id)
            if wait:
                raise too_many("requests", wait)
            caller = Caller(key=key)
    request.state.caller = caller
    return caller


def require_scope(scope: str):
    """A dependency that returns the ``Caller`` if its key has ``scope``; 401 or 403 otherwise."""

    def dependency(request: Request) -> Caller:
        caller = identify(request)
        if caller.anonymous:
            raise SiteError(
                401,
                f"this needs an API key with the '{scope}' scope (send Authorization: Bearer KEY)",
                {"required_scope": scope},
                headers={"WWW-Authenticate": REALM},
            )
        if not caller.allows(scope):
            raise SiteError(
                403,
                f"this API key lacks the '{scope}' scope",
                {"required_scope": scope, "scopes": list(caller.key.scopes)},
                headers={"WWW-Authenticate": f'{REALM}, error="insufficient_scope", scope="{scope}"'},
            )
        return caller

    return dependency


def _moderator_cookie(request: Request) -> bool:
    settings: Settings = request.app.state.settings
    cookie = request.cookies.get(ADMIN_COOKIE, "")
    signer = request.app.state.signer
    return bool(settings.admin_token and cookie and signer.check_admin_cookie(settings.admin_token, cookie))


def site_access(request: Request) -> None:
    """App-wide: check any key sent, and keep anonymous callers out when anonymous reading is off.

    Reads (GET, HEAD) then need the ``read`` scope; other methods need a valid key and check their
    own scope.  The moderator pages and static files are left to their own rules.
    """
    path = request.url.path
    if path.startswith(OPEN_PATHS):
        return
    caller = identify(request)
    settings: Settings = request.app.state.settings
    if settings.anonymous_read:
        return
    if caller.anonymous:
        if _moderator_cookie(request):
            return
        raise SiteError(
            401,
            "this server needs an API key to read (send Authorization: Bearer KEY)",
            {"required_scope": "read"},
            headers={"WWW-Authenticate": REALM},
        )
    if request.method in ("GET", "HEAD") and not caller.allows("read"):
        require_scope("read")(request)


SiteAccess = Depends(site_access)
Voter = Annotated[Caller, Depends(require_scope("vote"))]
Proposer = Annotated[Caller, Depends(require_scope("propose"))]
Moderator = Annotated[Caller, Depends(require_scope("moderate"))]
