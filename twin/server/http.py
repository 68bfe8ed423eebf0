"""HTTP caching and conditional requests, shared by every route.

A response body's ETag is weak (``W/"…"``): the gzip middleware may compress a body
after its tag is set, and a weak validator is the honest one for "the same content, in
any content coding". If-None-Match uses weak comparison anyway (RFC 9110 §13.1.2).

A single item's version is a strong ETag, ``"<row id>-<updated_at in microseconds since
1970>"``. The ``updated_at`` trigger takes the clock time (migration 0003), so every
update gives a new tag; the tag is strong because If-Match compares strongly (RFC 9110
§13.1.1): a client may send back exactly what GET gave it. Item and edit responses
carry it, and an edit checks it (:func:`check_if_match`).
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

from starlette.requests import Request
from starlette.responses import Response

from twin.server.errors import PreconditionFailed

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def etag_for(body: bytes) -> str:
    return 'W/"' + hashlib.blake2b(body, digest_size=16).hexdigest() + '"'


def matches(if_none_match: str | None, etag: str) -> bool:
    """If-None-Match holds ``etag`` (or ``*``), compared weakly as for GET."""
    if not if_none_match:
        return False
    tags = _tags(if_none_match)
    return "*" in tags or etag.removeprefix("W/") in (t.removeprefix("W/") for t in tags)


VARY = "Accept, Accept-Encoding, Authorization, X-API-Key"
# Clients and proxies may store responses but must revalidate every time: an edit is
# then visible at once, and an unchanged response costs a 304 instead of the body.
REVALIDATE = "no-cache"


def cached(request: Request, body: bytes, media: str, headers: dict | None = None,
           private: bool = False) -> Response:
    """``body`` with an ETag and Cache-Control; 304 when the client already holds it.

    What a response holds depends on who asks (private fields, readable layers): an
    authenticated caller's responses are ``private`` (no shared cache may keep them),
    and every response varies on the credentials headers."""
    etag = etag_for(body)
    scope = "private" if private else "public"
    head = {"ETag": etag, "Cache-Control": f"{scope}, {REVALIDATE}", "Vary": VARY,
            **(headers or {})}
    if matches(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers=head)
    return Response(body, media_type=media, headers=head)


# --- item versions (strong ETags) and the If-Match check -----------------------------

def version_etag(row_id: int, updated_at: datetime) -> str:
    micros = (updated_at - EPOCH) // timedelta(microseconds=1)
    return f'"{row_id}-{micros}"'


def _tags(header: str) -> list[str]:
    return [t.strip() for t in header.split(",") if t.strip()]


def check_if_match(header: str | None, current: str) -> None:
    """No If-Match: accepted (QGIS sends none). ``*``: any current version. Otherwise the
    current version must be listed, compared strongly (a weak tag never matches)."""
    if header is None:
        return
    tags = _tags(header)
    if "*" in tags or current in tags:
        return
    raise PreconditionFailed(
        f"If-Match {header.strip()[:100]} is not the current version {current}: the feature "
        "was changed since you read it; GET it again, re-apply your change and send its "
        "new ETag")
