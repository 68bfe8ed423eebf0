"""API keys for agencies: ``twin_<prefix>_<secret>``, stored as a prefix and a hash.

The key text is shown once, when it is created. The database keeps the 8-character
public prefix (to find the row and to name the key in lists and logs) and the SHA-256 of
the whole key. A fast unsalted hash is enough here because the secret part is 256 random
bits from :func:`secrets.token_urlsafe`: there is no dictionary to try, and brute force
over 2**256 is out of reach with any hash. (A slow hash such as scrypt protects
low-entropy passwords; it would only add latency to every request.)

The administration functions (create, list, revoke) take a SQLAlchemy engine and serve
the CLI; :class:`KeyVerifier` serves the server on its async pool. The verifier caches
keys it has accepted for :data:`CACHE_TTL_S` seconds per worker, so **a revoked key keeps
working for at most that long** on a worker that accepted it just before.
"""

from __future__ import annotations

import getpass
import hashlib
import hmac
import logging
import re
import secrets
import string
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, text
from sqlalchemy.exc import IntegrityError

from twin.server.auth.principal import ROLES, Principal
from twin.server.errors import APIError

log = logging.getLogger("twin.server.auth")

CACHE_TTL_S = 30.0  # revocation takes effect within this many seconds
TOUCH_EVERY_S = 60.0  # last_used_at is written at most this often per key and worker
_CACHE_MAX = 10_000
PREFIX_ALPHABET = string.ascii_lowercase + string.digits
KEY_RE = re.compile(r"twin_([a-z0-9]{8})_([A-Za-z0-9_-]{32,128})")
UNKNOWN_KEY = "unknown or revoked API key"  # also for a wrong secret: existence stays hidden
_DUMMY_DIGEST = hashlib.sha256(b"twin: no such key").digest()


class Unauthorized(APIError):
    """Credentials were sent but are not valid (401)."""

    status = 401
    code = "Unauthorized"


class KeyAdminError(ValueError):
    """A key cannot be created or revoked as asked (unknown role, unknown prefix...)."""


@dataclass(frozen=True)
class ApiKey:
    """What the database knows about a key (never the key or its hash)."""

    prefix: str
    agency: str
    role: str
    created_at: datetime
    created_by: str | None = None
    expires_at: datetime | None = None
    revoked_at: datetime | None = None
    last_used_at: datetime | None = None

    def state(self, now: datetime | None = None) -> str:
        """``revoked``, ``expired`` or ``active``."""
        now = now or datetime.now(UTC)
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= now:
            return "expired"
        return "active"


def known_roles(registry=None) -> frozenset[str]:
    """twin's roles plus any role a layer file names (a new agency needs no code change)."""
    roles = set(ROLES)
    for layer in registry or ():
        roles |= set(layer.access.read) | set(layer.access.edit)
        for spec in layer.fields.values():
            roles |= set(getattr(spec, "visible_to", None) or ())
    return frozenset(roles)


def digest(key_text: str) -> bytes:
    return hashlib.sha256(key_text.encode()).digest()


def parse_prefix(value: str) -> str:
    """The prefix of a key, given the prefix itself, ``twin_<prefix>`` or the whole key."""
    value = value.strip()
    match = re.fullmatch(r"(?:twin_)?([a-z0-9]{8})(?:_.*)?", value)
    if not match:
        raise KeyAdminError(f"{value[:20]!r} is not an API key prefix (8 letters or digits)")
    return match[1]


# --- administration (CLI, SQLAlchemy engine) -----------------------------------------

_COLUMNS = "prefix, agency, role, created_at, created_by, expires_at, revoked_at, last_used_at"


def _record(row) -> ApiKey:
    return ApiKey(**row._mapping)


def create_key(engine: Engine, agency: str, role: str,
               expires: timedelta | datetime | None = None, *, created_by: str | None = None,
               roles: frozenset[str] | None = None) -> tuple[str, ApiKey]:
    """A new key for ``agency`` with ``role``; returns the key text (show it once) and
    its record. ``expires`` is a lifetime or a moment; ``roles`` the roles accepted
    (default: twin's built-in roles)."""
    agency = (agency or "").strip()
    if not agency or len(agency) > 100:
        raise KeyAdminError("the agency name must be 1 to 100 characters")
    allowed = roles or frozenset(ROLES)
    if role not in allowed:
        raise KeyAdminError(f"unknown role {role!r}; known roles: {', '.join(sorted(allowed))}")
    if isinstance(expires, timedelta):
        if expires <= timedelta(0):
            raise KeyAdminError("the lifetime of a key must be positive")
        expires = datetime.now(UTC) + expires
    if created_by is None:
        try:
            created_by = getpass.getuser()
        except (KeyError, OSError):  # no user name in this environment
            created_by = None
    for _attempt in range(5):  # 36**8 prefixes: a collision is rare, retrying is enough
        prefix = "".join(secrets.choice(PREFIX_ALPHABET) for _ in range(8))
        key_text = f"twin_{prefix}_{secrets.token_urlsafe(32)}"
        try:
            with engine.begin() as conn:
                row = conn.execute(text(
                    "INSERT INTO api_keys (prefix, key_hash, agency, role, created_by, expires_at) "
                    "VALUES (:prefix, :hash, :agency, :role, :by, :expires) "
                    f"RETURNING {_COLUMNS}"),
                    {"prefix": prefix, "hash": digest(key_text), "agency": agency, "role": role,
                     "by": created_by, "expires": expires}).one()
        except IntegrityError:
            continue
        return key_text, _record(row)
    raise KeyAdminError("could not find a free key prefix; try again")


