"""The ``synapse`` command line: a thin layer over ``kb.KnowledgeBase``.

Agents call ``synapse search --json`` / ``synapse match`` as a fresh process on every error, so this
module imports only click at start-up; rich, numpy and the model load when a command needs them.

Commands defined outside ``kb`` (the web site's ``serve``, the skill's ``hook``, ``mcp``, ...) are not
named here: their packages register them as *lazy* commands (a ``module:attr`` target and a short help,
imported only when the command runs).  The ``synapse`` program (``synapse_ai.cli``) registers them
directly; this group on its own (``python -m synapse_ai.kb``) finds the same registrations through the
``synapse_ai.commands`` entry points of the installed package (or, with none installed, by importing
that program module), only when a command name is not known yet or the command list is shown
(docs/architecture.md says why).
"""

from __future__ import annotations

import importlib
import json
import os
import sys

# The query model's matrices are tiny: BLAS worker threads only add wake-up latency (and contend
# for the 2 cores an agent's machine may have), so one thread unless the user says otherwise.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
from pathlib import Path

import click

from synapse_ai.kb.errors import SynapseError, UserError
from synapse_ai.kb.launch import clean_text, json_text  # click-free, shared with the entry point
from synapse_ai.kb.limits import MAX_RESULTS
from synapse_ai.kb.options import CommandFailed, db_option

__all__ = ["COMMANDS_ENTRY_POINTS", "LazyGroup", "UserError", "db_option", "main", "open_kb"]

COMMANDS_ENTRY_POINTS = "synapse_ai.commands"  # entry points: callables ``register(group)``
PROGRAM_MODULE = "synapse_ai.cli"  # the ``synapse`` program, which composes every package's commands


class LazyGroup(click.Group):
    """A click group whose commands may live in other packages and are imported only when invoked.

    A ``SynapseError`` escaping any command becomes one ``synapse: ...`` line and exit 1."""

    def __init__(self, *args, entry_point_group: str | None = None, composer: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.lazy_commands: dict[str, tuple[str, str]] = {}  # name -> ("module:attr", short help)
        self.entry_point_group = entry_point_group
        self.composer = composer
        self.registrations_complete = entry_point_group is None and composer is None

    def add_lazy_command(self, name: str, target: str, short_help: str) -> None:
        """Register ``name`` to run the click command at ``target`` (``"package.module:attribute"``),
        imported only when invoked; ``short_help`` is shown in ``--help`` without importing it."""
        self.lazy_commands[name] = (target, short_help)

    def load_registrations(self) -> None:
        """Once: call every ``register(group)`` of the entry point group; when the installed metadata
        declares none (a source checkout that was never installed, or an install made before the
        entry points existed), import the ``composer`` module, which registers the commands itself.

        Only when a command name is unknown or the command list is shown: importing
        ``importlib.metadata`` costs tens of milliseconds.  A registration that fails is reported on
        stderr and skipped, so the other commands still work."""
        if self.registrations_complete:
            return
        self.registrations_complete = True
        found = []
        if self.entry_point_group:
            from importlib.metadata import entry_points

            found = list(entry_points(group=self.entry_point_group))
        for entry_point in found:
            try:
                entry_point.load()(self)
            except Exception as exc:  # noqa: BLE001 - a broken plugin must not break the other commands
                click.echo(f"synapse: cannot load commands from {entry_point.value} ({exc})", err=True)
        if not found and self.composer:
            try:
                importlib.import_module(self.composer)
            except ImportError as exc:
                click.echo(f"synapse: cannot load the other commands from {self.composer} ({exc})", err=True)

    def list_commands(self, ctx):
        """Every command name, lazy ones included (reading the registrations first if needed)."""
        self.load_registrations()
        return sorted(set(super().list_commands(ctx)) | set(self.lazy_commands))

    def get_command(self, ctx, name):
        """The command ``name`` (a lazy one is imported now), or None; raises CommandFailed if it cannot be."""
        command = super().get_command(ctx, name)
        if command is not None:
            return command
        if name not in self.lazy_commands:
            self.load_registrations()
            if name not in self.lazy_commands:
                return None
        module, _, attr = self.lazy_commands[name][0].partition(":")
        try:
            return getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError) as exc:
            raise CommandFailed(f"'{name}' is not available in this installation ({exc})") from None

    def format_commands(self, ctx, formatter):
        """The ``Commands`` section of ``--help``: lazy commands show their short help, unimported."""
        rows = []
        for name in self.list_commands(ctx):
            if name in self.lazy_commands and name not in self.commands:
                rows.append((name, self.lazy_commands[name][1]))
            else:
                rows.append((name, self.commands[name].get_short_help_str(80)))
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def invoke(self, ctx):
        """Run the command; a ``SynapseError`` it raises becomes ``CommandFailed`` (one line, exit 1)."""
        try:
            return super().invoke(ctx)
        except SynapseError as exc:
            raise CommandFailed(exc) from None


