from synapse_ai.kb.launch import KB_COMMANDS, run

run(KB_COMMANDS)
