"""SynapseAI's one import name: ``synapse_ai.kb``, ``synapse_ai.web`` and ``synapse_ai.skill``.

The repository keeps its three folders ``kb/``, ``web/`` and ``skill/`` at the top, where people
look for them. The wheel puts them inside this package, so an install adds one import name to
site-packages and never a generic ``kb``, ``web`` (web.py's) or ``skill``. In a source checkout
the folders sit beside this one, so the package's search path points at the checkout as well.
"""

from pathlib import Path as _Path

_checkout = _Path(__file__).resolve().parent.parent
if not (_Path(__file__).resolve().parent / "kb").is_dir() and (_checkout / "kb" / "__init__.py").is_file():
    __path__.append(str(_checkout))  # noqa: F821 (the package's own __path__)
