"""Entry patterns run under RE2, a regex engine whose matching time is linear in the text.

Why: patterns run against every search query and every failure the hook sees.  Under Python's
backtracking ``re``, one pattern such as ``(a+)+$`` takes seconds on 24 characters and hours on 40,
and it holds the GIL meanwhile, so one approved pattern could stall the site.  RE2 has no
backtracking, so no pattern can do that; in exchange it refuses the few features that need it
(look-around such as ``(?!...)``, backreferences such as ``\\1``, ``\\Z``, possessive and atomic
groups) and counted repetitions above 1000.

The rule, enforced everywhere a pattern enters (``synapse lint`` via ``kb.parse``, the submission
form and API): a pattern must be a valid Python regex (entries document patterns as Python regexes,
and ``kb.signature.required_literal`` reads them with Python's parser) *and* be accepted by RE2.
Matching (``kb.signature.compile_pattern``, used by ``kb.signals``) then uses RE2 only.

Differences that remain on patterns both accept: in RE2 ``\\w``, ``\\d``, ``\\s`` and ``\\b`` are ASCII
(error texts are ASCII in practice), and ``$`` matches only at the very end of the text, not also
before a final newline.  ``re2`` itself loads in a few milliseconds and only when a pattern is first
compiled, i.e. when a text passes a pattern's literal prefilter.
"""

from __future__ import annotations

from functools import lru_cache

MAX_MEMORY = 8 << 20  # bytes one compiled pattern may use (RE2's default); larger ones are refused


@lru_cache(maxsize=1)
def _options():
    import re2

    options = re2.Options()
    options.case_sensitive = False  # patterns match case-insensitively, as they did under re.I
    options.log_errors = False  # a refused pattern is reported by the caller, not on stderr
    options.max_mem = MAX_MEMORY
    return options


class LinearPattern:
    """A compiled RE2 pattern with ``search`` like ``re.Pattern.search``.  Text that is not valid
    Unicode (lone surrogates, e.g. from ``surrogateescape`` command-line arguments) is searched with
    those characters replaced, instead of raising."""

    __slots__ = ("pattern", "_compiled")

    def __init__(self, pattern: str, compiled):
        self.pattern, self._compiled = pattern, compiled

    def search(self, text: str):
        """RE2 search of ``text`` (invalid Unicode replaced first): a match or None. Raises nothing of its own."""
        try:
            return self._compiled.search(text)
        except UnicodeEncodeError:
            return self._compiled.search(text.encode("utf-8", "replace").decode("utf-8"))


def linear_problem(pattern: str) -> str | None:
    """Why RE2 refuses ``pattern`` (RE2's own words), or None when it compiles."""
    import re2

    try:
        re2.compile(pattern, _options())
    except re2.error as exc:
        reason = exc.args[0] if exc.args else "refused"
        return reason.decode("utf-8", "replace") if isinstance(reason, bytes) else str(reason)
    except UnicodeEncodeError:
        return "the pattern is not valid Unicode text"
    return None


def linear_rule_message(pattern: str) -> str | None:
    """The one-line refusal used by lint and the submission checks, or None when RE2 accepts it."""
    reason = linear_problem(pattern)
    if reason is None:
        return None
    return (
        f"not accepted by the linear-time matcher (RE2): {reason}; look-around, backreferences, \\Z and "
        "repetition counts over 1000 are not supported"
    )


@lru_cache(maxsize=4096)
def compile_linear(pattern: str) -> LinearPattern | None:
    """``pattern`` compiled case-insensitively under RE2, or None when RE2 refuses it (such a
    pattern never matches; lint and the submission checks refuse it up front)."""
    import re2

    try:
        return LinearPattern(pattern, re2.compile(pattern, _options()))
    except (re2.error, UnicodeEncodeError):
        return None
