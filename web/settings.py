"""Settings for the web site, read once when the app is built.

Everything has a safe default so ``synapse serve`` works with no configuration: the embedded SQLite
database, the shipped entries plus the local entries folder, and moderation switched off until an
admin token is set.  The settings every program shares (data folder, database, model, ...) are the
embedded ``synapse_ai.kb.config.Config``; only what the site alone needs is declared here.

``synapse serve --reload`` runs the app in a worker process that uvicorn starts by import string, so
it cannot hand over an object: it hands over ``Settings.to_json()`` in one environment variable
(``SETTINGS_ENV``), and the worker's ``create_app_from_env`` rebuilds the same settings from it.
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from synapse_ai.kb.config import DB_ENV, Config, env_text

ENTRIES_ENV = "SYNAPSE_WEB_ENTRIES"  # os.pathsep-separated entry folders (set by ``synapse serve --entries``)
SETTINGS_ENV = "SYNAPSE_SERVE_SETTINGS"  # Settings.to_json(), set by ``synapse serve --reload`` for its worker
PUBLIC_URL_ENV = "SYNAPSE_PUBLIC_URL"  # the site's address for links (``synapse serve`` defaults it to --host/--port)
TRUSTED_PROXIES_ENV = "SYNAPSE_TRUSTED_PROXIES"  # comma-separated IPs/CIDRs whose X-Forwarded-For is believed
DEFAULT_PUBLIC_URL = "http://127.0.0.1:8000"  # what ``synapse serve`` listens on with no options


def _env_int(name: str, default: int) -> int:
    try:
        return int(os.environ.get(name, default))
    except ValueError:
        return default


def _env_flag(name: str, default: bool) -> bool:
    value = os.environ.get(name, "").strip().lower()
    return default if not value else value not in ("0", "false", "no", "off")


@dataclass
class Settings:
    db: Path | None = None  # None: KnowledgeBase.open decides ($SYNAPSE_DATABASE_URL, $SYNAPSE_DB, the data dir)
    entries_dirs: list[Path] | None = None  # None: shipped entries + local entries folder
    write_dir: Path | None = None  # where approved entries go; None: config.entries_dir
    site_url: str | None = None  # submissions and stars; None: the knowledge base's database (file or PostgreSQL)
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
    # API keys (web/auth.py): reading without a key unless SYNAPSE_ANONYMOUS_READ=0; per-key limits.
    anonymous_read: bool = field(default_factory=lambda: _env_flag("SYNAPSE_ANONYMOUS_READ", True))
    key_rate_limit: int = field(default_factory=lambda: _env_int("SYNAPSE_KEY_RATE_LIMIT", 600))  # requests/minute
    key_propose_limit: int = field(default_factory=lambda: _env_int("SYNAPSE_KEY_PROPOSE_LIMIT", 20))  # per window
    config: Config = field(default_factory=Config.from_env)  # the settings every program shares

    @property
    def approved_entries_dir(self) -> Path:
        """Where approved submissions are written: ``write_dir``, else the configured local entries folder."""
        return Path(self.write_dir) if self.write_dir else self.config.entries_dir

    @classmethod
    def from_env(cls, **options) -> Settings:
        """The settings from the ``SYNAPSE_*`` environment, with a command's ``options`` (None values
        ignored) on top: ``db`` (``$SYNAPSE_DB``) and ``entries_dirs`` (``$SYNAPSE_WEB_ENTRIES``) included.
        Raises TypeError for an option that is not a field."""
        db = env_text(DB_ENV)
        dirs = env_text(ENTRIES_ENV)
        values = {
            "db": Path(db) if db else None,
            "entries_dirs": [Path(d) for d in dirs.split(os.pathsep) if d] if dirs else None,
        }
        values.update({name: value for name, value in options.items() if value is not None})
        return cls(**values)

    def to_json(self) -> str:
        """Every field as JSON (paths as strings), for ``from_json`` in another process."""
        data = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, Config):
                value = value.to_dict()
            elif isinstance(value, Path):
                value = str(value)
            elif isinstance(value, list):
                value = [str(item) if isinstance(item, Path) else item for item in value]
            data[f.name] = value
        return json.dumps(data)

    @classmethod
    def from_json(cls, text: str) -> Settings:
        """The inverse of ``to_json``.  Raises ValueError for text that is not such JSON."""
        try:
            data = json.loads(text)
            data["config"] = Config.from_dict(data["config"])
            for name in ("db", "write_dir"):
                if data.get(name) is not None:
                    data[name] = Path(data[name])
            if data.get("entries_dirs") is not None:
                data["entries_dirs"] = [Path(d) for d in data["entries_dirs"]]
            return cls(**data)
        except (TypeError, KeyError, AttributeError) as exc:
            raise ValueError(f"not serialised Settings: {exc}") from None
