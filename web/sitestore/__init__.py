"""The web site's own data: submissions, moderation decisions and stars (``SiteStore``).

The site owns its schema: each backend applies its own migration set, ``synapse.site``
(``web/sitestore/sqlite.py`` with sqlite-utils, ``web/sitestore/postgres.py`` with the numbered runner
in ``synapse_ai.kb.stores.pg_migrations``), so the knowledge base never defines web tables.
``open_site_store(url)`` takes the same URLs as ``synapse_ai.kb.stores.open_store``; by default the
site keeps its rows in the knowledge base's database (one file for one person, one PostgreSQL database
for a team, where every ``synapse serve`` replica reads and writes the same rows).

Tables added for the site (API keys, confirmations and flags in m002; suggested edits in m003; rate limits
and revoked admin sessions in m004) belong to this package's migration sets, one numbered migration per
change, in both backends.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from synapse_ai.web.sitestore.records import Revision, Submission

if TYPE_CHECKING:
    from synapse_ai.kb.feedback import Feedback
    from synapse_ai.web.keys import ApiKey

__all__ = ["Revision", "SiteStore", "Submission", "open_site_store"]


@runtime_checkable
class SiteStore(Protocol):
    """Every write commits before returning (a submission acknowledged to its author is stored), and
    moderation moves a submission out of ``pending`` at most once, whoever asks and on which replica."""

    url: str

    def close(self) -> None:
        """Release the connection or pool. Raises nothing of its own."""
        ...

    def add_submission(self, title: str, data: dict, markdown: str, flags: list[dict], contact: str = "") -> str:
        """Store a pending submission and return its ref. Raises TypeError for non-JSON data/flags,
        else raises the backend's database error (sqlite3.Error; DatabaseUnavailable or psycopg.Error)."""
        ...

    def submission(self, ref: str) -> Submission | None:
        """The submission with this ref, or None.
        Raises the backend's database error (sqlite3.Error; DatabaseUnavailable or psycopg.Error)."""
        ...

    def submissions(self, status: str | None = None, limit: int = 200) -> list[Submission]:
        """Submissions newest first, optionally of one status, at most ``limit``.
        Raises the backend's database error (sqlite3.Error; DatabaseUnavailable or psycopg.Error)."""
        ...

    def submission_counts(self) -> dict[str, int]:
        """Submissions per status; pending, approved and rejected are always present.
        Raises the backend's database error (sqlite3.Error; DatabaseUnavailable or psycopg.Error)."""
        ...

    def mark_approved(self, ref: str, slug: str) -> bool:
        """pending → approved under ``slug``; False if it was not pending (moderated elsewhere).
        Raises the backend's database error (sqlite3.Error; DatabaseUnavailable or psycopg.Error)."""
        ...

    def approved_slugs(self) -> set[str]:
        """The entry slugs approved submissions were published under.
        Raises the backend's database error (sqlite3.Error; DatabaseUnavailable or psycopg.Error)."""
        ...

    def mark_rejected(self, ref: str, reason: str) -> bool:
        """pending → rejected with ``reason``; False if it was not pending (moderated elsewhere).
        Raises the backend's database error (sqlite3.Error; DatabaseUnavailable or psycopg.Error)."""
        ...

    def star(self, slug: str, client_id: str) -> bool:
        """Idempotent star by a client; returns whether a star was added.
        Raises the backend's database error (sqlite3.Error; DatabaseUnavailable or psycopg.Error)."""
        ...

    def unstar(self, slug: str, client_id: str) -> bool:
        """Remove the client's star; returns whether one was removed.
        Raises the backend's database error (sqlite3.Error; DatabaseUnavailable or psycopg.Error)."""
        ...

    def is_starred(self, slug: str, client_id: str) -> bool:
        """Whether this client starred the entry.
        Raises the backend's database error (sqlite3.Error; DatabaseUnavailable or psycopg.Error)."""
        ...

    def starred_by(self, client_id: str) -> set[str]:
        """Slugs of the entries this client starred.
        Raises the backend's database error (sqlite3.Error; DatabaseUnavailable or psycopg.Error)."""
        ...

    def star_count(self, slug: str) -> int:
        """Number of stars of one entry.
        Raises the backend's database error (sqlite3.Error; DatabaseUnavailable or psycopg.Error)."""
        ...

    def star_counts(self) -> dict[str, int]:
        """Number of stars per starred entry.
        Raises the backend's database error (sqlite3.Error; DatabaseUnavailable or psycopg.Error)."""
        ...

    def most_starred(self, n: int = 5) -> list[tuple[str, int]]:
        """The ``n`` most starred entries as (slug, stars), most first, ties by slug.
        Raises the backend's database error (sqlite3.Error; DatabaseUnavailable or psycopg.Error)."""
        ...

    def add_api_key(self, name: str, scopes: tuple[str, ...], key_hash: str, prefix: str) -> ApiKey:
        """Store a new API key by its hash and return it. Raises the backend's unique-violation error
        (sqlite3.IntegrityError; psycopg.errors.UniqueViolation) if ``key_hash`` is stored, else its database error."""
        ...

    def api_keys(self) -> list[ApiKey]:
        """Every API key, revoked ones included, oldest first.
        Raises the backend's database error (sqlite3.Error; DatabaseUnavailable or psycopg.Error)."""
        ...

    def api_key_by_hash(self, key_hash: str) -> ApiKey | None:
        """The API key with this sha256, revoked or not, or None.
        Raises the backend's database error (sqlite3.Error; DatabaseUnavailable or psycopg.Error)."""
        ...

    def revoke_api_key(self, key_id: str) -> bool:
        """Revoke a key; False when there is no such key or it was already revoked.
        Raises the backend's database error (sqlite3.Error; DatabaseUnavailable or psycopg.Error)."""
        ...

    def confirm(self, slug: str, voter: str) -> bool:
        """Idempotent: one confirmation per (entry, voter); returns whether one was added.
        Raises the backend's database error (sqlite3.Error; DatabaseUnavailable or psycopg.Error)."""
        ...

    def confirmation_count(self, slug: str) -> int:
        """Counted confirmations of one entry (revoked keys' confirmations left out).
        Raises the backend's database error (sqlite3.Error; DatabaseUnavailable or psycopg.Error)."""
        ...

    def has_confirmed(self, slug: str, voter: str) -> bool:
        """Whether this voter confirmed the entry.
        Raises the backend's database error (sqlite3.Error; DatabaseUnavailable or psycopg.Error)."""
        ...

    def add_entry_flag(self, slug: str, voter: str, reason: str, note: str) -> None:
        """Open a flag; one open flag per (entry, voter, reason), a repeat only replaces the note.
        Raises the backend's database error (sqlite3.Error; DatabaseUnavailable or psycopg.Error)."""
        ...

    def open_entry_flags(self, slug: str | None = None) -> list[dict]:
        """Open flags (all or of one entry), oldest first, without the voters.
        Raises the backend's database error (sqlite3.Error; DatabaseUnavailable or psycopg.Error)."""
        ...

    def resolve_entry_flags(self, slug: str, resolution: str) -> int:
        """Close every open flag of an entry; returns how many were closed.
        Raises the backend's database error (sqlite3.Error; DatabaseUnavailable or psycopg.Error)."""
        ...

    def feedback_for(self, slugs: Sequence[str]) -> dict[str, Feedback]:
        """Counted confirmations and open ``incorrect`` flags of these entries, for ranking.
        Raises the backend's database error (sqlite3.Error; DatabaseUnavailable or psycopg.Error)."""
        ...

    def confirmation_counts(self) -> dict[str, int]:
        """Counted confirmations of every confirmed entry.
        Raises the backend's database error (sqlite3.Error; DatabaseUnavailable or psycopg.Error)."""
        ...

    def add_revision(self, slug: str, base: str, markdown: str, author: str, note: str, flags: list[dict]) -> str:
        """Store a suggested edit as pending and return its ref. Raises TypeError for non-JSON flags,
        else raises the backend's database error (sqlite3.Error; DatabaseUnavailable or psycopg.Error)."""
        ...

    def revision(self, ref: str) -> Revision | None:
        """The suggested edit with this ref, or None.
        Raises the backend's database error (sqlite3.Error; DatabaseUnavailable or psycopg.Error)."""
        ...

    def revisions(self, *, status: str | None = None, slug: str | None = None, limit: int = 200) -> list[Revision]:
        """Suggested edits newest first, optionally of one status and/or one entry, at most ``limit``.
        Raises the backend's database error (sqlite3.Error; DatabaseUnavailable or psycopg.Error)."""
        ...

    def decide_revision(self, ref: str, status: str, reason: str = "") -> bool:
        """pending → ``status`` with ``reason``; False if it was not pending any more.
        Raises the backend's database error (sqlite3.Error; DatabaseUnavailable or psycopg.Error)."""
        ...

    # Rate limits: check and record in one transaction (``StoredRateLimiter`` in web/security.py).
    def claim_rate_slot(self, action: str, key: str, limit: int, window: float, now: float | None = None) -> float:
        """Atomically count one action if under ``limit`` in ``window`` s: 0.0, else seconds to wait.
        Raises the backend's database error (sqlite3.Error; DatabaseUnavailable or psycopg.Error)."""
        ...

    def rate_wait(self, action: str, key: str, limit: int, window: float, now: float | None = None) -> float:
        """Seconds until ``key`` may do ``action`` again, counting nothing (0.0: now).
        Raises the backend's database error (sqlite3.Error; DatabaseUnavailable or psycopg.Error)."""
        ...

    def forget_rate_events(self, older_than: float) -> int:
        """Drop rate events older than ``older_than`` (epoch seconds); returns how many.
        Raises the backend's database error (sqlite3.Error; DatabaseUnavailable or psycopg.Error)."""
        ...

    # Admin sign-out, revoked for every replica.
    def revoke_admin_session(self, cookie: str, expires: float) -> None:
        """Sign out this admin cookie on every replica until ``expires``.
        Raises the backend's database error (sqlite3.Error; DatabaseUnavailable or psycopg.Error)."""
        ...

    def admin_session_revoked(self, cookie: str) -> bool:
        """Whether this admin cookie was signed out.
        Raises the backend's database error (sqlite3.Error; DatabaseUnavailable or psycopg.Error)."""
        ...


def open_site_store(url: str | Path) -> SiteStore:
    """``postgresql://...`` -> ``PostgresSiteStore``; a path or ``sqlite:`` URL -> ``SqliteSiteStore``."""
    from synapse_ai.kb.stores import is_postgres_url, sqlite_path

    if is_postgres_url(str(url)):
        from synapse_ai.web.sitestore.postgres import PostgresSiteStore

        return PostgresSiteStore(str(url))
    from synapse_ai.web.sitestore.sqlite import SqliteSiteStore

    return SqliteSiteStore(sqlite_path(url))
