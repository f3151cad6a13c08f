"""KnowledgeBase on a real PostgreSQL: the same searches as on SQLite, and one database shared by
several processes (entries approved through one are seen by every other, and survive their re-index)."""

from __future__ import annotations

import dataclasses

import pytest

from synapse_ai.kb import KnowledgeBase
from synapse_ai.kb.embed import HashingEmbedder
from synapse_ai.kb.evaluation import evaluate, load_query_set
from synapse_ai.kb.export import export_entries
from synapse_ai.kb.parse import read_entry
from tests.conftest import ENTRIES, ROOT


@pytest.fixture
def pg_kb(postgres_url, entries_copy):
    kb = KnowledgeBase.open(postgres_url, [entries_copy], embedder=HashingEmbedder())
    yield kb
    kb.close()


def test_synapse_database_url_selects_postgres_for_every_opener(postgres_url, entries_copy, monkeypatch):
    monkeypatch.setenv("SYNAPSE_DATABASE_URL", postgres_url)
    kb = KnowledgeBase.open(None, [entries_copy], embedder=HashingEmbedder())
    try:
        assert type(kb.store).__name__ == "PostgresStore" and kb.store.count() == len(list(entries_copy.glob("*-*.md")))
    finally:
        kb.close()


def test_a_pasted_error_matches_its_entry(pg_kb):
    response = pg_kb.match(
        "anthropic.BadRequestError: Error code: 400 - messages.3: `tool_use` ids were found without "
        "`tool_result` blocks immediately after: toolu_01AbCdEf"
    )
    assert response.matched and response.results[0].slug == "tool-use-without-tool-result"
    signals = response.results[0].why.signals
    # The entry's own error text decides: the embedding model is skipped (KnowledgeBase.search).
    assert signals.pattern_rank == 1 and signals.bm25_rank is not None and signals.cosine is None
    described = pg_kb.search("tool calls run one after another instead of in parallel").results[0].why.signals
    assert described.cosine is not None and described.dense_rank is not None  # meaning, from pgvector


def test_hit_at_1_is_close_to_sqlite_with_the_same_embedder(pg_kb, kb):
    """The hashing embedder stands in for the model here; bench/quality_backends.py measures the real one."""
    queries = [q for q in load_query_set(ROOT / "tests" / "queries") if q.slug][::4]

    def ranked(base):
        return lambda text: ([r.slug for r in base.search(text, 5).results], False)

    on_pg, on_sqlite = evaluate(queries, ranked(pg_kb)).hit_at_1, evaluate(queries, ranked(kb)).hit_at_1
    assert on_pg >= on_sqlite - 0.05, (on_pg, on_sqlite)


def test_related_and_listing(pg_kb):
    related = pg_kb.related("rate-limit-429", 3)
    assert len(related) == 3 and "rate-limit-429" not in {e.slug for e in related}
    assert pg_kb.list_entries(tag="anthropic") and pg_kb.categories()


def test_an_entry_added_through_one_process_is_seen_by_another_and_survives_its_reindex(
    postgres_url, entries_copy, tmp_path
):
    first = KnowledgeBase.open(postgres_url, [entries_copy], embedder=HashingEmbedder())
    second = KnowledgeBase.open(postgres_url, [entries_copy], embedder=HashingEmbedder())
    try:
        base = read_entry(ENTRIES / "rate-limit-429.md")
        title = "Zyxwv quota exhausted on the team proxy"
        entry = dataclasses.replace(base, slug="team-only-fix", title=title, path=None)
        added = first.add_entry(entry, write_to=tmp_path / "nowhere")
        assert added.slug == "team-only-fix" and not (tmp_path / "nowhere").exists()  # the store holds it, no file
        assert second.get("team-only-fix").title == entry.title
        assert second.search("zyxwv quota exhausted", 3).results[0].slug == "team-only-fix"
        second.refresh(force=True)  # a re-index from the folders keeps entries that live in the store
        assert second.get("team-only-fix") is not None
        with pytest.raises(ValueError):
            second.add_entry(entry)
        report = export_entries(second.store, tmp_path / "export")
        assert (tmp_path / "export" / "team-only-fix.md").is_file() and "team-only-fix" in report.written
    finally:
        first.close()
        second.close()


def test_the_cli_indexes_searches_exports_and_checks_on_postgres(postgres_url, tmp_path, monkeypatch):
    """``SYNAPSE_DATABASE_URL`` alone sends every command to PostgreSQL; the same JSON as on SQLite."""
    import json

    from click.testing import CliRunner

    from synapse_ai.kb.cli import main
    from tests.kb.helpers import write_entry

    folder = tmp_path / "entries"
    write_entry(
        folder,
        "rate-limited",
        title="429 rate_limit_error from the API",
        patterns=r"'rate_limit_error'",
        symptom="Requests fail with 429.",
    )
    write_entry(folder, "slow-tools", title="Tool calls run one after another", symptom="The agent is slow.")
    monkeypatch.setenv("SYNAPSE_DATABASE_URL", postgres_url)
    runner = CliRunner()
    indexed = runner.invoke(main, ["index", "--entries", str(folder)])
    assert indexed.exit_code == 0 and indexed.output.strip().startswith("indexed 2 entries (2 added"), indexed.output
    found = runner.invoke(main, ["search", "--json", "rate_limit_error 429"])
    data = json.loads(found.output)
    assert data["matched"] and data["results"][0]["slug"] == "rate-limited"
    exported = runner.invoke(main, ["export", str(tmp_path / "out")])
    assert exported.exit_code == 0 and sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "rate-limited.md",
        "slow-tools.md",
    ]
    checked = runner.invoke(main, ["doctor"])
    assert checked.exit_code == 0 and "no problems left" in checked.output and "postgresql://" in checked.output


def test_an_unreachable_server_is_one_clear_line(monkeypatch):
    from click.testing import CliRunner

    from synapse_ai.kb.cli import main

    monkeypatch.setenv("SYNAPSE_DATABASE_URL", "postgresql://nobody:hunter2@127.0.0.1:1/synapse")
    result = CliRunner().invoke(main, ["search", "429"])
    assert result.exit_code != 0 and "cannot be reached" in result.output and "hunter2" not in result.output
    assert "Traceback" not in result.output


def test_concurrent_searches_on_postgres_answer_as_one_at_a_time(pg_kb):
    """Searches run at once on a pooled store: each answer is the one it gets alone."""
    from concurrent.futures import ThreadPoolExecutor

    queries = [
        "429 rate_limit_error",
        "tool_use ids were found without tool_result blocks",
        "agent loops forever",
        "context length exceeded",
        "model does not support tools",
    ] * 4
    alone = {q: [r.slug for r in pg_kb.search(q, 5).results] for q in set(queries)}
    with ThreadPoolExecutor(max_workers=6) as pool:
        together = list(pool.map(lambda q: [r.slug for r in pg_kb.search(q, 5).results], queries))
    assert together == [alone[q] for q in queries]
