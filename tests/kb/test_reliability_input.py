"""Hostile input: linear-time scanning, bad entry files that must never stop lint or the indexer,
special files in an entries folder, and undecodable bytes on stdin and in arguments.

The hostile inputs are the ones that froze or crashed earlier versions.  Tests assert the results;
the subprocess tests with a 20 s timeout only guard against a hang (they assert termination, not
speed: every input here finishes in well under a second).
"""

from __future__ import annotations

import json
import os
import random
import re
import socket
import subprocess
import sys
import textwrap
from dataclasses import astuple
from pathlib import Path

import pytest
from click.testing import CliRunner

from synapse_ai.kb.cli import clean_text, json_text, main
from synapse_ai.kb.lint import lint_paths
from synapse_ai.kb.model import code_blocks_in, fix_preamble, split_fix_options
from synapse_ai.kb.parse import MAX_ENTRY_CHARS, MAX_FENCE_LINES, EntryError, parse_entry, read_entry
from synapse_ai.kb.search import snippet
from tests.kb.helpers import write_entry
from tests.kb.test_parse import GOOD, problems_of

HANG_GUARD_S = 20
ROOT = Path(__file__).resolve().parents[2]


def run_guarded(code: str) -> str:
    """Run ``code`` in a fresh interpreter; fail (instead of hanging the suite) after 20 s."""
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], cwd=ROOT, capture_output=True, text=True, timeout=HANG_GUARD_S
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


# ------------------------------------------------------------------ the scanner matches the old regexes

# The regexes the line scanners replaced: correct, but quadratic on hostile input.  On small inputs
# they are the reference the scanners must agree with.
OLD_FENCE_RE = re.compile(r"^```([^\n`]*)\n(.*?)^```[ \t]*$", re.M | re.S)
OLD_OPTION_RE = re.compile(r"^### Option (\d+):[ \t]*(.+?)[ \t]*$", re.M)


def old_code_blocks(markdown: str, first_line: int) -> list[tuple]:
    out = []
    for m in OLD_FENCE_RE.finditer(markdown):
        info = m.group(1).split()
        line = first_line + markdown.count("\n", 0, m.start()) if first_line else 0
        out.append((info[0] if info else "", tuple(info[1:]), m.group(2), line))
    return out


def old_options(body: str, first_line: int) -> list[tuple]:
    fences = [(m.start(), m.end()) for m in OLD_FENCE_RE.finditer(body)]
    heads = [m for m in OLD_OPTION_RE.finditer(body) if not any(a <= m.start() < b for a, b in fences)]
    out = []
    for i, m in enumerate(heads):
        end = heads[i + 1].start() if i + 1 < len(heads) else len(body)
        text = body[m.end() : end].strip("\n")
        line = first_line + body.count("\n", 0, m.end()) + 1 if first_line else 0
        out.append((int(m.group(1)), m.group(2), text, tuple(old_code_blocks(text, line))))
    return out


LINE_ATOMS = [
    "```",
    "```py",
    "```python runnable",
    "``` ",
    "```\t",
    "````",
    "```a`b",
    " ```",
    "### Option 1: a",
    "### Option 2:  b  ",
    "### Option 3:",
    "### Option 4: ",
    "### Option 12:\tx\t",
    "### Option \u0661: ar",
    "### Option 5:x",
    "text",
    "",
    "## x",
    "\r",
    "\u2028",
]


def test_fence_and_option_scanners_agree_with_the_regexes_they_replaced():
    rng = random.Random(17)
    for _ in range(4000):
        body = "\n".join(rng.choice(LINE_ATOMS) for _ in range(rng.randint(0, 12))) + rng.choice(["", "\n"])
        first = rng.choice([0, 7])
        assert [astuple(b) for b in code_blocks_in(body, first)] == old_code_blocks(body, first), body
        got = [
            (o.number, o.title, o.body, tuple(astuple(b) for b in o.code_blocks))
            for o in split_fix_options(body, first)
        ]
        assert got == old_options(body, first), body


