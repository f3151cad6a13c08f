"""Access-log lines without query strings.

uvicorn logs every request as ``"GET /api/search?q=... HTTP/1.1" 200``: the query string holds what
was searched, and a pasted error can hold a secret (a key the client failed to scrub, a URL with a
password).  Decided: the path is logged, the query string never is, for every route and whether or
not the request carried an API key; our own clients send query text in POST bodies, which are never
logged.  A log line still says which route was called, by which address, with which status.
"""

from __future__ import annotations

import logging

ACCESS_LOGGER = "uvicorn.access"


class DropQueryString(logging.Filter):
    """Rewrites uvicorn's access record ``(client, method, path_with_query, http_version, status)``."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Strip the query string from the record's path argument and keep the record; raises nothing."""
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str) and "?" in args[2]:
            record.args = (*args[:2], args[2].split("?", 1)[0], *args[3:])
        return True


def install() -> None:
    """Add the filter to uvicorn's access logger (once, however many apps a process builds)."""
    logger = logging.getLogger(ACCESS_LOGGER)
    if not any(isinstance(f, DropQueryString) for f in logger.filters):
        logger.addFilter(DropQueryString())
