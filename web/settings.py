"""Settings for the web site, read once when the app is built.

Everything has a safe default so ``synapse serve`` works with no configuration: the embedded SQLite
database, the shipped entries plus the local entries folder, and moderation switched off until an
admin token is set.  Environment variables exist so ``uvicorn --reload`` (which re-imports the app in a
child process) sees the same settings as the ``synapse serve`` that started it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

ENTRIES_ENV = "SYNAPSE_WEB_ENTRIES"  # os.pathsep-separated entry folders (set by ``synapse serve --entries``)
PUBLIC_URL_ENV = "SYNAPSE_PUBLIC_URL"  # the site's address for links (``synapse serve`` defaults it to --host/--port)
TRUSTED_PROXIES_ENV = "SYNAPSE_TRUSTED_PROXIES"  # comma-separated IPs/CIDRs whose X-Forwarded-For is believed
DEFAULT_PUBLIC_URL = "http://127.0.0.1:8000"  # what ``synapse serve`` listens on with no options


def _env_int(name: str, default: int) -> int:
    try:
        return int(os.environ.get(name, default))
    except ValueError:
        return default


@dataclass
class Settings:
    db: Path | None = None  # None: $SYNAPSE_DB or the per-user data dir (KnowledgeBase.open decides)
    entries_dirs: list[Path] | None = None  # None: shipped entries + local entries folder
    write_dir: Path | None = None  # where approved entries go; None: kb.service.local_entries_dir()
    admin_token: str | None = field(default_factory=lambda: os.environ.get("SYNAPSE_ADMIN_TOKEN") or None)
    # Signs CSRF tokens and the admin cookie.  Unset: a random key per process (forms and admin
    # sessions then expire on restart; a form sent after that is re-shown with its values and a note).
    secret_key: str | None = field(default_factory=lambda: os.environ.get("SYNAPSE_SECRET_KEY") or None)
    max_body_bytes: int = field(default_factory=lambda: _env_int("SYNAPSE_MAX_BODY", 256 * 1024))
    submit_limit: int = field(default_factory=lambda: _env_int("SYNAPSE_SUBMIT_LIMIT", 5))
    submit_window: int = 600  # seconds
    star_limit: int = 60  # star changes per client IP per window
    login_limit: int = 10  # admin login attempts per client IP per window
    secure_cookies: bool = field(default_factory=lambda: os.environ.get("SYNAPSE_SECURE_COOKIES", "") == "1")
    # Absolute links, redirects and the API's status_url are built from this, never from the request's
    # Host header (which the client chooses).  Scheme, host, optional port and optional path prefix.
    public_url: str = field(default_factory=lambda: os.environ.get(PUBLIC_URL_ENV) or DEFAULT_PUBLIC_URL)
    # Peers (reverse proxies) whose X-Forwarded-For names the real client; empty: the header is ignored.
    trusted_proxies: str = field(default_factory=lambda: os.environ.get(TRUSTED_PROXIES_ENV, ""))

    @classmethod
    def from_env(cls) -> "Settings":
        db = os.environ.get("SYNAPSE_DB")
        dirs = os.environ.get(ENTRIES_ENV)
        return cls(
            db=Path(db) if db else None,
            entries_dirs=[Path(d) for d in dirs.split(os.pathsep) if d] if dirs else None,
        )
