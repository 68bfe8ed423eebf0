"""Security headers on every response, and who counts as a caller on this host.

Every response: ``X-Content-Type-Options: nosniff``, ``X-Frame-Options: SAMEORIGIN`` and
``Referrer-Policy: strict-origin-when-cross-origin``. An HTML response also gets a
Content-Security-Policy allowing what its page loads: the web viewer (``/viewer``) loads
only this server's files (MapLibre's workers are ``blob:`` URLs); the pages pygeoapi
renders with twin's templates (``twin/server/pygeoapi/templates``) load only this
server's files too (``/static``: the vendored Leaflet, twin's CSS and script) and carry
no inline script; their images may also come from an https tile server, for a basemap
``config/server.yaml`` names. Both forbid plugins, ``<base>`` elsewhere and framing by
other sites. A header
a route set itself (a stricter policy on a map report) is kept, never overridden.

A pure ASGI middleware: it edits the response start message only, so streamed bodies
stay streamed.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

ALWAYS = (("x-content-type-options", "nosniff"), ("x-frame-options", "SAMEORIGIN"),
          ("referrer-policy", "strict-origin-when-cross-origin"))
CSP = "content-security-policy"
VIEWER_PREFIX = "/viewer"
FIXED = ("object-src 'none'", "base-uri 'self'", "frame-ancestors 'self'")
# Headers a proxy adds: a request carrying one came from elsewhere, whatever the socket.
FORWARDED = ("forwarded", "x-forwarded-for", "x-real-ip")
_ORIGIN = re.compile(r"^https?://[A-Za-z0-9.\-]+(:[0-9]{1,5})?$|^https?://\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?$")


def public_origin(public_url: str | None) -> str:
    """The configured public URL's origin (pages and the viewer may name it rather than
    the host the browser used), or '' when unset or not a plain http(s) origin."""
    if not public_url:
        return ""
    parts = urlsplit(public_url)
    origin = f"{parts.scheme}://{parts.netloc}"
    return origin if _ORIGIN.match(origin) else ""


def policies(public_url: str | None = None) -> tuple[str, str]:
    """(the viewer's policy, pygeoapi's pages' policy)."""
    own = " ".join(filter(None, ("'self'", public_origin(public_url))))
    viewer = "; ".join((
        "default-src 'self'", f"script-src {own}", f"style-src {own} 'unsafe-inline'",
        f"img-src {own} data: blob:", f"font-src {own} data:", f"connect-src {own}",
        "worker-src 'self' blob:", "child-src 'self' blob:", f"form-action {own}", *FIXED))
    pages = "; ".join((
        f"default-src {own}", f"script-src {own}", f"style-src {own}",
        f"font-src {own} data:", f"img-src {own} data: blob: https:", f"connect-src {own}",
        "worker-src 'self' blob:", "child-src 'self' blob:", f"form-action {own}", *FIXED))
    return viewer, pages


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp, state=None):
        self.app = app
        settings = getattr(state, "settings", None)
        self.viewer_policy, self.page_policy = policies(getattr(settings, "public_url", None))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        policy = self.viewer_policy if (path == VIEWER_PREFIX or path.startswith(
            VIEWER_PREFIX + "/")) else self.page_policy

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in ALWAYS:
                    if name not in headers:
                        headers.append(name, value)
                kind = headers.get("content-type", "").split(";")[0].strip().lower()
                if kind in ("text/html", "application/xhtml+xml") and CSP not in headers:
                    headers.append(CSP, policy)
            await send(message)

        await self.app(scope, receive, send_with_headers)


def is_local(scope: Scope) -> bool:
    """The request came over loopback (127.0.0.0/8, ::1) straight from its client: no
    proxy header, since a proxy on this host forwards callers from anywhere."""
    client = scope.get("client")
    if not client or not client[0]:
        return False  # a Unix socket: whoever is behind it (often a proxy) is unknown
    try:
        address = ipaddress.ip_address(client[0])
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    if not (address.is_loopback or (mapped is not None and mapped.is_loopback)):
        return False
    headers = Headers(scope=scope)
    return not any(name in headers for name in FORWARDED)
