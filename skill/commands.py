"""The commands the skill package adds to ``synapse``: ``diagnose``, ``skill``, ``hook`` and ``mcp``.

Registered as lazy commands (a target and a short help), so ``synapse --help`` lists them without
importing the MCP SDK or the transcript reader; each module loads only when its command runs.
Called by the ``synapse`` program (``synapse_ai.cli``) and, through the ``synapse_ai.commands``
entry point, by ``synapse_ai.kb.cli``'s group on its own.
"""

from __future__ import annotations

COMMANDS = (
    (
        "diagnose",
        "synapse_ai.skill.diagnose:diagnose_command",
        "Find tool calls that could have run in parallel in an agent transcript.",
    ),
    ("skill", "synapse_ai.skill.install:skill_group", "Install the SynapseAI Agent Skill into an agent."),
    (
        "hook",
        "synapse_ai.skill.hook:hook_command",
        "Claude Code hook: a matching fix after a failed tool call, a note on one-per-turn tool calls.",
    ),
    ("mcp", "synapse_ai.skill.mcp_server:mcp_command", "Serve the knowledge base as MCP tools over stdio."),
)


def register_commands(cli) -> None:
    """Add the skill's commands to ``cli`` (a ``synapse_ai.kb.cli.LazyGroup``)."""
    for name, target, short_help in COMMANDS:
        cli.add_lazy_command(name, target, short_help)
