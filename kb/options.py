"""What every ``synapse`` command shares, wherever it is defined (``kb``, ``web`` or ``skill``).

Why a module apart from ``synapse_ai.kb.cli``: commands in ``web`` and ``skill`` need the ``--db`` option,
the way a ``SynapseError`` is shown and the way the knowledge base is opened for a command, but not the
``synapse`` group itself; importing the group module for these would tie them to it.  Only click is
imported here; the knowledge base loads when a command opens it.
"""

from __future__ import annotations

from pathlib import Path

import click

from synapse_ai.kb.config import DB_ENV
from synapse_ai.kb.errors import CorruptStore, ModelUnavailable, SynapseError, UserError

__all__ = ["CommandFailed", "UserError", "db_option", "open_kb", "progress_bar"]


class CommandFailed(click.ClickException):
    """A ``SynapseError`` at the command line: one ``synapse: ...`` line on stderr, exit 1, no traceback."""

    def __init__(self, error: SynapseError | str):
        super().__init__(str(error))

    def show(self, file=None):
        click.echo(f"synapse: {self.message}", err=True)


def db_option(f=None, *, note: str = ""):
    """The ``--db FILE`` option (also ``$SYNAPSE_DB``), given to the command as ``db``.

    Use as ``@db_option``, or ``@db_option(note="...")`` to add a sentence to its help."""
    help_text = "SQLite database file (default: $SYNAPSE_DB or the per-user data directory)." + (f" {note}" if note else "")
    option = click.option("--db", type=click.Path(dir_okay=False, path_type=Path), envvar=DB_ENV, help=help_text)
    return option(f) if f is not None else option


def progress_bar():
    """A rich progress bar on stderr, created on first use (importing rich costs ~50 ms).

    Returns ``report(stage, done, total)``; call ``report.stop()`` when the work is over."""
    state: dict = {}

    def report(stage: str, done: int, total: int) -> None:
        if total < 2:
            return
        if "bar" not in state:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            state["bar"] = Progress(
                TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                console=Console(stderr=True), transient=True,
            )
            state["bar"].start()
            state["tasks"] = {}
        bar = state["bar"]
        if stage not in state["tasks"]:
            state["tasks"][stage] = bar.add_task(stage, total=total)
        bar.update(state["tasks"][stage], completed=done, total=total)

    def stop() -> None:
        if "bar" in state:
            state["bar"].stop()

    report.stop = stop
    return report


def open_kb(db: Path | None, entries_dirs=None, remember_dirs: bool = False):
    """Open the knowledge base for a command, indexing first if needed; notices go to stderr.

    Raises ``UserError`` (one line, the cause said as what it is) when the database or the model
    cannot be used."""
    from synapse_ai.kb.service import KnowledgeBase
    from synapse_ai.kb.store import DatabaseUnavailable

    progress = progress_bar()
    try:
        kb = KnowledgeBase.open(db, entries_dirs, progress=progress, remember_dirs=remember_dirs)
    except CorruptStore as exc:
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
