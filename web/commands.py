"""The commands the web package adds to ``synapse``: ``serve``, ``keys`` and the feedback commands.

Registered as a lazy command (a target and a short help), so ``synapse --help`` lists it without
importing FastAPI or uvicorn; ``synapse_ai.web.cli`` loads only when ``serve`` runs.  Called by the
``synapse`` program (``synapse_ai.cli``) and, through the ``synapse_ai.commands`` entry point, by
``synapse_ai.kb.cli``'s group on its own.
"""

from __future__ import annotations


def register_commands(cli) -> None:
    """Add ``serve``, ``keys``, ``confirm``, ``flag`` and ``propose`` to ``cli`` (a ``synapse_ai.kb.cli.LazyGroup``)."""
    cli.add_lazy_command("serve", "synapse_ai.web.cli:serve_command", "Run the web site (FastAPI).")
    cli.add_lazy_command(
        "keys", "synapse_ai.web.keys_cli:keys_group", "Create, list and revoke API keys for the server."
    )
    cli.add_lazy_command(
        "confirm", "synapse_ai.web.feedback_cli:confirm_command", "Say an entry's fix worked (local, or SYNAPSE_URL)."
    )
    cli.add_lazy_command(
        "flag", "synapse_ai.web.feedback_cli:flag_command", "Report an entry as stale, incorrect or harmful."
    )
    cli.add_lazy_command(
        "propose", "synapse_ai.web.feedback_cli:propose_command", "Propose a new entry (markdown) for moderation."
    )
