"""The command the web package adds to ``synapse``: ``serve``.

Registered as a lazy command (a target and a short help), so ``synapse --help`` lists it without
importing FastAPI or uvicorn; ``synapse_ai.web.cli`` loads only when ``serve`` runs.  Called by the
``synapse`` program (``synapse_ai.cli``) and, through the ``synapse_ai.commands`` entry point, by
``synapse_ai.kb.cli``'s group on its own.
"""

from __future__ import annotations


def register_commands(cli) -> None:
    """Add ``serve`` to ``cli`` (a ``synapse_ai.kb.cli.LazyGroup``)."""
    cli.add_lazy_command("serve", "synapse_ai.web.cli:serve_command", "Run the web site (FastAPI).")
