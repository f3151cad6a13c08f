"""web.settings embeds the shared Config and travels whole to a ``--reload`` worker; web.errors maps
every domain error to one HTTP status."""

from __future__ import annotations

import os

import pytest
from click.testing import CliRunner
from fastapi import FastAPI
from fastapi.testclient import TestClient

from synapse_ai.kb.config import Config
from synapse_ai.kb.errors import CorruptStore, DuplicateEntry, EntryNotFound, ModelUnavailable, SynapseError, UserError
from synapse_ai.kb.parse import EntryError
from synapse_ai.kb.stores.errors import DatabaseUnavailable
from synapse_ai.web import errors
from synapse_ai.web.settings import SETTINGS_ENV, Settings


def test_settings_embed_the_shared_config(monkeypatch, tmp_path):
    monkeypatch.setenv("SYNAPSE_ENTRIES_DIR", str(tmp_path / "approved"))
    monkeypatch.setenv("SYNAPSE_URL", "https://team.example")
    settings = Settings.from_env(db=tmp_path / "site.db")
    assert settings.config == Config.from_env()
    assert settings.config.server_url == "https://team.example"
    assert settings.db == tmp_path / "site.db" and settings.approved_entries_dir == tmp_path / "approved"
    assert Settings(write_dir=tmp_path / "w").approved_entries_dir == tmp_path / "w"


def test_settings_round_trip_through_json(tmp_path):
    settings = Settings(
        db=tmp_path / "a.db",
        entries_dirs=[tmp_path / "e1", tmp_path / "e2"],
        write_dir=tmp_path / "w",
        admin_token="t",
        secret_key="s",
        max_body_bytes=1234,
        submit_limit=2,
        secure_cookies=True,
    )
    assert Settings.from_json(settings.to_json()) == settings


@pytest.mark.parametrize("text", ["", "[]", '{"db": null}', '{"config": {"home": "/x"}}'])
def test_bad_serialised_settings_are_a_value_error(text):
    with pytest.raises(ValueError):
        Settings.from_json(text)


def test_reload_worker_gets_the_same_settings(monkeypatch, tmp_path):
    """``serve --reload`` hands its settings to the worker in one variable, and removes it after."""
    import uvicorn

    from synapse_ai.cli import main
    from synapse_ai.web.app import create_app_from_env

    seen = []

    def fake_run(app, **kw):
        seen.append((app, os.environ.get(SETTINGS_ENV)))

    monkeypatch.setattr(uvicorn, "run", fake_run)
    monkeypatch.setenv("SYNAPSE_ADMIN_TOKEN", "admin")
    monkeypatch.setenv("SYNAPSE_HEADER_TIMEOUT", "x")  # the command sets it; restored afterwards
    entries = tmp_path / "entries"
    entries.mkdir()
    result = CliRunner().invoke(main, ["serve", "--reload", "--db", str(tmp_path / "r.db"), "--entries", str(entries)])
    assert result.exit_code == 0, result.output
    [(target, serialised)] = seen
    assert target == "synapse_ai.web.app:create_app_from_env" and serialised
    assert SETTINGS_ENV not in os.environ and "SYNAPSE_DB" not in os.environ
    worker = Settings.from_json(serialised)
    assert worker.db == tmp_path / "r.db" and worker.entries_dirs == [entries.resolve()]
    assert worker.admin_token == "admin"
    monkeypatch.setenv(SETTINGS_ENV, serialised)
    assert create_app_from_env().state.settings == worker


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (EntryNotFound("x", ["y"]), 404),
        (DuplicateEntry("x"), 409),
        (EntryError([]), 422),
        (UserError("bad"), 400),
        (CorruptStore("damaged"), 503),
        (ModelUnavailable("no model"), 503),
        (DatabaseUnavailable("x.db", "locked", "database is locked"), 503),
        (SynapseError("other"), 500),
    ],
)
def test_each_domain_error_has_one_status(error, status):
    assert errors.status_for(error) == status


def test_a_subclass_takes_its_nearest_base_status():
    class Narrower(EntryNotFound):
        pass

    assert errors.status_for(Narrower("x")) == 404


@pytest.fixture
def failing_app():
    app = FastAPI()
    errors.install(app)
    raised = {
        "model": ModelUnavailable("cannot load the embedding model 'm' (SYNAPSE_MODEL)"),
        "entry": EntryNotFound("rate-limt", ["rate-limit-429"]),
    }

    @app.get("/api/v1/{what}")
    def api(what: str):
        raise raised[what]

    return TestClient(app, raise_server_exceptions=False)


def test_domain_errors_reach_an_api_client_as_json(failing_app):
    r = failing_app.get("/api/v1/model")
    assert r.status_code == 503
    assert r.json() == {"error": "cannot load the embedding model 'm' (SYNAPSE_MODEL)", "detail": None}
    r = failing_app.get("/api/v1/entry")
    assert r.status_code == 404
    assert r.json() == {"error": "There is no entry “rate-limt”.", "detail": {"did_you_mean": ["rate-limit-429"]}}
