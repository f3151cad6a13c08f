"""Storage errors every backend raises alike, so callers (the CLI, the site, the hook) report them the
same way whichever database they use: ``CorruptDatabase`` (a SQLite file is damaged; a server database
never is, from here) and ``DatabaseUnavailable`` (intact but unusable now: locked, full, unreachable).
"""

from __future__ import annotations

import errno

from synapse_ai.kb.errors import CorruptStore, StoreUnavailable

_ERRNO_BY_KIND = {
    "full": errno.ENOSPC,
    "io": errno.EIO,
    "read-only": errno.EROFS,
    "permission": errno.EACCES,
    "locked": errno.EBUSY,
    "unreachable": errno.ECONNREFUSED,
}
_ADVICE = {
    "locked": "another process is writing to it; try again in a moment",
    "full": "the disk is full; free some space and try again",
    "io": "the disk reported an I/O error",
    "read-only": "the file or its folder is read-only",
    "permission": "permission denied",
    "cannot-open": "the file or its folder cannot be opened",
    "unreachable": "the database server cannot be reached; check SYNAPSE_DATABASE_URL and that the server is up",
}


CorruptDatabase = CorruptStore  # the file is damaged (SQLITE_CORRUPT / SQLITE_NOTADB, or a failed integrity check)


class DatabaseUnavailable(StoreUnavailable, OSError):
    """The database is intact but cannot be used right now (locked, disk full, I/O, permissions).

    A ``StoreUnavailable`` for the error family, and an ``OSError`` (with errno ENOSPC, EIO, EROFS,
    EACCES or EBUSY where one fits) so callers that report file problems report this one too; nothing
    about the file was changed.
    """

    def __init__(self, path, kind: str, detail: str, *, kept: str = "the file was left as it is"):
        self.kind = kind
        self.path = path
        where = f"the database {path}" if path else "the database"
        advice = _ADVICE.get(kind)
        message = f"{where}: {detail}" + (f" ({advice})" if advice else "") + f"; {kept}"
        super().__init__(_ERRNO_BY_KIND.get(kind, 0), message)

    def __str__(self) -> str:
        return self.strerror


def server_unavailable(detail: str, kind: str = "unreachable") -> DatabaseUnavailable:
    """``DatabaseUnavailable`` for a database server (lost, refused, or busy too long): no file involved."""
    return DatabaseUnavailable(None, kind, detail, kept="nothing was changed")
