"""Remove secrets from error text before it leaves the machine.

A failed tool call's output often holds what made it fail: an API key pasted into a command, a
database URL with its password, a ``.env`` file printed by a debugging step.  The remote client
(``synapse_ai.kb.remote``) sends every query through :func:`scrub` first, so a team server, its
logs and its database never see them.

What is removed (the recognisable prefix is kept, because ``sk-ant-oat01-`` used where an API key
belongs is itself a diagnosis):

* API keys: Anthropic ``sk-ant-...``, OpenAI ``sk-...``/``sk-proj-...``, GitHub ``ghp_...``/
  ``github_pat_...``, AWS access key ids ``AKIA...``, Google ``AIza...``, Hugging Face ``hf_...``,
  Slack ``xox?-...``;
* ``Authorization:`` header values and ``Bearer``/``Basic`` credentials, cookies;
* passwords in URLs (``scheme://user:PASSWORD@host``);
* ``.env``-style and keyword assignments whose name says secret (``API_KEY=``, ``DB_PASSWORD:``,
  ``"client_secret": "..."``, ``aws_secret_access_key = ...``), whatever the value looks like;
* private key blocks (``-----BEGIN ... PRIVATE KEY-----``) and JSON Web Tokens.

What stays: error messages, tracebacks, request ids (``req_...``), tool_use ids (``toolu_...``),
model names, hashes, ``max_tokens=...`` (a name must *end* in token), and placeholder values that
explain a failure (``api_key=None``, ``API_KEY=$ANTHROPIC_API_KEY``).

Every pattern is linear: each token rule starts with a look-behind that only a run's first
character passes, so one run of token characters is scanned once, and no rule nests unbounded
repetitions.  Private key blocks are found with ``str.find``.
"""

from __future__ import annotations

import re
from collections import Counter

REDACTED = "[REDACTED]"
MAX_NAME = 80  # characters of an assignment's name looked at

# A token rule: (kind, literals, pattern).  A rule runs only on text holding one of its literals (a
# substring test is ~50x cheaper than a regex pass).  Group "keep" (if any) stays; the rest of the
# match is replaced.  (?<![...]) makes only the start of a run of token characters a candidate.
_TOKEN_RULES: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("anthropic-key", ("sk-ant-",), r"(?<![\w-])(?P<keep>sk-ant-(?:[a-z]{2,8}\d{0,3}-)?)[\w-]{16,}"),
    ("openai-key", ("sk-",), r"(?<![\w-])(?P<keep>sk-(?:proj-|svcacct-|admin-|None-)?)(?P<body>[\w-]{20,})"),
    ("github-token", ("ghp_", "gho_", "ghu_", "ghs_", "ghr_"), r"(?<![\w-])(?P<keep>gh[pousr]_)[A-Za-z0-9]{30,}"),
    ("github-token", ("github_pat_",), r"(?<![\w-])(?P<keep>github_pat_)\w{20,}"),
    (
        "aws-access-key",
        ("AKIA", "ASIA", "ABIA", "ACCA"),
        r"(?<![\w-])(?P<keep>(?:AKIA|ASIA|ABIA|ACCA))[A-Z0-9]{16}(?![\w-])",
    ),
    ("google-key", ("AIza",), r"(?<![\w-])(?P<keep>AIza)[\w-]{30,}"),
    ("huggingface-token", ("hf_",), r"(?<![\w-])(?P<keep>hf_)[A-Za-z0-9]{30,}"),
    ("slack-token", ("xox",), r"(?<![\w-])(?P<keep>xox[abposr]-)[A-Za-z0-9-]{10,}"),
    ("jwt", ("eyJ",), r"(?<![\w-])eyJ[\w-]{6,}\.eyJ[\w-]{6,}\.[\w-]{6,}"),
)
_TOKENS = [(kind, literals, re.compile(pattern, re.ASCII)) for kind, literals, pattern in _TOKEN_RULES]

# scheme://user:password@host -> scheme://user:[REDACTED]@host (the user may be empty: redis://:pw@h)
_URL_PASSWORD = re.compile(
    r"(?<![\w+.-])(?P<keep>[A-Za-z][\w+.-]{0,30}://[^\s:/@]{0,256}:)(?P<secret>[^\s@/]{1,256})@", re.ASCII
)

# Authorization / Cookie headers: the scheme stays, the credentials go (to the end of the value).
_HEADER = re.compile(
    r"(?<![\w-])(?P<keep>(?:proxy-)?authorization[\"']?[ \t]*[:=][ \t]*[\"']?(?:(?:bearer|basic|token|digest)[ \t]+)?)"
    r"(?P<secret>[^\s\"',;]+)"
    r"|(?<![\w-])(?P<keep2>(?:set-)?cookie[\"']?[ \t]*[:=][ \t]*[\"']?)(?P<secret2>[^\r\n\"']+)",
    re.IGNORECASE,
)
# A Bearer/Basic credential anywhere else (curl -H, a repr): only when it looks generated.
_SCHEME_TOKEN = re.compile(
    r"(?<![\w-])(?P<keep>(?:bearer|basic)[ \t]+)(?P<secret>[\w.~+/=-]{12,})", re.IGNORECASE | re.ASCII
)

# NAME = value, NAME: value, "NAME": "value", NAME='value' (one line; the name is judged below).
_ASSIGNMENT = re.compile(
    r"(?<![\w-])(?P<name>[A-Za-z_][\w-]{0,"
    + str(MAX_NAME)
    + r"})(?P<sep>[\"']?[ \t]*[:=][ \t]*[\"']?)(?P<value>[^\s\"',;&}]+)",
    re.ASCII,
)
_SECRET_ENDINGS = ("apikey", "token", "secret", "password", "passwd", "pwd", "secretkey", "accesskey", "privatekey")
_SECRET_PARTS = ("secret", "password")
_ASSIGNMENT_HINTS = ("key", "token", "secret", "passw", "pwd")  # lowercase literals a secret name holds
_PLACEHOLDERS = frozenset(
    ("none", "null", "nil", "undefined", "true", "false", "yes", "no", "", "...", "xxx", "changeme")
)

