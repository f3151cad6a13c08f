"""Where things live: the shipped entries, the per-user data directory, the default database.

The shipped entries travel inside the wheel as ``synapse_ai/kb/_entries`` (see ``pyproject.toml``); in a source
checkout (editable install, tests) they are the repository's top-level ``entries/`` folder.  The
per-user places come from ``synapse_ai.kb.config.Config`` (read from the environment at each call here;
code that holds a ``Config`` reads its fields instead).
"""

from __future__ import annotations

import os
from pathlib import Path

from synapse_ai.kb.config import Config


def shipped_entries_dir() -> Path:
    """The entries that ship with the package (inside the wheel, or the checkout's ``entries/``)."""
    package_dir = Path(__file__).resolve().parent
    bundled = package_dir / "_entries"
    if bundled.is_dir():
        return bundled
    return package_dir.parent / "entries"


def data_dir() -> Path:
    """Per-user data directory (``SYNAPSE_HOME`` overrides; XDG on Linux, the platform's usual place elsewhere)."""
    return Config.from_env().home


def default_db_path() -> Path:
    """The SQLite index file (``SYNAPSE_DB`` overrides; ``synapse.db`` in the data directory)."""
    return Config.from_env().db_path


def model_cache_dir() -> Path:
    """Where the numpy export of the embedding model is cached."""
    return Config.from_env().model_cache_dir


def write_text_atomically(target: Path, text: str) -> None:
    """Write ``text`` to ``target`` so that readers see the old file or the whole new one, never a
    part: a hidden temporary file beside it, flushed to disk, then renamed over it (removed again
    if anything fails)."""
    tmp = target.with_name(f".{target.name}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
