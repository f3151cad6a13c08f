"""``synapse confirm/flag/propose``: tell the knowledge base what worked, what did not, and what is new.

Each command calls a ``synapse_ai.web.feedback.FeedbackTarget``: this machine's database, or a
server when ``SYNAPSE_URL`` is set (with the key in ``SYNAPSE_API_KEY``).  The output is the same
JSON either way with ``--json``.
"""

from __future__ import annotations

from pathlib import Path

import click

from synapse_ai.kb.cli import clean_argument, decode_input, json_text
from synapse_ai.kb.errors import UserError
from synapse_ai.kb.options import db_option
from synapse_ai.web.feedback import REASONS, FeedbackError, FeedbackTarget, open_feedback, proposal_from_markdown

_json_option = click.option("--json", "as_json", is_flag=True, help="Print the answer as one JSON object.")


def _target(db: Path | None) -> FeedbackTarget:
    """Where feedback goes.  The local store needs the index (to check slugs), so it opens like ``show``."""
    from synapse_ai.web.feedback import LocalFeedback, feedback_server

    if feedback_server():
        return open_feedback(db)
    from synapse_ai.kb.cli import open_kb

    return LocalFeedback.open(db, open_kb(db))


def _run(db: Path | None, call) -> dict:
    target = _target(db)
    try:
        return call(target)
    except FeedbackError as exc:
        raise UserError(exc.explain()) from None
    finally:
        target.close()


@click.command("confirm")
@click.argument("slug")
@_json_option
@db_option
def confirm_command(slug, as_json, db):
    """Say entry SLUG's fix worked.  Counted once per key (or local user); repeating changes nothing."""
    slug = clean_argument(slug, "slug").strip()
    answer = _run(db, lambda target: target.confirm(slug))
    click.echo(json_text(answer) if as_json else f"{answer['slug']}: fixed it for {answer['confirmations']}")


@click.command("flag")
@click.argument("slug")
@click.option("--reason", required=True, type=click.Choice(REASONS), help="What is wrong with the entry.")
@click.option("--note", default="", help="Details for the moderator: what failed, what changed, the duplicate's slug.")
@_json_option
@db_option
def flag_command(slug, reason, note, as_json, db):
    """Report entry SLUG as stale, incorrect, a duplicate or harmful; a moderator reviews it."""
    slug = clean_argument(slug, "slug").strip()
    note = clean_argument(note, "note") or ""
    answer = _run(db, lambda target: target.flag(slug, reason, note))
    said = f"{answer['slug']}: flagged {answer['reason']} ({answer['open_flags']} open)"
    click.echo(json_text(answer) if as_json else said)


@click.command("propose")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@_json_option
@db_option
def propose_command(file, as_json, db):
    """Propose FILE (an entry in the entry format, see entries/README.md) for moderation.

    The file is parsed and checked here first; nothing is searchable until a moderator approves it.
    """
    try:
        text = decode_input(file.read_bytes(), str(file))
    except OSError as exc:
        raise UserError(f"cannot read {file}: {exc.strerror or exc}") from None
    try:
        body, left_out = proposal_from_markdown(text)
    except FeedbackError as exc:
        raise UserError(f"{file}: {exc.explain()}") from None
    if left_out:
        click.echo(f"synapse: a proposal does not carry {', '.join(left_out)}; the moderator can add them", err=True)
    answer = _run(db, lambda target: target.propose(body))
    if as_json:
        click.echo(json_text(answer))
    else:
        where = f": {answer['status_url']}" if answer.get("status_url") else ""
        click.echo(f"proposed '{body['title']}': {answer['status']} moderation (ref {answer['ref']}){where}")
