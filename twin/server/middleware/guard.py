"""Refuse what no route can use before it reaches one: NUL bytes in the path or the
query string (PostgreSQL text cannot hold them, and no identifier or value has one)."""

from __future__ import annotations

from urllib.parse import unquote_to_bytes

from twin.server.errors import problem


class GuardMiddleware:
    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and (
                b"\x00" in unquote_to_bytes(scope.get("raw_path") or b"")
                or "\x00" in scope.get("path", "")
                or b"\x00" in unquote_to_bytes(scope.get("query_string", b""))):
            response = problem(400, "InvalidParameterValue",
                               "the request holds a NUL byte (%00), which no path or "
                               "parameter may contain")
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)
