"""A submitted solution: the fields as typed (``Draft``), their validation, and the ``Entry`` they make.

The form and ``POST /api/submissions`` share this module, so both accept and refuse exactly the same
things.  Validation first checks each field on its own (so every message can sit next to its field),
then builds an ``Entry`` and runs it through ``synapse_ai.kb.parse.render_entry`` → ``parse_entry``: a submission
that passes here is guaranteed to be a file ``synapse lint`` accepts, which is what approval writes.
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from synapse_ai.kb.linear_regex import linear_rule_message
from synapse_ai.kb.model import CATEGORIES, Entry, Section, prose_lines
from synapse_ai.kb.parse import (
    MAX_FENCE_LINES,
    QUICK_FIX_MAX_WORDS,
    EntryError,
    parse_entry,
    pattern_error_reason,
    render_entry,
)
from synapse_ai.web import flags as flagging

MAX_OPTIONS = 8
MAX_PATTERN_CHARS = 500
FORM_OPTION_SLOTS = 3  # option slots the form shows without JS
MAX_TAGS = 15
MAX_SOURCES = 20


def _text(limit: int, description: str = "", api: str = "text"):
    """A text field of a submission.  ``limit``: its size in characters (the whole body is limited
    separately, in bytes); ``description``: what the API docs say of it; ``api``: how the JSON API
    sends it ("text": a string; "lines": a list of strings, one per line of the form's text; "tags":
    a list of strings, comma-separated in the form's text)."""
    return field(default="", metadata={"limit": limit, "description": description, "api": api})


def _option_part(form_name: str, api_key: str, limit: int, description: str = ""):
    """One half of the fix options: the form posts it as repeated ``form_name`` values, the API as
    ``fix_options[].api_key``; ``limit`` characters each."""
    metadata = {"form": form_name, "api": api_key, "limit": limit, "description": description}
    return field(default_factory=list, metadata=metadata)


@dataclass
class Draft:
    """What the person typed, as text, so a form can be shown again exactly as it was.

    The one declaration of a submission's fields and their limits: ``LIMITS``, ``TEXT_FIELDS``, the
    form's fields (``form_fields``) and the JSON API's body (``api_fields``) are all read from it,
    so a new field is one line here plus its place in ``templates/submit.html``.
    """

    title: str = _text(200)
    summary: str = _text(400)
    quick_fix: str = _text(600, "The fix in one breath, at most 60 words: what to change.")
    category: str = _text(40)
    tags: str = _text(400, api="tags")
    patterns: str = _text(
        5000,
        "Python regular expressions, matched case-insensitively under RE2 (linear time): no look-around, "
        "backreferences or counts over 1000.",
        api="lines",
    )
    symptom: str = _text(20_000)
    root_cause: str = _text(20_000)
    option_titles: list[str] = _option_part("option_title", "title", 200)
    option_bodies: list[str] = _option_part("option_body", "body", 30_000, "Markdown: prose and fenced code.")
    environment: str = _text(2000, api="lines")
    sources: str = _text(4000, "http(s) URLs backing the fix.", api="lines")
    savings: str = _text(500)
    contact: str = _text(200, "Optional; shown to the moderator only.")

    def __post_init__(self):
        for name in TEXT_FIELDS:
            setattr(self, name, _clean(getattr(self, name)))
        self.option_titles = [_clean(t) for t in self.option_titles]
        self.option_bodies = [_clean(b) for b in self.option_bodies]

    @property
    def options(self) -> list[tuple[str, str]]:
        """(title, body) pairs, padded to the same length; empty pairs dropped."""
        n = max(len(self.option_titles), len(self.option_bodies))
        titles = self.option_titles + [""] * (n - len(self.option_titles))
        bodies = self.option_bodies + [""] * (n - len(self.option_bodies))
        return [(t, b) for t, b in zip(titles, bodies) if t.strip() or b.strip()]

    def slots(self, minimum: int = FORM_OPTION_SLOTS) -> list[tuple[str, str]]:
        """Option slots for the form: what was typed, then empty slots up to ``minimum``."""
        pairs = self.options
        return pairs + [("", "")] * max(0, minimum - len(pairs))

    def to_dict(self) -> dict:
        """The draft as JSON-ready data (how a submission is stored)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Draft:
        """A draft from stored data; keys that are not fields are ignored."""
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    @classmethod
    def from_form(cls, form: Any) -> Draft:
        """The draft from the posted form (``web.routes.submit.SubmitForm``): text fields as typed, the
        option halves as repeated values (a bounded number of them)."""
        values = {f.name: getattr(form, f.name) for f in _TEXT}
        for f in _OPTION_PARTS:
            values[f.name] = getattr(form, f.metadata["form"])[: MAX_OPTIONS * 2]
        return cls(**values)

    @classmethod
    def from_api(cls, payload: dict) -> Draft:
        """The JSON API takes lists where the form takes lines; normalise to the form's text."""
        values: dict[str, Any] = {}
        for f in _TEXT:
            value = payload.get(f.name) or ("" if f.metadata["api"] == "text" else [])
            if isinstance(value, list):
                value = (", " if f.metadata["api"] == "tags" else "\n").join(value)
            values[f.name] = value
        options = payload.get("fix_options") or []
        for f in _OPTION_PARTS:
            values[f.name] = [o.get(f.metadata["api"]) or "" for o in options]
        return cls(**values)

    def scan_text(self) -> dict[str, str]:
        """Every free-text field, keyed by form field name, for the injection scan."""
        texts = {name: getattr(self, name) for name in TEXT_FIELDS if name not in ("category", "contact")}
        for i, (title, body) in enumerate(self.options, start=1):
            texts[f"option_title_{i}"] = title
            texts[f"option_body_{i}"] = body
        return texts


_TEXT = tuple(f for f in dataclasses.fields(Draft) if "form" not in f.metadata)
_OPTION_PARTS = tuple(f for f in dataclasses.fields(Draft) if "form" in f.metadata)
TEXT_FIELDS = tuple(f.name for f in _TEXT)
# Per-field size limits in characters, by form field name (the whole body is limited separately, in bytes).
LIMITS = {f.metadata.get("form", f.name): f.metadata["limit"] for f in dataclasses.fields(Draft)}

_TAG_RE = re.compile(r"^[a-z0-9][a-z0-9._+-]{0,39}$")
_URL_RE = re.compile(r"^https?://[^\s<>\"']+$")
_RESERVED_HEADING = re.compile(r"^(#{1,2} |### Option \d+:)")


def form_fields() -> dict[str, tuple[type, Any]]:
    """The form's fields as ``pydantic.create_model`` takes them: every text field a string, each
    option half a list of strings under its form name."""
    out: dict[str, tuple[type, Any]] = {f.name: (str, "") for f in _TEXT}
    out.update({f.metadata["form"]: (list[str], []) for f in _OPTION_PARTS})
    return out


def _api_field(f: dataclasses.Field, default: Any) -> Any:
    """A ``pydantic.Field`` for ``f`` in the API body: its description, and for a string its limit
    (shown in the schema; going over it is answered by ``validate`` with a 413, not by pydantic)."""
    from pydantic import Field

    extra = {"maxLength": f.metadata["limit"]} if isinstance(default, str) else None
    return Field(default, description=f.metadata["description"] or None, json_schema_extra=extra)


def api_fields(option_model: type) -> dict[str, tuple[Any, Any]]:
    """The JSON API body's fields as ``pydantic.create_model`` takes them: strings, or lists of
    strings where the form takes lines or tags; the options as ``fix_options: list[option_model]``."""
    out: dict[str, tuple[Any, Any]] = {}
    for f in dataclasses.fields(Draft):
        if "form" in f.metadata:  # both option halves are one list of {title, body} objects
            out.setdefault("fix_options", (list[option_model], []))
        elif f.metadata["api"] == "text":
            out[f.name] = (str, _api_field(f, ""))
        else:
            out[f.name] = (list[str], _api_field(f, []))
    return out


def option_fields() -> dict[str, tuple[type, Any]]:
    """The fields of one API fix option (``{"title": ..., "body": ...}``)."""
    return {f.metadata["api"]: (str, _api_field(f, "")) for f in _OPTION_PARTS}


def _clean(value) -> str:
    text = value if isinstance(value, str) else ("" if value is None else str(value))
    return "\n".join(line.rstrip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")).strip("\n")


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.split("\n") if line.strip()]


def split_tags(text: str) -> list[str]:
    """Tags from text separated by commas or spaces: lower case, each once, in order."""
    return list(dict.fromkeys(t.lower() for t in re.split(r"[,\s]+", text) if t))


def slugify(title: str, max_len: int = 60) -> str:
    """A lowercase-hyphen slug from a title ("429: Rate limit!" → "429-rate-limit")."""
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_title.lower()).strip("-")
    if len(slug) > max_len:
        slug = slug[:max_len].rsplit("-", 1)[0]
    return slug or "submission"


