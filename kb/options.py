"""What every ``synapse`` command shares, wherever it is defined (``kb`` or another package).

Why a module apart from ``synapse_ai.kb.cli``: commands defined elsewhere need the ``--db`` option and
the way a ``SynapseError`` is shown, but not the ``synapse`` group itself; importing the group module
for these would tie them to it.  Only click is imported here (the future ``--server`` option belongs
here too).  ``UserError`` is re-exported for commands that raise it.
"""

from __future__ import annotations

from pathlib import Path

import click

from synapse_ai.kb.errors import SynapseError, UserError

# The variable Config reads for the database (synapse_ai.kb.config.DB_ENV), spelled out so that the
# hook's every-call path does not import the config module just to declare an option.
DB_ENV = "SYNAPSE_DB"

__all__ = ["CommandFailed", "UserError", "db_option"]


class CommandFailed(click.ClickException):
    """A ``SynapseError`` at the command line: one ``synapse: ...`` line on stderr, exit 1, no traceback."""

    def __init__(self, error: SynapseError | str):
        super().__init__(str(error))

    def show(self, file=None):
        """Print ``synapse: message`` on stderr (click's own form says ``Error:``)."""
        click.echo(f"synapse: {self.message}", err=True)


def db_option(f=None, *, note: str = ""):
    """The ``--db FILE`` option (also ``$SYNAPSE_DB``), given to the command as ``db``.

    Use as ``@db_option``, or ``@db_option(note="...")`` to add a sentence to its help."""
    help_text = "SQLite database file (default: $SYNAPSE_DB or the per-user data directory)."
    help_text += f" {note}" if note else ""
    option = click.option("--db", type=click.Path(dir_okay=False, path_type=Path), envvar=DB_ENV, help=help_text)
    return option(f) if f is not None else option
