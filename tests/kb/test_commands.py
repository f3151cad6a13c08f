"""The ``synapse`` group: commands from other packages are registered from outside ``kb``, lazily.

``kb`` is the core that ``web`` and ``skill`` build on, so it must not name them, not even in a string
(an import by name is still a dependency).  Their commands reach the group through registrations:
the ``synapse`` program (``synapse_ai.cli``) calls them directly; ``kb``'s group on its own finds them
through the ``synapse_ai.commands`` entry points.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import click
from click.testing import CliRunner

from synapse_ai.kb.cli import COMMANDS_ENTRY_POINTS, LazyGroup
from synapse_ai.kb.errors import DuplicateEntry, EntryNotFound, SynapseError, UserError

ROOT = Path(__file__).resolve().parents[2]
OTHER_COMMANDS = {"serve", "diagnose", "skill", "hook", "mcp"}
# A module path naming the packages above kb: ``synapse_ai.web``, ``web.cli``, ``from skill import``...
NAMES_ANOTHER_PACKAGE = re.compile(
    r"synapse_ai\.(web|skill)\b|\b(web|skill)\.[a-z_]+\b|\b(from|import)\s+(web|skill)\b"
)


def test_kb_names_neither_web_nor_skill():
    offending = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in sorted((ROOT / "kb").rglob("*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if NAMES_ANOTHER_PACKAGE.search(line)
    ]
    assert not offending, "\n".join(offending)


def _fresh_group(**kwargs) -> LazyGroup:
    @click.group(cls=LazyGroup, **kwargs)
    def group():
        """A group like synapse's."""

    return group


def test_lazy_commands_are_listed_without_being_imported():
    group = _fresh_group()
    group.add_lazy_command("later", "no_such_module_anywhere:command", "Runs later.")
    result = CliRunner().invoke(group, ["--help"])
    assert result.exit_code == 0 and "later" in result.output and "Runs later." in result.output
    assert "no_such_module_anywhere" not in sys.modules


def test_a_lazy_command_that_cannot_be_imported_is_one_line():
    group = _fresh_group()
    group.add_lazy_command("later", "no_such_module_anywhere:command", "Runs later.")
    result = CliRunner().invoke(group, ["later"])
    assert result.exit_code == 1
    assert result.output.startswith("synapse: 'later' is not available in this installation")


def test_entry_points_register_the_other_packages_commands():
    """The installed package declares web's and skill's registrations as entry points."""
    group = _fresh_group(entry_point_group=COMMANDS_ENTRY_POINTS)
    assert OTHER_COMMANDS <= set(group.list_commands(None))
    assert group.lazy_commands["serve"][0] == "synapse_ai.web.cli:serve_command"


def test_without_entry_points_the_program_module_composes():
    """A source checkout that was never installed: the group imports the composing module instead."""
    group = _fresh_group(entry_point_group="synapse_ai.no_such_group", composer="synapse_ai.cli")
    import synapse_ai.cli

    synapse_ai.cli.compose(group)  # what importing the module does to kb's own group
    assert OTHER_COMMANDS <= set(group.list_commands(None))


def test_from_a_checkout_without_install_every_command_is_there(tmp_path):
    """Only the checkout and click on the path, no site-packages (so no installed metadata): both the
    program and kb's group alone know every command."""
    import shutil

    shutil.copytree(Path(click.__file__).parent, tmp_path / "libs" / "click")
    code = (
        "import sys; sys.path[:0] = sys.argv[1:3];"
        "from synapse_ai.kb.cli import main as kb_group; print(sorted(kb_group.list_commands(None)));"
        "from synapse_ai.cli import main; print(sorted(main.list_commands(None)))"
    )
    done = subprocess.run(
        [sys.executable, "-I", "-S", "-c", code, str(ROOT), str(tmp_path / "libs")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    kb_alone, program = (set(eval(line)) for line in done.stdout.splitlines())  # noqa: S307 - our own printed lists
    assert OTHER_COMMANDS <= kb_alone and OTHER_COMMANDS <= program


def test_the_program_never_reads_package_metadata_to_start():
    """``synapse --help`` and ``synapse search`` stay as cheap as before: no ``importlib.metadata``."""
    code = (
        "import sys; from click.testing import CliRunner; from synapse_ai.cli import main;"
        "out = CliRunner().invoke(main, ['--help']).output;"
        "print('importlib.metadata' in sys.modules, all(c in out for c in ('serve', 'hook', 'search')))"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", "True"]


def test_a_synapse_error_from_any_command_is_one_line():
    group = _fresh_group()

    @group.command()
    def fails():
        raise UserError("that is not how it is used")

    result = CliRunner().invoke(group, ["fails"])
    assert result.exit_code == 1 and result.output == "synapse: that is not how it is used\n"


def test_entry_not_found_carries_the_close_slugs():
    error = EntryNotFound("rate-limt", ["rate-limit-429", "rate-limited"])
    assert isinstance(error, SynapseError) and isinstance(error, LookupError)
    assert str(error) == "no entry 'rate-limt'; did you mean: rate-limit-429, rate-limited"
    assert error.describe("close slugs") == "no entry 'rate-limt'; close slugs: rate-limit-429, rate-limited"
    alone = EntryNotFound("zzz")
    assert str(alone) == "no entry 'zzz'" and alone.describe(otherwise="search first") == "no entry 'zzz'; search first"


def test_require_raises_entry_not_found(kb):
    assert kb.require("rate-limit-429").slug == "rate-limit-429"
    try:
        kb.require("rate-limit-42")
    except EntryNotFound as exc:
        assert exc.slug == "rate-limit-42" and "rate-limit-429" in exc.did_you_mean
    else:  # pragma: no cover
        raise AssertionError("no EntryNotFound")


def test_adding_a_taken_slug_is_a_duplicate_entry(kb, tmp_path):
    entry = kb.require("rate-limit-429")
    try:
        kb.add_entry(entry, tmp_path / "approved")
    except DuplicateEntry as exc:
        assert isinstance(exc, ValueError) and exc.slug == "rate-limit-429"
    else:  # pragma: no cover
        raise AssertionError("no DuplicateEntry")
    assert not (tmp_path / "approved" / "rate-limit-429.md").exists()
