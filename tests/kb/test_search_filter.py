"""KnowledgeBase.search(only=SearchFilter(...)): the filter applies before the limit, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from synapse_ai.kb import KnowledgeBase
from synapse_ai.kb.embed import HashingEmbedder
from synapse_ai.kb.search import SearchFilter


@pytest.fixture(params=["sqlite", "postgres"])
def any_kb(request, tmp_path, entries_copy):
    if request.param == "sqlite":
        target = tmp_path / "kb.db"
    else:
        target = request.getfixturevalue("postgres_url")
    kb = KnowledgeBase.open(target, [entries_copy], embedder=HashingEmbedder())
    yield kb
    kb.close()


def test_a_category_filter_keeps_only_that_category_and_still_fills_the_limit(any_kb):
    query = "429 rate_limit_error: request would exceed your organization's rate limit"
    assert any_kb.search(query, 3).results[0].category == "api-errors"
    filtered = any_kb.search(query, 3, only=SearchFilter(category="async-execution"))
    assert len(filtered.results) == 3 and {r.category for r in filtered.results} == {"async-execution"}


def test_a_tag_filter_and_both_together(any_kb):
    tagged = {e.slug for e in any_kb.list_entries(tag="anthropic")}
    results = any_kb.search("tool_use ids without tool_result", 10, only=SearchFilter(tag="anthropic")).results
    assert results and {r.slug for r in results} <= tagged
    both = any_kb.search("error", 10, only=SearchFilter(category="tool-use", tag="anthropic")).results
    assert {r.slug for r in both} <= {e.slug for e in any_kb.list_entries(category="tool-use", tag="anthropic")}


def test_an_empty_filter_is_no_filter(any_kb):
    query = "tool calls run one after another"
    plain = [r.slug for r in any_kb.search(query, 5).results]
    assert [r.slug for r in any_kb.search(query, 5, only=SearchFilter()).results] == plain
