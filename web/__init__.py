"""The SynapseAI web site (FastAPI + Jinja2): search, entries, submissions, moderation, JSON API.

``web.app.create_app`` builds the application; ``synapse serve`` (``web.cli``) runs it with uvicorn.
See docs/web.md.
"""
