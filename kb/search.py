"""Hybrid search: graded error signals + keyword BM25 + dense cosine, fused with RRF.

The keyword and meaning candidates come from the store (``IndexStore.lexical_search`` and
``vector_search``: FTS5 and numpy on SQLite, term statistics and pgvector on PostgreSQL); this module
only fuses their rankings, explains them and decides.

A pasted log is first reduced to its error blocks (``synapse_ai.kb.extract``), so the retrievers see the
failure, not the preamble.  ``matched`` says whether the best result is confident enough for an
agent to act on without a human checking: specific evidence decides alone, generic evidence only
with agent context, meaning only when it is strong (``decide_matched``).  The thresholds are
calibrated on the labelled sets in ``tests/queries`` (see docs/search.md).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from synapse_ai.kb.extract import (
    ErrorBlock,
    agent_context,
    bounded_window,
    evidence_tail,
    extract_errors,
    focus_text,
    http_statuses,
    is_error_text,
)
from synapse_ai.kb.feedback import FeedbackLookup, apply_feedback, gather_feedback
from synapse_ai.kb.fusion import rrf
from synapse_ai.kb.limits import clamp_limit
from synapse_ai.kb.model import without_code
from synapse_ai.kb.signals import Evidence, SignalIndex
from synapse_ai.kb.signature import MAX_SCAN, normalize
from synapse_ai.kb.why import DecisionTrace, Signals, Why

# Calibrated for sentence-transformers/all-MiniLM-L6-v2 (docs/search.md has the measurements).
COSINE_ALONE = 0.70  # a cosine this high is confident by itself
COSINE_WITH_AGREEMENT = 0.45  # enough when BM25's best result is the same entry and it leads by LEAD
LEAD = 0.02  # ... over every other entry's cosine
PATTERN_WEIGHT = 3.0  # specific evidence is the strongest there is
GENERIC_WEIGHT = 1.0  # generic evidence ranks like one more keyword retriever
DENSE_WEIGHT = 1.5  # meaning beats shared words for paraphrased symptoms (measured on the query set)
CANDIDATES = 30

_WORD = re.compile(r"\w+", re.UNICODE)
_STATUS_LIKE = re.compile(r"^[1-5]\d\d$")  # "429" is a word worth searching; other numbers are noise
_STOP = frozenset(
    "a an and are as at be but by for from has have how i if in into is it its my of on or so that the their then "
    "this to "
    "was we what when where which who why will with you your do does did not no can cant".split()
)


@dataclass
class Result:
    slug: str
    title: str
    summary: str
    category: str
    score: float
    why: Why = field(default_factory=Why)
    quick_fix: str = ""  # the entry's fix in one breath ("" for entries written before the field)

    def to_dict(self) -> dict:
        """The result in the JSON shape the CLI, the API and the tools share."""
        return {
            "slug": self.slug,
            "title": self.title,
            "summary": self.summary,
            "quick_fix": self.quick_fix,
            "category": self.category,
            "score": round(self.score, 6),
            "why": self.why.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: dict) -> Result:
        """The inverse of ``to_dict`` (a server's answer read back by ``synapse_ai.kb.remote``)."""
        return cls(
            slug=data["slug"],
            title=data["title"],
            summary=data["summary"],
            category=data["category"],
            score=float(data["score"]),
            why=Why.from_dict(data.get("why")),
            quick_fix=data.get("quick_fix") or "",
        )


@dataclass
class SearchResponse:
    query: str
    matched: bool
    results: list[Result]

    def to_dict(self) -> dict:
        """``{query, matched, results}``: the JSON shape the CLI, the API and the tools share."""
        return {"query": echo(self.query), "matched": self.matched, "results": [r.to_dict() for r in self.results]}

    @classmethod
    def from_dict(cls, data: dict) -> SearchResponse:
        """The inverse of ``to_dict``: ``from_dict(r.to_dict()).to_dict() == r.to_dict()`` (the echoed
        query of a long text is already cut, and cutting it again changes nothing)."""
        results = [Result.from_dict(r) for r in data["results"]]
        return cls(query=data["query"], matched=bool(data["matched"]), results=results)


ECHO_HEAD, ECHO_TAIL = 300, 1200


def echo(query: str) -> str:
    """The query as answers repeat it: whole when short; a pasted 10 MB log is not sent back, only
    its start and its end (where the error is), with how much was left out."""
    if len(query) <= ECHO_HEAD + ECHO_TAIL + 100:
        return query
    omitted = len(query) - ECHO_HEAD - ECHO_TAIL
    return f"{query[:ECHO_HEAD]}\n... [{omitted} characters omitted] ...\n{query[-ECHO_TAIL:]}"


def query_terms(text: str, limit: int = 48) -> list[str]:
    """Distinct lowercase words worth searching for, in order of first appearance."""
    terms: dict[str, None] = {str(status): None for status in http_statuses(text[:MAX_SCAN])}
    for word in _WORD.findall(normalize(text[:MAX_SCAN]).lower()):
        if (
            word in _STOP
            or len(word) < 2
            or (word.isdigit() and not _STATUS_LIKE.match(word))
            or word in ("num", "id", "uuid", "hex", "url", "path", "datetime")
        ):
            continue
        terms.setdefault(word, None)
        if len(terms) >= limit:
            break
    return list(terms)


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
    text = without_code(body)
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
        piece = re.sub(
            r"\b(" + "|".join(re.escape(t) for t in sorted(terms, key=len, reverse=True)) + r")\b",
            r"**\1**",
            piece,
            flags=re.I,
        )
    return piece


@dataclass(frozen=True)
class Decision:
    """Whether to say ``matched``, and the rule that decided (shown in ``why``)."""

    matched: bool
    rule: str


def decide_matched(
    *,
    specific: bool,
    generic: bool,
    error_text: bool,
    generic_unique: bool = True,
    context: bool,
    cosine: float | None,
    bm25_rank: int | None,
    lead: float | None,
) -> Decision:
    """The abstention rule (docs/search.md).  For the top result:

    1. specific evidence (the entry's own error text, ``patterns``) decides alone;
    2. in an error text, generic evidence (a shape everyday code raises too, an error type, a
       status) decides only when the text is about an agent or an LLM API (``context``), and when
       several entries share that evidence, only for the one that meaning also puts first (in a
       question, "too many requests" is a topic, not evidence: it only ranks);
    3. otherwise only meaning is left.  An error text without agent context never matches on
       meaning (routine failures resemble entries in words, not in cause).  A question or an
       agent error needs a high cosine, or a fair one that BM25's best result agrees with and
       that leads every other entry's cosine.
    """
    if specific:
        return Decision(True, "specific")
    if (
        generic
        and error_text
        and context
        and (
            generic_unique
            or (cosine is not None and cosine >= COSINE_WITH_AGREEMENT and lead is not None and lead >= 0)
        )
    ):
        return Decision(True, "generic+context")
    if cosine is None or (error_text and not context):
        return Decision(False, "no-specific-evidence" if error_text else "no-meaning-score")
    if cosine >= COSINE_ALONE:
        return Decision(True, "meaning")
    if cosine >= COSINE_WITH_AGREEMENT and bm25_rank == 1 and lead is not None and lead >= LEAD:
        return Decision(True, "meaning+keywords")
    return Decision(False, "weak-meaning")


@dataclass
class QueryAnalysis:
    """What a query is, worked out once: its error blocks, the text retrieval sees (``focus``),
    whether it is a failure's output, the evidence it gives each entry, and its agent context."""

    blocks: list[ErrorBlock]
    focus: str
    error_text: bool
    evidence: Evidence
    context: list[str]


def analyse(query: str, signals: SignalIndex, error_text: bool | None = None) -> QueryAnalysis:
    """``error_text``: True for a failure's output (``match``) even when no error block is
    recognised; None decides from the blocks found (a question holds none)."""
    blocks = extract_errors(query)
    focus = focus_text(query, blocks)
    return QueryAnalysis(
        blocks=blocks,
        focus=focus,
        error_text=is_error_text(blocks) if error_text is None else error_text,
        evidence=signals.evidence(focus, evidence_tail(query)),
        # Anywhere in the window, not only in the blocks: a generic asyncio traceback in a log
        # full of anthropic retries is the agent's.
        context=agent_context(bounded_window(query)),
    )


# Candidates read when a filter will drop most of them: BM25 reads 1000; the nearest-vector search
# 200 (PostgreSQL's HNSW search explores at most 1000 rows, 4 per entry asked for).
FILTERED_CANDIDATES = 1000
FILTERED_VECTOR_CANDIDATES = 200


@dataclass(frozen=True)
class SearchFilter:
    """Only entries of ``category`` and/or tagged ``tag``.  Applied to every retriever's candidates
    before fusion and the limit, so a filtered search still returns up to ``limit`` hits."""

    category: str | None = None
    tag: str | None = None

    @property
    def active(self) -> bool:
        """Whether a category or tag filter is set. Raises nothing of its own."""
        return bool(self.category or self.tag)


def hybrid_search(
    store,
    query: str,
    limit: int,
    query_vector=None,
    model: str | None = None,
    signals: SignalIndex | None = None,
    analysis: QueryAnalysis | None = None,
    feedback: FeedbackLookup | None = None,
    allowed: frozenset[str] | None = None,
) -> SearchResponse:
    """Run the retrievers over the query's ``focus`` (its error blocks; the query itself when it
    holds none) and fuse them: specific evidence, generic evidence, BM25 and dense.

    ``query_vector`` is the embedding of the focus by ``model`` (whose stored vectors it is compared
    with); without them the search is lexical + signals only.
    ``analysis`` is ``analyse(query, signals)`` when the caller already has it.  ``feedback`` gives
    the candidates' confirmations and flags, applied as a bounded prior (``synapse_ai.kb.feedback``).
    ``allowed``: the slugs a ``SearchFilter`` lets through (None: every entry).
    """
    limit = clamp_limit(limit)
    if analysis is None:
        analysis = analyse(query, signals or SignalIndex(store.all_signals()))
    blocks, focus, error_text, evidence, context = (
        analysis.blocks,
        analysis.focus,
        analysis.error_text,
        analysis.evidence,
        analysis.context,
    )

    def keep(slugs: list[str]) -> list[str]:
        return slugs if allowed is None else [slug for slug in slugs if slug in allowed]

    specific_rank = keep(evidence.specific_rank())
    terms = query_terms(focus)
    depth = CANDIDATES if allowed is None else FILTERED_CANDIDATES
    bm25 = [(hit.slug, hit.score) for hit in store.lexical_search(terms, depth)] if terms else []
    if allowed is not None:
        bm25 = [(slug, score) for slug, score in bm25 if slug in allowed][:CANDIDATES]
    bm25_rank = [slug for slug, _ in bm25]
    generic_rank = keep(evidence.generic_rank(bm25_rank))

    cosines: dict[str, tuple[float, str]] = {}
    if query_vector is not None and model is not None:
        hits = store.vector_search(query_vector, model, CANDIDATES if allowed is None else FILTERED_VECTOR_CANDIDATES)
        hits = hits if allowed is None else [hit for hit in hits if hit.slug in allowed][:CANDIDATES]
        cosines = {hit.slug: (hit.score, hit.field) for hit in hits}
    dense_rank = list(cosines)

    # A query that is only a status ("429", "HTTP 429", "Too Many Requests") has no words for BM25 or
    # meaning to work on: the entries that explain the status decide the order.
    status_only = bool(evidence.statuses) and len(_WORD.findall(focus)) <= 4 and not evidence.specific
    fused = rrf(
        [specific_rank, generic_rank, bm25_rank, dense_rank],
        weights=[PATTERN_WEIGHT, PATTERN_WEIGHT if status_only else GENERIC_WEIGHT, 1.0, DENSE_WEIGHT],
    )
    said = gather_feedback(fused, limit, feedback) if feedback is not None else {}
    if said:
        fused = apply_feedback(fused, said, set(specific_rank))
    bm25_scores = dict(bm25)
    results: list[Result] = []
    top_slugs = [slug for slug, _ in fused[:limit]]
    entries = {e.slug: e for e in (store.get_entry(s) for s in top_slugs) if e}
    for slug, score in fused[:limit]:
        entry = entries.get(slug)
        if entry is None:
            continue
        found = evidence.describe(slug)
        section_name, snip = best_section([(s.name, s.body) for s in entry.sections], terms)
        cosine = cosines.get(slug)
        if cosine and not (found or bm25_scores.get(slug)):
            section_name = "Symptom" if cosine[1] == "symptom" else section_name
        is_pattern = bool(found and found.kind == "pattern")
        why = Why(
            pattern=found.pattern if is_pattern else None,
            pattern_text=found.text if is_pattern else None,
            evidence=found,
            section=section_name,
            snippet=snip,
            signals=Signals(
                pattern_rank=specific_rank.index(slug) + 1 if slug in specific_rank else None,
                generic_rank=generic_rank.index(slug) + 1 if slug in generic_rank else None,
                bm25=round(bm25_scores[slug], 4) if slug in bm25_scores else None,
                bm25_rank=bm25_rank.index(slug) + 1 if slug in bm25_scores else None,
                cosine=round(cosine[0], 4) if cosine else None,
                dense_rank=dense_rank.index(slug) + 1 if cosine else None,
            ),
            feedback=said.get(slug),
        )
        results.append(Result(slug, entry.title, entry.summary, entry.category, score, why, entry.quick_fix))

    matched = False
    if results:
        top = results[0]
        top_cos = cosines.get(top.slug, (None,))[0]
        others = [c for slug, (c, _f) in cosines.items() if slug != top.slug]
        lead = top_cos - max(others) if top_cos is not None and others else None
        decision = decide_matched(
            specific=top.slug in specific_rank,
            generic=top.slug in generic_rank,
            generic_unique=len(generic_rank) == 1,
            error_text=error_text,
            context=bool(context),
            cosine=top_cos,
            bm25_rank=bm25_rank.index(top.slug) + 1 if top.slug in bm25_rank else None,
            lead=lead,
        )
        if top.slug in said and said[top.slug].demoted:  # flagged incorrect: nothing to act on unreviewed
            decision = Decision(False, "flagged-incorrect")
        matched = decision.matched
        top.why = replace(
            top.why,
            decision=DecisionTrace(
                rule=decision.rule,
                generic_candidates=len(generic_rank),
                lead=round(lead, 4) if lead is not None else None,
                error_text=error_text,
                context=tuple(context),
                blocks=tuple(b.as_dict() for b in blocks[:3]),
            ),
        )
    return SearchResponse(query=query, matched=matched, results=results)
