"""``synapse_ai.kb.config.Config``: one reading of the ``SYNAPSE_*`` environment, options on top."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from synapse_ai.kb import paths
from synapse_ai.kb.config import DEFAULT_MODEL, Config

ROOT = Path(__file__).resolve().parents[2]


def test_defaults_follow_the_home_folder(tmp_path):
    config = Config.from_env({"SYNAPSE_HOME": str(tmp_path)})
    assert config.home == tmp_path
    assert config.db_path == tmp_path / "synapse.db"
    assert config.entries_dir == tmp_path / "entries"
    assert config.model_cache_dir == tmp_path / "models"
    assert config.model == DEFAULT_MODEL
    assert config.database_url is None and config.server_url is None and config.api_key is None


def test_every_variable_is_read(tmp_path):
    env = {
        "SYNAPSE_HOME": str(tmp_path / "home"),
        "SYNAPSE_DB": str(tmp_path / "other.db"),
        "SYNAPSE_DATABASE_URL": "postgresql://synapse@db/synapse",
        "SYNAPSE_ENTRIES_DIR": str(tmp_path / "mine"),
        "SYNAPSE_MODEL": "hash",
        "SYNAPSE_URL": "https://synapse.example.org",
        "SYNAPSE_API_KEY": "k-123",
    }
    config = Config.from_env(env)
    assert config.db_path == tmp_path / "other.db" and config.entries_dir == tmp_path / "mine"
    assert config.database_url == "postgresql://synapse@db/synapse" and config.model == "hash"
    assert config.server_url == "https://synapse.example.org" and config.api_key == "k-123"


def test_busy_timeout_is_read_and_kept_sane(tmp_path):
    home = {"SYNAPSE_HOME": str(tmp_path)}
    assert Config.from_env(home).busy_timeout == 30.0
    assert Config.from_env({**home, "SYNAPSE_BUSY_TIMEOUT": "1.5"}).busy_timeout == 1.5
    assert Config.from_env({**home, "SYNAPSE_BUSY_TIMEOUT": "-3"}).busy_timeout == 0.0
    assert Config.from_env({**home, "SYNAPSE_BUSY_TIMEOUT": "soon"}).busy_timeout == 30.0


def test_a_store_opened_with_a_config_waits_as_it_says(tmp_path):
    from synapse_ai.kb.service import KnowledgeBase

    config = Config.from_env({"SYNAPSE_HOME": str(tmp_path), "SYNAPSE_MODEL": "hash"}, busy_timeout=2.0)
    kb = KnowledgeBase.open(tmp_path / "kb.db", [], refresh=False, config=config)
    try:
        assert kb.store.busy_timeout == 2.0 and kb.config is config and kb.model_id == "hash"
    finally:
        kb.close()


def test_empty_variables_mean_unset(tmp_path):
    config = Config.from_env({"SYNAPSE_HOME": str(tmp_path), "SYNAPSE_DB": "", "SYNAPSE_MODEL": "", "SYNAPSE_URL": ""})
    assert config.db_path == tmp_path / "synapse.db" and config.model == DEFAULT_MODEL and config.server_url is None


def test_options_override_the_environment_and_none_changes_nothing(tmp_path):
    env = {"SYNAPSE_HOME": str(tmp_path), "SYNAPSE_DB": str(tmp_path / "env.db")}
    assert Config.from_env(env, db_path=None).db_path == tmp_path / "env.db"
    assert Config.from_env(env, db_path=str(tmp_path / "opt.db")).db_path == tmp_path / "opt.db"
    with pytest.raises(TypeError):
        Config.from_env(env, no_such_setting=1)


def test_frozen_and_the_key_stays_out_of_repr(tmp_path):
    config = Config.from_env({"SYNAPSE_HOME": str(tmp_path), "SYNAPSE_API_KEY": "secret-value"})
    with pytest.raises(AttributeError):
        config.model = "other"  # type: ignore[misc]
    assert "secret-value" not in repr(config)


def test_round_trip_through_json(tmp_path):
    import json

    env = {"SYNAPSE_HOME": str(tmp_path), "SYNAPSE_URL": "https://s.example", "SYNAPSE_API_KEY": "k"}
    config = Config.from_env(env)
    assert Config.from_dict(json.loads(config.to_json())) == config


def test_path_helpers_read_the_same_config(monkeypatch, tmp_path):
    monkeypatch.setenv("SYNAPSE_HOME", str(tmp_path))
    monkeypatch.setenv("SYNAPSE_ENTRIES_DIR", str(tmp_path / "approved"))
    from synapse_ai.kb.embed import configured_model
    from synapse_ai.kb.service import local_entries_dir

    config = Config.from_env()
    assert paths.data_dir() == config.home and paths.default_db_path() == config.db_path
    assert paths.model_cache_dir() == config.model_cache_dir
    assert local_entries_dir() == tmp_path / "approved" == config.entries_dir
    assert configured_model() == config.model == "hash"  # the test suite's SYNAPSE_MODEL


def test_the_db_option_reads_the_variable_config_reads():
    from synapse_ai.kb import config, options

    assert options.DB_ENV == config.DB_ENV


def test_importing_config_stays_cheap():
    """The hook imports it on every failed tool call: standard library only."""
    code = (
        "import sys; import synapse_ai.kb.config, synapse_ai.kb.errors;"
        "heavy = {'click', 'numpy', 'platformdirs', 'sqlite_utils', 'fastapi', 'pydantic'} & set(sys.modules);"
        "print(sorted(heavy))"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