def test_snippet_drops_code_like_the_regex_it_replaced():
    from synapse_ai.kb.model import without_code as _without_code

    rng = random.Random(5)
    atoms = ["```", "`", "``", "\n", "a", " ", "```py\n", "b\n"]
    for _ in range(4000):
        text = "".join(rng.choice(atoms) for _ in range(rng.randint(0, 15)))
        assert _without_code(text) == re.sub(r"```[^\n]*\n.*?```", " ", text, flags=re.S), repr(text)


def test_fix_preamble_stops_at_the_first_real_option_heading():
    body = "Intro.\n\n```\n### Option 1: inside code\n```\n\n### Option 1: Real\n\nDo it."
    assert fix_preamble(body) == "Intro.\n\n```\n### Option 1: inside code\n```"
    assert fix_preamble("Only prose.") == "Only prose."


# ------------------------------------------------------------------ the hostile inputs, correct results

FENCE_BOMB = "```a\n" * 5990  # one option body of the 62 s site freeze: unclosed fences, 30 kB


def test_unclosed_fence_bomb_gives_no_blocks_and_is_reported_with_its_line():
    assert (
        code_blocks_in(FENCE_BOMB) == [] and split_fix_options("### Option 1: x\n\n" + FENCE_BOMB)[0].code_blocks == ()
    )
    text = GOOD.replace("Text.\n", "Text.\n\n" + FENCE_BOMB)
    found = problems_of(text)
    first_bomb_line = text.split("\n").index("```a") + 1
    over = first_bomb_line + MAX_FENCE_LINES - 2  # the 401st fence line of the entry (GOOD has 2 before)
    assert (over, f"more than {MAX_FENCE_LINES} code fence lines (lines starting with ```) in one entry") in found


