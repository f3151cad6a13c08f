from synapse_ai.kb.cli import main

main()
