"""``connect(target)``: the knowledge base to read, on this machine or on a team server.

``SYNAPSE_URL=https://team-server`` (and optionally ``SYNAPSE_API_KEY``) sends ``synapse search``,
``match``, ``show``, the hook and ``synapse mcp`` to the server; without it they read the local index.
Falling back is the caller's policy, not hidden in the client: the CLI and the MCP server pass
``fallback=`` (open the local index) and get one line through ``notify`` when the server cannot be
reached; the hook passes its own quiet fallback and a time budget.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from synapse_ai.kb.config import SERVER_URL_ENV, Config  # the settings' names live in kb/config.py
from synapse_ai.kb.reader import KnowledgeReader, ServerUnreachable


def server_url(config: Config | None = None) -> str | None:
    """The team server from ``config.server_url`` (``$SYNAPSE_URL``; None when unset or empty).

    Raises ``ValueError`` for a value that is not an http(s) URL with a host: read as a path it would
    quietly create a database named after the server."""
    url = ((config if config is not None else Config.from_env()).server_url or "").strip()
    if url and not (is_remote(url) and url.split("://", 1)[1].strip("/")):
        raise ValueError(f"{SERVER_URL_ENV} must be an http:// or https:// URL, e.g. https://team-server (got {url!r})")
    return url or None


def is_remote(target: Any) -> bool:
    """Whether ``target`` is a str starting with ``http://`` or ``https://`` (any case). Raises nothing of its own."""
    return isinstance(target, str) and target.lower().startswith(("http://", "https://"))


def connect(
    target: str | Path | None = None,
    *,
    api_key: str | None = None,
    timeout: float | None = None,
    budget: float | None = None,
    fallback: Callable[[], KnowledgeReader] | None = None,
    notify: Callable[[str], None] | None = None,
    config: Config | None = None,
) -> KnowledgeReader:
    """A reader for ``target``: an ``http(s)://`` URL gives a ``RemoteKnowledgeBase`` (the key from
    ``api_key`` or ``$SYNAPSE_API_KEY``); anything else is a local database opened with
    ``KnowledgeBase.open``; None means ``$SYNAPSE_URL`` if set, else the default local database.

    With ``fallback``, a remote reader answers from ``fallback()`` once the server cannot be reached
    (``ServerUnreachable``), after one call of ``notify`` with the reason.  A server that answers
    and refuses (a bad key, another API version) is not fallen back from: that is for the user to fix.
    ``config`` holds the settings (None: ``Config.from_env()``, read once).
    """
    config = config if config is not None else Config.from_env()
    target = target if target is not None else server_url(config)
    if is_remote(target):
        from synapse_ai.kb.remote import DEFAULT_TIMEOUT, RemoteKnowledgeBase

        remote = RemoteKnowledgeBase(
            str(target),
            api_key=api_key if api_key is not None else config.api_key,
            timeout=DEFAULT_TIMEOUT if timeout is None else timeout,
            budget=budget,
        )
        return FallbackReader(remote, fallback, notify) if fallback is not None else remote
    from synapse_ai.kb.service import KnowledgeBase

    return KnowledgeBase.open(target, config=config)


class FallbackReader:
    """A remote reader that switches to a local one for good when the server cannot be reached."""

    def __init__(
        self, remote: Any, open_local: Callable[[], KnowledgeReader], notify: Callable[[str], None] | None
    ) -> None:
        self.remote = remote
        self._open_local = open_local
        self._notify = notify
        self.local: KnowledgeReader | None = None

    def _call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        if self.local is None:
            try:
                return getattr(self.remote, name)(*args, **kwargs)
            except ServerUnreachable as exc:
                if self._notify is not None:
                    self._notify(f"{exc}; answering from the local index")
                self.local = self._open_local()
        return getattr(self.local, name)(*args, **kwargs)

    def search(self, query: str, limit: int = 5, **options: Any):
        """``search`` on the server, or the local index once it is unreachable;
        raises the readers' errors except ``ServerUnreachable``."""
        return self._call("search", query, limit, **options)

    def match(self, error_text: str, limit: int = 5, **options: Any):
        """``match`` on the server, or the local index once it is unreachable;
        raises the readers' errors except ``ServerUnreachable``."""
        return self._call("match", error_text, limit, **options)

    def get(self, slug: str):
        """The entry ``slug`` (or None) from the server, else the local index;
        raises the readers' errors except ``ServerUnreachable``."""
        return self._call("get", slug)

    def require(self, slug: str):
        """The entry ``slug`` from the server, else the local index; raises
        ``EntryNotFound`` and the readers' other errors."""
        return self._call("require", slug)

    def markdown(self, slug: str):
        """Entry ``slug``'s Markdown (or None) from the server, else the local index;
        raises the readers' errors except ``ServerUnreachable``."""
        return self._call("markdown", slug)

    def nearest_slugs(self, slug_like: str, n: int = 3) -> list[str]:
        """Up to ``n`` slugs close to ``slug_like``, server first, else the local index; raises the readers' errors."""
        return self._call("nearest_slugs", slug_like, n)

    def post_json(self, path: str, body: dict, **options: Any) -> Any:
        """Writes go to the server only: a local index has no one to confirm to."""
        return self.remote.post_json(path, body, **options)

    def close(self) -> None:
        """Close the remote reader and the local one if it was opened; raises whatever their ``close`` raises."""
        self.remote.close()
        if self.local is not None:
            self.local.close()
