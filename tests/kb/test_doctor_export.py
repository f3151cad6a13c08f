"""``synapse doctor`` (find and repair stripped entries and a stale full-text index) and
``synapse export`` (every entry the database holds, back out as files), run as real commands."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.kb.helpers import write_entry

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def indexed(tmp_path):
    """A data dir whose database indexes three entries from ``tmp_path/entries``; returns (run, db, folder)."""
    home, folder = tmp_path / "home", tmp_path / "entries"
    for slug in ("alpha-error", "beta-error", "gamma-error"):
        write_entry(folder, slug, tag=slug.split("-")[0], symptom=f"{slug} symptom text", fix=f"Fix {slug}.")
    env = dict(os.environ, SYNAPSE_HOME=str(home), SYNAPSE_MODEL="hash", PYTHONPATH=str(ROOT))
    env.pop("SYNAPSE_DB", None)

    def run(*args):
        return subprocess.run(
            [sys.executable, "-m", "synapse_ai.kb", *args],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )

    assert run("index", "--entries", str(folder)).returncode == 0
    return run, home / "synapse.db", folder


def _strip(db: Path, slug: str) -> None:
    """What a crash inside the old, non-atomic entry write left: the row without its children."""
    with sqlite3.connect(db) as conn:
        for table in ("sections", "code_blocks", "tags"):
            conn.execute(f"delete from {table} where slug = ?", [slug])


def test_doctor_finds_and_repairs_a_stripped_entry(indexed):
    run, db, _folder = indexed
    _strip(db, "beta-error")
    assert "has no section 'Fix'" in run("show", "beta-error", "--section", "Fix").stderr

    check = run("doctor", "--check-only")
    assert check.returncode == 1 and "beta-error: its sections are missing" in check.stdout

    fixed = run("doctor", "--json")
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    report = json.loads(fixed.stdout)
    assert report["healthy"] and report["integrity"] == "ok" and report["entries"] == 3
    assert report["repaired"] == [{"slug": "beta-error", "problem": "its sections are missing", "source": "its file"}]
    assert "Fix beta-error." in run("show", "beta-error", "--section", "Fix").stdout
    assert json.loads(run("doctor", "--json").stdout)["repaired"] == []


def test_doctor_repairs_from_the_stored_markdown_when_the_file_is_gone(indexed):
    run, db, folder = indexed
    _strip(db, "gamma-error")
    (folder / "gamma-error.md").unlink()
    report = json.loads(run("doctor", "--json").stdout)
    assert report["repaired"][0]["slug"] == "gamma-error" and report["repaired"][0]["source"] == "the stored markdown"
    with sqlite3.connect(db) as conn:
        assert conn.execute("select count(*) from sections where slug = 'gamma-error'").fetchone()[0] == 3


def test_index_full_rewrites_a_stripped_entry(indexed):
    run, db, folder = indexed
    _strip(db, "alpha-error")
    assert run("index", "--entries", str(folder)).returncode == 0  # unchanged file: not re-read
    assert run("index", "--entries", str(folder), "--full").returncode == 0
    assert "Fix alpha-error." in run("show", "alpha-error", "--section", "Fix").stdout


def test_doctor_rebuilds_a_full_text_index_out_of_step(indexed):
    run, db, _folder = indexed
    with sqlite3.connect(db) as conn:  # drop one entry's terms from the FTS index only
        conn.execute(
            "insert into entries_fts(entries_fts, rowid, title, summary, body, patterns_text) "
            "select 'delete', rowid, title, summary, body, patterns_text from entries where slug = 'alpha-error'"
        )
    check = run("doctor", "--check-only", "--json")
    assert check.returncode == 1 and json.loads(check.stdout)["fts"].startswith("out of step")
    report = json.loads(run("doctor", "--json").stdout)
    assert report["fts"] == "rebuilt" and report["healthy"]
    with sqlite3.connect(db) as conn:
        conn.execute("insert into entries_fts(entries_fts, rank) values('integrity-check', 1)")
        assert conn.execute("select count(*) from entries_fts where entries_fts match 'alpha'").fetchone()[0] == 1


def test_export_writes_every_entry_and_keeps_different_files_unless_forced(indexed, tmp_path):
    run, _db, folder = indexed
    out = tmp_path / "out"
    first = run("export", str(out))
    assert first.returncode == 0 and "3 written" in first.stdout
    assert sorted(p.name for p in out.glob("*.md")) == ["alpha-error.md", "beta-error.md", "gamma-error.md"]
    assert (out / "alpha-error.md").read_text(encoding="utf-8") == (folder / "alpha-error.md").read_text(
        encoding="utf-8"
    )

    (out / "beta-error.md").write_text("my own notes", encoding="utf-8")
    again = json.loads(run("export", str(out), "--json").stdout)
    assert again["kept"] == ["beta-error"] and sorted(again["unchanged"]) == ["alpha-error", "gamma-error"]
    assert (out / "beta-error.md").read_text(encoding="utf-8") == "my own notes"

    forced = json.loads(run("export", str(out), "--force", "--json").stdout)
    assert forced["written"] == ["beta-error"]
    assert (out / "beta-error.md").read_text(encoding="utf-8") == (folder / "beta-error.md").read_text(encoding="utf-8")


def test_approved_entries_lost_from_the_entries_folder_are_exported_from_the_database(indexed, tmp_path):
    run, db, folder = indexed
    # An approved submission published as beta-error (its row holds the markdown as submitted,
    # under the slug its title gives), and one whose entry row is gone as well.
    from synapse_ai.kb.parse import read_entry, render_entry
    from synapse_ai.web.sitestore import open_site_store

    site = open_site_store(db)
    beta = render_entry(read_entry(folder / "beta-error.md"))
    for slug in ("beta-error", "delta-error"):
        ref = site.add_submission(slug, {}, beta.replace("slug: beta-error", "slug: beta-error-draft"), [])
        assert site.mark_approved(ref, slug)
    site.close()
    (folder / "beta-error.md").unlink()  # the entries folder lost the approved file

    out = tmp_path / "restored"
    report = json.loads(run("export", str(out), "--json").stdout)
    assert sorted(report["written"]) == ["alpha-error", "beta-error", "delta-error", "gamma-error"]
    assert "slug: delta-error" in (out / "delta-error.md").read_text(encoding="utf-8")
    assert (out / "beta-error.md").read_text(encoding="utf-8").startswith("---\nslug: beta-error\n")

    doctor = run("doctor", "--json")
    assert json.loads(doctor.stdout)["approved_without_entry"] == ["delta-error"]
    assert "delta-error" in run("doctor").stdout and "synapse export" in run("doctor").stdout


def test_export_to_an_unwritable_place_is_one_line(indexed, tmp_path):
    run, _db, _folder = indexed
    blocker = tmp_path / "file"
    blocker.write_text("x", encoding="utf-8")
    result = run("export", str(blocker / "sub"))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert (
        result.stderr.strip().startswith("synapse: cannot export to") and len(result.stderr.strip().splitlines()) == 1
    )
