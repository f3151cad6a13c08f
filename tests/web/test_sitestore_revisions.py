"""Suggested edits in the site store (site migration m003), on SQLite and a real PostgreSQL alike."""

from __future__ import annotations

import pytest

from synapse_ai.web.sitestore import open_site_store
from tests.pg import new_database


@pytest.fixture(params=["sqlite", "postgres"])
def site(request, tmp_path):
    store = open_site_store(str(tmp_path / "kb.db") if request.param == "sqlite" else new_database())
    yield store
    store.close()


def test_revision_round_trip_newest_first_and_decided_once(site):
    first = site.add_revision("rate-limit-429", "base\n", "edited\n", "Ada", "first", [{"rule": "markup"}])
    second = site.add_revision("rate-limit-429", "base\n", "edited again\n", "", "second", [])
    other = site.add_revision("overloaded-529", "b\n", "e\n", "Lin", "", [])
    revision = site.revision(first)
    assert (revision.slug, revision.status, revision.author) == ("rate-limit-429", "pending", "Ada")
    assert (revision.note, revision.base, revision.markdown) == ("first", "base\n", "edited\n")
    assert (revision.flags, revision.reason) == ([{"rule": "markup"}], "")
    assert [r.ref for r in site.revisions(slug="rate-limit-429")] == [second, first]
    assert [r.ref for r in site.revisions()] == [other, second, first]
    assert site.decide_revision(first, "approved") and not site.decide_revision(first, "rejected", "late")
    assert site.decide_revision(second, "rejected", "Not accurate.")
    assert [r.ref for r in site.revisions(status="approved", slug="rate-limit-429")] == [first]
    assert site.revision(second).reason == "Not accurate." and site.revision("nope") is None


def test_confirmation_counts_for_the_most_confirmed_sort(site):
    site.confirm("a", "local:x")
    site.confirm("a", "local:y")
    site.confirm("b", "local:x")
    assert site.confirmation_counts() == {"a": 2, "b": 1}