@dataclass
class Validation:
    entry: Entry | None
    errors: dict[str, str]
    too_large: bool = False  # some field is over its size limit (the API answers 413)
    flags: list[flagging.Flag] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when the draft made an entry and no field has an error."""
        return self.entry is not None and not self.errors


def _check_sizes(draft: Draft, errors: dict[str, str]) -> bool:
    too_large = False
    sized = [(name, getattr(draft, name), LIMITS[name]) for name in TEXT_FIELDS]
    for i, (title, body) in enumerate(draft.options, start=1):
        sized.append((f"option_title_{i}", title, LIMITS["option_title"]))
        sized.append((f"option_body_{i}", body, LIMITS["option_body"]))
    for key, value, limit in sized:
        if len(value) > limit:
            errors[key] = f"Too long: {len(value):,} characters (at most {limit:,})."
            too_large = True
    if len(draft.options) > MAX_OPTIONS:
        errors["options"] = f"At most {MAX_OPTIONS} fix options."
        too_large = True
    return too_large


def _check_fence_lines(draft: Draft, errors: dict[str, str]) -> bool:
    """An entry holds at most ``MAX_FENCE_LINES`` lines starting with ```; say which field has most."""
    counts = {
        name: sum(1 for line in text.split("\n") if line.startswith("```")) for name, text in draft.scan_text().items()
    }
    if sum(counts.values()) <= MAX_FENCE_LINES:
        return False
    worst = max(counts, key=counts.get)
    errors[worst] = (
        f"Too many code fences: the whole entry may have at most {MAX_FENCE_LINES} lines starting with ``` "
        f"({sum(counts.values()):,} here)."
    )
    return True


