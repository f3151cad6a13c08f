"""Markdown entry files ⇄ ``synapse_ai.kb.model.Entry``.

``parse_entry`` collects *every* problem it finds (with the line it is on) and raises one
``EntryError`` holding all of them, so ``synapse lint`` can report a file completely in one pass.
``render_entry`` writes the canonical form; parse → render → parse gives the same content.
"""

from __future__ import annotations

import ast
import json
import os
import re
import stat
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import yaml

from synapse_ai.kb.errors import SynapseError
from synapse_ai.kb.linear_regex import linear_rule_message
from synapse_ai.kb.model import (
    CATEGORIES,
    MAX_OPTION_DIGITS,
    OPTION_NUMBER_TOO_LONG,
    OPTIONAL_SECTIONS,
    REQUIRED_SECTIONS,
    SECTION_ORDER,
    Entry,
    Section,
    Verified,
    code_blocks_in,
    option_headings,
    split_fix_options,
)

# Front matter fields: name -> kind.  The entry format document lists exactly these, in this order
# (tests/kb/test_format_doc.py keeps the two in agreement).
FIELDS: dict[str, str] = {
    "slug": "str",
    "title": "str",
    "summary": "str",
    "quick_fix": "str",
    "category": "str",
    "tags": "list",
    "patterns": "list",
    "generic_patterns": "list",
    "http_statuses": "statuses",
    "error_types": "list",
    "environment": "list",
    "savings": "str",
    "sources": "list",
    "created": "date",
    "updated": "date",
    "verified": "verified",
}
# Fields an entry may leave out: the signals only some errors have, and ``verified`` (a community
# submission has not been checked yet; the shipped entries must all carry it, see tests/entries).
OPTIONAL_FIELDS = {"generic_patterns", "http_statuses", "error_types", "verified"}
# Lists that may be empty ("patterns: []" is fine for symptoms that print no error).
MAY_BE_EMPTY = {"patterns", "generic_patterns", "error_types"}
QUICK_FIX_MAX_WORDS = 60

# libyaml when present: parsing front matter is most of the cost of (re)indexing.
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Dumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):
    """No ``&id001`` anchors when two fields hold the same object (e.g. equal dates)."""

    def ignore_aliases(self, data):
        """Always True: PyYAML then writes no anchors or aliases. Raises nothing of its own."""
        return True


# Limits on what an entry file may hold (documented under "Limits" in entries/README.md).  Entry
# files come from strangers too (web submissions are written out as entries), so every size that
# costs work to check is bounded, and a file over a limit is reported, never half-read.
MAX_ENTRY_CHARS = 256 * 1024  # the whole file; the web body limit is the same in bytes
MAX_FENCE_LINES = 400  # lines starting with ``` (200 code blocks; the shipped entries use at most 14)
MAX_HEADING_CHARS = 300  # a '## ' or '### Option N:' line
MAX_LIST_ITEMS = 50  # items in one front matter list
MAX_ITEM_CHARS = 1000  # one list item (a pattern: 500)
# One-line fields: generous bounds on work, not style rules (the web form's own limits are tighter).
MAX_FIELD_CHARS = {
    "slug": 100,
    "title": 300,
    "summary": 800,
    "quick_fix": 800,
    "savings": 1000,
    "category": 40,
    "patterns": 500,
    "generic_patterns": 500,
}
MAX_NUMBER_DIGITS = 30  # a YAML integer; int() refuses over 4,300 digits and nothing here needs more

SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_FENCE_MARK = "```"
_TOO_MANY_FENCES = f"more than {MAX_FENCE_LINES} code fence lines"
# Characters that end a line for str.splitlines(): a message shows them escaped so that every
# problem stays on one output line.
_LINE_BREAKS = {c: repr(c)[1:-1] for c in "\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"}


@dataclass(frozen=True)
class Problem:
    line: int
    message: str
    path: str = ""

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.path else f"line {self.line}"
        message = " ".join(part.strip() for part in self.message.split("\n") if part.strip())
        return f"{where}: {message.translate(str.maketrans(_LINE_BREAKS))}"


