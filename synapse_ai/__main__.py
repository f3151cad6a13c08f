"""``python -m synapse_ai``: the ``synapse`` program, also from a source checkout that is not installed."""

from synapse_ai.cli import main

main()
