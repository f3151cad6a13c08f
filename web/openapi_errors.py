"""The OpenAPI document (/openapi.json, and the /docs page rendered from it) with the error bodies the
API really sends.

FastAPI documents every 422 with its own ``HTTPValidationError`` schema, but ``synapse_ai.web.errors``
answers every error under /api with one shape, ``{"error": str, "detail": ...}``.  This rewrites each
error response to that ``Error`` schema, adds the errors any JSON body can produce (400 for bytes that
are not UTF-8 JSON, 413 for a body over the size limit, 422 for text that is not valid Unicode) and
drops FastAPI's unused schemas.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

ERROR_SCHEMA = {
    "title": "Error",
    "type": "object",
    "required": ["error", "detail"],
    "properties": {
        "error": {"type": "string", "description": "A human-readable message."},
        "detail": {
            "description": (
                "null, or structured detail: for a request that does not match the schema (422) a list of "
                "`{loc, msg, type}`; for a submission that fails validation (422) or has a field too large (413) "
                "`{fields: {name: message}}`; for text that is not valid Unicode (422) `{fields: {path: message}}`; "
                "for an unknown search filter or an offset past the best results (422) `{field: name}`; "
                "for 429 `{retry_after: seconds}`; for an unknown entry (404) `{did_you_mean: [slugs]}`; "
                "for a star sent without the client cookie (428) `{retry_with_cookie: name}`."
            ),
            "anyOf": [{"type": "null"}, {"type": "object"}, {"type": "array", "items": {}}],
        },
    },
    "example": {"error": "validation failed", "detail": {"fields": {"title": "Give the entry a title."}}},
}

BODY_ERRORS = {
    "400": "The body is not UTF-8 JSON.",
    "413": "The body is larger than the site accepts (`SYNAPSE_MAX_BODY`, 256 KiB by default).",
    "422": (
        "A field does not have the type the schema says (detail: a list of `{loc, msg, type}`), or holds text "
        "that is not valid Unicode such as a lone surrogate (detail: `{fields}`)."
    ),
}
PARAMETER_ERROR = "A parameter is out of range or of the wrong type (detail: a list of `{loc, msg, type}`)."


def _error_content() -> dict:
    return {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}


def real_error_shapes(spec: dict) -> dict:
    """``spec`` with every error response documented as the ``Error`` body (changed in place)."""
    for methods in spec.get("paths", {}).values():
        for op in methods.values():
            responses = op.setdefault("responses", {})
            has_body = "requestBody" in op
            if has_body:
                for code, description in BODY_ERRORS.items():
                    existing = responses.get(code)
                    if existing is None or existing.get("description") == "Validation Error":
                        responses[code] = {"description": description}
                    elif code == "422":  # the route's own 422 (e.g. detail.fields), plus the generic ones
                        existing["description"] += " Also: " + description
            elif responses.get("422", {}).get("description") == "Validation Error":
                responses["422"] = {"description": PARAMETER_ERROR}
            for code, response in responses.items():
                if code[:1] in "45":
                    response["content"] = _error_content()
    schemas = spec.setdefault("components", {}).setdefault("schemas", {})
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    schemas["Error"] = ERROR_SCHEMA
    return spec


def install(app: FastAPI) -> None:
    """Serve the corrected document at /openapi.json (built once, on first use, like FastAPI's)."""

    def openapi() -> dict:
        if app.openapi_schema is None:
            spec = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
            app.openapi_schema = real_error_shapes(spec)
        return app.openapi_schema

    app.openapi = openapi