_BEGIN = re.compile(r"-----BEGIN (?P<label>[A-Z0-9 ]{0,40}?PRIVATE KEY(?: BLOCK)?)-----")


def _looks_generated(value: str) -> bool:
    """Letters and digits mixed, or both cases: a key, not a word or a slug."""
    has_digit = any(c.isdigit() for c in value)
    has_upper = any(c.isupper() for c in value)
    has_lower = any(c.islower() for c in value)
    return (has_digit and (has_upper or has_lower)) or (has_upper and has_lower)


def _secret_name(name: str) -> bool:
    """Whether an assignment's name says its value is secret (``max_tokens`` does not)."""
    flat = name.lower().replace("_", "").replace("-", "")
    return flat.endswith(_SECRET_ENDINGS) or any(part in flat for part in _SECRET_PARTS)


def _key_name(name: str) -> bool:
    """``STRIPE_KEY``, ``signingKey``: secret when the value looks generated (``cache_key=user:1`` is not)."""
    return name.lower().endswith("key")


def _placeholder(value: str) -> bool:
    """Values that explain a failure instead of being a secret: ``None``, ``$VAR``, ``<key>``, a redaction."""
    if REDACTED in value:
        return True
    lowered = value.strip("\"'()[]").lower()
    return lowered in _PLACEHOLDERS or lowered.startswith(("$", "<", "%", "{{", "os.environ", "process.env"))


def _private_keys(text: str, counts: Counter) -> str:
    """Each ``-----BEGIN ... PRIVATE KEY-----`` block through its END line (or, cut off, through the
    next blank line) becomes the two marker lines around ``[REDACTED]``."""
    out, at = [], 0
    while True:
        begin = _BEGIN.search(text, at)
        if begin is None:
            out.append(text[at:])
            return "".join(out)
        end_marker = f"-----END {begin.group('label')}-----"
        end = text.find(end_marker, begin.end())
        if end >= 0:
            stop = end + len(end_marker)
        else:
            blank = text.find("\n\n", begin.end())
            stop = len(text) if blank < 0 else blank
        out.append(text[at : begin.start()])
        out.append(f"{begin.group()}\n{REDACTED}\n{end_marker}")
        counts["private-key"] += 1
        at = stop


def scrub_counts(text: str) -> tuple[str, Counter]:
    """``(scrubbed text, {kind: how many})``.  See the module docstring for what counts as a secret."""
    counts: Counter = Counter()
    if not text:
        return text, counts
    text = _private_keys(text, counts)

    for kind, literals, pattern in _TOKENS:
        if not any(literal in text for literal in literals):
            continue

        def token(match: re.Match, kind: str = kind) -> str:
            body = match.groupdict().get("body")
            if kind == "openai-key" and body is not None and not _looks_generated(body):
                return match.group()  # "sk-learn-compat-notes-for-tokenizers" is a name, not a key
            counts[kind] += 1
            return (match.groupdict().get("keep") or "") + REDACTED

        text = pattern.sub(token, text)

    def url_password(match: re.Match) -> str:
        if _placeholder(match.group("secret")):
            return match.group()
        counts["url-password"] += 1
        return f"{match.group('keep')}{REDACTED}@"

    if "://" in text:
        text = _URL_PASSWORD.sub(url_password, text)
    lowered = text.lower()

    def header(match: re.Match) -> str:
        keep, secret = (
            (match.group("keep"), match.group("secret"))
            if match.group("keep") is not None
            else (match.group("keep2"), match.group("secret2"))
        )
        if _placeholder(secret):
            return match.group()
        counts["authorization"] += 1
        return keep + REDACTED

    if "authorization" in lowered or "cookie" in lowered:
        text = _HEADER.sub(header, text)

    def scheme_token(match: re.Match) -> str:
        secret = match.group("secret")
        if _placeholder(secret) or not _looks_generated(secret):
            return match.group()
        counts["bearer-token"] += 1
        return match.group("keep") + REDACTED

    if "bearer" in lowered or "basic" in lowered:
        text = _SCHEME_TOKEN.sub(scheme_token, text)

    def assignment(match: re.Match) -> str:
        name, value = match.group("name"), match.group("value")
        if _placeholder(value):
            return match.group()
        if not _secret_name(name) and not (_key_name(name) and len(value) >= 16 and _looks_generated(value)):
            return match.group()
        counts["assignment"] += 1
        return match.group("name") + match.group("sep") + REDACTED

    if any(hint in lowered for hint in _ASSIGNMENT_HINTS):
        text = _ASSIGNMENT.sub(assignment, text)
    return text, counts


def scrub(text: str) -> str:
    """``text`` with every secret it recognises replaced by ``[REDACTED]`` (prefixes kept)."""
    return scrub_counts(text)[0]


REGEX_FIELDS = frozenset(("patterns", "generic_patterns"))  # regular expressions: scrubbing would break them


def scrub_json(value, keep: frozenset[str] = REGEX_FIELDS):
    """Every string inside a JSON-ready value scrubbed (dict keys stay): for bodies posted to a server.
    The values of the keys in ``keep`` pass unchanged (``api_key=\\w+`` is a pattern, not a secret)."""
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, dict):
        return {key: item if key in keep else scrub_json(item, keep) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [scrub_json(item, keep) for item in value]
    return value