class EntryError(SynapseError, ValueError):
    """An entry's text does not follow the format; ``problems`` says where and why (still a ValueError)."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("; ".join(str(p) for p in problems))


def _deepest_line(front: str) -> int:
    """File line where the front matter's brackets and indentation nest deepest (an estimate that
    ignores quoting: it only points a reader at the place to look)."""
    best, best_line, depth = -1, 2, 0
    for i, line in enumerate(front.split("\n")):
        depth += line.count("[") + line.count("{") - line.count("]") - line.count("}")
        level = depth + (len(line) - len(line.lstrip(" -"))) // 2
        if level > best:
            best, best_line = level, i + 2
    return best_line


def _timestamp_or_text(loader, node):
    """YAML dates that are not real dates (``2026-13-45``) stay text, so the field check reports
    them with their line instead of the YAML library raising."""
    try:
        return loader.construct_yaml_timestamp(node)
    except ValueError:
        return loader.construct_scalar(node)


class _FastFrontLoader(_Loader):
    pass


class _PureFrontLoader(yaml.SafeLoader):
    pass


def _bounded_int(loader, node):
    """YAML integers with at most ``MAX_NUMBER_DIGITS`` digits: a longer one is reported on its line
    (``int()`` of a 4,300+ digit number raises ValueError, which is not a YAML error)."""
    digits = sum(ch.isdigit() for ch in str(node.value))
    if digits > MAX_NUMBER_DIGITS:
        raise yaml.constructor.ConstructorError(
            None, None, f"a number with {digits:,} digits (at most {MAX_NUMBER_DIGITS})", node.start_mark
        )
    return loader.construct_yaml_int(node)


for _cls in (_FastFrontLoader, _PureFrontLoader):
    _cls.add_constructor("tag:yaml.org,2002:timestamp", _timestamp_or_text)
    _cls.add_constructor("tag:yaml.org,2002:int", _bounded_int)


def _load_front(front: str):
    """``(data, node)`` from one parse: the values (as ``yaml.safe_load``) and the node tree (for lines).

    When libyaml rejects the text, the pure-Python parser decides, so lint reports the same
    problem, on the same line, in the same words as before.
    """
    for loader_class in dict.fromkeys((_FastFrontLoader, _PureFrontLoader)):
        loader = loader_class(front)
        try:
            node = loader.get_single_node()
            return (loader.construct_document(node) if node is not None else None), node
        except yaml.YAMLError as exc:
            # libyaml's nesting limit is final: the pure-Python parser would spend seconds on the
            # same text before running out of recursion.
            if loader_class is _PureFrontLoader or "nesting depth" in str(getattr(exc, "problem", "")):
                raise
        finally:
            loader.dispose()


def _key_lines(front: str, node=None) -> dict[str, int]:
    """Line (1-based, within the file) of each top-level front-matter key; items too."""
    lines: dict[str, int] = {}
    if node is None:
        try:
            node = yaml.compose(front, Loader=_Loader)
        except yaml.YAMLError:
            return lines
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            lines[key.value] = key.start_mark.line + 2  # +1 for 1-based, +1 for the opening ---
            if isinstance(value, yaml.SequenceNode):
                for i, item in enumerate(value.value):
                    lines[f"{key.value}[{i}]"] = item.start_mark.line + 2
    return lines


def _split_front_matter(text: str) -> tuple[str | None, str, int]:
    """Return (front matter text or None, body, line number where the body starts)."""
    if not text.startswith("---\n") and text.strip() != "---":
        return None, text, 1
    offset = 4
    for line in text[4:].split("\n"):  # the closing '---' (blanks after it allowed)
        if line.startswith("---") and not line[3:].strip(" \t"):
            break
        offset += len(line) + 1
    else:
        return None, text, 1
    front = text[4:offset]
    body = text[offset + len(line) :]
    body_line = front.count("\n") + 2 + (1 if body.startswith("\n") else 0)
    return front, body[1:] if body.startswith("\n") else body, body_line


def _as_date(value) -> date | None:
    if isinstance(value, datetime):  # "2026-11-26 10:00:00" is a date-time, not a date
        return None
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            return None
    return None


def _as_verified(value) -> Verified | str:
    """``verified: {date: YYYY-MM-DD, against: [...]}`` -> ``Verified``, or the problem as text."""
    usage = (
        "'verified' must be a mapping with 'date' (YYYY-MM-DD) and 'against' (a list of the SDK versions or docs "
        "checked)"
    )
    if not isinstance(value, dict) or set(value) != {"date", "against"}:
        return usage
    on = value["date"]
    if isinstance(on, datetime) or _as_date(on) is None:
        return f"'verified.date' must be a date YYYY-MM-DD, got {on!r}"
    against = value["against"]
    if not isinstance(against, list) or not against or not all(isinstance(v, str) and v.strip() for v in against):
        return "'verified.against' must be a non-empty list of strings (e.g. [anthropic 2.15.0])"
    return Verified(_as_date(on), tuple(v.strip() for v in against))


def _check_fields(data: dict, lines: dict[str, int], problems: list[Problem]) -> dict:
    clean: dict = {}
    for key in data:
        if key not in FIELDS:
            problems.append(Problem(lines.get(str(key), 1), f"unknown field '{key}' (known: {', '.join(FIELDS)})"))
    for name, kind in FIELDS.items():
        line = lines.get(name, 1)
        if name not in data or data[name] is None:
            if name not in OPTIONAL_FIELDS:
                problems.append(Problem(1, f"missing front matter field '{name}'"))
            continue
        value = data[name]
        if kind == "statuses":
            if not isinstance(value, list) or not all(type(v) is int and 100 <= v <= 599 for v in value):
                problems.append(Problem(line, f"'{name}' must be a list of HTTP status codes (100-599), e.g. [429]"))
                continue
            clean[name] = list(dict.fromkeys(value))
        elif kind == "verified":
            parsed = _as_verified(value)
            if isinstance(parsed, str):
                problems.append(Problem(line, parsed))
                continue
            clean[name] = parsed
        elif kind == "str":
            if not isinstance(value, str) or not value.strip():
                problems.append(Problem(line, f"'{name}' must be a non-empty string"))
                continue
            if "\n" in value.strip():
                problems.append(Problem(line, f"'{name}' must be one line"))
            if len(value.strip()) > MAX_FIELD_CHARS.get(name, MAX_ITEM_CHARS):
                problems.append(
                    Problem(
                        line,
                        f"'{name}' has {len(value.strip()):,} characters (at most "
                        f"{MAX_FIELD_CHARS.get(name, MAX_ITEM_CHARS):,})",
                    )
                )
            clean[name] = value.strip()
        elif kind == "list":
            if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
                problems.append(Problem(line, f"'{name}' must be a list of non-empty strings"))
                continue
            if not value and name not in MAY_BE_EMPTY:
                problems.append(Problem(line, f"'{name}' must not be empty"))
            if len(value) > MAX_LIST_ITEMS:
                problems.append(Problem(line, f"'{name}' has {len(value)} items (at most {MAX_LIST_ITEMS})"))
            limit = MAX_FIELD_CHARS.get(name, MAX_ITEM_CHARS)
            for i, item in enumerate(value):
                if len(item) > limit:
                    problems.append(
                        Problem(
                            lines.get(f"{name}[{i}]", line),
                            f"an item of '{name}' has {len(item):,} characters (at most {limit:,})",
                        )
                    )
            clean[name] = [v.strip() if not name.endswith("patterns") else v for v in value]
        else:
            parsed = _as_date(value)
            if parsed is None:
                problems.append(Problem(line, f"'{name}' must be a date YYYY-MM-DD, got {value!r}"))
                continue
            clean[name] = parsed
    return clean


def _check_values(clean: dict, lines: dict[str, int], path: Path | None, problems: list[Problem]) -> None:
    slug = clean.get("slug")
    if slug is not None:
        if not SLUG_RE.match(slug):
            problems.append(
                Problem(lines.get("slug", 1), f"slug '{slug}' must be lowercase letters, digits and hyphens")
            )
        if path is not None and path.stem != slug:
            problems.append(Problem(lines.get("slug", 1), f"slug '{slug}' does not match the file name '{path.name}'"))
    category = clean.get("category")
    if category is not None and category not in CATEGORIES:
        problems.append(
            Problem(lines.get("category", 1), f"unknown category '{category}' (one of: {', '.join(CATEGORIES)})")
        )
    for name in ("patterns", "generic_patterns"):
        for i, pattern in enumerate(clean.get(name, [])):
            try:
                re.compile(pattern, re.I)
            except (re.error, RecursionError, OverflowError, MemoryError) as exc:  # deep groups, huge {n}
                reason = exc if isinstance(exc, re.error) else pattern_error_reason(exc)
                problems.append(
                    Problem(
                        lines.get(f"{name}[{i}]", lines.get(name, 1)),
                        f"invalid regex in {name}: {pattern[:200]!r}: {reason}",
                    )
                )
                continue
            linear = linear_rule_message(pattern)  # patterns are matched under RE2 (kb.linear_regex)
            if linear:
                line = lines.get(f"{name}[{i}]", lines.get(name, 1))
                problems.append(Problem(line, f"regex in {name}: {pattern[:200]!r} is {linear}"))
    from synapse_ai.kb.freshness import tag_problem

    for i, tag in enumerate(clean.get("tags", [])):
        problem = tag_problem(tag)
        if problem:
            problems.append(Problem(lines.get(f"tags[{i}]", lines.get("tags", 1)), problem))
    quick_fix = clean.get("quick_fix")
    if quick_fix is not None and len(quick_fix.split()) > QUICK_FIX_MAX_WORDS:
        problems.append(
            Problem(
                lines.get("quick_fix", 1),
                f"'quick_fix' has {len(quick_fix.split())} words; keep it to {QUICK_FIX_MAX_WORDS} (the fix in one "
                "breath)",
            )
        )
    for i, url in enumerate(clean.get("sources", [])):
        if not re.match(r"^https?://\S+$", url):
            problems.append(
                Problem(lines.get(f"sources[{i}]", lines.get("sources", 1)), f"source is not an http(s) URL: {url!r}")
            )
    if "created" in clean and "updated" in clean and clean["updated"] < clean["created"]:
        problems.append(Problem(lines.get("updated", 1), "'updated' is earlier than 'created'"))


def pattern_error_reason(exc: BaseException) -> str:
    """Why ``re.compile`` gave up on a pattern, when it raised something other than ``re.error``."""
    if isinstance(exc, RecursionError):
        return "groups nested too deeply"
    if isinstance(exc, OverflowError):
        return "a repetition count is too large"
    return "too large to compile"


def section_heading(line: str) -> str | None:
    """The name in a ``## name`` line (blanks after it dropped), else None.  ``###`` is not one."""
    if not line.startswith("## ") or line[3:4] == "#":
        return None
    return line[3:].rstrip(" \t")


