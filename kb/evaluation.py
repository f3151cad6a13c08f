"""Retrieval quality on the labelled query set (used by the test suite and ``bench/``).

The query set lives in ``tests/queries``: one YAML file per entry (``slug`` + ``queries`` of kind
``error`` or ``symptom``) and ``off_topic.yaml``, queries no entry answers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import yaml


@dataclass(frozen=True)
class LabelledQuery:
    slug: str | None  # None: off-topic
    kind: str
    text: str


def load_query_set(directory: Path) -> list[LabelledQuery]:
    """Every labelled query in ``directory``; raises ValueError for a query that is not a string."""
    queries: list[LabelledQuery] = []
    for path in sorted((directory / "entries").glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        for q in data["queries"]:
            queries.append(LabelledQuery(data["slug"], q["kind"], _text(q["text"], path)))
    off = yaml.safe_load((directory / "off_topic.yaml").read_text(encoding="utf-8"))
    queries.extend(
        LabelledQuery(None, "off-topic", _text(text, directory / "off_topic.yaml")) for text in off["queries"]
    )
    return queries


def load_uncovered(directory: Path) -> list[str]:
    """In-domain questions no entry answers (``uncovered.yaml``): the knowledge base must abstain."""
    data = yaml.safe_load((directory / "uncovered.yaml").read_text(encoding="utf-8"))
    return [_text(text, directory / "uncovered.yaml") for text in data["queries"]]


def _text(value, path: Path) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{path}: query is not a string (quote it in YAML): {value!r}")
    return value


@dataclass
class Metrics:
    queries: int
    hit_at_1: float
    hit_at_3: float
    mrr: float
    matched_rate: float  # on-topic queries answered with matched=true
    matched_correct: float  # on-topic queries with matched=true and the right top result
    matched_wrong: float  # on-topic queries with matched=true and a wrong top result (the costly case)
    off_topic: int
    abstention: float  # off-topic queries answered with matched=false
    misses: list[tuple[str, str, list[str]]]  # (expected, query, top 3)

    def as_dict(self) -> dict:
        """The metrics rounded to 4 places, without the list of misses."""
        return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in self.__dict__.items() if k != "misses"}


def evaluate(queries: Iterable[LabelledQuery], search: Callable[[str], tuple[list[str], bool]]) -> Metrics:
    """``search(text) -> (ranked slugs, matched)``."""
    on, off = [], []
    for q in queries:
        (off if q.slug is None else on).append((q, *search(q.text)))
    hits1 = hits3 = rr = matched = matched_ok = matched_bad = 0.0
    misses = []
    for q, ranked, is_matched in on:
        rank = ranked.index(q.slug) + 1 if q.slug in ranked else None
        hits1 += rank == 1
        hits3 += rank is not None and rank <= 3
        rr += 1.0 / rank if rank else 0.0
        matched += is_matched
        matched_ok += is_matched and rank == 1
        matched_bad += is_matched and rank != 1
        if rank != 1:
            misses.append((q.slug, q.text[:120], ranked[:3]))
    n = max(len(on), 1)
    return Metrics(
        queries=len(on),
        hit_at_1=hits1 / n,
        hit_at_3=hits3 / n,
        mrr=rr / n,
        matched_rate=matched / n,
        matched_correct=matched_ok / n,
        matched_wrong=matched_bad / n,
        off_topic=len(off),
        abstention=sum(1 for _, _, m in off if not m) / max(len(off), 1),
        misses=misses,
    )
