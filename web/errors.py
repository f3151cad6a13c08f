"""Error responses: JSON ``{"error", "detail"}`` under ``/api``, a friendly page everywhere else.

One place decides the shape, so a 404 from an unknown URL, a refused CSRF token, an oversized body
(``synapse_ai.web.security.BodyLimitMiddleware`` raises a 413 ``HTTPException``) and a validation error all look
the same to a client of the same kind.

Domain errors (``synapse_ai.kb.errors``) reach a client through one table, ``STATUS_BY_ERROR``: a route
lets ``EntryNotFound`` escape and the client gets a 404 with the close slugs, the same suggestions
``synapse show`` and the MCP tool offer.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from synapse_ai.kb.errors import (
    CorruptStore,
    DuplicateEntry,
    EntryNotFound,
    ModelUnavailable,
    StoreUnavailable,
    SynapseError,
    UserError,
)
from synapse_ai.kb.parse import EntryError
from synapse_ai.web.templating import render

log = logging.getLogger("synapse.web")

TITLES = {
    400: "Bad request",
    401: "Sign-in needed",
    403: "Not allowed",
    404: "Page not found",
    405: "Method not allowed",
    413: "Too large",
    415: "Unsupported content type",
    422: "Invalid request",
    429: "Slow down",
    500: "Something broke",
    503: "Unavailable",
}

# The HTTP status of each domain error; a subclass takes its nearest listed base's status.
STATUS_BY_ERROR: dict[type[SynapseError], int] = {
    EntryNotFound: 404,
    DuplicateEntry: 409,
    EntryError: 422,
    UserError: 400,
    CorruptStore: 503,
    ModelUnavailable: 503,
    StoreUnavailable: 503,
    SynapseError: 500,
}


class SiteError(StarletteHTTPException):
    """An HTTP error with a human message and optional structured detail (for the JSON body)."""

    def __init__(self, status_code: int, message: str, detail=None, headers: dict | None = None):
        super().__init__(status_code=status_code, detail=message, headers=headers)
        self.message = message
        self.extra = detail


def status_for(exc: SynapseError) -> int:
    """The HTTP status for a domain error: its own class's entry in ``STATUS_BY_ERROR``, else its nearest base's."""
    for cls in type(exc).__mro__:
        if cls in STATUS_BY_ERROR:
            return STATUS_BY_ERROR[cls]
    return 500


def is_api(request: Request) -> bool:
    """True for ``/api`` and below: those answers are JSON, everything else is a page."""
    path = request.url.path
    return path == "/api" or path.startswith("/api/")


def _json(status: int, error: str, detail=None, headers=None) -> JSONResponse:
    return JSONResponse({"error": error, "detail": detail}, status_code=status, headers=headers)


def _page(request: Request, status: int, message: str, detail=None, headers=None):
    context = {"status": status, "title": TITLES.get(status, "Error"), "message": message, "detail": detail}
    return render(request, "error.html", context, status_code=status, headers=headers)


async def http_error(request: Request, exc: StarletteHTTPException):
    """An HTTP error as JSON under ``/api``, else as the error page."""
    if isinstance(exc, SiteError):
        message, detail = exc.message, exc.extra
    else:
        message = exc.detail if isinstance(exc.detail, str) else TITLES.get(exc.status_code, "error")
        detail = None if isinstance(exc.detail, str) else exc.detail
        if exc.status_code == 404 and message == "Not Found":
            message = "There is nothing at this address."
        elif exc.status_code == 413:
            message = "The request is larger than this site accepts."
    if is_api(request):
        return _json(exc.status_code, message, detail, exc.headers)
    return _page(
        request, exc.status_code, message, detail if isinstance(detail, (str, list, dict)) else None, exc.headers
    )


async def synapse_error(request: Request, exc: SynapseError):
    """A domain error as ``status_for`` says; an entry not found names its close slugs in ``detail``."""
    status = status_for(exc)
    if isinstance(exc, EntryNotFound):
        message, detail = f"There is no entry “{exc.slug}”.", {"did_you_mean": exc.did_you_mean}
    elif status >= 500:
        log.error("%s on %s %s: %s", type(exc).__name__, request.method, request.url.path, exc)
        message, detail = str(exc) if status == 503 else "An unexpected error happened on our side.", None
    else:
        message, detail = str(exc), None
    if is_api(request):
        return _json(status, message, detail)
    return _page(request, status, message, detail)


async def validation_error(request: Request, exc: RequestValidationError):
    """Invalid request parameters: a 422 listing each problem (JSON or page)."""
    problems = [
        {"loc": [str(part) for part in e.get("loc", ())], "msg": e.get("msg", ""), "type": e.get("type", "")}
        for e in exc.errors()
    ]
    if is_api(request):
        return _json(422, "invalid request", problems)
    lines = [f"{'.'.join(p['loc'][1:]) or p['loc'][0] if p['loc'] else 'request'}: {p['msg']}" for p in problems]
    return _page(request, 422, "Some of the request parameters are not valid.", lines)


async def server_error(request: Request, exc: Exception):
    """Anything unexpected: logged with its traceback, answered with a plain 500."""
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    if is_api(request):
        return _json(500, "internal error", None)
    return _page(request, 500, "An unexpected error happened on our side. It has been logged.")


def install(app: FastAPI) -> None:
    """Register this module's handlers on ``app``."""
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(SynapseError, synapse_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(Exception, server_error)