def _reserved_heading(text: str) -> str | None:
    """The first line outside code that would read as a section or option heading of the entry."""
    return next((line.strip() for line in prose_lines(text) if _RESERVED_HEADING.match(line)), None)


def _check_list(
    errors: dict[str, str],
    name: str,
    items: list[str],
    valid: re.Pattern,
    most: int,
    *,
    empty: str,
    bad: Callable[[list[str]], str],
) -> None:
    """A list field (tags, sources): at least one item, every item ``valid``, at most ``most`` of
    them; the first problem found becomes the field's message (unless it already has one)."""
    if name in errors:
        return
    wrong = [item for item in items if not valid.match(item)]
    if not items:
        errors[name] = empty
    elif wrong:
        errors[name] = bad(wrong)
    elif len(items) > most:
        errors[name] = f"At most {most} {name}."


def _check_fields(draft: Draft, errors: dict[str, str]) -> None:
    def need(name: str, label: str, one_line: bool = False) -> None:
        value = getattr(draft, name)
        if name in errors:
            return
        if not value.strip():
            errors[name] = f"{label} is required."
        elif one_line and "\n" in value:
            errors[name] = f"{label} must be one line."

    need("title", "A title")
    need("title", "The title", one_line=True)
    need("summary", "A one-line summary")
    need("summary", "The summary", one_line=True)
    need("quick_fix", "A quick fix (the fix in one breath)")
    need("quick_fix", "The quick fix", one_line=True)
    if "quick_fix" not in errors and len(draft.quick_fix.split()) > QUICK_FIX_MAX_WORDS:
        errors["quick_fix"] = (
            f"Keep the quick fix to {QUICK_FIX_MAX_WORDS} words (it has {len(draft.quick_fix.split())}): what to "
            "change, not why."
        )
    need("symptom", "The symptom")
    need("root_cause", "The root cause")
    need("savings", "Expected savings (say “none” where there are none)")
    need("savings", "Savings", one_line=True)
    if "category" not in errors and draft.category not in CATEGORIES:
        errors["category"] = (
            "Choose one of the categories." if not draft.category else f"Unknown category “{draft.category}”."
        )
    tag_rule = "Tags are lowercase words with - _ . + (no spaces, at most 40 characters)"
    _check_list(
        errors,
        "tags",
        split_tags(draft.tags),
        _TAG_RE,
        MAX_TAGS,
        empty="Give at least one tag (library, HTTP status, concept), separated by commas.",
        bad=lambda bad: f"{tag_rule}: {', '.join(bad[:3])}",
    )
    if "patterns" not in errors:
        patterns = [p for p in draft.patterns.split("\n") if p.strip()]
        if len(patterns) > 20:
            errors["patterns"] = "At most 20 patterns."
        for n, pattern in enumerate(patterns, start=1):
            if len(pattern) > MAX_PATTERN_CHARS:
                errors["patterns"] = f"Line {n}: a pattern is at most {MAX_PATTERN_CHARS} characters."
                break
            try:
                re.compile(pattern, re.I)
            except re.error as exc:
                errors["patterns"] = f"Line {n} is not a valid Python regular expression: {exc}."
                break
            except (RecursionError, OverflowError, MemoryError) as exc:
                errors["patterns"] = f"Line {n} is not a usable regular expression: {pattern_error_reason(exc)}."
                break
            linear = linear_rule_message(pattern)  # patterns are matched under RE2: no pattern can stall a search
            if linear:
                errors["patterns"] = f"Line {n}, {pattern[:200]!r}, is {linear}."
                break
    if "environment" not in errors and not _lines(draft.environment):
        errors["environment"] = "Say what this applies to: SDKs and versions, runtimes, frameworks (one per line)."
    _check_list(
        errors,
        "sources",
        _lines(draft.sources),
        _URL_RE,
        MAX_SOURCES,
        empty="Give at least one source URL (docs, code, issue thread) backing the fix.",
        bad=lambda bad: f"Not an http(s) URL: {bad[0][:120]}",
    )
    if "contact" not in errors and "\n" in draft.contact:
        errors["contact"] = "Contact must be one line."
    for name, label in (("symptom", "Symptom"), ("root_cause", "Root cause")):
        heading = _reserved_heading(getattr(draft, name)) if name not in errors else None
        if heading:
            errors[name] = f"{label}: “{heading[:60]}” looks like a section heading; use ### or bold text instead."
    options = draft.options
    if not options and "options" not in errors:
        errors["option_title_1"] = "Give at least one fix option: a title and the fix."
    for i, (title, body) in enumerate(options, start=1):
        tkey, bkey = f"option_title_{i}", f"option_body_{i}"
        if tkey not in errors:
            if not title.strip():
                errors[tkey] = "Give this option a short title."
            elif "\n" in title:
                errors[tkey] = "An option title must be one line."
        if bkey not in errors:
            heading = _reserved_heading(body)
            if not body.strip():
                errors[bkey] = "Describe the fix (prose, and code where it helps)."
            elif heading:
                errors[bkey] = f"“{heading[:60]}” looks like a section heading; use #### or bold text instead."