def test_fences_under_the_cap_still_parse():
    blocks = "".join(f"```text\nblock {i}\n```\n\n" for i in range(MAX_FENCE_LINES // 2 - 2))
    entry = parse_entry(GOOD.replace("Text.\n", "Text.\n\n" + blocks), Path("sample-error.md"))
    assert len(entry.code_blocks) == MAX_FENCE_LINES // 2 - 1


def test_heading_with_a_long_blank_run_is_reported_not_slow():
    text = GOOD.replace("## Root Cause", "## Root" + " " * 60_000 + "Cause")
    found = problems_of(text)
    line = GOOD.split("\n").index("## Root Cause") + 1
    assert (line, "heading has 60,012 characters (at most 300)") in found
    assert any(
        "unknown section '## Root" in m
        and m.endswith(
            "Cause' (known: Symptom, Root Cause, Fix, When to use which, Latency comparison, Expected savings, "
            "Environment, Notes)"
        )
        for _, m in found
    )


def test_trailing_blanks_after_a_heading_are_not_part_of_its_name():
    entry = parse_entry(GOOD.replace("## Root Cause", "## Root Cause \t \t"), Path("sample-error.md"))
    assert [s.name for s in entry.sections] == ["Symptom", "Root Cause", "Fix", "Notes"]


def test_option_heading_with_a_long_tab_run():
    text = GOOD.replace("### Option 2: Or this", "### Option 2: x" + "\t" * 60_000 + "y")
    line = GOOD.split("\n").index("### Option 2: Or this") + 1
    assert (line, "heading has 60,016 characters (at most 300)") in problems_of(text)
    [_, second] = split_fix_options("### Option 1: a\n\nA.\n\n### Option 2: x" + "\t" * 60_000 + "y\n\nB.")
    assert second.title == "x" + "\t" * 60_000 + "y" and second.body == "B."


def test_option_number_with_thousands_of_digits():
    text = GOOD.replace("### Option 2: Or this", "### Option " + "9" * 5000 + ": Or this")
    line = GOOD.split("\n").index("### Option 2: Or this") + 1
    assert problems_of(text) == [
        (line, "heading has 5,020 characters (at most 300)"),
        (line, "fix option number has 5,000 digits (at most 4)"),
    ]


# One test per replaced regex: a 200 kB hostile input finishes (20 s hang guard) with the right result.


def test_hang_guard_fence_scanner_200kb():
    assert (
        run_guarded("""
        from synapse_ai.kb.model import code_blocks_in, split_fix_options
        bomb = "```a\\n" * 40_000
        print(len(code_blocks_in(bomb)), len(split_fix_options("### Option 1: x\\n" + bomb)[0].code_blocks))
    """)
        == "0 0"
    )


def test_hang_guard_option_heading_scanner_200kb():
    assert (
        run_guarded("""
        from synapse_ai.kb.model import split_fix_options
        [option] = split_fix_options("### Option 1: x" + "\\t" * 200_000 + "y\\n\\nBody.")
        print(option.number, len(option.title), option.body)
    """)
        == "1 200002 Body."
    )


def test_hang_guard_section_heading_scanner_200kb():
    out = run_guarded("""
        from pathlib import Path
        from synapse_ai.kb.parse import EntryError, parse_entry
        from tests.kb.test_parse import GOOD
        try:
            parse_entry(GOOD.replace("## Root Cause", "## Root" + " " * 200_000 + "Cause"), Path("sample-error.md"))
        except EntryError as exc:
            print(sorted({p.message.split(" (")[0] for p in exc.problems})[0])
    """)
    assert out == "heading has 200,012 characters"


def test_hang_guard_front_matter_end_200kb():
    out = run_guarded("""
        from synapse_ai.kb.parse import EntryError, parse_entry
        try:
            parse_entry("---\\n" + ("---" + " " * 1000 + "x\\n") * 200 + "title: a\\n")
        except EntryError as exc:
            print(exc.problems[0].message.split(" (")[0])
    """)
    assert out == "missing front matter"


def test_hang_guard_snippet_200kb():
    assert (
        run_guarded("""
        from synapse_ai.kb.search import snippet
        print(snippet("`" * 200_000 + " rate limit", ["rate"])[-16:])
    """)
        == "` **rate** limit"
    )


# ------------------------------------------------------------------ bad entry files are problems, not crashes


@pytest.mark.parametrize(
    "change, message",
    [
        (
            ("created: 2026-11-01", "created: 2026-11-26T10:00:00"),
            "'created' must be a date YYYY-MM-DD, got datetime.datetime(2026, 11, 26, 10, 0)",
        ),
        (("updated: 2026-11-02", "updated: 2026-11-26T10:00:00+05:00"), "'updated' must be a date YYYY-MM-DD"),
        (
            ('title: "Sample: the thing fails"', "title: " + "9" * 5000),
            "front matter is not valid YAML: a number with 5,000 digits (at most 30)",
        ),
        (
            ("savings: No token savings; avoids one failed run.", "savings: " + "[" * 100_000),
            "front matter is not valid YAML: exceeded maximum nesting depth",
        ),
        (
            ("savings: No token savings; avoids one failed run.", "savings: " + "[" * 900),
            "front matter is nested too deeply",
        ),
        (
            ("savings: No token savings; avoids one failed run.", "savings: " + "{a: " * 900),
            "front matter is nested too deeply",
        ),
        (('print("fixed")', "x = " + "-" * 100_000 + "1"), "python block does not parse"),
        (('print("fixed")', "(" * 300 + ")" * 300), "python block does not parse: too many nested parentheses"),
        (
            ("Text.\n", "Text.\n\n```json\n" + "[" * 100_000 + "\n```\n"),
            "json block is not valid JSON: nested too deeply to check",
        ),
        (("  - 'sample_error: thing \\d+ failed'", "  - '" + "(" * 200 + ")" * 200 + "'"), None),
        (
            ("  - 'sample_error: thing \\d+ failed'", "  - 'a{99999999999999999999}'"),
            "invalid regex in patterns: 'a{99999999999999999999}': a repetition count is too large",
        ),
        (('title: "Sample: the thing fails"', "title: " + "t" * 301), "'title' has 301 characters (at most 300)"),
        (
            ("tags: [anthropic, sample]", "tags: [" + ", ".join(f"t{i}" for i in range(51)) + "]"),
            "'tags' has 51 items (at most 50)",
        ),
    ],
)
def test_bad_values_are_problems_not_crashes(change, message):
    text = GOOD.replace(*change)
    assert text != GOOD
    if message is None:  # deep but legal: still fine
        parse_entry(text, Path("sample-error.md"))
        return
    found = problems_of(text)
    assert any(m.startswith(message) for _, m in found), found
    if "savings: " in change[1]:  # the line the deep value is on
        assert [line for line, m in found if m.startswith(message)] == [11]


def test_both_dates_as_date_times_do_not_pass_lint():
    """The file that passed lint and then poisoned the index (every read failed on the stored value)."""
    found = problems_of(
        GOOD.replace("created: 2026-11-01", "created: 2026-11-26 10:00:00").replace(
            "updated: 2026-11-02", "updated: 2026-11-27 10:00:00"
        )
    )
    assert [line for line, m in found if "must be a date" in m] == [13, 14]


def test_an_oversized_file_is_refused_before_parsing(tmp_path):
    path = tmp_path / "sample-error.md"
    path.write_text(GOOD + "x" * MAX_ENTRY_CHARS, encoding="utf-8")
    with pytest.raises(EntryError) as info:
        read_entry(path)
    assert info.value.problems[0].line == 1 and "at most 262,144" in info.value.problems[0].message


def test_non_utf8_file_names_the_line(tmp_path):
    path = tmp_path / "sample-error.md"
    path.write_bytes(GOOD.replace("Because.", "Bec\xe4use.").encode("latin-1"))
    with pytest.raises(EntryError) as info:
        read_entry(path)
    assert [(p.line, p.message) for p in info.value.problems] == [
        (GOOD.split("\n").index("Because.") + 1, "file is not valid UTF-8")
    ]


def test_problems_print_on_one_line():
    from synapse_ai.kb.parse import Problem

    assert (
        str(Problem(3, 'bad\n  in "<unicode string>", position 4', "x.md"))
        == 'x.md:3: bad in "<unicode string>", position 4'
    )
    assert str(Problem(3, "unknown section '## a\u2028b\x85'")) == "line 3: unknown section '## a\\u2028b\\x85'"


# ------------------------------------------------------------------ folders with bad and special files

BAD_FILES = {
    "dt-created.md": GOOD.replace("created: 2026-11-01", "created: 2026-11-26T10:00:00"),
    "dt-both.md": GOOD.replace("created: 2026-11-01", "created: 2026-11-26 10:00:00").replace(
        "updated: 2026-11-02", "updated: 2026-11-27 10:00:00"
    ),
    "aware.md": GOOD.replace("updated: 2026-11-02", "updated: 2026-11-26T10:00:00+05:00"),
    "big-option.md": GOOD.replace("### Option 2: Or this", "### Option " + "9" * 5000 + ": Or this"),
    "big-int.md": GOOD.replace('title: "Sample: the thing fails"', "title: " + "9" * 5000),
    "deep-json.md": GOOD.replace("Text.\n", "Text.\n\n```json\n" + "[" * 100_000 + "\n```\n"),
    "deep-python.md": GOOD.replace('print("fixed")', "x = " + "-" * 100_000 + "1"),
    "deep-yaml.md": GOOD.replace("savings: No token savings; avoids one failed run.", "savings: " + "[" * 100_000),
    "fence-bomb.md": GOOD.replace("Text.\n", "Text.\n\n" + FENCE_BOMB),
}


def special_files(folder: Path) -> list[str]:
    """A FIFO, a directory, a socket, a dangling symlink and a symlink loop, all named ``*.md``."""
    os.mkfifo(folder / "fifo.md")
    (folder / "dir.md").mkdir()
    (folder / "dangling.md").symlink_to(folder / "nowhere")
    (folder / "loop.md").symlink_to(folder / "loop.md")
    names = ["fifo.md", "dir.md", "dangling.md", "loop.md"]
    if len(str(folder / "sock.md")) < 100:  # AF_UNIX path length limit
        server = socket.socket(socket.AF_UNIX)
        server.bind(str(folder / "sock.md"))
        server.close()
        names.append("sock.md")
    return names


@pytest.fixture
def mixed(tmp_path):
    """Two good entries beside every kind of bad file and special file."""
    folder = tmp_path / "mixed"
    write_entry(
        folder,
        "rate-limited",
        title="429 rate_limit_error from the API",
        patterns=r"'rate_limit_error'",
        symptom="Requests fail with 429.",
    )
    write_entry(folder, "slow-tools", title="Tool calls run one after another", symptom="The agent is slow.")
    for name, text in BAD_FILES.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder, special_files(folder)


def test_lint_reports_every_bad_and_special_file_and_checks_the_rest(mixed):
    folder, specials = mixed
    count, problems = lint_paths([folder])
    by_file = {Path(p.path).name for p in problems}
    assert count == 2 + len(BAD_FILES) + len(specials)
    assert by_file == set(BAD_FILES) | set(specials)
    notes = {Path(p.path).name: p.message for p in problems if Path(p.path).name in specials}
    assert notes["fifo.md"] == "skipped: not a regular file (a FIFO)"
    assert notes["dir.md"] == "skipped: not a regular file (a directory)"
    assert notes["dangling.md"] == "symbolic link that leads nowhere (no such file or directory)"
    assert notes["loop.md"] == "symbolic link that leads nowhere (too many levels of symbolic links)"
    if "sock.md" in notes:
        assert notes["sock.md"] == "skipped: not a regular file (a socket)"


def test_synapse_lint_on_a_fifo_terminates(mixed):
    folder, _ = mixed
    # A whole CLI process (lint imports the SDK to check model ids): a longer guard, still far from "forever".
    done = subprocess.run(
        [sys.executable, "-m", "synapse_ai.kb", "lint", str(folder)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=3 * HANG_GUARD_S,
    )
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert all(re.match(r"^\S+:\d+: ", line) for line in done.stdout.splitlines()), done.stdout
    assert f"{folder / 'fifo.md'}:0: skipped: not a regular file (a FIFO)" in done.stdout.splitlines()


def test_index_skips_bad_and_special_files_and_indexes_the_rest(mixed, tmp_path):
    folder, specials = mixed
    db = tmp_path / "mixed.db"
    result = CliRunner().invoke(main, ["index", "--db", str(db), "--entries", str(folder)])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("indexed 2 entries (2 added")
    skipped = {Path(line.split(":", 1)[0]).name for line in result.stderr.splitlines() if line.startswith(str(folder))}
    assert skipped == set(BAD_FILES) | set(specials)
    # the index stays usable: nothing poisoned it
    search = CliRunner().invoke(main, ["search", "--json", "--db", str(db), "rate_limit_error 429"])
    assert search.exit_code == 0 and json.loads(search.stdout)["results"][0]["slug"] == "rate-limited"
    assert CliRunner().invoke(main, ["show", "slow-tools", "--db", str(db)]).exit_code == 0


# ------------------------------------------------------------------ bytes in, clean errors out


@pytest.fixture
def indexed(tmp_path):
    folder = tmp_path / "entries"
    write_entry(
        folder,
        "rate-limited",
        title="429 rate_limit_error from the API",
        patterns=r"'rate_limit_error'",
        symptom="Requests fail with 429.",
    )
    write_entry(folder, "slow-tools", title="Tool calls run one after another", symptom="The agent is slow.")
    db = tmp_path / "cli.db"
    assert CliRunner().invoke(main, ["index", "--db", str(db), "--entries", str(folder)]).exit_code == 0
    return db


SPLIT_LOG = "Café… anthropic.RateLimitError: Error code: 429 rate_limit_error\n".encode()[
    4:
]  # tail -c +5: a cut character
NOTE = "synapse: the input on stdin is not valid UTF-8; undecodable bytes were replaced with U+FFFD"


def test_match_reads_a_log_cut_mid_character(indexed):
    result = CliRunner().invoke(main, ["match", "--json", "--db", str(indexed)], input=SPLIT_LOG)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["results"][0]["slug"] == "rate-limited" and data["query"].startswith("\ufffd")
    assert result.stderr.count(NOTE) == 1


@pytest.mark.parametrize(
    "data",
    [b"\xff\xfe rate_limit_error 429", "rate_limit_error caf\xe9".encode("latin-1"), b"\xed\xa0\x80 rate_limit_error"],
)
def test_search_dash_reads_undecodable_stdin(indexed, data):
    result = CliRunner().invoke(main, ["search", "-", "--json", "--db", str(indexed)], input=data)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["results"][0]["slug"] == "rate-limited"
    assert result.stderr.strip() == NOTE


def test_batch_reads_undecodable_lines(indexed):
    result = CliRunner().invoke(
        main, ["search", "--batch", "-", "--db", str(indexed)], input=b"\xffrate_limit_error\nslow agent\n"
    )
    assert result.exit_code == 0, result.output
    assert [json.loads(line)["query"] for line in result.stdout.splitlines()] == [
        "\ufffdrate_limit_error",
        "slow agent",
    ]
    assert (
        result.stderr.strip()
        == "synapse: the --batch input is not valid UTF-8; undecodable bytes were replaced with U+FFFD"
    )


def test_query_argument_with_undecodable_bytes(indexed):
    result = CliRunner().invoke(main, ["search", "--json", "--db", str(indexed), "\udcff\udcfe rate_limit_error"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["query"] == "\ufffd\ufffd rate_limit_error"
    assert result.stderr.strip() == "synapse: the query is not valid UTF-8; undecodable bytes were replaced with U+FFFD"


def test_show_with_undecodable_slug_is_one_clean_line(indexed):
    result = CliRunner().invoke(main, ["show", "rate\udcff", "--db", str(indexed)])
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "synapse: the slug is not valid UTF-8; undecodable bytes were replaced with U+FFFD",
        "synapse: no entry 'rate\ufffd'; did you mean: rate-limited",
    ]


def test_json_text_is_always_valid_utf8_json():
    text = json_text({"query": "a\ud800b\udcff", "n": [1]})
    assert json.loads(text.encode("utf-8")) == {"query": "a\ufffdb\ufffd", "n": [1]}
    assert clean_text("plain") == ("plain", False)


def test_real_pipes_with_strict_io_encoding(indexed):
    """The review's reproduction as real processes: bytes on stdin and in argv, strict stdio."""
    env = {**os.environ, "PYTHONIOENCODING": "utf-8:strict", "SYNAPSE_MODEL": "hash"}
    synapse = str(Path(sys.executable).with_name("synapse"))
    match = subprocess.run(
        [synapse, "match", "--json", "--db", str(indexed)], input=SPLIT_LOG, capture_output=True, env=env, timeout=120
    )
    assert match.returncode == 0, match.stderr
    assert json.loads(match.stdout)["results"][0]["slug"] == "rate-limited"
    assert match.stderr.decode().splitlines() == [NOTE]
    show = subprocess.run(
        [synapse, "show", b"rate\xff", "--db", str(indexed)], capture_output=True, env=env, timeout=120
    )
    assert show.returncode == 1 and b"Traceback" not in show.stderr
    assert show.stderr.decode().splitlines()[-1] == "synapse: no entry 'rate\ufffd'; did you mean: rate-limited"
    search = subprocess.run(
        [synapse, "search", "--json", "--db", str(indexed), b"\xff rate_limit_error"],
        capture_output=True,
        env=env,
        timeout=120,
    )
    assert search.returncode == 0 and json.loads(search.stdout)["query"] == "\ufffd rate_limit_error"


def test_snippet_of_a_backtick_run_keeps_the_text():
    assert snippet("`" * 50 + " the rate limit", ["rate"]).endswith("the **rate** limit")
