"""SynapseAI core: entries, the SQLite index, hybrid search and the ``synapse`` CLI.

Importing ``kb`` is cheap; ``KnowledgeBase`` is loaded on first use.
"""

__all__ = ["KnowledgeBase"]
__version__ = "0.1.0"


def __getattr__(name):
    if name == "KnowledgeBase":
        from synapse_ai.kb.service import KnowledgeBase

        return KnowledgeBase
    raise AttributeError(name)