def build_entry(draft: Draft, slug: str | None = None, today: date | None = None) -> Entry:
    """The entry a draft makes (not yet checked by the parser)."""
    today = today or date.today()
    fix = "\n\n".join(
        f"### Option {i}: {title.strip()}\n\n{body.strip()}" for i, (title, body) in enumerate(draft.options, start=1)
    )
    return Entry(
        slug=slug or slugify(draft.title),
        title=draft.title.strip(),
        summary=draft.summary.strip(),
        quick_fix=draft.quick_fix.strip(),
        category=draft.category,
        tags=split_tags(draft.tags),
        patterns=[p for p in draft.patterns.split("\n") if p.strip()],
        environment=_lines(draft.environment),
        savings=draft.savings.strip(),
        sources=_lines(draft.sources),
        created=today,
        # A distinct (equal) object: yaml.safe_dump would write one date object twice as &id001/*id001.
        updated=date.fromordinal(today.toordinal()),
        sections=[
            Section("Symptom", draft.symptom.strip()),
            Section("Root Cause", draft.root_cause.strip()),
            Section("Fix", fix),
        ],
    )


def _field_for_lines(markdown: str) -> dict[int, str]:
    """Line number (1-based) of the rendered entry → the form field that produced it."""
    fields: dict[int, str] = {}
    keys = {"slug": "title", "tags": "tags", "patterns": "patterns", "environment": "environment", "sources": "sources"}
    current, in_front, option = "form", False, 0
    for n, line in enumerate(markdown.split("\n"), start=1):
        if n == 1 and line == "---":
            in_front = True
        elif in_front and line == "---":
            in_front = False
            current = "form"
        elif in_front:
            m = re.match(r"^(\w+):", line)
            if m:
                current = keys.get(m.group(1), m.group(1))
        elif line.startswith("## "):
            current = {"## Symptom": "symptom", "## Root Cause": "root_cause", "## Fix": "option_title_1"}.get(
                line.strip(), "form"
            )
        else:
            m = re.match(r"^### Option (\d+):", line)
            if m and current.startswith("option_"):
                option = int(m.group(1))
                fields[n] = f"option_title_{option}"
                current = f"option_body_{option}"
                continue
        fields[n] = current
    return fields