STAGE_LINE_AFTER = 0.4  # seconds into an index stage before its line is written (off a terminal)


def _progress():
    """Index progress on stderr: on a terminal a rich bar per stage (its clock keeps moving during
    a long stage); off one, a line for each stage that lasts more than ``STAGE_LINE_AFTER``, so a
    log or an agent sees within the first second why the first command takes seconds, while a
    small update prints nothing.  Nothing at all when the index is current."""
    state: dict = {"stage": None}

    def announce(stage: str, line: str) -> None:
        if state["stage"] == stage:  # still in it: a stage that takes time is worth a line
            click.echo(line, err=True)

    def report(stage: str, done: int, total: int) -> None:
        if not sys.stderr.isatty():
            if stage != state["stage"] and stage not in state:
                import threading

                state[stage] = state["stage"] = stage
                count = f" ({total})" if total > 1 else ""
                line = f"synapse: building the index: {stage}{count}"
                timer = threading.Timer(STAGE_LINE_AFTER, announce, [stage, line])
                timer.daemon = True
                timer.start()
            return
        if "bar" not in state:
            from synapse_ai.kb.terminal import index_progress_bar

            state["bar"] = index_progress_bar()
            state["bar"].start()
            state["tasks"] = {}
        bar = state["bar"]
        if stage not in state["tasks"]:
            state["tasks"][stage] = bar.add_task(stage, total=total)
        bar.update(state["tasks"][stage], completed=done, total=total)

    def stop() -> None:
        state["stage"] = None
        if "bar" in state:
            state["bar"].stop()

    report.stop = stop
    return report


def open_kb(db: Path | None, entries_dirs=None, remember_dirs: bool = False, config=None):
    """The knowledge base for a command, indexed if needed; raises UserError when the database or model is unusable.
    ``config``: the settings (None: read from the environment here, once)."""
    from synapse_ai.kb.config import Config
    from synapse_ai.kb.embed import ModelUnavailable
    from synapse_ai.kb.service import KnowledgeBase
    from synapse_ai.kb.store import CorruptDatabase, DatabaseUnavailable

    progress = _progress()
    try:
        kb = KnowledgeBase.open(
            db, entries_dirs, progress=progress, remember_dirs=remember_dirs, config=config or Config.from_env()
        )
    except CorruptDatabase as exc:
        raise UserError(f"cannot use the database: {exc}") from None
    except DatabaseUnavailable as exc:  # locked, full disk, I/O, permissions: said as what it is
        raise UserError(str(exc)) from None
    except ModelUnavailable as exc:
        raise UserError(str(exc)) from None
    except OSError as exc:
        raise UserError(f"cannot open the database {db or ''}: {exc.strerror or exc}".replace("  ", " ")) from None
    finally:
        progress.stop()
    for notice in kb.notices:
        click.echo(f"synapse: {notice}", err=True)
    if kb.last_report is not None and kb.last_report.problems:
        click.echo(f"synapse: {kb.last_report.summary()}", err=True)
    return kb


