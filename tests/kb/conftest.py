"""kb test fixtures: ``postgres_url`` (a fresh database on a real PostgreSQL, tests/pg.py)."""

from tests.pg import postgres_url  # noqa: F401
