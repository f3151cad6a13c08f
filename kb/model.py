"""The typed model of an entry.  ``kb.parse`` builds it from markdown and renders it back."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

CATEGORIES = (
    "api-errors",
    "tool-use",
    "agent-loops",
    "mcp",
    "async-execution",
    "token-cost",
    "performance",
    "output-handling",
)

REQUIRED_SECTIONS = ("Symptom", "Root Cause", "Fix")
OPTIONAL_SECTIONS = ("When to use which", "Latency comparison", "Expected savings", "Environment", "Notes")
SECTION_ORDER = REQUIRED_SECTIONS + OPTIONAL_SECTIONS

_FENCE_RE = re.compile(r"^```([^\n`]*)\n(.*?)^```[ \t]*$", re.M | re.S)
_OPTION_RE = re.compile(r"^### Option (\d+):[ \t]*(.+?)[ \t]*$", re.M)


@dataclass(frozen=True)
class CodeBlock:
    language: str
    attrs: tuple[str, ...]
    code: str
    line: int = 0  # line in the file where the fence opens (0 when unknown)

    @property
    def runnable(self) -> bool:
        return "runnable" in self.attrs


@dataclass(frozen=True)
class FixOption:
    number: int
    title: str
    body: str
    code_blocks: tuple[CodeBlock, ...]


@dataclass
class Section:
    name: str
    body: str
    line: int = 0

    @property
    def code_blocks(self) -> list[CodeBlock]:
        return code_blocks_in(self.body, self.line)


@dataclass(frozen=True)
class Verified:
    """When an entry's facts were last checked, and against what (``anthropic 2.15.0``, a docs page)."""

    on: date
    against: tuple[str, ...]

    def to_dict(self) -> dict:
        return {"date": self.on.isoformat(), "against": list(self.against)}


@dataclass
class Entry:
    slug: str
    title: str
    summary: str
    category: str
    tags: list[str]
    patterns: list[str]
    environment: list[str]
    savings: str
    sources: list[str]
    created: date
    updated: date
    quick_fix: str = ""
    verified: Verified | None = None
    http_statuses: list[int] = field(default_factory=list)
    error_types: list[str] = field(default_factory=list)
    generic_patterns: list[str] = field(default_factory=list)
    sections: list[Section] = field(default_factory=list)
    path: Path | None = field(default=None, compare=False)

    def section(self, name: str) -> Section | None:
        wanted = name.strip().lower()
        return next((s for s in self.sections if s.name.lower() == wanted), None)

    @property
    def fix_options(self) -> list[FixOption]:
        fix = self.section("Fix")
        return split_fix_options(fix.body, fix.line) if fix else []

    @property
    def code_blocks(self) -> list[CodeBlock]:
        return [block for s in self.sections for block in s.code_blocks]

    def content(self) -> dict:
        """Everything that makes up the entry's content (not where it was read from)."""
        return {
            "slug": self.slug,
            "title": self.title,
            "summary": self.summary,
            "category": self.category,
            "tags": list(self.tags),
            "patterns": list(self.patterns),
            "environment": list(self.environment),
            "savings": self.savings,
            "sources": list(self.sources),
            "created": self.created.isoformat(),
            "updated": self.updated.isoformat(),
            "quick_fix": self.quick_fix,
            "verified": self.verified.to_dict() if self.verified else None,
            "http_statuses": list(self.http_statuses),
            "error_types": list(self.error_types),
            "generic_patterns": list(self.generic_patterns),
            "sections": [{"name": s.name, "body": s.body} for s in self.sections],
        }


def code_blocks_in(markdown: str, first_line: int = 0) -> list[CodeBlock]:
    blocks = []
    for m in _FENCE_RE.finditer(markdown):
        info = m.group(1).split()
        line = first_line + markdown.count("\n", 0, m.start()) if first_line else 0
        blocks.append(CodeBlock(info[0] if info else "", tuple(info[1:]), m.group(2), line))
    return blocks


def split_fix_options(body: str, first_line: int = 0) -> list[FixOption]:
    """Split a Fix section body into its ``### Option N: title`` parts (headings inside code ignored)."""
    fences = [(m.start(), m.end()) for m in _FENCE_RE.finditer(body)]
    heads = [m for m in _OPTION_RE.finditer(body) if not any(a <= m.start() < b for a, b in fences)]
    options = []
    for i, m in enumerate(heads):
        end = heads[i + 1].start() if i + 1 < len(heads) else len(body)
        text = body[m.end():end].strip("\n")
        line = first_line + body.count("\n", 0, m.end()) + 1 if first_line else 0
        options.append(FixOption(int(m.group(1)), m.group(2), text, tuple(code_blocks_in(text, line))))
    return options


def fix_preamble(body: str) -> str:
    """Text of the Fix section before its first option heading."""
    options = split_fix_options(body)
    if not options:
        return body.strip()
    m = re.search(rf"^### Option {options[0].number}:", body, re.M)
    return body[: m.start()].strip() if m else ""
