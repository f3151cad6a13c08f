"""A real PostgreSQL 16 + pgvector for the tests, from the ``pgserver`` package (no network, no Docker).

One server per test process, started on first use in a temporary folder and stopped at exit; every
test that asks for ``postgres_url`` gets a database of its own.  As root (CI), pgserver runs postgres
as a ``pgserver`` system user it creates itself (postgres refuses to run as root).  Without the
``postgres`` test dependencies installed the Postgres variants are skipped with the reason.
"""

from __future__ import annotations

import atexit
import functools
import itertools
import shutil
import tempfile
import uuid
from pathlib import Path

import pytest

_names = itertools.count(1)


@functools.lru_cache(maxsize=1)
def _server():
    pgserver = pytest.importorskip("pgserver", reason="pgserver is not installed (pip install -e '.[test]')")
    pytest.importorskip("psycopg", reason="psycopg is not installed (pip install -e '.[test]')")
    folder = Path(tempfile.mkdtemp(prefix="synapse-pg-"))
    server = pgserver.get_server(folder / "data", cleanup_mode="stop")
    atexit.register(shutil.rmtree, folder, True)
    return server


def new_database() -> str:
    """The URL of a fresh, empty database on the test server."""
    import psycopg

    server = _server()
    name = f"t{next(_names)}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server.get_uri(), autocommit=True) as conn:
        conn.execute(f'create database "{name}"')
    return server.get_uri(name)


@pytest.fixture
def postgres_url() -> str:
    return new_database()
