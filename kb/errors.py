"""The errors SynapseAI raises on purpose, one family for every surface.

Why one module: the CLI, the web site, the MCP server and the hook each turn a failure into their own
form (one ``synapse: ...`` line, an HTTP status with a JSON body, a tool error the model reads, silence).
They can only do that from the *type* of the error, so the types live here, beside nothing else:
importing this module costs nothing (standard library only, no click), so the hook's fast path and a
library user pay nothing for it.

``SynapseError`` is the root.  Subclasses that used to be a built-in error keep that error as a second
base (``DuplicateEntry`` is still a ``ValueError``, ``ModelUnavailable`` a ``RuntimeError``), so code that
caught the built-in keeps working.  The web site maps each type to an HTTP status in its own errors module.
"""

from __future__ import annotations

from collections.abc import Sequence


class SynapseError(Exception):
    """Root of the family: an expected failure with a message fit to show a person as it is."""


class UserError(SynapseError):
    """A mistake in how a command or tool was used (a missing argument, an unusable file): the CLI
    prints it as one ``synapse: ...`` line and exits 1, with no traceback."""


class EntryNotFound(SynapseError, LookupError):
    """No entry has this slug.  ``did_you_mean`` holds the closest slugs (maybe none), so every surface
    offers the same suggestions in its own words (``describe``)."""

    def __init__(self, slug: str, did_you_mean: Sequence[str] = ()):
        self.slug = slug
        self.did_you_mean = list(did_you_mean)
        super().__init__(self.describe())

    def describe(self, label: str = "did you mean", otherwise: str = "") -> str:
        """``no entry 'SLUG'; LABEL: a, b`` (or ``; OTHERWISE`` when there is no close slug)."""
        if self.did_you_mean:
            hint = f"; {label}: {', '.join(self.did_you_mean)}"
        else:
            hint = f"; {otherwise}" if otherwise else ""
        return f"no entry '{self.slug}'{hint}"


class DuplicateEntry(SynapseError, ValueError):
    """An entry with this slug already exists; nothing was written."""

    def __init__(self, slug: str):
        self.slug = slug
        super().__init__(f"an entry with slug '{slug}' already exists")


class CorruptStore(SynapseError):
    """The index is damaged (SQLITE_CORRUPT / SQLITE_NOTADB, or a failed integrity check); a file store
    can be moved aside and rebuilt from the entry files."""


class StoreUnavailable(SynapseError):
    """The index is intact but cannot be used right now (locked, disk full, server unreachable)."""


class ModelUnavailable(SynapseError, RuntimeError):
    """The configured embedding model cannot be loaded (nothing is ever downloaded)."""
