"""The SynapseAI web site (FastAPI + Jinja2): search, entries, submissions, moderation, JSON API.

``synapse_ai.web.app.create_app`` builds the application; ``synapse serve`` (``synapse_ai.web.cli``) runs it
with uvicorn.
See docs/web.md.
"""
