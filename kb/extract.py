"""Error extraction: the few segments of a long, noisy text that identify a failure.

Why: an agent's failed command prints minutes of logging and then the traceback; a hook payload is
"Exit code 1" plus everything the command printed; Claude Code cuts the middle out of long output.
Searching the first N characters finds the preamble, not the error.  ``extract_errors`` reads a
bounded window (the tail first, where the last error usually is, plus a little of the head), scans
it line by line with linear-time patterns, and returns the error blocks most relevant first:

* ``python_traceback``: ``Traceback (most recent call last):`` through the exception line, one block
  per link of a chained exception;
* ``js_stack``: ``SomeError: message`` followed by ``    at ...`` frames;
* ``json_error``: an API error body (``{"type": "error", "error": {...}}``, ``{"error": {"code": ...}}``,
  or the same as a Python dict repr);
* ``http_status``: a status line (``HTTP/1.1 429 Too Many Requests``, ``Error code: 429``, ``status code 404``);
* ``error_line``: a line that names an exception or says error / failed / fatal.

``agent_context`` says whether a text is about an agent or an LLM API (SDK frames, provider names,
tool-use ids, the API's error JSON); ``synapse_ai.kb.search`` lets generic evidence count only with it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from http import HTTPStatus

HEAD_CHARS = 16_000  # of a long text, this much of the start is read...
TAIL_CHARS = 200_000  # ...and this much of the end (the last error is usually the cause)
MAX_LINE = 2_000  # longer lines are cut before scanning: every pattern below stays linear
BLOCK_CHARS = 1_500  # one block's text at most
FOCUS_CHARS = 1_800  # the text retrieval sees: blocks joined, most relevant first
MAX_BLOCKS = 5
MESSAGE_LINES = 8  # continuation lines kept after an exception line (pydantic, multi-line messages)

# Claude Code's middle truncation of long tool output, and similar elision markers.
TRUNCATION = re.compile(r"\.\.\.\s*\[\d[\d,]*\s+(?:characters|chars|lines|bytes)\s+truncated\]\s*\.\.\.", re.I)

_TRACEBACK = re.compile(r"^\s*(?:Exception Group )?Traceback \(most recent call last\):\s*$")
_CHAIN = re.compile(
    r"^\s*(?:During handling of the above exception, another exception occurred:"
    r"|The above exception was the direct cause of the following exception:)\s*$"
)
_FRAME = re.compile(r'^\s+File "([^"\n]{1,500})", line \d+')
# "anthropic.RateLimitError: Error code: 429 - {...}", "KeyError: 'x'", "asyncio.exceptions.CancelledError"
_EXCEPTION = re.compile(
    r"^\s{0,4}(?:[\w-]{1,60}\s{1,2}\|\s{1,2})?"  # an optional "Error | " style prefix from loggers
    r"((?:[A-Za-z_]\w{0,60}\.){0,6}(?:[A-Z]\w{0,80})?"
    r"(?:Error|Exception|ExceptionGroup|Warning|Exit|Interrupt|Exceeded|Timeout|Failure|Fault|NotFound|Denied))"
    r"(?::[ \t]?(.{0,1500}))?$"
)
_JS_FRAME = re.compile(r"^\s+at\s\S")
# Python's warnings format: "path.py:52: DeprecationWarning: The model ... is deprecated"
_WARNING = re.compile(r"^\S{1,400}:\d{1,7}: ([A-Z]\w{0,60}Warning): (.{1,1500})$")
_GENERIC_LINE = re.compile(
    r"(?:^|\s|\[|\()"
    r"(?:error|fatal|failed|failure|exception|panic(?:ked)?|denied|refused|not found|timed out|killed)\b|\bERR!"
    r"|\berror\[\w{1,10}\]|\bERR_[A-Z_]{2,40}\b|\bE[A-Z]{3,12}\b:",
    re.I,
)
_LOG_NOISE = re.compile(r"^\s*(?:\d{4}-\d\d-\d\d[T ][\d:.,]+\s+)?(?:INFO|DEBUG|TRACE)\b", re.I)
_JSON_ERROR = re.compile(
    r"""["']type["']\s?:\s?["']error["']\s?,\s?["']error["']\s?:\s?\{|["']error["']\s?:\s?\{\s?["'](?:type|code|message|status)["']"""
)
_ERROR_TYPE = re.compile(r"""["'](?:type|code|status)["']\s?:\s?["']([A-Za-z][\w.-]{2,80})["']""")
_ERROR_MESSAGE = re.compile(r"""["']message["']\s?:\s?["']([^"'\n]{1,400})""")
_STATUS = re.compile(
    r"\b(?:HTTP/\d(?:\.\d)?\s{1,3}|HTTP\s{1,3}|HTTP\s?(?:status|error)\s{1,3}|status(?:\s?code)?\s?[:=]?\s{0,3}|"
    r"Error code:\s{0,3}|error code\s{1,3}|returned\s{1,3}|response\s{1,3}|code\s?[:=]\s{0,3})([1-5]\d\d)\b",
    re.I,
)
_STATUS_PHRASES = {s.phrase.lower(): s.value for s in HTTPStatus if s.value >= 400}
_STATUS_PHRASE = re.compile(
    r"\b(" + "|".join(re.escape(p) for p in sorted(_STATUS_PHRASES, key=len, reverse=True)) + r")\b", re.I
)
_BARE_STATUS = re.compile(r"^\s*(?:HTTP\s?)?([1-5]\d\d)\s*$", re.I)

# What makes a text "about an agent or an LLM API": provider SDKs and frameworks (in frames, module
# paths or class names), API vocabulary, tool-use ids, the model families.  Deliberately specific:
# "model", "token" or "agent" alone appear in everyday logs, and so does "MCP error" from any MCP
# server a coding agent calls (a tool's own failure, not the agent's); the MCP SDK's frames count.
_CONTEXT = re.compile(
    r"\b(?:anthropic|openai|azure[\s_-]?openai|bedrock|vertexai|vertex_ai|"
    r"google\.genai|gemini|mistralai|cohere|groq|ollama|"
    r"litellm|langchain\w*|langgraph|llama_index|llamaindex|pydantic_ai|pydantic-ai|crewai|autogen|smolagents|"
    r"claude(?:[-_ ](?:code|agent|sonnet|opus|haiku|fable|mythos)\w*)?|gpt-\d[\w.-]*|o[134](?:-mini)?|"
    r"modelcontextprotocol|fastmcp|mcp[/\\](?:client|server|shared)|"
    r"tool_use|tool_result|tool_calls?|function_call\w*|tool_choice|"
    r"messages\.create|chat\.completions|responses\.create|max_tokens|stop_reason|finish_reason|"
    r"content\[0\]\.text|choices\[0\]\.message|block\.input|tool_use_id|"
    r"rate_limit_error|overloaded_error|invalid_request_error|authentication_error|permission_error|not_found_error|"
    r"api_error|insufficient_quota|context_length_exceeded|prompt is too long|"
    r"(?:toolu|msg|chatcmpl|call|req|resp|rs)_[A-Za-z0-9]{8,})\b",
    re.I,
)


@dataclass(frozen=True)
class ErrorBlock:
    """One error found in a text.  ``start`` is its line number in the window (later ranks first)."""

    kind: str
    text: str
    start: int
    error_type: str | None = None
    message: str = ""
    repeats: int = 1

    def as_dict(self) -> dict:
        """The block as ``why`` shows it: kind, error type, message (200 characters at most), repeats."""
        return {
            "kind": self.kind,
            "error_type": self.error_type,
            "message": self.message[:200],
            "repeats": self.repeats,
        }


def bounded_window(text: str) -> str:
    """The part of ``text`` worth scanning: all of it when short, else its head and tail, with
    truncation markers removed (so a traceback cut by one still reads as one)."""
    if len(text) > HEAD_CHARS + TAIL_CHARS:
        text = text[:HEAD_CHARS] + "\n" + text[-TAIL_CHARS:]
    return TRUNCATION.sub("\n", text)


_GROUP_PREFIX = re.compile(
    r"^\s{0,8}(?:[|+](?:-+\s\d+\s-+)?\s?){1,8}(?=\S)"
)  # exception-group "  | " / "  +-+---- 1 ----"
_LEAD_IN = re.compile(r"\b(?:WARN|WARNING|ERROR|CRITICAL|FATAL)\b")
TAIL_EVIDENCE_CHARS = 8_000  # specific patterns are also looked for in this much of the end


def _lines(window: str) -> list[str]:
    """Lines cut to ``MAX_LINE``, with exception-group drawing removed (``  | ValueError: ...``
    reads as ``ValueError: ...``, so TaskGroup failures are recognised like any other)."""
    return [
        _GROUP_PREFIX.sub("", line[:MAX_LINE]) if "|" in line[:12] or "+" in line[:12] else line[:MAX_LINE]
        for line in window.splitlines()
    ]


def evidence_tail(text: str) -> str:
    """The end of the output, where a framework's own final message usually is."""
    return bounded_window(text)[-TAIL_EVIDENCE_CHARS:]


def _exception_block(lines: list[str], i: int, kind: str, start: int) -> tuple[ErrorBlock, int]:
    """The exception line at ``i`` with its continuation lines; returns (block, next index)."""
    m = _EXCEPTION.match(lines[i])
    error_type = m.group(1) if m else None
    message = (m.group(2) or "").strip() if m else lines[i].strip()
    end = i + 1
    while end < len(lines) and end - i <= MESSAGE_LINES:
        nxt = lines[end]
        if not nxt.strip() or _TRACEBACK.match(nxt) or _CHAIN.match(nxt) or _LOG_NOISE.match(nxt):
            break
        if _EXCEPTION.match(nxt) and not nxt.startswith((" ", "\t")):
            break
        end += 1
    body = "\n".join(lines[start:end])
    if len(body) > BLOCK_CHARS:  # keep the exception end: it identifies the error
        head = "\n".join(lines[start : start + 1])
        body = head + "\n" + body[-(BLOCK_CHARS - len(head) - 1) :]
    return ErrorBlock(kind, body, start, error_type, message), end


def _python_traceback(lines: list[str], i: int) -> tuple[ErrorBlock | None, int]:
    """From a ``Traceback`` header at ``i``: frames, then the exception line."""
    j = i + 1
    while j < len(lines) and (lines[j].startswith((" ", "\t")) or not lines[j].strip()):
        j += 1
        if j - i > 400:  # a pathological frame list: treat what follows as the exception
            break
    if j >= len(lines):
        return None, j
    block, end = _exception_block(lines, j, "python_traceback", j)
    # The frames' file names are context (site-packages/anthropic/...): keep the last few, not the
    # code lines, so a long stack does not crowd the exception out of the block.
    frames = [m.group(1) for line in lines[i + 1 : j] for m in [_FRAME.match(line)] if m]
    lead_in = [lines[k] for k in range(max(0, i - 2), i) if _LEAD_IN.search(lines[k])]  # "WARNING ... while writing"
    head = "\n".join(lead_in + [lines[i]] + [f'  File "{f}"' for f in frames[-6:]])
    text = head[-(BLOCK_CHARS // 2) :] + "\n" + block.text
    return ErrorBlock(block.kind, text[-BLOCK_CHARS:], i, block.error_type, block.message), end


def _json_error(line: str, start: int) -> ErrorBlock:
    m = _JSON_ERROR.search(line)
    segment = line[max(0, m.start() - 300) : m.start() + 1200]
    types = [t for t in _ERROR_TYPE.findall(segment) if t.lower() != "error"]
    message = _ERROR_MESSAGE.search(segment)
    return ErrorBlock("json_error", segment, start, types[0] if types else None, message.group(1) if message else "")


def extract_errors(text: str, max_blocks: int = MAX_BLOCKS) -> list[ErrorBlock]:
    """The error blocks of ``text``, most relevant first (the last error first; repeats collapsed).

    Returns [] when nothing looks like an error (a question, a plain description).
    """
    lines = _lines(bounded_window(text))
    found: list[ErrorBlock] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if _TRACEBACK.match(line):
            block, i = _python_traceback(lines, i)
            if block:
                found.append(block)
            continue
        if _JSON_ERROR.search(line):
            found.append(_json_error(line, i))
        exception = _EXCEPTION.match(line)
        if exception:
            if i + 1 < len(lines) and _JS_FRAME.match(lines[i + 1]):
                j = i + 1
                while j < len(lines) and _JS_FRAME.match(lines[j]) and j - i < 15:
                    j += 1
                found.append(
                    ErrorBlock(
                        "js_stack",
                        "\n".join(lines[i:j])[:BLOCK_CHARS],
                        i,
                        exception.group(1),
                        (exception.group(2) or "").strip(),
                    )
                )
                while j < len(lines) and _JS_FRAME.match(lines[j]):
                    j += 1
                i = j
                continue
            if not _JSON_ERROR.search(line):
                block, i = _exception_block(lines, i, "error_line", i)
                found.append(block)
                continue
        elif _WARNING.match(line):
            m = _WARNING.match(line)
            block, i = _exception_block(lines, i, "error_line", i)
            found.append(ErrorBlock("error_line", block.text, block.start, m.group(1), m.group(2).strip()))
            continue
        elif not _JSON_ERROR.search(line) and any(int(m.group(1)) >= 400 for m in _STATUS.finditer(line)):
            # only failing statuses: "HTTP/1.1 200 OK" request logs are noise
            found.append(ErrorBlock("http_status", line.strip()[:BLOCK_CHARS], i, None, line.strip()[:400]))
        elif _GENERIC_LINE.search(line) and not _LOG_NOISE.match(line):
            found.append(ErrorBlock("error_line", line.strip()[:BLOCK_CHARS], i, None, line.strip()[:400]))
        i += 1
    return _rank(found, max_blocks)


_KIND_WEIGHT = {"python_traceback": 3, "js_stack": 3, "json_error": 3, "http_status": 2, "error_line": 1}


def _weight(block: ErrorBlock) -> int:
    """Structured blocks first; a line naming an exception or warning type counts as structured."""
    return _KIND_WEIGHT[block.kind] + (1 if block.kind == "error_line" and block.error_type else 0)


def _rank(blocks: list[ErrorBlock], max_blocks: int) -> list[ErrorBlock]:
    """Collapse repeats (retry loops print one error many times), then prefer structured blocks and,
    among equals, the later one."""
    from synapse_ai.kb.signature import normalize

    merged: dict[str, ErrorBlock] = {}
    for block in blocks:
        key = normalize(block.message or block.text, quoted=True)[:300]
        old = merged.get(key)
        if old is None or block.start > old.start:
            merged[key] = ErrorBlock(
                block.kind, block.text, block.start, block.error_type, block.message, (old.repeats + 1) if old else 1
            )
        else:
            merged[key] = ErrorBlock(old.kind, old.text, old.start, old.error_type, old.message, old.repeats + 1)
    ordered = sorted(merged.values(), key=lambda b: (-_weight(b), -b.start))
    structured = [b for b in ordered if _weight(b) >= 2]
    if structured:  # bare "error" lines only matter when nothing structured was found, or after it
        last = max(b.start for b in structured)
        ordered = structured + [b for b in ordered if _weight(b) < 2 and b.start > last]
    return ordered[:max_blocks]


def focus_text(text: str, blocks: list[ErrorBlock] | None = None) -> str:
    """The text retrieval should look at: the error blocks, most relevant first, or the whole
    (short) text when it holds no recognisable error."""
    blocks = extract_errors(text) if blocks is None else blocks
    if not blocks:
        return bounded_window(text)[-FOCUS_CHARS:].strip()
    parts, size = [], 0
    for block in blocks:
        piece = block.text.strip()
        if size + len(piece) > FOCUS_CHARS:
            piece = piece[-max(0, FOCUS_CHARS - size) :]
        if piece:
            parts.append(piece)
            size += len(piece) + 1
        if size >= FOCUS_CHARS:
            break
    return "\n".join(parts)


def http_statuses(text: str) -> list[int]:
    """HTTP statuses a text names: status lines, ``Error code: 429``, a reason phrase, or a bare code."""
    found: dict[int, None] = {}
    bare = _BARE_STATUS.match(text)
    if bare:
        found[int(bare.group(1))] = None
    for m in _STATUS.finditer(text):
        found[int(m.group(1))] = None
    for m in _STATUS_PHRASE.finditer(text):
        found[_STATUS_PHRASES[m.group(1).lower()]] = None
    return list(found)


def agent_context(text: str) -> list[str]:
    """The words that make ``text`` about an agent or an LLM API (empty when it is not)."""
    return list(dict.fromkeys(m.group(0).lower() for m in _CONTEXT.finditer(text)))[:8]


def is_error_text(blocks: list[ErrorBlock]) -> bool:
    """Whether the blocks show a failure's output rather than a question that mentions an error:
    a structured block, or a line that names an exception type."""
    return any(b.kind != "error_line" or b.error_type for b in blocks)