def _split_sections(body: str, body_line: int, problems: list[Problem]) -> list[Section]:
    """Split the body at ``## `` headings that are not inside code fences (one pass over the lines)."""
    heads: list[tuple[int, str, int]] = []  # (offset, name, line)
    in_fence = False
    fence_lines = 0
    offset = 0
    for i, raw in enumerate(body.splitlines(keepends=True)):
        if raw.startswith(_FENCE_MARK):
            in_fence = not in_fence
            fence_lines += 1
            if fence_lines == MAX_FENCE_LINES + 1:
                problems.append(Problem(body_line + i, f"{_TOO_MANY_FENCES} (lines starting with ```) in one entry"))
        elif not in_fence:
            line = raw.rstrip("\n")
            name = section_heading(line)
            if name is not None:
                heads.append((offset, name, body_line + i))
            if len(line) > MAX_HEADING_CHARS and (name is not None or line.startswith("### ")):
                problems.append(
                    Problem(body_line + i, f"heading has {len(line):,} characters (at most {MAX_HEADING_CHARS})")
                )
        offset += len(raw)
    if in_fence:
        problems.append(Problem(body_line + body.count("\n"), "unclosed code fence"))
    preamble = body[: heads[0][0]] if heads else body
    if preamble.strip():
        leading_blank = preamble[: len(preamble) - len(preamble.lstrip())].count("\n")
        problems.append(Problem(body_line + leading_blank, "text before the first '## ' section"))
    sections: list[Section] = []
    for i, (start, name, line) in enumerate(heads):
        end = heads[i + 1][0] if i + 1 < len(heads) else len(body)
        text = body[start:end].split("\n", 1)[1] if "\n" in body[start:end] else ""
        leading = len(text) - len(text.lstrip("\n"))
        sections.append(Section(name, text.strip("\n").rstrip(), line + 1 + leading))
    return sections