def list_keys(engine: Engine) -> list[ApiKey]:
    with engine.connect() as conn:
        rows = conn.execute(text(f"SELECT {_COLUMNS} FROM api_keys ORDER BY created_at, prefix"))
        return [_record(row) for row in rows]


def revoke_key(engine: Engine, prefix: str) -> ApiKey:
    """Revoke a key (idempotent: a revoked key keeps its first revocation time)."""
    prefix = parse_prefix(prefix)
    with engine.begin() as conn:
        row = conn.execute(text(
            "UPDATE api_keys SET revoked_at = coalesce(revoked_at, now()) WHERE prefix = :p "
            f"RETURNING {_COLUMNS}"), {"p": prefix}).one_or_none()
    if row is None:
        raise KeyAdminError(f"no API key with prefix {prefix}")
    return _record(row)


# --- verification (server, async pool) ------------------------------------------------

_LOOKUP = """
SELECT key_hash, agency, role, revoked_at IS NOT NULL,
       coalesce(expires_at <= now(), false),
       extract(epoch FROM expires_at - now())::float8
FROM api_keys WHERE prefix = %s
"""
_TOUCH = """
UPDATE api_keys SET last_used_at = now()
WHERE prefix = %s AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')
RETURNING prefix
"""


@dataclass
class _Accepted:
    digest: bytes
    principal: Principal
    until: float  # monotonic


class KeyVerifier:
    """Checks ``twin_...`` keys against ``api_keys``; one per worker (built with the app)."""

    def __init__(self, db, *, ttl: float = CACHE_TTL_S, touch_every: float = TOUCH_EVERY_S):
        self.db = db
        self.ttl = ttl
        self.touch_every = touch_every
        self._accepted: dict[str, _Accepted] = {}
        self._touched: dict[str, float] = {}

    async def verify(self, key_text: str) -> Principal:
        """The principal of a valid key; :class:`Unauthorized` otherwise."""
        match = KEY_RE.fullmatch(key_text.strip())
        if not match:
            raise Unauthorized("malformed API key: expected twin_<prefix>_<secret>")
        prefix, key_digest, now = match[1], digest(key_text.strip()), time.monotonic()
        hit = self._accepted.get(prefix)
        if hit is not None and hit.until > now and hmac.compare_digest(hit.digest, key_digest):
            principal = hit.principal
        else:
            principal = await self._lookup(prefix, key_digest, now)
        await self._touch(prefix, now)
        return principal

    async def _lookup(self, prefix: str, key_digest: bytes, now: float) -> Principal:
        row = await self.db.fetchrow(_LOOKUP, (prefix,))
        stored = bytes(row[0]) if row else _DUMMY_DIGEST
        # Constant-time comparison, done even for an unknown prefix, and the same message
        # for an unknown prefix, a wrong secret and a revoked key.
        if not hmac.compare_digest(stored, key_digest) or row is None or row[3]:
            self._accepted.pop(prefix, None)
            raise Unauthorized(UNKNOWN_KEY)
        _hash, agency, role, _revoked, expired, remaining = row
        if expired:
            raise Unauthorized("expired API key")
        principal = Principal(subject=prefix, agency=agency, roles=frozenset({role}),
                              method="api_key")
        ttl = self.ttl if remaining is None else min(self.ttl, max(remaining, 0.0))
        if len(self._accepted) >= _CACHE_MAX:
            self._accepted = {p: a for p, a in self._accepted.items() if a.until > now}
        self._accepted[prefix] = _Accepted(key_digest, principal, now + ttl)
        return principal

    async def _touch(self, prefix: str, now: float) -> None:
        """Record use, at most once per ``touch_every`` per key and worker; a failure to
        record is logged, never turned into a failed request."""
        last = self._touched.get(prefix)
        if last is not None and now - last < self.touch_every:
            return
        if len(self._touched) >= _CACHE_MAX:
            self._touched.clear()
        self._touched[prefix] = now
        try:
            await self.db.fetchrow(_TOUCH, (prefix,))
        except Exception as exc:
            log.warning("could not record the use of API key %s: %s", prefix, exc)
