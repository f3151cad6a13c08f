"""The ``synapse`` program: the knowledge base's commands plus those of the web site and the skill.

Why the composition lives here and not in ``synapse_ai.kb.cli``: ``kb`` is the core the other two
packages build on and must not name them.  This module is above all three, so it may.  It calls each
package's ``register_commands`` directly instead of reading the ``synapse_ai.commands`` entry points:
that works from a source checkout that was never installed, and it keeps ``importlib.metadata``
(tens of milliseconds) off every start-up, ``synapse --help`` included.  The same functions are
declared as entry points so that ``synapse_ai.kb.cli.main`` alone (``python -m synapse_ai.kb``) finds
them in an installed package.  See docs/architecture.md.
"""

from __future__ import annotations

from synapse_ai.kb.cli import LazyGroup
from synapse_ai.kb.cli import main as _kb_group
from synapse_ai.skill.commands import register_commands as _register_skill_commands
from synapse_ai.web.commands import register_commands as _register_web_commands

__all__ = ["compose", "main"]


def compose(group: LazyGroup) -> LazyGroup:
    """``group`` with the web site's and the skill's commands registered (lazily; nothing heavy is
    imported), and its entry points marked as read: every command of this distribution is known."""
    _register_web_commands(group)
    _register_skill_commands(group)
    group.registrations_complete = True
    return group


main = compose(_kb_group)

if __name__ == "__main__":  # pragma: no cover
    main()
