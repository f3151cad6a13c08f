"""Storage under faults, with real processes and real files: concurrent first use, kill -9 in the
middle of entry writes, a locked database, a full disk, and a damaged file."""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from synapse_ai.kb import KnowledgeBase
from synapse_ai.kb.embed import HashingEmbedder
from synapse_ai.kb.store import DatabaseUnavailable, Store
from tests.kb.helpers import write_entry

ROOT = Path(__file__).resolve().parents[2]
PY = sys.executable


def _env(home: Path, **extra) -> dict:
    env = dict(os.environ, SYNAPSE_HOME=str(home), SYNAPSE_MODEL="hash", PYTHONPATH=str(ROOT))
    env.pop("SYNAPSE_DB", None)
    env.update(extra)
    return env


def _synapse(*args) -> list[str]:
    return [PY, "-m", "synapse_ai.kb", *args]


def _start_together(
    commands: list[list[str]], env: dict, stdin: bytes | None = None
) -> list[subprocess.CompletedProcess]:
    procs = [
        subprocess.Popen(c, env=env, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for c in commands
    ]
    results = []
    for cmd, proc in zip(commands, procs):
        out, err = proc.communicate(stdin, timeout=300)
        results.append(subprocess.CompletedProcess(cmd, proc.returncode, out.decode(), err.decode()))
    return results


def _no_moved_files(folder: Path) -> bool:
    return not list(folder.glob("*.corrupt-*"))


# ---------------------------------------------------------------------- concurrent first use
def test_three_searches_and_three_hooks_on_an_empty_data_dir_all_succeed(tmp_path):
    home = tmp_path / "home"
    env = _env(home)
    event = json.dumps(
        {"hook_event_name": "PostToolUseFailure", "tool_name": "Bash", "error": "429 rate_limit_error"}
    ).encode()
    commands = [_synapse("search", "--json", "429 rate limit")] * 3 + [_synapse("hook")] * 3
    results = _start_together(commands, env, stdin=event)
    for result in results:
        assert result.returncode == 0, result.stderr
        assert "damaged" not in result.stderr and "Traceback" not in result.stderr, result.stderr
    answers = [json.loads(r.stdout) for r in results[:3]]
    assert all(a["results"] and a["results"][0]["slug"] == answers[0]["results"][0]["slug"] for a in answers)
    assert _no_moved_files(home)
    conn = sqlite3.connect(home / "synapse.db")
    assert conn.execute("pragma integrity_check").fetchone()[0] == "ok"
    assert conn.execute("select count(*) from entries").fetchone()[0] > 0


def test_fresh_database_opened_by_many_processes_at_once(tmp_path):
    probe = "import sys\nfrom synapse_ai.kb.store import Store\ns = Store(sys.argv[1]); print(s.count()); s.close()\n"
    for trial in range(3):
        path = tmp_path / f"race{trial}.db"
        commands = [[PY, "-c", probe, str(path)]] * 5
        for result in _start_together(commands, _env(tmp_path / "home")):
            assert result.returncode == 0 and result.stdout.strip() == "0", result.stderr
        assert _no_moved_files(tmp_path)


def test_one_process_builds_the_first_index_while_the_others_wait(tmp_path):
    """Three processes on an empty database: one indexes, the others find the index built."""
    folder = tmp_path / "entries"
    for i in range(30):
        write_entry(folder, f"entry-{i:02d}", symptom=f"zorblax failure number {i}")
    probe = (
        "import sys\nfrom pathlib import Path\nfrom synapse_ai.kb import KnowledgeBase\n"
        "kb = KnowledgeBase.open(Path(sys.argv[1]), [Path(sys.argv[2])])\n"
        "print('indexed' if kb.last_report is not None else 'waited', len(kb.search('zorblax failure').results))\n"
    )
    db = tmp_path / "kb.db"
    results = _start_together([[PY, "-c", probe, str(db), str(folder)]] * 3, _env(tmp_path / "home"))
    outputs = [r.stdout.split() for r in results]
    assert all(r.returncode == 0 for r in results), [r.stderr for r in results]
    assert sorted(o[0] for o in outputs) == ["indexed", "waited", "waited"]
    assert all(int(o[1]) > 0 for o in outputs)


# ---------------------------------------------------------------------- kill -9 mid-write
WRITER = """
import random, sys
from pathlib import Path
from synapse_ai.kb.model import Entry, Section
from synapse_ai.kb.store import Store
from datetime import date
store = Store(Path(sys.argv[1]))
print("ready", flush=True)
n = 0
while True:
    slug = f"entry-{n % 7}"
    k = random.randint(1, 6)
    sections = [Section(f"Part {i}", f"text {n} {i}\\n\\n```python\\nx = {i}\\n```") for i in range(k)]
    tags = [f"t{i}" for i in range(random.randint(1, 5))]
    entry = Entry(slug=slug, title=f"T {n}", summary="s", category="api-errors", tags=tags, patterns=[],
                  environment=["x"], savings="none", sources=["https://example.com"], created=date(2026, 1, 1),
                  updated=date(2026, 1, 1), sections=sections)
    store.upsert_entry(entry, f"{k} {len(tags)}", "hash", n, n)
    n += 1
"""


def _assert_entries_whole(db: Path) -> int:
    conn = sqlite3.connect(db)
    rows = conn.execute("select slug, markdown, tags, title from entries").fetchall()
    for slug, markdown, tags, title in rows:
        k, t = (int(x) for x in markdown.split())
        assert conn.execute("select count(*) from sections where slug = ?", [slug]).fetchone()[0] == k, slug
        assert conn.execute("select count(*) from code_blocks where slug = ?", [slug]).fetchone()[0] == k, slug
        assert (
            conn.execute("select count(*) from tags where slug = ?", [slug]).fetchone()[0] == t == len(json.loads(tags))
        ), slug
        n = title.split()[1]
        assert {b.split()[1] for (b,) in conn.execute("select body from sections where slug = ?", [slug])} == {n}, slug
    conn.execute("insert into entries_fts(entries_fts, rank) values('integrity-check', 1)")
    assert conn.execute("pragma integrity_check").fetchone()[0] == "ok"
    conn.close()
    return len(rows)


def test_kill_9_during_entry_writes_leaves_every_entry_whole_or_absent(tmp_path):
    db = tmp_path / "kb.db"
    Store(db).close()
    rng = random.Random(17)
    for _ in range(8):
        proc = subprocess.Popen(
            [PY, "-c", WRITER, str(db)], env=_env(tmp_path / "home"), cwd=ROOT, stdout=subprocess.PIPE
        )
        assert proc.stdout.readline().strip() == b"ready"
        time.sleep(rng.uniform(0.05, 0.4))
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        _assert_entries_whole(db)
    assert _assert_entries_whole(db) == 7


# ---------------------------------------------------------------------- locked database
def test_locked_database_is_reported_as_locked_and_left_in_place(tmp_path, entries_copy):
    home = tmp_path / "home"
    env = _env(home, SYNAPSE_BUSY_TIMEOUT="1")
    assert subprocess.run(_synapse("index"), env=env, cwd=ROOT, capture_output=True).returncode == 0
    db = home / "synapse.db"
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    holder.execute("insert into meta (key, value) values ('held', 'yes')")
    try:
        write = subprocess.run(
            _synapse("index", "--full"), env=env, cwd=ROOT, capture_output=True, text=True, timeout=120
        )
        read = subprocess.run(
            _synapse("search", "--json", "429 rate limit"),
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        holder.execute("ROLLBACK")
    assert write.returncode == 1
    lines = write.stderr.strip().splitlines()
    assert len(lines) == 1 and "database is locked" in lines[0] and "Traceback" not in write.stderr
    assert read.returncode == 0 and json.loads(read.stdout)["results"]  # readers are not blocked in WAL mode
    assert db.exists() and Path(f"{db}-wal").exists() and _no_moved_files(home)
    holder.close()


def test_database_locked_even_for_readers_gives_one_line_and_no_move(tmp_path):
    home = tmp_path / "home"
    env = _env(home, SYNAPSE_BUSY_TIMEOUT="1")
    assert subprocess.run(_synapse("index"), env=env, cwd=ROOT, capture_output=True).returncode == 0
    db = home / "synapse.db"
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("PRAGMA locking_mode=EXCLUSIVE")
    holder.execute("BEGIN EXCLUSIVE")
    holder.execute("insert into meta (key, value) values ('held', 'yes')")
    try:
        result = subprocess.run(
            _synapse("search", "429"), env=env, cwd=ROOT, capture_output=True, text=True, timeout=120
        )
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "database is locked" in result.stderr
    assert db.exists() and _no_moved_files(home)


# ---------------------------------------------------------------------- full disk
def _limit_pages(kb: KnowledgeBase, extra: int = 0) -> None:
    """A real SQLITE_FULL: the connection may not grow the file past its current size."""
    pages = kb.store.conn.execute("pragma page_count").fetchone()[0]
    kb.store.conn.execute(f"pragma max_page_count = {pages + extra}")


def test_full_disk_during_index_keeps_entries_whole_and_is_not_retried_on_every_search(tmp_path):
    folder = tmp_path / "entries"
    write_entry(folder, "first-thing", symptom="quixotic failure")
    kb = KnowledgeBase.open(tmp_path / "kb.db", [folder], embedder=HashingEmbedder())
    for i in range(40):
        write_entry(folder, f"more-{i:02d}", symptom="filler text " * 200)
    _limit_pages(kb)
    with pytest.raises(DatabaseUnavailable) as failure:
        kb.index()
    assert failure.value.kind == "full" and "database or disk is full" in str(failure.value)
    kb.close()
    _assert_whole_entries(tmp_path / "kb.db")

    # A later open cannot write either (still full): it answers from the current index, once.
    again = KnowledgeBase.open(tmp_path / "kb.db", [folder], embedder=HashingEmbedder(), refresh=False)
    _limit_pages(again)
    assert again.refresh() is None and any("could not be updated" in n for n in again.notices)
    assert again.search("quixotic failure").results[0].slug == "first-thing"
    again.store.conn.execute("pragma max_page_count = 1073741823")
    again._remember_failure()  # what a write that still fits records
    assert again.refresh() is None and any("last update failed" in n for n in again.notices)
    report = again.index()  # an explicit index retries
    assert report.total == 41
    again.close()


def _assert_whole_entries(db: Path) -> None:
    from synapse_ai.kb.parse import parse_entry

    conn = sqlite3.connect(db)
    for slug, markdown in conn.execute("select slug, markdown from entries"):
        entry = parse_entry(markdown)
        assert conn.execute("select count(*) from sections where slug = ?", [slug]).fetchone()[0] == len(entry.sections)
        assert conn.execute("select count(*) from tags where slug = ?", [slug]).fetchone()[0] == len(set(entry.tags))
    conn.close()


def test_full_disk_on_open_leaves_the_database_untouched(tmp_path):
    """A real full file system (a 16 MB tmpfs, filled up; needs root): the database is not moved or replaced."""
    mount = tmp_path / "small"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(mount)], capture_output=True, text=True
    )
    if done.returncode != 0:
        pytest.skip(
            f"cannot mount a tmpfs here ({done.stderr.strip() or 'not permitted'}); the max_page_count tests cover "
            "SQLITE_FULL"
        )
    try:
        home = mount / "home"
        env = _env(home)
        folder = tmp_path / "few"
        write_entry(folder, "first-thing", symptom="quixotic failure")
        assert (
            subprocess.run(
                _synapse("index", "--entries", str(folder)), env=env, cwd=ROOT, capture_output=True
            ).returncode
            == 0
        )
        filler = mount / "filler"
        subprocess.run(["dd", "if=/dev/zero", f"of={filler}", "bs=64k"], capture_output=True)  # fill the disk
        for i in range(30):
            write_entry(folder, f"more-{i:02d}", symptom="filler text " * 300)
        result = subprocess.run(
            _synapse("search", "--json", "quixotic failure"),
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert "Traceback" not in result.stderr and _no_moved_files(home)
        assert (home / "synapse.db").exists()
        if result.returncode == 0:  # answered from the current index, with a notice
            assert json.loads(result.stdout)["results"][0]["slug"] == "first-thing"
            assert "disk is full" in result.stderr
        else:
            assert len(result.stderr.strip().splitlines()) == 1 and "disk is full" in result.stderr
        filler.unlink()
        indexed = subprocess.run(
            _synapse("index", "--entries", str(folder)), env=env, cwd=ROOT, capture_output=True, text=True, timeout=120
        )
        assert indexed.returncode == 0, indexed.stderr
        assert "31 entries" in indexed.stdout
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)


