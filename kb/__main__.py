from synapse_ai.kb.launch import main

main()
