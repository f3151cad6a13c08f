"""Synthetic entries for corpus-size benchmarks: copies of the real entries with new slugs and light
textual variation, valid per entries/README.md (they lint and index without problems).

    python -m bench.synthetic OUT_DIR SIZE      # writes SIZE - (real entries already in OUT_DIR) files

Variation (deterministic, seeded by the variant number):

* slug ``<source>-s<NNNNN>``; the title gets a context phrase ("… in a LangGraph agent");
* prose outside code fences has some words swapped for synonyms, and the Symptom gets one extra
  context sentence, so every variant has its own text (its own embedding, its own BM25 statistics);
* tags are shuffled and one context tag is added;
* every pattern gets a variant-specific literal prefix (``SYN00012E: …``).  Copies with the
  *original* patterns would make every 429 error match hundreds of entries, which no real corpus
  does; with the prefix the pattern prefilter sees distinct signatures, as in a real 10k corpus.
  The regexes stay valid (lint compiles them).

Code blocks are copied unchanged, so ``python`` blocks still parse.
"""

from __future__ import annotations

if __package__ in (None, ""):  # run as ``python bench/<name>.py``: make the repository importable
    import os as _os
    import sys as _sys

    _sys.path.insert(0, _os.path.dirname(_os.path.dirname(_os.path.abspath(__file__))))

import random
import re
import sys
from dataclasses import replace
from pathlib import Path

GENERATOR_VERSION = 1

CONTEXTS = [
    ("in a LangGraph agent", "langgraph"),
    ("with the Batch API", "batch-api"),
    ("in a FastAPI backend", "fastapi"),
    ("on Python 3.12", "python-3-12"),
    ("in a Celery worker", "celery"),
    ("inside a Jupyter notebook", "jupyter"),
    ("with streaming enabled", "streaming"),
    ("in a multi-agent setup", "multi-agent"),
    ("behind a corporate proxy", "proxy"),
    ("in CI", "ci"),
    ("with the TypeScript SDK port", "typescript"),
    ("on AWS Lambda", "aws-lambda"),
    ("in a Django view", "django"),
    ("with LlamaIndex", "llamaindex"),
    ("under heavy load", "load"),
    ("after an SDK upgrade", "upgrade"),
]

SYNONYMS = {
    "error": "failure",
    "fails": "breaks",
    "fix": "remedy",
    "request": "call",
    "requests": "calls",
    "agent": "assistant",
    "returns": "gives back",
    "usually": "typically",
    "often": "frequently",
    "large": "big",
    "small": "little",
    "use": "employ",
    "quickly": "fast",
    "wait": "pause",
    "model": "LLM",
    "message": "text",
    "send": "submit",
    "happens": "occurs",
    "because": "since",
    "problem": "issue",
}
_WORD_RE = re.compile(r"\b(" + "|".join(SYNONYMS) + r")\b")


def _vary_prose(text: str, rng: random.Random, rate: float = 0.5) -> str:
    """Swap some words for synonyms, outside code fences and inline code."""
    out, inside = [], False
    for line in text.split("\n"):
        if line.startswith("```"):
            inside = not inside
            out.append(line)
            continue
        if inside:
            out.append(line)
            continue
        parts = re.split(r"(`[^`]*`)", line)  # keep inline code intact
        for i in range(0, len(parts), 2):
            parts[i] = _WORD_RE.sub(lambda m: SYNONYMS[m.group(1)] if rng.random() < rate else m.group(1), parts[i])
        out.append("".join(parts))
    return "\n".join(out)


def variant(entry, number: int):
    """Entry ``number`` (1-based) derived from ``entry``."""
    from synapse_ai.kb.model import Section

    rng = random.Random(number * 7919 + len(entry.slug))
    context, tag = CONTEXTS[number % len(CONTEXTS)]
    code = f"SYN{number:05d}E"
    sections = []
    for s in entry.sections:
        body = _vary_prose(s.body, rng)
        if s.name == "Symptom":
            body = f"{body.rstrip()}\n\nReported {context} (case {number})."
        sections.append(Section(s.name, body))
    tags = list(entry.tags)
    rng.shuffle(tags)
    if tag not in tags:
        tags.append(tag)
    return replace(
        entry,
        slug=f"{entry.slug}-s{number:05d}",
        title=f"{entry.title} {context}",
        summary=_vary_prose(entry.summary, rng),
        tags=tags,
        patterns=[f"{code}: {p}" for p in entry.patterns],
        sections=sections,
        path=None,
    )


def generate(directory: Path, size: int, sources: Path | None = None) -> int:
    """Add synthetic entries to ``directory`` until it holds ``size`` entries; return how many were written.

    ``sources`` (default: ``directory`` itself) holds the real entries to copy from.
    """
    from synapse_ai.kb.lint import entry_files
    from synapse_ai.kb.parse import parse_entry, read_entry, render_entry

    real = [
        read_entry(p)
        for p in entry_files([sources or directory])
        if "-s" not in p.stem or not re.search(r"-s\d{5}$", p.stem)
    ]
    if not real:
        raise ValueError(f"no entries to copy in {sources or directory}")
    present = len(entry_files([directory]))
    written = 0
    for i in range(size - present):
        number = i + 1
        entry = variant(real[i % len(real)], number)
        text = render_entry(entry)
        if number <= len(real) or number % 97 == 0:  # every source once, then a sample: must parse
            parse_entry(text, directory / f"{entry.slug}.md")
        (directory / f"{entry.slug}.md").write_text(text, encoding="utf-8")
        written += 1
    return written


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__.splitlines()[3].strip(), file=sys.stderr)
        return 2
    out, size = Path(argv[0]), int(argv[1])
    out.mkdir(parents=True, exist_ok=True)
    if not any(out.glob("*.md")):
        from bench.common import snapshot_entries

        snapshot_entries(out)
    n = generate(out, size)
    print(f"wrote {n} synthetic entries to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
