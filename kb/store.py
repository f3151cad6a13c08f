"""Compatibility name: the SQLite store now lives in ``synapse_ai.kb.stores.sqlite`` (see
``synapse_ai.kb.stores`` for the interface both backends share)."""

from synapse_ai.kb.stores.sqlite import (  # noqa: F401
    SCHEMA_MIGRATIONS,
    CorruptDatabase,
    DatabaseUnavailable,
    SqliteStore,
    Store,
    classify,
    file_lock,
    is_damage,
)
