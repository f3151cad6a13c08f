"""What both site stores hand back, and the small rules they share (timestamps, hashed client ids)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime


def now() -> str:
    """The current UTC time as ISO 8601 text to the second, as the site's rows store it; raises nothing."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def client_key(client_id: str) -> str:
    """Stars are stored under a hash of the client cookie, never the cookie itself."""
    return hashlib.sha256(client_id.encode()).hexdigest()[:32]


@dataclass
class Submission:
    ref: str
    status: str
    created_at: str
    updated_at: str
    title: str
    data: dict
    markdown: str
    flags: list[dict] = field(default_factory=list)
    contact: str = ""
    reason: str = ""
    slug: str = ""

    @classmethod
    def from_row(cls, row: Mapping) -> Submission:
        """From a ``submissions`` row (sqlite3.Row or a dict)."""
        return cls(
            ref=row["ref"],
            status=row["status"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
            title=row["title"],
            data=json.loads(row["data"] or "{}"),
            markdown=row["markdown"] or "",
            flags=json.loads(row["flags"] or "[]"),
            contact=row["contact"] or "",
            reason=row["reason"] or "",
            slug=row["slug"] or "",
        )


@dataclass
class Revision:
    """A suggested edit to an entry (table ``revisions``, site migration m003)."""

    ref: str
    slug: str
    status: str  # pending | approved | rejected
    created_at: str
    updated_at: str
    author: str
    note: str
    base: str
    markdown: str
    flags: list[dict]
    reason: str

    @classmethod
    def from_row(cls, row: Mapping) -> Revision:
        """From a ``revisions`` row (sqlite3.Row or a dict)."""
        values = {key: row[key] or "" for key in cls.__dataclass_fields__}
        return cls(**{**values, "flags": json.loads(values["flags"] or "[]")})
