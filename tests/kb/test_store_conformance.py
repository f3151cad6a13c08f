"""The store conformance suite (tests/kb/store_conformance.py) on SQLite and on a real PostgreSQL."""

from __future__ import annotations

import pytest

from synapse_ai.kb.stores import open_store
from tests.kb import store_conformance as conformance
from tests.pg import new_database


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request, tmp_path) -> str:
    return str(tmp_path / "kb.db") if request.param == "sqlite" else new_database()


@pytest.mark.parametrize("check", conformance.CHECKS, ids=lambda f: f.__name__.removeprefix("check_"))
def test_conformance(store_url, check):
    store = open_store(store_url)
    try:
        check(store)
    finally:
        store.close()


def test_index_lock(store_url):
    first, second = open_store(store_url), open_store(store_url)
    try:
        conformance.check_index_lock_excludes_a_second_holder(first, second)
    finally:
        first.close()
        second.close()


def test_reopening_applies_no_migration_twice(store_url):
    store = open_store(store_url)
    store.set_meta("kept", "yes")
    store.close()
    again = open_store(store_url)
    try:
        assert again.get_meta("kept") == "yes"
    finally:
        again.close()


def test_servers_starting_at_once_migrate_a_new_postgres_database_exactly_once():
    import threading

    import psycopg

    from synapse_ai.kb.stores.pg_migrations import kb_migrations

    url = new_database()
    stores, errors = [], []

    def start():
        try:
            stores.append(open_store(url))
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for store in stores:
        store.close()
    assert not errors and len(stores) == 4
    with psycopg.connect(url) as conn:
        rows = conn.execute("select name from _synapse_migrations where migration_set = 'synapse.kb'").fetchall()
    assert sorted(r[0] for r in rows) == sorted(kb_migrations.names)