def _check_sections(sections: list[Section], body_line: int, problems: list[Problem]) -> None:
    seen: dict[str, int] = {}
    for s in sections:
        if s.name not in SECTION_ORDER:
            problems.append(Problem(s.line - 1, f"unknown section '## {s.name}' (known: {', '.join(SECTION_ORDER)})"))
            continue
        if s.name in seen:
            problems.append(Problem(s.line - 1, f"duplicate section '## {s.name}'"))
        seen[s.name] = s.line
        if not s.body.strip():
            problems.append(Problem(s.line - 1, f"section '## {s.name}' is empty"))
    for name in REQUIRED_SECTIONS:
        if name not in seen:
            problems.append(Problem(body_line, f"missing required section '## {name}'"))
    known = [s.name for s in sections if s.name in SECTION_ORDER]
    if known != sorted(known, key=SECTION_ORDER.index):
        problems.append(
            Problem(body_line, f"sections out of order: expected {', '.join(n for n in SECTION_ORDER if n in known)}")
        )
    fix = next((s for s in sections if s.name == "Fix"), None)
    if fix is not None and fix.body.strip():
        options = split_fix_options(fix.body, fix.line)
        heads = option_headings(fix.body)  # the same headings, in the same order
        if not options:
            problems.append(Problem(fix.line - 1, "'## Fix' has no '### Option 1: ...' subsection"))
        for expected, (option, head) in enumerate(zip(options, heads), start=1):
            line = fix.line + head[0]
            if option.number == OPTION_NUMBER_TOO_LONG:
                problems.append(
                    Problem(line, f"fix option number has {len(head[2]):,} digits (at most {MAX_OPTION_DIGITS})")
                )
                continue
            if option.number != expected:
                problems.append(
                    Problem(
                        line,
                        f"fix options must be numbered 1, 2, 3…: found Option {option.number} where Option {expected} "
                        "belongs",
                    )
                )
            if not option.body.strip():
                problems.append(Problem(line, f"empty fix: 'Option {option.number}: {option.title}' has no text"))
    for s in sections:
        for block in code_blocks_in(s.body, s.line):
            problems.extend(_check_code(block))