# ---------------------------------------------------------------------- damaged file
def _community_data(db: Path) -> None:
    from synapse_ai.web.sitestore import open_site_store

    site = open_site_store(db)
    for i in range(3):
        site.add_submission(f"Submission {i}", {"title": f"Submission {i}"}, f"markdown {i}", [])
    for i in range(5):
        site.star("rate-limit-429", f"client-{i}")
    site.close()


@pytest.mark.parametrize("where", ["header", "middle"])
def test_damaged_file_is_rebuilt_with_its_submissions_and_stars(tmp_path, where):
    home = tmp_path / "home"
    env = _env(home)
    assert subprocess.run(_synapse("index"), env=env, cwd=ROOT, capture_output=True).returncode == 0
    db = home / "synapse.db"
    _community_data(db)
    size = db.stat().st_size
    with open(db, "r+b") as handle:  # garbage over real pages
        handle.seek(0 if where == "header" else (size // 2) // 4096 * 4096)
        handle.write(random.Random(5).randbytes(100 if where == "header" else 3 * 4096))
    first = subprocess.run(
        _synapse("search", "--json", "429 rate limit"), env=env, cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    if where == "middle" and "damaged" not in first.stderr:
        # The garbage hit pages a search does not read: the integrity check finds it.
        first = subprocess.run(_synapse("doctor"), env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert first.returncode == 0 and "Traceback" not in first.stderr, first.stderr
    output = first.stderr + first.stdout
    assert "damaged" in output and "3 submissions and 5 stars were recovered" in output
    aside = list(home.glob("synapse.db.corrupt-*"))
    assert [p.name for p in aside if p.name in output]  # the message names the file
    conn = sqlite3.connect(db)
    assert conn.execute("select count(*) from submissions").fetchone()[0] == 3
    assert conn.execute("select count(*) from stars").fetchone()[0] == 5
    assert conn.execute("pragma integrity_check").fetchone()[0] == "ok"
    again = subprocess.run(
        _synapse("search", "--json", "429 rate limit"), env=env, cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert again.returncode == 0 and json.loads(again.stdout)["results"] and "damaged" not in again.stderr


def test_hook_on_a_damaged_database_exits_0_and_leaves_a_rebuilt_index_with_the_community_data(tmp_path):
    home = tmp_path / "home"
    env = _env(home)
    assert subprocess.run(_synapse("index"), env=env, cwd=ROOT, capture_output=True).returncode == 0
    db = home / "synapse.db"
    _community_data(db)
    with open(db, "r+b") as handle:
        handle.write(b"\0" * 100)
    event = json.dumps({"hook_event_name": "PostToolUseFailure", "tool_name": "Bash", "error": "429 rate_limit_error"})
    result = subprocess.run(
        _synapse("hook"), input=event, env=env, cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0 and "Traceback" not in result.stderr
    conn = sqlite3.connect(db)
    assert conn.execute("select count(*) from entries").fetchone()[0] > 0
    assert conn.execute("select count(*) from submissions").fetchone()[0] == 3
    assert conn.execute("select count(*) from stars").fetchone()[0] == 5


# ---------------------------------------------------------------------- two writers
def test_two_index_runs_at_once_both_succeed_and_entries_stay_whole(tmp_path, entries_copy):
    home = tmp_path / "home"
    env = _env(home)
    assert (
        subprocess.run(
            _synapse("index", "--entries", str(entries_copy)), env=env, cwd=ROOT, capture_output=True
        ).returncode
        == 0
    )
    for path in sorted(entries_copy.glob("*.md"))[:10]:
        path.write_text(
            path.read_text(encoding="utf-8").replace("## Symptom\n", "## Symptom\n\nEdited.\n", 1), encoding="utf-8"
        )
    command = _synapse("index", "--full", "--entries", str(entries_copy))
    results = _start_together([command, command, _synapse("search", "--json", "429")], env)
    assert [r.returncode for r in results] == [0, 0, 0], [r.stderr for r in results]
    assert all("Traceback" not in r.stderr for r in results)
    _assert_whole_entries(home / "synapse.db")


def test_a_failed_index_of_other_folders_is_not_remembered(tmp_path):
    """``synapse index --entries DIR`` stores DIR as the database's folders only once it succeeded:
    otherwise every later search would retry the failed index."""
    first, other = tmp_path / "first", tmp_path / "other"
    write_entry(first, "first-thing")
    for i in range(40):
        write_entry(other, f"other-{i:02d}", symptom="filler text " * 200)
    db = tmp_path / "kb.db"
    KnowledgeBase.open(db, [first], embedder=HashingEmbedder(), refresh=False, remember_dirs=True).index()
    kb = KnowledgeBase.open(db, [other], embedder=HashingEmbedder(), refresh=False, remember_dirs=True)
    _limit_pages(kb)
    with pytest.raises(DatabaseUnavailable):
        kb.index()
    kb.close()
    again = KnowledgeBase.open(db, embedder=HashingEmbedder())
    assert again.dirs == [first.resolve()] and again.last_report is None
    assert again.get("first-thing") is not None
    again.close()
