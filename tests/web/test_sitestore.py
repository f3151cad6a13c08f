"""The site store (web.sitestore): submissions persist, moderation happens once, stars are one per
client, on SQLite and on a real PostgreSQL alike; the site creates its own tables."""

from __future__ import annotations

import pytest

from synapse_ai.web.sitestore import SiteStore, open_site_store
from tests.pg import new_database


@pytest.fixture(params=["sqlite", "postgres"])
def site_url(request, tmp_path) -> str:
    return str(tmp_path / "kb.db") if request.param == "sqlite" else new_database()


@pytest.fixture
def site(site_url):
    store = open_site_store(site_url)
    yield store
    store.close()


def test_the_site_creates_its_own_tables_in_a_new_database(site):
    assert isinstance(site, SiteStore)
    assert site.submission_counts() == {"pending": 0, "approved": 0, "rejected": 0} and site.star_counts() == {}


def test_the_site_tables_are_not_the_knowledge_base_s(tmp_path):
    from synapse_ai.kb.stores import open_store

    store = open_store(tmp_path / "kb.db")
    tables = {r[0] for r in store.conn.execute("select name from sqlite_master where type = 'table'")}
    store.close()
    assert not {"submissions", "stars"} & tables


def test_submission_round_trip_and_survives_reopen(site_url):
    site = open_site_store(site_url)
    ref = site.add_submission("T", {"title": "T"}, "---\n", [{"rule": "x"}], "me@example.com")
    assert len(ref) >= 20
    site.close()
    again = open_site_store(site_url)
    try:
        sub = again.submission(ref)
        assert (sub.status, sub.title, sub.data, sub.flags, sub.contact) == (
            "pending",
            "T",
            {"title": "T"},
            [{"rule": "x"}],
            "me@example.com",
        )
        assert again.submission_counts() == {"pending": 1, "approved": 0, "rejected": 0}
        assert [s.ref for s in again.submissions("pending")] == [ref] and again.submission("nope") is None
    finally:
        again.close()


def test_moderation_transitions_only_from_pending(site):
    ref = site.add_submission("T", {}, "", [])
    assert site.mark_approved(ref, "t")
    assert not site.mark_rejected(ref, "late") and not site.mark_approved(ref, "again")
    assert site.submission(ref).status == "approved" and site.submission(ref).slug == "t"
    assert site.approved_slugs() == {"t"}


def test_stars_are_idempotent_per_client(site):
    assert site.star("e", "client-a") and not site.star("e", "client-a")
    site.star("e", "client-b")
    site.star("f", "client-a")
    assert site.star_count("e") == 2
    assert site.star_counts() == {"e": 2, "f": 1}
    assert site.most_starred(1) == [("e", 2)]
    assert site.starred_by("client-a") == {"e", "f"}
    assert site.unstar("e", "client-a") and not site.unstar("e", "client-a")
    assert site.star_count("e") == 1 and not site.is_starred("e", "client-a")


def test_client_ids_are_stored_hashed(site):
    site.star("e", "the-secret-cookie-value")
    raw = site._read("select client from stars")[0]["client"]
    assert "the-secret-cookie-value" not in raw


def test_a_database_made_when_kb_owned_the_site_tables_opens_unchanged(tmp_path):
    """Files whose submissions and stars were created by kb's old m002 keep their rows."""
    import sqlite3

    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    conn.execute(
        "create table [submissions] ([ref] TEXT PRIMARY KEY, [status] TEXT, [created_at] TEXT, [updated_at] TEXT, "
        "[title] TEXT, [data] TEXT, [markdown] TEXT, [flags] TEXT, [contact] TEXT, [reason] TEXT, [slug] TEXT)"
    )
    conn.execute("create table [stars] ([slug] TEXT, [client] TEXT, [created_at] TEXT, PRIMARY KEY ([slug], [client]))")
    conn.execute("insert into stars values ('e', 'x', '2026-01-01')")
    conn.commit()
    conn.close()
    site = open_site_store(path)
    try:
        assert site.star_counts() == {"e": 1}
    finally:
        site.close()


# ---------------------------------------------------------------------- approvals under storage faults
def _pending(make_app, form, csrf):
    from fastapi.testclient import TestClient

    from tests.web.conftest import ADMIN_TOKEN

    client = TestClient(make_app(write_dir=None), headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    client.__enter__()
    location = client.post("/submit", data=form(csrf_token=csrf(client)), follow_redirects=False).headers["location"]
    return client, location.split("/")[-1].split("?")[0]


def _disk_full(kb) -> None:
    """A real SQLITE_FULL on the site's database: no page may be added to the file (VACUUM first,
    so no free page inside the file can absorb the write)."""
    kb.store.conn.execute("vacuum")
    pages = kb.store.conn.execute("pragma page_count").fetchone()[0]
    kb.store.conn.execute(f"pragma max_page_count = {pages}")


def test_approval_on_a_full_disk_leaves_nothing_and_a_retry_makes_no_duplicate(make_app, form, csrf, tmp_path):
    from synapse_ai.kb.service import local_entries_dir

    client, ref = _pending(make_app, form, csrf)
    try:
        kb, site = client.app.state.kb, client.app.state.site
        folder = local_entries_dir()
        _disk_full(kb)
        failed = client.post(f"/admin/submissions/{ref}/approve")
        assert failed.status_code == 503 and "disk is full" in failed.text and "still pending" in failed.text, (
            failed.text[failed.text.find("<main") :][:3000]
        )
        assert site.submission(ref).status == "pending"
        assert not list(folder.glob("*.md")) and not list(folder.glob(".*.tmp"))  # no orphan file
        assert kb.get("frobnicator-times-out-after-30-seconds") is None

        kb.store.conn.execute("pragma max_page_count = 1073741823")  # space is back
        done = client.post(f"/admin/submissions/{ref}/approve", follow_redirects=False)
        assert done.status_code == 303
        assert [p.name for p in folder.glob("*.md")] == ["frobnicator-times-out-after-30-seconds.md"]
        assert site.submission(ref).slug == "frobnicator-times-out-after-30-seconds"
    finally:
        client.__exit__(None, None, None)


def test_an_approval_interrupted_after_publishing_is_finished_not_repeated(make_app, form, csrf):
    """The entry was written and indexed, then the process died before the submission was marked:
    approving again marks it, and publishes no second copy under ``…-2``."""
    import dataclasses

    from synapse_ai.web.moderate import submission_entry
    from synapse_ai.web.submissions import slugify

    client, ref = _pending(make_app, form, csrf)
    try:
        kb, site = client.app.state.kb, client.app.state.site
        entry = submission_entry(site.submission(ref))
        published = kb.add_entry(dataclasses.replace(entry, slug=slugify(entry.title)))  # the first half of an approval
        assert site.submission(ref).status == "pending"
        done = client.post(f"/admin/submissions/{ref}/approve", follow_redirects=False)
        assert done.status_code == 303 and f"slug={published.slug}" in done.headers["location"]
        assert site.submission(ref).slug == published.slug
        assert kb.get(f"{published.slug}-2") is None
    finally:
        client.__exit__(None, None, None)