def _check_code(block) -> list[Problem]:
    """Python blocks must parse and JSON blocks must load.  Code nested too deeply for the parsers
    (RecursionError, MemoryError) is reported like any other problem."""
    if block.language == "python":
        try:
            ast.parse(block.code)
        except SyntaxError as exc:
            return [Problem(block.line + (exc.lineno or 0), f"python block does not parse: {exc.msg}")]
        except (ValueError, RecursionError, MemoryError) as exc:
            return [Problem(block.line, f"python block does not parse: {_deep_reason(exc)}")]
    elif block.language == "json":
        try:
            json.loads(block.code)
        except (RecursionError, MemoryError) as exc:
            return [Problem(block.line, f"json block is not valid JSON: {_deep_reason(exc)}")]
        except ValueError as exc:
            return [Problem(block.line, f"json block is not valid JSON: {exc}")]
    return []


def _deep_reason(exc: BaseException) -> str:
    return "nested too deeply to check" if isinstance(exc, (RecursionError, MemoryError)) else str(exc)


def parse_entry(text: str, path: Path | str | None = None) -> Entry:
    """Parse one entry file's text; raise ``EntryError`` listing every problem found.

    Whatever the text holds, the only exception is ``EntryError``: a file the checks did not foresee
    is reported as a problem on line 1, so one odd file never stops lint or the indexer.
    """
    try:
        return _parse_entry(text, path)
    except EntryError:
        raise
    except Exception as exc:  # the last guard; every known case has its own message above
        raise EntryError([Problem(1, f"cannot parse this file: {type(exc).__name__}: {str(exc)[:200]}")]) from None


