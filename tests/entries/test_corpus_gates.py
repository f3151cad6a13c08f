"""The gates every shipped entry passes (issue-level promises about the knowledge, not the format).

The format itself is checked by ``synapse_ai.kb.parse`` (tests/kb/test_parse.py); here: the corpus is big
enough, every entry lints clean (model ids current per the installed SDK, specific patterns that
are really specific), carries a quick fix and a verification record, and is backed by at least one
official source and one public thread that shows people hit it.
"""

from __future__ import annotations

import re
from collections import Counter

import pytest

from synapse_ai.kb.evaluation import load_query_set
from synapse_ai.kb.lint import entry_files, lint_paths
from synapse_ai.kb.parse import read_entry
from tests.conftest import ENTRIES, ROOT

MIN_ENTRIES = 120
THREAD = re.compile(r"^https://(?:github\.com/[^/]+/[^/]+/(?:issues|pull|discussions)/\d+|gitlab\.com/.+/-/issues/\d+)")
RETIRED_DOCS_DOMAINS = ("docs.anthropic.com", "docs.claude.com")

ENTRY_LIST = [read_entry(p) for p in entry_files([ENTRIES])]


def test_corpus_size():
    assert len(ENTRY_LIST) >= MIN_ENTRIES


def test_shipped_entries_lint_clean():
    count, problems = lint_paths([ENTRIES])
    assert count == len(ENTRY_LIST)
    assert not problems, "\n".join(str(p) for p in problems[:30])


@pytest.mark.parametrize("entry", ENTRY_LIST, ids=lambda e: e.slug)
def test_quick_fix_and_verified(entry):
    assert entry.quick_fix, f"{entry.slug}: no quick_fix"
    assert entry.verified is not None, f"{entry.slug}: no verified record"
    assert entry.verified.on >= entry.created


@pytest.mark.parametrize("entry", ENTRY_LIST, ids=lambda e: e.slug)
def test_sources_back_the_entry(entry):
    threads = [u for u in entry.sources if THREAD.match(u)]
    official = [u for u in entry.sources if not THREAD.match(u)]
    assert len(entry.sources) >= 2, entry.slug
    assert threads, f"{entry.slug}: no public issue thread among the sources"
    assert official, f"{entry.slug}: no official docs page or SDK source among the sources"
    stale = [u for u in entry.sources if any(f"//{d}/" in u for d in RETIRED_DOCS_DOMAINS)]
    assert not stale, f"{entry.slug}: use platform.claude.com/docs for Claude docs: {stale}"


def test_every_entry_has_five_labelled_queries_of_both_kinds():
    queries = load_query_set(ROOT / "tests" / "queries")
    per_slug = Counter(q.slug for q in queries if q.slug)
    kinds = Counter((q.slug, q.kind) for q in queries if q.slug)
    short = {e.slug: per_slug[e.slug] for e in ENTRY_LIST if per_slug[e.slug] < 5}
    assert not short, short
    no_symptoms = [e.slug for e in ENTRY_LIST if kinds[(e.slug, "symptom")] < 2]
    assert not no_symptoms, no_symptoms
    no_errors = [e.slug for e in ENTRY_LIST if (e.patterns or e.generic_patterns) and kinds[(e.slug, "error")] < 2]
    assert not no_errors, no_errors
