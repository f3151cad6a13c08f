"""web.sitestore: submissions persist; stars are one per client."""

from __future__ import annotations

from kb.store import Store
from web.sitestore import SiteStore


def _store(tmp_path) -> SiteStore:
    path = tmp_path / "kb.db"
    Store(path).close()  # applies the migrations, including m002_submissions_and_stars
    return SiteStore(path)


def test_submission_round_trip_and_survives_reopen(tmp_path):
    site = _store(tmp_path)
    ref = site.add_submission("T", {"title": "T"}, "---\n", [{"rule": "x"}], "me@example.com")
    assert len(ref) >= 20
    site.close()
    again = SiteStore(tmp_path / "kb.db")
    sub = again.submission(ref)
    assert (sub.status, sub.title, sub.data, sub.flags, sub.contact) == ("pending", "T", {"title": "T"}, [{"rule": "x"}], "me@example.com")
    assert again.submission_counts() == {"pending": 1, "approved": 0, "rejected": 0}


def test_moderation_transitions_only_from_pending(tmp_path):
    site = _store(tmp_path)
    ref = site.add_submission("T", {}, "", [])
    assert site.mark_approved(ref, "t")
    assert not site.mark_rejected(ref, "late")
    assert site.submission(ref).status == "approved" and site.submission(ref).slug == "t"


def test_stars_are_idempotent_per_client(tmp_path):
    site = _store(tmp_path)
    assert site.star("e", "client-a") and not site.star("e", "client-a")
    site.star("e", "client-b")
    site.star("f", "client-a")
    assert site.star_count("e") == 2
    assert site.star_counts() == {"e": 2, "f": 1}
    assert site.most_starred(1) == [("e", 2)]
    assert site.starred_by("client-a") == {"e", "f"}
    assert site.unstar("e", "client-a") and not site.unstar("e", "client-a")
    assert site.star_count("e") == 1 and not site.is_starred("e", "client-a")


def test_client_ids_are_stored_hashed(tmp_path):
    site = _store(tmp_path)
    site.star("e", "the-secret-cookie-value")
    raw = site._read("select client from stars")[0][0]
    assert "the-secret-cookie-value" not in raw
