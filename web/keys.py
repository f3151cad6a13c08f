"""API keys: what a key is, how it is made, stored and recognised.  Pure: no FastAPI, no database.

A key is ``syn_`` followed by 32 random bytes (URL-safe base64, 43 characters).  The ``syn_`` prefix
makes a leaked key easy to spot and to scrub from logs; the rest carries 256 bits of entropy.  The
key is shown once, when it is created; the site stores only its SHA-256.

Why SHA-256 and not bcrypt/argon2: slow salted hashes exist to protect *low-entropy* secrets
(passwords a person chose) from offline guessing.  A 256-bit random key cannot be guessed, whatever
the speed of the hash, so slowness buys nothing.  It would cost a lot: bcrypt at a safe cost
factor takes ~100 ms of CPU per check, on every request, which caps a 2-core server at about 20
authenticated requests per second; and a salted hash cannot be looked up, so each request would
have to find its key some other way.  An unsalted SHA-256 is looked up with one indexed equality
(``api_keys.key_hash``).  GitHub and PyPI tokens are handled the same way.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

KEY_PREFIX = "syn_"
SCOPES = ("read", "propose", "vote", "moderate")
# What a scope also allows: a moderator can read everything it moderates.
IMPLIED_SCOPES = {"moderate": ("read",)}
MAX_NAME_CHARS = 100


def new_key() -> str:
    """A fresh key (shown once to whoever creates it)."""
    return KEY_PREFIX + secrets.token_urlsafe(32)


def new_key_id() -> str:
    """The public id of a key (``synapse keys list``, ``revoke``): random, not derived from the key."""
    return secrets.token_hex(4)


def hash_key(key: str) -> str:
    """The SHA-256 hex digest under which a key is stored and looked up; raises nothing."""
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def key_prefix(key: str) -> str:
    """The first characters of a key, stored so a person can tell their keys apart."""
    return key[: len(KEY_PREFIX) + 4]


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer …`` header (scheme case-insensitive), else None."""
    scheme, _, token = (authorization or "").strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


def check_scopes(scopes) -> tuple[str, ...]:
    """The scopes, deduplicated in ``SCOPES`` order; ValueError names any unknown one."""
    chosen = set(scopes)
    unknown = sorted(chosen - set(SCOPES))
    if unknown:
        raise ValueError(f"unknown scope {', '.join(unknown)} (choose from {', '.join(SCOPES)})")
    if not chosen:
        raise ValueError(f"give at least one scope ({', '.join(SCOPES)})")
    return tuple(s for s in SCOPES if s in chosen)


def check_name(name: str) -> str:
    """The key's name, stripped; raises ValueError when it is empty, multi-line or over MAX_NAME_CHARS."""
    name = (name or "").strip()
    if not name:
        raise ValueError("give the key a name (who or what uses it), e.g. --name ci-agent")
    if len(name) > MAX_NAME_CHARS or "\n" in name:
        raise ValueError(f"the name is one line of at most {MAX_NAME_CHARS} characters")
    return name


@dataclass(frozen=True)
class ApiKey:
    """A stored key, without the key itself."""

    id: str
    name: str
    prefix: str
    scopes: tuple[str, ...]
    created_at: str
    revoked_at: str = ""

    @property
    def active(self) -> bool:
        """True while the key has not been revoked; raises nothing."""
        return not self.revoked_at

    @property
    def voter(self) -> str:
        """Whom confirmations and flags made with this key are counted for."""
        return f"key:{self.id}"

    def allows(self, scope: str) -> bool:
        """True when the key has `scope` or a scope that implies it; raises nothing."""
        return scope in self.scopes or any(scope in IMPLIED_SCOPES.get(s, ()) for s in self.scopes)

    def to_dict(self) -> dict:
        """The key as a JSON-ready dict (revoked_at None while active); raises nothing."""
        return {
            "id": self.id,
            "name": self.name,
            "prefix": self.prefix,
            "scopes": list(self.scopes),
            "created_at": self.created_at,
            "revoked_at": self.revoked_at or None,
        }
