"""HTTP caching helpers shared by every route.

ETags are weak (``W/"…"``): the gzip middleware may compress a body after its tag
is set, and a weak validator is the honest one for "the same content, in any
content coding". If-None-Match uses weak comparison anyway (RFC 9110 §13.1.2).
"""

from __future__ import annotations

import hashlib

from starlette.requests import Request
from starlette.responses import Response


def etag_for(body: bytes) -> str:
    return 'W/"' + hashlib.blake2b(body, digest_size=16).hexdigest() + '"'


def matches(if_none_match: str | None, etag: str) -> bool:
    if not if_none_match:
        return False
    if if_none_match.strip() == "*":
        return True
    opaque = etag.removeprefix("W/")
    return opaque in (t.strip().removeprefix("W/") for t in if_none_match.split(","))


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
