"""``KnowledgeReader``: the read API the CLI, the hook, the MCP server and the agent tools use.

Two things implement it: the local ``KnowledgeBase`` (an index on this machine) and
``RemoteKnowledgeBase`` (a team server's JSON API).  ``synapse_ai.kb.connect.connect`` picks one.
Both answer with the same ``SearchResponse`` and ``Entry`` objects, so a caller prints the same JSON
whichever it got.  This module imports nothing heavy: the hook and ``synapse search`` load it on
every call.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

from synapse_ai.kb.errors import SynapseError

if TYPE_CHECKING:
    from synapse_ai.kb.model import Entry
    from synapse_ai.kb.search import SearchResponse

# The JSON API's version.  A client refuses a server whose major version differs (one clear line)
# instead of misreading its answers; additions that old clients can ignore keep the version.
API_VERSION = "1"


@runtime_checkable
class KnowledgeReader(Protocol):
    """What reading the knowledge base takes, locally or over HTTP."""

    def search(self, query: str, limit: int = 5) -> SearchResponse:
        """At most ``limit`` ranked hits for ``query``; a remote reader raises ``RemoteError`` subclasses."""
        ...

    def match(self, error_text: str, limit: int = 5) -> SearchResponse:
        """At most ``limit`` entries matching ``error_text``; a remote reader raises ``RemoteError`` subclasses."""
        ...

    def get(self, slug: str) -> Entry | None:
        """The entry ``slug``, or None when there is none; a remote reader raises ``RemoteError`` subclasses."""
        ...

    def require(self, slug: str) -> Entry:
        """The entry ``slug``; raises ``EntryNotFound`` when there is none (remote: ``RemoteError`` too)."""
        ...

    def markdown(self, slug: str) -> str | None:
        """Entry ``slug``'s Markdown, or None when there is none; a remote reader raises ``RemoteError`` subclasses."""
        ...

    def nearest_slugs(self, slug_like: str, n: int = 3) -> list[str]:
        """Up to ``n`` existing slugs close to ``slug_like``; a remote reader raises ``RemoteError`` subclasses."""
        ...

    def close(self) -> None:
        """Release the reader's resources (database, connection)."""
        ...


class RemoteError(SynapseError):
    """A team server could not answer the request (the message says why, in one line: the CLI shows
    it as ``synapse: ...``, exit 1)."""


class ServerUnreachable(RemoteError):
    """No usable answer: refused or timed-out connection, an unknown host, a 5xx, a reply that is not
    ours.  Read commands then fall back to the local index."""


class ServerRefused(RemoteError):
    """The server answered and said no (4xx: a bad key, a missing scope, a too-large text)."""

    def __init__(self, status: int, message: str, detail=None) -> None:
        super().__init__(message)
        self.status = status
        self.detail = detail


class IncompatibleServer(RemoteError):
    """The server speaks another major version of the API."""
