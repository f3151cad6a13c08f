"""Small builders for entry files used across kb tests."""

from __future__ import annotations

from pathlib import Path

from synapse_ai.kb.embed import HashingEmbedder

TEMPLATE = """---
slug: {slug}
title: "{title}"
summary: {summary}
quick_fix: Do this instead.
category: api-errors
tags: [{tag}]
patterns: [{patterns}]
environment: [anthropic Python SDK 2.x]
savings: none
sources: [https://docs.anthropic.com/en/api/errors]
created: 2026-11-01
updated: 2026-11-01
---

## Symptom

{symptom}

## Root Cause

{cause}

## Fix

### Option 1: Fix it

{fix}
"""


def write_entry(
    directory: Path,
    slug: str,
    *,
    title: str | None = None,
    summary: str = "A summary.",
    tag: str = "demo",
    patterns: str = "",
    symptom: str = "Something breaks.",
    cause: str = "A reason.",
    fix: str = "Do this.",
) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{slug}.md"
    path.write_text(
        TEMPLATE.format(
            slug=slug,
            title=title or slug.replace("-", " "),
            summary=summary,
            tag=tag,
            patterns=patterns,
            symptom=symptom,
            cause=cause,
            fix=fix,
        ),
        encoding="utf-8",
    )
    return path


class CountingEmbedder(HashingEmbedder):
    """The hashing embedder, counting every text it embeds."""

    def __init__(self):
        self.texts: list[str] = []

    def embed(self, texts):
        self.texts.extend(texts)
        return super().embed(texts)