def validate(draft: Draft, today: date | None = None) -> Validation:
    """Check every field, then prove the entry lints.  Errors are keyed by form field name."""
    errors: dict[str, str] = {}
    too_large = _check_sizes(draft, errors)
    if too_large:  # refused as it stands: no further work on text of unbounded size
        return Validation(None, errors, True, [])
    if _check_fence_lines(draft, errors):  # the entry could never lint: spare the parse
        return Validation(None, errors, False, [])
    _check_fields(draft, errors)
    # Flag checks only on patterns within the length limit: the nested-quantifier check takes
    # quadratic time in a pattern's length.
    patterns = [p for p in draft.patterns.split("\n") if p.strip()]
    found = flagging.scan(draft.scan_text()) + flagging.regex_flags(
        [p for p in patterns if len(p) <= MAX_PATTERN_CHARS]
    )
    if errors:
        return Validation(None, errors, too_large, found)
    entry = build_entry(draft, today=today)
    markdown = render_entry(entry)
    try:
        parsed = parse_entry(markdown)
    except EntryError as exc:
        where = _field_for_lines(markdown)
        for problem in exc.problems:
            key = where.get(problem.line, "form")
            errors[key] = (
                (errors[key] + " " if key in errors else "") + problem.message[0].upper() + problem.message[1:] + "."
            )
        return Validation(None, errors, too_large, found)
    return Validation(parsed, {}, False, found)
