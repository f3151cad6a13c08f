"""The ``synapse`` command's entry point: ``synapse search --json QUERY`` without loading click.

Why: agents run ``synapse search --json`` as a fresh process on every error, and importing click
costs ~45 ms of CPU, a fifth of such a process on the project machine.  This module answers that
one shape of command line (``search``, ``--json``, optional ``--limit/-n N`` and ``--db PATH``, one
query argument) when the index is current, printing exactly what the click command prints
(``tests/kb/test_launch.py`` compares them).  Anything else, and anything unusual on the way (an
index to build, a damaged or locked database, a missing model), goes to the click program
(``synapse_ai.cli``), which says it with its progress and messages; a search only reads, so
handing over part-way is safe.
"""

from __future__ import annotations

import json
import os
import re
import sys

from synapse_ai.kb.config import SERVER_URL_ENV
from synapse_ai.kb.limits import MAX_RESULTS

_SURROGATE = re.compile("[\ud800-\udfff]")
# The whole ``synapse`` program (kb's commands with the web site's and the skill's, synapse_ai/cli.py);
# named, not imported, as kb/cli.py names it: kb does not depend on it.
PROGRAM = "synapse_ai.cli:main"
KB_COMMANDS = "synapse_ai.kb.cli:main"  # kb's group alone (``python -m synapse_ai.kb``)


def clean_text(text: str) -> tuple[str, bool]:
    """``(text, changed)`` with every lone surrogate replaced by U+FFFD.

    Python hands undecodable bytes in argv (and in stdin, unless told otherwise) over as lone
    surrogates (``surrogateescape``); they cannot be encoded, so the tokenizer, SQLite and stdout
    would all raise.  Escaped bytes become U+FFFD as a strict-but-forgiving UTF-8 decoder would make
    them; other lone surrogates (``\\ud800`` from a JSON client) too: one U+FFFD each.
    """
    try:
        text.encode("utf-8")
        return text, False
    except UnicodeEncodeError:
        return _SURROGATE.sub("\ufffd", text), True


def json_text(data, **options) -> str:
    """``json.dumps`` that always gives valid JSON text: a lone surrogate left in a string (it can
    come from the stored entries or a query) is replaced by U+FFFD instead of breaking the output."""
    text = json.dumps(data, ensure_ascii=False, **options)
    return clean_text(text)[0]


def plain_json_search(argv: list[str]) -> tuple[str, int, str | None] | None:
    """``(query, limit, db)`` for ``search --json [--limit N | -n N] [--db PATH] QUERY`` in any
    order; None for every other command line (help, stdin, --batch, human output, odd values)."""
    if not argv or argv[0] != "search" or os.environ.get(SERVER_URL_ENV, "").strip():
        return None  # a team server answers through the click program's remote reader
    query, limit, db, as_json = None, 5, None, False
    args = iter(argv[1:])
    for arg in args:
        if arg == "--json":
            as_json = True
        elif arg in ("--limit", "-n"):
            value = next(args, "")
            if not value.isascii() or not value.isdigit() or not 1 <= int(value) <= MAX_RESULTS:
                return None
            limit = int(value)
        elif arg == "--db":
            db = next(args, None)
            if not db or os.path.isdir(db):
                return None
        elif arg.startswith("-") or query is not None:
            return None
        else:
            query = arg
    if not as_json or query is None or not query.strip() or clean_text(query)[1]:
        return None
    return query, limit, db


def answer(query: str, limit: int, db: str | None) -> bool:
    """Print the search's JSON and return True, or return False (nothing printed) to hand over."""
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # as kb/cli.py: one BLAS thread for the query model
    from pathlib import Path

    from synapse_ai.kb.service import KnowledgeBase

    try:
        kb = KnowledgeBase.open(Path(db) if db else None, refresh=False)
    except Exception:  # noqa: BLE001 - the click CLI opens it again and says what is wrong
        return False
    for notice in kb.notices:  # a damaged database was moved aside and rebuilt: said as open_kb says it
        sys.stderr.write(f"synapse: {notice}\n")
    try:
        if kb._index_state() != "current":
            return False
        text = json_text(kb.search(query, limit).to_dict())
    except Exception:  # noqa: BLE001 - as above: read-only so far, the click CLI redoes it
        return False
    finally:
        kb.close()
    sys.stdout.write(text + "\n")
    sys.stdout.flush()
    return True


def run(fallback: str) -> None:
    """Answer a plain ``search --json`` here, or run the click command at ``fallback`` (``module:attr``)."""
    request = plain_json_search(sys.argv[1:])
    if request is not None and answer(*request):
        return
    import importlib

    module, _, attr = fallback.partition(":")
    try:
        command = getattr(importlib.import_module(module), attr)
    except ImportError:  # an install without the web site or the skill: kb's own commands
        module, _, attr = KB_COMMANDS.partition(":")
        command = getattr(importlib.import_module(module), attr)
    command()


def main() -> None:
    """The ``synapse`` console script."""
    run(PROGRAM)