def open_reader(db: Path | None):
    """What search, match and show read: the team server when ``$SYNAPSE_URL`` is set (falling back
    to the local index, with one line on stderr, when it cannot be reached), else the local index."""
    from synapse_ai.kb.config import Config
    from synapse_ai.kb.connect import connect, server_url

    config = Config.from_env()
    try:
        if server_url(config) is None:
            return open_kb(db, config=config)
        return connect(
            fallback=lambda: open_kb(db, config=config),
            notify=lambda line: click.echo(f"synapse: {line}", err=True),
            config=config,
        )
    except ValueError as exc:  # a malformed SYNAPSE_URL
        raise UserError(str(exc)) from None


@click.group(
    cls=LazyGroup,
    entry_point_group=COMMANDS_ENTRY_POINTS,
    composer=PROGRAM_MODULE,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.version_option(package_name="synapse-ai", prog_name="synapse")
def main():
    """SynapseAI: solutions for errors and slowdowns in AI agents.

    Search with a question or paste an error; every result says why it matched.
    """


def clean_argument(text: str | None, what: str) -> str | None:
    """An argument with its undecodable bytes replaced, said once on stderr."""
    if text is None:
        return None
    text, changed = clean_text(text)
    if changed:
        click.echo(f"synapse: the {what} is not valid UTF-8; undecodable bytes were replaced with U+FFFD", err=True)
    return text


def read_stdin_text(max_bytes: int | None = None) -> str:
    """Standard input as text, for every command that reads it.

    The bytes are read raw and decoded as UTF-8 with replacement, whatever PYTHONIOENCODING says, so
    a log cut in the middle of a character (``tail -c``) or written in Latin-1 still reads; when a
    byte had to be replaced, one line on stderr says so.  ``max_bytes`` keeps only the first that
    many bytes (a character cut there is replaced like any other).
    """
    stream = getattr(sys.stdin, "buffer", None)
    if stream is None:  # a text stream without bytes underneath (e.g. replaced in tests)
        return (
            clean_argument(sys.stdin.read() if max_bytes is None else sys.stdin.read(max_bytes), "input on stdin") or ""
        )
    return decode_input(stream.read() if max_bytes is None else stream.read(max_bytes), "input on stdin")


def decode_input(data: bytes, what: str) -> str:
    """UTF-8 with replacement; one line on stderr when a byte had to be replaced."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        click.echo(f"synapse: the {what} is not valid UTF-8; undecodable bytes were replaced with U+FFFD", err=True)
        return data.decode("utf-8", "replace")


def _limit_option(f):
    limits = click.IntRange(1, MAX_RESULTS)
    return click.option("--limit", "-n", default=5, show_default=True, type=limits, help="Number of results.")(f)


def _emit(response, as_json: bool) -> None:
    if as_json:
        click.echo(json_text(response.to_dict()))
    else:
        from synapse_ai.kb.terminal import print_search

        print_search(response)


@main.command()
@click.argument("query", required=False)
@_limit_option
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object: {query, matched, results}.")
@click.option(
    "--batch",
    type=click.File("rb"),
    help="Read one query per line from FILE ('-' for stdin); print one JSON object per line.",
)
@db_option
def search(query, limit, as_json, batch, db):
    """Search the knowledge base with a question, a symptom or an error message (QUERY '-' reads it from stdin)."""
    if batch is not None:
        if query:
            raise UserError("give either QUERY or --batch, not both")
        lines = decode_input(batch.read(), "--batch input").replace("\r\n", "\n").split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        kb = open_reader(db)
        for line in lines:
            if not line.strip():
                click.echo(json_text({"query": line, "matched": False, "results": [], "error": "empty query"}))
                continue
            click.echo(json_text(kb.search(line, limit).to_dict()))
        return
    query = read_stdin_text() if query == "-" else clean_argument(query, "query")
    if query is None or not query.strip():
        raise UserError('empty query: give a question or an error message, e.g. synapse search "429 rate_limit_error"')
    _emit(open_reader(db).search(query, limit), as_json)


@main.command()
@_limit_option
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object: {query, matched, results}.")
@db_option
def match(limit, as_json, db):
    """Match an error message, traceback or log read from stdin."""
    if sys.stdin.isatty():
        click.echo("synapse: paste the error, then Ctrl-D", err=True)
    text = read_stdin_text()
    if not text.strip():
        raise UserError("nothing on stdin: pipe an error message or traceback into 'synapse match'")
    _emit(open_reader(db).match(text, limit), as_json)


@main.command()
@click.argument("slug")
@click.option("--section", help="Show only this section (e.g. 'Fix', 'Root Cause'); 'Fix' starts with the quick fix.")
@click.option("--json", "as_json", is_flag=True, help="Print the entry as structured JSON.")
@click.option("--raw", is_flag=True, help="Print the entry's markdown source.")
@db_option
def show(slug, section, as_json, raw, db):
    """Show one entry: the quick fix and when it was verified first, then the sections.

    On a terminal the entry is formatted; in a pipe or a file it is plain markdown.
    """
    slug = clean_argument(slug, "slug")
    section = clean_argument(section, "section name")
    kb = open_reader(db)
    entry = kb.require(slug)  # EntryNotFound: "no entry 'x'; did you mean: ..." on stderr, exit 1
    if section is not None and entry.section(section) is None:
        names = ", ".join(s.name for s in entry.sections)
        raise UserError(f"entry '{slug}' has no section '{section}' (sections: {names})")
    if as_json:
        from synapse_ai.kb.views import entry_to_dict

        data = entry_to_dict(entry)
        if section:
            data["sections"] = [s for s in data["sections"] if s["name"].lower() == section.lower()]
        click.echo(json_text(data, indent=2))
    elif raw:
        click.echo(
            kb.markdown(slug) if not section else f"## {entry.section(section).name}\n\n{entry.section(section).body}"
        )
    elif not sys.stdout.isatty():  # a pipe or a file: plain markdown, without rich's colours and padding
        from synapse_ai.kb.views import entry_markdown

        click.echo(entry_markdown(entry, section), nl=False)
    else:
        from synapse_ai.kb.terminal import print_entry

        print_entry(entry, section)


@main.command()
@click.option(
    "--entries",
    "entries",
    multiple=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Entry folder to index (repeatable). Default: the shipped entries plus your local entries folder.",
)
@click.option(
    "--full",
    is_flag=True,
    help="Re-read every file, even unchanged ones (embeddings are still reused by content hash).",
)
@db_option
def index(entries, full, db):
    """Build or update the search index (incremental)."""
    for d in entries:
        if not d.is_dir():
            raise UserError(f"entries folder not found: {d}")
    import sqlite3

    from synapse_ai.kb.embed import ModelUnavailable
    from synapse_ai.kb.service import KnowledgeBase
    from synapse_ai.kb.store import CorruptDatabase, DatabaseUnavailable

    progress = _progress()
    kb = None
    try:
        # Absolute paths: the folders are remembered, and later runs may start elsewhere.
        kb = KnowledgeBase.open(db, [d.resolve() for d in entries] or None, refresh=False, remember_dirs=True)
        if full:
            kb.store.forget_file_stats()
        report = kb.index(progress)
    except (CorruptDatabase, ModelUnavailable) as exc:
        raise UserError(str(exc)) from None
    except DatabaseUnavailable as exc:
        raise UserError(f"cannot index: {exc}") from None
    except OSError as exc:
        raise UserError(f"cannot index into {db or 'the database'}: {exc.strerror or exc}") from None
    except sqlite3.Error as exc:
        raise UserError(f"cannot index into {db or 'the database'}: {exc}") from None
    finally:
        progress.stop()
        for notice in kb.notices if kb is not None else []:
            click.echo(f"synapse: {notice}", err=True)
    for problem in report.problems:
        click.echo(f"{problem}", err=True)
    click.echo(report.summary())


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print the report as one JSON object.")
@click.option("--check-only", is_flag=True, help="Only report problems; repair nothing.")
@db_option
def doctor(as_json, check_only, db):
    """Check the database and repair what it can: stripped entries, the full-text index, missing vectors.

    Exit 1 if problems remain.
    """
    import sqlite3

    from synapse_ai.kb.doctor import run_doctor
    from synapse_ai.kb.embed import ModelUnavailable
    from synapse_ai.kb.store import CorruptDatabase

    try:
        report = run_doctor(db, repair=not check_only)
    except (CorruptDatabase, ModelUnavailable) as exc:
        raise UserError(str(exc)) from None
    except OSError as exc:
        raise UserError(f"cannot check {db or 'the database'}: {exc.strerror or exc}") from None
    except sqlite3.Error as exc:
        raise UserError(f"cannot check {db or 'the database'}: {exc}") from None
    if as_json:
        click.echo(json.dumps(report.to_dict(), ensure_ascii=False))
    else:
        for line in report.lines():
            click.echo(line)
    if not report.healthy:
        sys.exit(1)


@main.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Overwrite existing files whose content differs.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as one JSON object.")
@db_option
def export(directory, force, as_json, db):
    """Write every entry in the database (shipped and approved) as markdown files into DIRECTORY.

    Approved entries whose files were lost can be written back this way.  Existing files with
    different content are kept unless --force is given.
    """
    import sqlite3

    from synapse_ai.kb.export import export_entries
    from synapse_ai.kb.service import KnowledgeBase
    from synapse_ai.kb.store import CorruptDatabase

    try:
        # No refresh: indexing would first drop the entries whose files are gone.
        kb = KnowledgeBase.open(db, refresh=False)
        try:
            report = export_entries(kb.store, directory, force)
        finally:
            kb.close()
    except CorruptDatabase as exc:
        raise UserError(str(exc)) from None
    except OSError as exc:
        raise UserError(f"cannot export to {directory}: {exc.strerror or exc}") from None
    except sqlite3.Error as exc:
        raise UserError(f"cannot read {db or 'the database'}: {exc}") from None
    for notice in kb.notices:
        click.echo(f"synapse: {notice}", err=True)
    if as_json:
        click.echo(json.dumps(report.to_dict(), ensure_ascii=False))
    else:
        for item in report.failed:
            click.echo(f"synapse: could not write {item['slug']}: {item['problem']}", err=True)
        click.echo(report.summary())
    if report.failed:
        sys.exit(1)


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--stale-days",
    type=click.IntRange(min=0),
    default=None,
    metavar="N",
    help="Also report entries whose 'verified' date is more than N days old (or missing).",
)
def lint(paths, stale_days):
    """Check entry files: front matter, sections, patterns, code blocks, model ids. Exit 1 on any problem."""
    from synapse_ai.kb.lint import lint_paths
    from synapse_ai.kb.service import default_entry_dirs

    targets = list(paths) or [d for d in default_entry_dirs() if d.is_dir()]
    count, problems = lint_paths(targets, stale_days)
    for problem in problems:
        click.echo(str(problem))
    if problems:
        files = len({p.path for p in problems})
        click.echo(
            f"{len(problems)} problem{'s' if len(problems) != 1 else ''} in {files} file{'s' if files != 1 else ''} "
            f"({count} checked)",
            err=True,
        )
        sys.exit(1)
    click.echo(f"{count} entr{'ies' if count != 1 else 'y'} OK")


if __name__ == "__main__":  # pragma: no cover
    main()
