"""SiteStore's API keys, confirmations and entry flags (the site's migration m002): the same contract
on SQLite and on a real PostgreSQL."""

from __future__ import annotations

import sqlite3

import psycopg
import pytest

from synapse_ai.kb.feedback import DEMOTE_AT, Feedback
from synapse_ai.web.keys import ApiKey, bearer_token, check_scopes, hash_key, key_prefix, new_key
from synapse_ai.web.sitestore import open_site_store
from tests.pg import new_database


@pytest.fixture(params=["sqlite", "postgres"])
def site(request, db_path):
    store = open_site_store(db_path if request.param == "sqlite" else new_database())
    yield store
    store.close()


@pytest.fixture
def sqlite_site(db_path):
    store = open_site_store(db_path)
    yield store
    store.close()


def test_only_the_hash_of_a_key_is_on_disk(sqlite_site, db_path):
    key = new_key()
    sqlite_site.add_api_key("ci", ("read", "vote"), hash_key(key), key_prefix(key))
    raw = b"".join(p.read_bytes() for p in db_path.parent.glob(db_path.name + "*"))  # the file and its WAL
    assert key.encode() not in raw and hash_key(key).encode() in raw


def test_keys_are_stored_hashed_and_revoked_once(site):
    key = new_key()
    stored = site.add_api_key("ci", ("read", "vote"), hash_key(key), key_prefix(key))
    assert key.startswith("syn_") and len(key) == 4 + 43 and stored.prefix == key[:8]
    assert [k.id for k in site.api_keys()] == [stored.id]
    assert site.api_key_by_hash(hash_key(key)) == stored and site.api_key_by_hash(hash_key(key + "x")) is None
    assert site.revoke_api_key(stored.id) and not site.revoke_api_key(stored.id) and not site.revoke_api_key("nope")
    assert not site.api_key_by_hash(hash_key(key)).active
    with pytest.raises((sqlite3.IntegrityError, psycopg.IntegrityError)):  # the same hash twice: unique index
        site.add_api_key("again", ("read",), hash_key(key), key_prefix(key))


def test_scopes_and_bearer_parsing():
    assert check_scopes(["vote", "read", "vote"]) == ("read", "vote")
    for bad in ([], ["admin"], ["read", "root"]):
        with pytest.raises(ValueError):
            check_scopes(bad)
    moderator = ApiKey("id", "m", "syn_abcd", ("moderate",), "now")
    assert moderator.allows("read") and moderator.allows("moderate") and not moderator.allows("vote")
    assert bearer_token("Bearer  syn_x ") == "syn_x" and bearer_token("bearer syn_x") == "syn_x"
    assert bearer_token("Basic abc") is None and bearer_token("Bearer ") is None and bearer_token(None) is None


def test_confirmations_count_distinct_voters(site):
    assert site.confirm("a", "key:1") and not site.confirm("a", "key:1")
    site.confirm("a", "key:2")
    site.confirm("b", "local:me")
    assert (site.confirmation_count("a"), site.confirmation_count("b"), site.confirmation_count("c")) == (2, 1, 0)


def test_flags_one_open_per_voter_and_reason_until_resolved(site):
    site.add_entry_flag("a", "key:1", "stale", "first")
    site.add_entry_flag("a", "key:1", "stale", "second")  # replaces the note
    site.add_entry_flag("a", "key:1", "incorrect", "")
    site.add_entry_flag("b", "key:2", "harmful", "x")
    assert [(f["slug"], f["reason"], f["note"]) for f in site.open_entry_flags()] == [
        ("a", "stale", "second"),
        ("a", "incorrect", ""),
        ("b", "harmful", "x"),
    ]
    assert set(site.open_entry_flags("a")[0]) == {"id", "slug", "reason", "note", "created_at"}
    assert site.resolve_entry_flags("a", "fixed") == 2 and site.resolve_entry_flags("a", "again") == 0
    assert [f["slug"] for f in site.open_entry_flags()] == ["b"]
    site.add_entry_flag("a", "key:1", "stale", "back again")  # a resolved flag does not block a new one
    assert [f["note"] for f in site.open_entry_flags("a")] == ["back again"]


def test_feedback_for_counts_open_incorrect_flags_by_distinct_voters(site):
    for i in range(DEMOTE_AT):
        site.add_entry_flag("a", f"key:{i}", "incorrect", "")
        site.add_entry_flag("a", f"key:{i}", "stale", "")  # other reasons do not demote
    site.add_entry_flag("b", "key:0", "incorrect", "")
    site.confirm("b", "key:0")
    site.confirm("b", "key:1")
    said = site.feedback_for(["a", "b", "c", "a"])
    assert said == {"a": Feedback(0, DEMOTE_AT), "b": Feedback(2, 1)}
    assert said["a"].demoted and not said["b"].demoted
    site.resolve_entry_flags("a", "reviewed")
    assert site.feedback_for(["a"]) == {} and site.feedback_for([]) == {}


def test_cookie_confirmations_are_shown_but_left_out_of_ranking(site):
    site.confirm("entry-a", "site:cookie1")
    site.confirm("entry-a", "site:cookie1")
    site.confirm("entry-a", "site:cookie2")
    assert site.has_confirmed("entry-a", "site:cookie1") and not site.has_confirmed("entry-a", "site:cookie3")
    assert site.confirmation_count("entry-a") == 2
    assert site.feedback_for(["entry-a"]) == {}
    site.confirm("entry-a", "key:k1")
    assert site.confirmation_count("entry-a") == 3 and site.feedback_for(["entry-a"])["entry-a"].confirmations == 1
