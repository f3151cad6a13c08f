"""web.cli: ``synapse serve`` options reach uvicorn and the app settings."""

from __future__ import annotations

import os

import pytest
from click.testing import CliRunner

from synapse_ai.kb.cli import main
from synapse_ai.web.cli import HEADER_TIMEOUT_ENV, HeaderTimeoutProtocol
from synapse_ai.web.settings import ENTRIES_ENV, PUBLIC_URL_ENV, TRUSTED_PROXIES_ENV


@pytest.fixture
def uvicorn_calls(monkeypatch):
    import uvicorn

    calls = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: calls.append((app, kw)))
    monkeypatch.delenv("SYNAPSE_ADMIN_TOKEN", raising=False)
    # The command sets these; restore them afterwards.
    for name in ("SYNAPSE_DB", ENTRIES_ENV, HEADER_TIMEOUT_ENV, PUBLIC_URL_ENV, TRUSTED_PROXIES_ENV):
        monkeypatch.setenv(name, "x")
        monkeypatch.delenv(name)
    return calls


def test_help_describes_every_option():
    result = CliRunner().invoke(main, ["serve", "--help"])
    assert result.exit_code == 0
    for option in (
        "--host",
        "--port",
        "--db",
        "--entries",
        "--reload",
        "--log-level",
        "--header-timeout",
        "--keep-alive-timeout",
        "--shutdown-timeout",
    ):
        assert option in result.output
    from synapse_ai.web.cli import serve_command

    assert all(p.help for p in serve_command.params if p.name != "help")


def test_serve_builds_the_app_from_the_options(uvicorn_calls, tmp_path):
    entries = tmp_path / "entries"
    entries.mkdir()
    result = CliRunner().invoke(
        main,
        ["serve", "--host", "0.0.0.0", "--port", "8123", "--db", str(tmp_path / "x.db"), "--entries", str(entries)],
    )
    assert result.exit_code == 0, result.output
    [(app, kw)] = uvicorn_calls
    assert kw["host"] == "0.0.0.0" and kw["port"] == 8123
    settings = app.state.settings
    assert settings.db == tmp_path / "x.db" and settings.entries_dirs == [entries.resolve()]
    assert "moderation is off" in result.output


def test_reload_uses_the_import_string_factory(uvicorn_calls):
    result = CliRunner().invoke(main, ["serve", "--reload"], env={"SYNAPSE_ADMIN_TOKEN": "t"})
    assert result.exit_code == 0, result.output
    [(app, kw)] = uvicorn_calls
    assert app == "synapse_ai.web.app:create_app_from_env" and kw["factory"] is True and kw["reload"] is True
    assert "moderation is off" not in result.output


def test_missing_entries_folder_is_a_usage_error(uvicorn_calls, tmp_path):
    result = CliRunner().invoke(main, ["serve", "--entries", str(tmp_path / "missing")])
    assert result.exit_code == 2 and not uvicorn_calls
    assert os.environ.get(ENTRIES_ENV) is None


def test_timeouts_reach_uvicorn(uvicorn_calls):
    result = CliRunner().invoke(
        main, ["serve", "--header-timeout", "2.5", "--keep-alive-timeout", "7", "--shutdown-timeout", "3"]
    )
    assert result.exit_code == 0, result.output
    [(_, kw)] = uvicorn_calls
    assert (
        kw["http"] is HeaderTimeoutProtocol and kw["timeout_keep_alive"] == 7 and kw["timeout_graceful_shutdown"] == 3
    )
    assert os.environ[HEADER_TIMEOUT_ENV] == "2.5"  # read by the protocol, also in a --reload worker


def test_default_timeouts_are_bounded(uvicorn_calls):
    assert CliRunner().invoke(main, ["serve"]).exit_code == 0
    [(_, kw)] = uvicorn_calls
    assert kw["timeout_graceful_shutdown"] == 10 and kw["timeout_keep_alive"] == 5
    assert float(os.environ[HEADER_TIMEOUT_ENV]) == 10.0
