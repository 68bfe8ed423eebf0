"""The language of each request: ``lang=`` over ``Accept-Language`` over the city
profile's default (:func:`twin.i18n.request_language`).

It is held in :data:`twin.server.errors.LANGUAGE` while the request is answered, so an
error rendered anywhere (a route, pygeoapi through the bridge, a middleware inside this
one) is described in that language. A text response (JSON, HTML, plain text) that names
no language gets ``Content-Language``, and ``Accept-Language`` is added to its ``Vary``:
its words depend on it.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from twin.i18n import content_language, negotiate
from twin.server.errors import LANGUAGE

TEXT_TYPES = (b"application/json", b"application/geo+json", b"application/schema+json",
              b"application/ld+json", b"application/problem+json", b"text/")


def request_language_of(scope, default: str) -> str:
    """The language of an ASGI request (the first ``lang=`` wins)."""
    query = scope.get("query_string", b"").decode("latin-1")
    lang = next((v for k, v in parse_qsl(query, keep_blank_values=True) if k == "lang"), None)
    accept = next((v.decode("latin-1") for k, v in scope.get("headers") or ()
                   if k == b"accept-language"), None)
    return negotiate(lang, accept, default)


def _is_text(headers: list) -> bool:
    media = next((v for k, v in headers if k.lower() == b"content-type"), b"")
    return media.lower().startswith(TEXT_TYPES)


def _vary_with_language(headers: list) -> list:
    for i, (k, v) in enumerate(headers):
        if k.lower() == b"vary":
            if b"accept-language" not in v.lower() and v.strip() != b"*":
                headers[i] = (k, v + b", Accept-Language")
            return headers
    return [*headers, (b"vary", b"Accept-Language")]


class LanguageMiddleware:
    def __init__(self, app, default: str = "vi"):
        self.app = app
        self.default = default

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        lang = request_language_of(scope, self.default)
        label = content_language(lang).encode()

        async def labelled(message):
            if message["type"] == "http.response.start" and message.get("status") != 304:
                headers = list(message.get("headers") or [])
                if _is_text(headers):
                    if not any(k.lower() == b"content-language" for k, _ in headers):
                        headers.append((b"content-language", label))
                    headers = _vary_with_language(headers)
                    message = {**message, "headers": headers}
            await send(message)

        token = LANGUAGE.set(lang)
        try:
            await self.app(scope, receive, labelled)
        finally:
            LANGUAGE.reset(token)


def language_of(request, default: str = "vi") -> str:
    """The language a route answers ``request`` in: the one this middleware set, else
    (a route called without it) negotiated from the request itself."""
    return LANGUAGE.get() or request_language_of(request.scope, default)
