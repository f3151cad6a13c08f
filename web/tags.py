"""Tag hygiene on the site: every tag is shown in its canonical spelling, and only canonical tags have pages.

The rules are lint's (``synapse_ai.kb.freshness``): one spelling per concept (``TAG_SYNONYMS``), lowercase,
HTTP statuses as ``http-NNN`` and JSON-RPC codes as ``jsonrpc-NNN``.  Shipped entries already follow
them; entries approved from older submissions or written by hand elsewhere may not, and the site then
shows them as if they did, so tag pages and filters gather everything about one concept.
"""

from __future__ import annotations

import re

from synapse_ai.kb.freshness import TAG_RE, TAG_SYNONYMS

_NUMBER = re.compile(r"^-?\d+$")


def canonical_tag(tag: str) -> str:
    """The canonical spelling of ``tag`` ("" when nothing canonical can be made of it)."""
    tag = tag.strip().lower().replace(" ", "-")
    if _NUMBER.match(tag):
        return f"jsonrpc-{tag[1:]}" if tag.startswith("-") else f"http-{tag}"
    tag = TAG_SYNONYMS.get(tag, tag)
    return tag if TAG_RE.match(tag) else ""


def canonical_tags(tags: list[str]) -> list[str]:
    """``tags`` canonicalised, duplicates dropped, order kept."""
    seen: dict[str, None] = {}
    for tag in tags:
        canonical = canonical_tag(tag)
        if canonical:
            seen.setdefault(canonical, None)
    return list(seen)


def canonical_counts(counts: list[tuple[str, int]]) -> list[tuple[str, int]]:
    """(tag, count) pairs merged under canonical spellings, most used first (an entry tagged with two
    spellings of one tag is counted twice: a rare case that lint already reports)."""
    merged: dict[str, int] = {}
    for tag, n in counts:
        canonical = canonical_tag(tag)
        if canonical:
            merged[canonical] = merged.get(canonical, 0) + n
    return sorted(merged.items(), key=lambda kv: (-kv[1], kv[0]))


def spellings(canonical: str, counts: list[tuple[str, int]]) -> list[str]:
    """The stored tags that show as ``canonical``."""
    return [tag for tag, _n in counts if canonical_tag(tag) == canonical]
