"""The web site's own data: submissions, moderation decisions and stars (``SiteStore``).

The site owns its schema: each backend applies its own migration set, ``synapse.site``
(``web/sitestore/sqlite.py`` with sqlite-utils, ``web/sitestore/postgres.py`` with the numbered runner
in ``synapse_ai.kb.stores.pg_migrations``), so the knowledge base never defines web tables.
``open_site_store(url)`` takes the same URLs as ``synapse_ai.kb.stores.open_store``; by default the
site keeps its rows in the knowledge base's database (one file for one person, one PostgreSQL database
for a team, where every ``synapse serve`` replica reads and writes the same rows).

Tables added later for the site (API keys, confirmations, flags, rate-limit counters) belong to this
package's migration sets, one numbered migration per change, in both backends.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol, runtime_checkable

from synapse_ai.web.sitestore.records import Submission

__all__ = ["SiteStore", "Submission", "open_site_store"]


@runtime_checkable
class SiteStore(Protocol):
    """Every write commits before returning (a submission acknowledged to its author is stored), and
    moderation moves a submission out of ``pending`` at most once, whoever asks and on which replica."""

    url: str

    def close(self) -> None: ...
    def add_submission(self, title: str, data: dict, markdown: str, flags: list[dict], contact: str = "") -> str: ...
    def submission(self, ref: str) -> Submission | None: ...
    def submissions(self, status: str | None = None, limit: int = 200) -> list[Submission]: ...
    def submission_counts(self) -> dict[str, int]: ...
    def mark_approved(self, ref: str, slug: str) -> bool: ...
    def approved_slugs(self) -> set[str]: ...
    def mark_rejected(self, ref: str, reason: str) -> bool: ...
    def star(self, slug: str, client_id: str) -> bool: ...
    def unstar(self, slug: str, client_id: str) -> bool: ...
    def is_starred(self, slug: str, client_id: str) -> bool: ...
    def starred_by(self, client_id: str) -> set[str]: ...
    def star_count(self, slug: str) -> int: ...
    def star_counts(self) -> dict[str, int]: ...
    def most_starred(self, n: int = 5) -> list[tuple[str, int]]: ...


def open_site_store(url: str | Path) -> SiteStore:
    """``postgresql://...`` -> ``PostgresSiteStore``; a path or ``sqlite:`` URL -> ``SqliteSiteStore``."""
    from synapse_ai.kb.stores import is_postgres_url, sqlite_path

    if is_postgres_url(str(url)):
        from synapse_ai.web.sitestore.postgres import PostgresSiteStore

        return PostgresSiteStore(str(url))
    from synapse_ai.web.sitestore.sqlite import SqliteSiteStore

    return SqliteSiteStore(sqlite_path(url))
