"""The typed model of an entry.  ``synapse_ai.kb.parse`` builds it from markdown and renders it back."""

from __future__ import annotations

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

# Fences and option headings are found by a line scanner, not a regex: the text comes from strangers
# (web submissions), and a lazy multi-line regex over unclosed fences takes quadratic time.
_FENCE = "```"
_OPTION_PREFIX = "### Option "
# An option number longer than this is reported by lint instead of being converted with int(), which
# refuses numbers over 4,300 digits; FixOption.number is then OPTION_NUMBER_TOO_LONG.
MAX_OPTION_DIGITS = 4
OPTION_NUMBER_TOO_LONG = -1


@dataclass(frozen=True)
class CodeBlock:
    language: str
    attrs: tuple[str, ...]
    code: str
    line: int = 0  # line in the file where the fence opens (0 when unknown)

    @property
    def runnable(self) -> bool:
        """True when the fence's info string marks the block ``runnable``."""
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
        """The fenced code blocks in this section."""
        return code_blocks_in(self.body, self.line)


@dataclass(frozen=True)
class Verified:
    """When an entry's facts were last checked, and against what (``anthropic 2.15.0``, a docs page)."""

    on: date
    against: tuple[str, ...]

    def to_dict(self) -> dict:
        """``{"date": "YYYY-MM-DD", "against": [...]}``."""
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
        """The section with this name (any case), or None."""
        wanted = name.strip().lower()
        return next((s for s in self.sections if s.name.lower() == wanted), None)

    @property
    def fix_options(self) -> list[FixOption]:
        """The numbered options of the Fix section ([] when there is none)."""
        fix = self.section("Fix")
        return split_fix_options(fix.body, fix.line) if fix else []

    @property
    def code_blocks(self) -> list[CodeBlock]:
        """Every fenced code block of the entry, section by section."""
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


def _is_fence_open(line: str) -> bool:
    """```` ```lang attrs ```` (no backtick after the first three)."""
    return line.startswith(_FENCE) and "`" not in line[3:]


def _is_fence_close(line: str) -> bool:
    """```` ``` ```` with nothing but spaces or tabs after it."""
    return line.startswith(_FENCE) and not line[3:].strip(" \t")


def fence_spans(lines: list[str]) -> list[tuple[int, int]]:
    """``(opening line, closing line)`` index pairs of the closed code fences in ``lines``.

    One pass over the lines (split at ``\n`` only).  A fence opens at a line starting with three
    backticks and no further backtick, and closes at the next line that is three backticks and
    blanks.  An opening line must be followed by a line; a fence that never closes is no block, and
    then nothing after it can be one either (no closing line follows).
    """
    spans = []
    opened = -1
    for i, line in enumerate(lines):
        if opened < 0:
            if i + 1 < len(lines) and _is_fence_open(line):
                opened = i
        elif _is_fence_close(line):
            spans.append((opened, i))
            opened = -1
    return spans


def prose_lines(text: str) -> list[str]:
    """The lines of ``text`` outside its code fences, fence lines dropped too: code stripped as the
    parser reads fences (``fence_spans``), for the indexer's embedded text and the submission
    checks, which work line by line.  Linear in the text."""
    lines = text.split("\n")
    spans = fence_spans(lines)
    if not spans:
        return lines
    out, at = [], 0
    for start, end in spans:
        out += lines[at:start]
        at = end + 1
    return out + lines[at:]


def without_code(body: str) -> str:
    """``body`` with each fenced block (```` ``` ```` to the end of its line, through the next
    ```` ``` ````) replaced by a space.  Found with ``str.find``: the regex that did this took
    quadratic time on a long run of backticks with no newline.

    Prose for reading (search snippets, the hook's root cause): an indented fence inside a list item
    goes too, which ``prose_lines`` (the parser's line-start fences) keeps."""
    out, at = [], 0
    while True:
        start = body.find("```", at)
        newline = body.find("\n", start + 3) if start >= 0 else -1
        end = body.find("```", newline + 1) if newline >= 0 else -1
        if end < 0:  # no complete block starts here, so none starts later either
            out.append(body[at:])
            return "".join(out)
        out.append(body[at:start])
        out.append(" ")
        at = end + 3


def code_blocks_in(markdown: str, first_line: int = 0) -> list[CodeBlock]:
    """The fenced code blocks of ``markdown``, with file line numbers when ``first_line`` is given."""
    lines = markdown.split("\n")
    blocks = []
    for start, end in fence_spans(lines):
        info = lines[start][3:].split()
        code = "".join(line + "\n" for line in lines[start + 1 : end])
        blocks.append(
            CodeBlock(info[0] if info else "", tuple(info[1:]), code, first_line + start if first_line else 0)
        )
    return blocks


def _option_heading(line: str) -> tuple[str, str] | None:
    """``(digits, title)`` of a ``### Option N: title`` line, else None.  The title loses the blanks
    around it; a heading with nothing after the colon is no heading."""
    if not line.startswith(_OPTION_PREFIX):
        return None
    rest = line[len(_OPTION_PREFIX) :]
    digits = 0
    while digits < len(rest) and rest[digits].isdecimal():  # any script's decimal digits, like \d
        digits += 1
    if not digits or rest[digits : digits + 1] != ":" or len(rest) == digits + 1:
        return None
    after = rest[digits + 1 :]
    return rest[:digits], after.strip(" \t") or after[-1]


def option_headings(body: str) -> list[tuple[int, int, str, str]]:
    """``(line index, offset, digits, title)`` of each option heading outside code fences."""
    lines = body.split("\n")
    in_code = [False] * len(lines)
    for start, end in fence_spans(lines):
        for i in range(start, end + 1):
            in_code[i] = True
    heads = []
    offset = 0
    for i, line in enumerate(lines):
        if not in_code[i]:
            found = _option_heading(line)
            if found:
                heads.append((i, offset, found[0], found[1]))
        offset += len(line) + 1
    return heads


def option_number(digits: str) -> int:
    """An option's number; more than MAX_OPTION_DIGITS digits give OPTION_NUMBER_TOO_LONG, not a huge int."""
    return int(digits) if len(digits) <= MAX_OPTION_DIGITS else OPTION_NUMBER_TOO_LONG


def split_fix_options(body: str, first_line: int = 0) -> list[FixOption]:
    """Split a Fix section body into its ``### Option N: title`` parts (headings inside code ignored)."""
    heads = option_headings(body)
    options = []
    for i, (index, offset, digits, title) in enumerate(heads):
        head_end = body.find("\n", offset)
        head_end = len(body) if head_end < 0 else head_end
        end = heads[i + 1][1] if i + 1 < len(heads) else len(body)
        text = body[head_end:end].strip("\n")
        line = first_line + index + 1 if first_line else 0
        options.append(FixOption(option_number(digits), title, text, tuple(code_blocks_in(text, line))))
    return options


def fix_preamble(body: str) -> str:
    """Text of the Fix section before its first option heading."""
    heads = option_headings(body)
    return body[: heads[0][1]].strip() if heads else body.strip()