def _parse_entry(text: str, path: Path | str | None) -> Entry:
    path = Path(path) if path is not None else None
    problems: list[Problem] = []
    if len(text) > MAX_ENTRY_CHARS:
        raise EntryError(
            [Problem(1, f"the file has {len(text):,} characters; an entry holds at most {MAX_ENTRY_CHARS:,}")]
        )
    text = text.replace("\r\n", "\n").lstrip("\ufeff")
    front, body, body_line = _split_front_matter(text)
    if front is None:
        raise EntryError(
            [Problem(1, "missing front matter (the file must start with a '---' line and close it with another)")]
        )
    try:
        data, node = _load_front(front)
        data = data or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise EntryError(
            [Problem((mark.line + 2) if mark else 1, f"front matter is not valid YAML: {getattr(exc, 'problem', exc)}")]
        ) from None
    except (RecursionError, MemoryError):
        raise EntryError(
            [Problem(_deepest_line(front), "front matter is nested too deeply (an entry needs at most two levels)")]
        ) from None
    if not isinstance(data, dict):
        raise EntryError([Problem(1, "front matter must be a mapping of field: value")])
    lines = _key_lines(front, node)
    clean = _check_fields(data, lines, problems)
    _check_values(clean, lines, path, problems)
    sections = _split_sections(body, body_line, problems)
    if any(p.message.startswith(_TOO_MANY_FENCES) for p in problems):  # over a limit: no deeper checks
        raise EntryError(sorted(problems, key=lambda p: p.line))
    _check_sections(sections, body_line, problems)
    if problems:
        raise EntryError(sorted(problems, key=lambda p: p.line))
    return Entry(sections=sections, path=path, **clean)


def read_entry_text(path: Path | str) -> str:
    """The text of an entry file.  Only a regular file is read: a FIFO, socket, device or directory
    named ``*.md`` is refused as a problem without blocking (it is opened with O_NONBLOCK and
    checked before any read), and a file over the size limit is not read to its end."""
    path = Path(path)
    _refuse_special(os.stat(path).st_mode)  # a socket cannot even be opened
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    try:
        _refuse_special(os.fstat(fd).st_mode)  # the file may have been swapped since the stat
        with os.fdopen(fd, "rb", closefd=False) as f:
            data = f.read(MAX_ENTRY_CHARS * 4 + 1)  # a character is at most 4 bytes in UTF-8
    finally:
        os.close(fd)
    if len(data) > MAX_ENTRY_CHARS * 4:
        raise EntryError(
            [Problem(1, f"the file is larger than an entry may be ({MAX_ENTRY_CHARS:,} characters at most)")]
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise EntryError([Problem(line, "file is not valid UTF-8")]) from None


def _refuse_special(mode: int) -> None:
    if not stat.S_ISREG(mode):
        raise EntryError([Problem(0, f"skipped: not a regular file ({_file_kind(mode)})")])


def _file_kind(mode: int) -> str:
    for test, kind in (
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
    ):
        if test(mode):
            return kind
    return "not a file"


def read_entry(path: Path | str) -> Entry:
    """The entry in the file at ``path``; raises EntryError when it breaks the format."""
    path = Path(path)
    return parse_entry(read_entry_text(path), path)


def render_entry(entry: Entry) -> str:
    """The canonical markdown for an entry."""
    front = {}
    for name in FIELDS:
        value = getattr(entry, name)
        if name in OPTIONAL_FIELDS and not value:
            continue
        front[name] = value.to_dict() if isinstance(value, Verified) else value
    dumped = yaml.dump(
        front, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=10_000, default_flow_style=False
    )
    parts = ["---\n", dumped, "---\n"]
    for section in entry.sections:
        parts.append(f"\n## {section.name}\n\n{section.body.strip(chr(10))}\n")
    return "".join(parts)


__all__ = [
    "FIELDS",
    "OPTIONAL_SECTIONS",
    "REQUIRED_SECTIONS",
    "EntryError",
    "Problem",
    "parse_entry",
    "read_entry",
    "render_entry",
]
