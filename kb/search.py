"""Hybrid search: error-signature patterns + FTS5 BM25 + dense cosine, fused with RRF.

``matched`` says whether the best result is confident enough for an agent to act on.  One signal
is not enough (a query about CSS can score a middling cosine against anything), so the decision
needs a pattern hit, or a high cosine, or a fair cosine that BM25 agrees with, or a fair cosine
that clearly leads every other entry's.  The thresholds are
calibrated on the labelled query set in ``tests/queries`` (see docs/search.md).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from kb.fusion import rrf
from kb.signature import MAX_SCAN, PatternIndex, normalize

# Calibrated for sentence-transformers/all-MiniLM-L6-v2 (docs/search.md has the measurements).
COSINE_ALONE = 0.62  # a cosine this high is confident by itself
COSINE_WITH_AGREEMENT = 0.42  # enough when BM25's top 3 contain the same entry
COSINE_WITH_LEAD = 0.50  # enough when the entry also leads every other entry's cosine by LEAD
LEAD = 0.08
PATTERN_WEIGHT = 3.0  # a pattern hit is the strongest evidence there is
DENSE_WEIGHT = 1.5  # meaning beats shared words for paraphrased symptoms (measured on the query set)
CANDIDATES = 30

_WORD = re.compile(r"\w+", re.UNICODE)
_STOP = frozenset(
    "a an and are as at be but by for from has have how i if in into is it its my of on or so that the their then this to "
    "was we what when where which who why will with you your do does did not no can cant".split()
)


@dataclass
class Result:
    slug: str
    title: str
    summary: str
    category: str
    score: float
    why: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {
            "slug": self.slug,
            "title": self.title,
            "summary": self.summary,
            "category": self.category,
            "score": round(self.score, 6),
            "why": self.why,
        }


@dataclass
class SearchResponse:
    query: str
    matched: bool
    results: list[Result]

    def to_dict(self) -> dict:
        return {"query": self.query, "matched": self.matched, "results": [r.to_dict() for r in self.results]}


def query_terms(text: str, limit: int = 48) -> list[str]:
    """Distinct lowercase words worth searching for, in order of first appearance."""
    terms: dict[str, None] = {}
    for word in _WORD.findall(normalize(text[:MAX_SCAN]).lower()):
        if word in _STOP or len(word) < 2 or word.isdigit() or word in ("num", "id", "uuid", "hex", "url", "path", "datetime"):
            continue
        terms.setdefault(word, None)
        if len(terms) >= limit:
            break
    return list(terms)


def fts_expression(terms: list[str]) -> str | None:
    """An FTS5 MATCH expression that cannot be a syntax error: every term quoted, OR-ed together."""
    quoted = ['"' + t.replace('"', '""') + '"' for t in terms]
    return " OR ".join(quoted) if quoted else None


def best_section(sections: list[tuple[str, str]], terms: list[str]) -> tuple[str | None, str]:
    """The section sharing most query terms, and a snippet around the first one (terms in **bold**)."""
    if not sections:
        return None, ""
    term_set = set(terms)

    def overlap(body: str) -> int:
        return len(term_set & set(_WORD.findall(body.lower())))

    name, body = max(sections, key=lambda s: overlap(s[1]))
    if overlap(body) == 0:
        name, body = sections[0]
    return name, snippet(body, terms)


def snippet(body: str, terms: list[str], width: int = 220) -> str:
    """Plain text around the first query term, terms wrapped in ``**``.  The entry's own markdown
    emphasis is removed first so that the only ``**`` markers are ours."""
    text = re.sub(r"```[^\n]*\n.*?```", " ", body, flags=re.S)
    text = text.replace("**", "").replace("__", "")
    text = re.sub(r"^#{1,6}[ \t]+", "", text, flags=re.M)  # "### Option 1: ..." reads as "Option 1: ..."
    text = re.sub(r"\s+", " ", text).strip()
    lowered = text.lower()
    positions = [m.start() for t in terms for m in [re.search(r"\b" + re.escape(t) + r"\b", lowered)] if m]
    start = max(0, min(positions) - 60) if positions else 0
    piece = text[start : start + width]
    if start > 0:
        piece = "…" + piece
    if start + width < len(text):
        piece += "…"
    if terms:
        piece = re.sub(r"\b(" + "|".join(re.escape(t) for t in sorted(terms, key=len, reverse=True)) + r")\b", r"**\1**", piece, flags=re.I)
    return piece


def decide_matched(pattern_top: bool, cosine: float | None, bm25_agrees: bool, lead: float | None = None) -> bool:
    """The abstention rule (see module docstring).  ``lead``: the top entry's cosine minus the best
    cosine of any other entry (negative when another entry is closer in meaning)."""
    if pattern_top:
        return True
    if cosine is None:
        return False
    if cosine >= COSINE_ALONE or (cosine >= COSINE_WITH_AGREEMENT and bm25_agrees):
        return True
    return lead is not None and cosine >= COSINE_WITH_LEAD and lead >= LEAD


def hybrid_search(store, query: str, limit: int, query_vector=None, dense_index=None, patterns: PatternIndex | None = None) -> SearchResponse:
    """Run all three retrievers and fuse them.

    ``dense_index`` is a ``(slugs, fields, matrix)`` triple (``Store.embedding_matrix``) and
    ``query_vector`` the query's embedding; without them the search is lexical + patterns only.
    """
    import numpy as np

    limit = max(1, min(int(limit), 50))
    hits = (patterns or PatternIndex(store.all_patterns())).match(query)
    pattern_rank = [h.slug for h in hits]
    terms = query_terms(query)
    expression = fts_expression(terms)
    bm25 = store.fts_search(expression, CANDIDATES) if expression else []
    bm25_rank = [slug for slug, _ in bm25]

    cosines: dict[str, tuple[float, str]] = {}
    if query_vector is not None and dense_index is not None and len(dense_index[0]):
        slugs, fields, matrix = dense_index
        sims = matrix @ np.asarray(query_vector, dtype=np.float32)
        for i in np.argsort(-sims):
            slug = slugs[i]
            if slug not in cosines:
                cosines[slug] = (float(sims[i]), fields[i])
            if len(cosines) >= CANDIDATES:
                break
    dense_rank = list(cosines)

    fused = rrf([pattern_rank, bm25_rank, dense_rank], weights=[PATTERN_WEIGHT, 1.0, DENSE_WEIGHT])
    bm25_scores = dict(bm25)
    pattern_by_slug = {h.slug: h for h in hits}
    results: list[Result] = []
    top_slugs = [slug for slug, _ in fused[:limit]]
    entries = {e.slug: e for e in (store.get_entry(s) for s in top_slugs) if e}
    for slug, score in fused[:limit]:
        entry = entries.get(slug)
        if entry is None:
            continue
        hit = pattern_by_slug.get(slug)
        section_name, snip = best_section([(s.name, s.body) for s in entry.sections], terms)
        cosine = cosines.get(slug)
        if cosine and not (hit or bm25_scores.get(slug)):
            section_name = "Symptom" if cosine[1] == "symptom" else section_name
        why = {
            "pattern": hit.pattern if hit else None,
            "pattern_text": hit.matched_text if hit else None,
            "section": section_name,
            "snippet": snip,
            "signals": {
                "pattern_rank": pattern_rank.index(slug) + 1 if slug in pattern_by_slug else None,
                "bm25": round(bm25_scores[slug], 4) if slug in bm25_scores else None,
                "bm25_rank": bm25_rank.index(slug) + 1 if slug in bm25_scores else None,
                "cosine": round(cosine[0], 4) if cosine else None,
                "dense_rank": dense_rank.index(slug) + 1 if cosine else None,
            },
        }
        results.append(Result(slug, entry.title, entry.summary, entry.category, score, why))

    matched = False
    if results:
        top = results[0].slug
        top_cos = cosines.get(top, (None,))[0]
        others = [c for slug, (c, _f) in cosines.items() if slug != top]
        lead = top_cos - max(others) if top_cos is not None and others else None
        matched = decide_matched(top in pattern_by_slug, top_cos, top in bm25_rank[:3], lead)
    return SearchResponse(query=query, matched=matched, results=results)
