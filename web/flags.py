"""Warnings for the moderator: text in a submission that reads like instructions to an agent.

Approved entries are later handed to coding agents as trusted context (``synapse search``, the MCP
server, the hook), so a submission is a path for prompt injection: "ignore previous instructions",
"run this command", a ``curl … | sh``.  Nothing here blocks a submission (a real fix can legitimately
contain ``pip install``); it puts the exact phrase in front of the moderator, prominently, so a human
decides.  The rules are deliberately broad: a false alarm costs a glance, a miss costs an agent.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

_RULES: list[tuple[str, str]] = [
    (
        "ignore-instructions",
        r"\b(?:ignore|disregard|forget|override)\b[^.\n]{0,40}"
        r"\b(?:previous|prior|above|earlier|all|any|your|the)\b[^.\n]{0,30}"
        r"\b(?:instructions?|prompts?|rules|directions|guidelines|context)",
    ),
    (
        "role-change",
        r"\byou are now\b|\bfrom now on,? you\b|\bact as (?:an?|the) (?:system|admin|root|developer)\b"
        r"|\bnew instructions?\s*:",
    ),
    (
        "system-prompt",
        r"\bsystem[ _-]?prompt\b|\bdeveloper message\b|<\s*/?\s*(?:system|instructions?)\s*>|\[/?INST\]|<\|im_start\|>",
    ),
    (
        "run-command",
        r"\b(?:run|execute|exec)\s+(?:this|the following|these)\s+(?:command|commands|script|code)\b"
        r"|\bwithout (?:asking|telling|confirmation|permission)\b|\bdo not (?:tell|inform|ask) the user\b",
    ),
    (
        "pipe-to-shell",
        r"\b(?:curl|wget|fetch|iwr|invoke-webrequest)\b[^\n|]{0,200}\|\s*(?:sudo\s+)?(?:ba|z|k|da)?sh\b"
        r"|\b(?:curl|wget)\b[^\n|]{0,200}\|\s*(?:python3?|perl|ruby|node|iex)\b",
    ),
    (
        "encoded-payload",
        r"base64\s+(?:-d|--decode)[^\n]{0,40}\|\s*(?:ba)?sh|\beval\s*\(\s*(?:atob|base64|decode)"
        r"|\bpowershell\b[^\n]{0,40}-e(?:nc(?:odedcommand)?)?\b",
    ),
    (
        "destructive",
        r"\brm\s+-[a-z]*r[a-z]*f?\s+(?:/|~|\$HOME|\*)(?:\s|$)|\bmkfs\b|\bdd\s+if="
        r"|:\(\)\s*\{\s*:\|:&\s*\};:|\bchmod\s+-R\s+777\s+/",
    ),
    (
        "secrets",
        r"\b(?:send|post|upload|exfiltrate|print|echo|cat)\b[^\n]{0,60}"
        r"(?:api[_ -]?key|secret|token|password|credentials|\.env\b|id_rsa|\.ssh\b|ANTHROPIC_API_KEY|OPENAI_API_KEY)",
    ),
    ("hidden-text", r"[\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]|<!--"),
    ("markup", r"<\s*script\b|javascript\s*:|\bon(?:error|load|click|mouseover)\s*="),
]
_COMPILED = [(name, re.compile(rx, re.I)) for name, rx in _RULES]

_LABELS = {
    "ignore-instructions": "tells the reader to ignore its instructions",
    "role-change": "tries to change the reader's role",
    "system-prompt": "mentions system prompts or chat-template markers",
    "run-command": "asks the reader to run something (or to act without asking)",
    "pipe-to-shell": "downloads and pipes into a shell or interpreter",
    "encoded-payload": "runs an encoded payload",
    "destructive": "contains a destructive command",
    "secrets": "moves secrets or credentials somewhere",
    "hidden-text": "contains invisible characters or HTML comments",
    "markup": "contains script or event-handler markup",
}


@dataclass(frozen=True)
class Flag:
    rule: str
    label: str
    field: str
    excerpt: str

    def to_dict(self) -> dict:
        """The flag as JSON-ready data."""
        return asdict(self)


def _excerpt(text: str, start: int, end: int, pad: int = 50) -> str:
    left, right = max(0, start - pad), min(len(text), end + pad)
    piece = text[left:right].replace("\n", " ")
    visible = re.sub(r"[\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]", "\u2423", piece)  # show invisible chars
    return ("…" if left else "") + visible + ("…" if right < len(text) else "")


def scan(fields: dict[str, str]) -> list[Flag]:
    """Every rule hit in every field (first hit per rule and field), in field order."""
    flags: list[Flag] = []
    for field_name, text in fields.items():
        if not text:
            continue
        for rule, rx in _COMPILED:
            m = rx.search(text)
            if m:
                flags.append(Flag(rule, _LABELS[rule], field_name, _excerpt(text, m.start(), m.end())))
    return flags


# Quantified groups that contain a quantifier, e.g. (a+)+ or (.*?x)*: catastrophic backtracking risk.
# Entry patterns run against every search query, so a slow one slows the whole site and the CLI.
_NESTED_QUANTIFIER = re.compile(r"\((?:[^()\\]|\\.)*[+*}](?:[^()\\]|\\.)*\)[+*{]")


def regex_flags(patterns: list[str]) -> list[Flag]:
    """Patterns whose shape risks catastrophic backtracking."""
    return [
        Flag("slow-regex", "regex with a nested quantifier (risk of catastrophic backtracking)", "patterns", p[:200])
        for p in patterns
        if _NESTED_QUANTIFIER.search(p)
    ]
