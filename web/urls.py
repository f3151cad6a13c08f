"""Absolute URLs for links that leave the page: canonical links, the sitemap, the Atom feed.

One function decides where the site lives, so nothing else builds an absolute URL by hand.  Links are
built from the configured public address (``Settings.public_url``: ``SYNAPSE_PUBLIC_URL``, by default
the address ``synapse serve`` listens on), never from the ``Host`` header, which the client chooses
(``security.PublicUrlMiddleware`` does the same for ``url_for`` and redirects).
"""

from __future__ import annotations

from starlette.requests import Request


def site_base(request: Request) -> str:
    """The site's address without a trailing slash: the configured public URL."""
    return request.app.state.settings.public_url.strip().rstrip("/")


def absolute_url(request: Request, route: str, /, **params: str) -> str:
    """The absolute URL of the route named ``route`` (``request.url_for`` without trusting ``Host``)."""
    return site_base(request) + str(request.app.url_path_for(route, **params))


def canonical_url(request: Request) -> str:
    """This page's address without its query: the one URL search engines should index it under."""
    path, root = request.url.path, request.scope.get("root_path", "")
    if root and path.startswith(root) and site_base(request).endswith(root):
        path = path[len(root) :]  # the public URL already holds the prefix
    return site_base(request) + path
