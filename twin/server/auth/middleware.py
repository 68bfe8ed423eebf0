"""Who is calling: an ASGI middleware that attaches a :class:`Principal` to every request.

Credentials: ``Authorization: Bearer <jwt>``, or an API key in ``X-API-Key`` (the header
is a setting), ``Authorization: ApiKey <key>`` or as the password of HTTP Basic (any user
name, e.g. the key's prefix: what QGIS's stock credentials dialog and its Basic
authentication configurations send). No credentials: anonymous. Credentials
that are wrong, expired or revoked: 401 with an OGC exception body saying what is wrong
and a ``WWW-Authenticate`` header; the identity provider or database out of reach: 503.
A 401 to an anonymous or Basic caller also challenges ``Basic realm="twin"`` (a header of
its own: Qt recognises a scheme only at the start of a header), so QGIS asks for the key.

A pure ASGI middleware (not ``BaseHTTPMiddleware``): it reads headers only and passes
``receive``/``send`` through untouched, so streamed responses stay streamed.
"""

from __future__ import annotations

import base64
import binascii
import logging

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from twin.server.auth.jwt import JwtValidator
from twin.server.auth.keys import KeyVerifier, Unauthorized
from twin.server.auth.principal import ANONYMOUS, Principal
from twin.server.errors import APIError, Unavailable, problem
from twin.server.state import ServerState

log = logging.getLogger("twin.server.auth")

NO_BEARER = "bearer tokens are not configured on this server"
BASIC_CHALLENGE = (b"www-authenticate", b'Basic realm="twin", charset="UTF-8"')
MALFORMED_BASIC = ("malformed Basic credentials: expected base64 of <user>:<API key> "
                   "(the user name may be anything, e.g. the key's prefix)")


class AuthMiddleware:
    def __init__(self, app: ASGIApp, state: ServerState):
        self.app = app
        self.keys = KeyVerifier(state.db)
        self.tokens = JwtValidator.from_settings(state.settings, state.registry)
        self.key_header = state.settings.api_key_header.lower()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # lifespan; twin serves no websockets
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        if self._offers_basic(headers):
            send = _challenging_basic(send)
        try:
            principal = await self.authenticate(headers)
        except APIError as exc:
            await _reject(exc)(scope, receive, send)
            return
        scope.setdefault("state", {})["principal"] = principal
        await self.app(scope, receive, send)

    def _offers_basic(self, headers: Headers) -> bool:
        """Anonymous or Basic: the callers a Basic challenge helps (not a bearer or key
        client, which a browser login dialog would only confuse)."""
        scheme = headers.get("authorization", "").strip().partition(" ")[0].lower()
        return scheme in ("", "basic") and not headers.get(self.key_header, "").strip()

    async def authenticate(self, headers: Headers) -> Principal:
        """The caller's principal; raises :class:`Unauthorized` or another APIError."""
        scheme, _, credentials = headers.get("authorization", "").strip().partition(" ")
        credentials = credentials.strip()
        api_key = headers.get(self.key_header, "").strip()
        if scheme and api_key:
            raise Unauthorized("send one credential: an API key or an Authorization header, "
                               "not both")
        try:
            if api_key:
                return await self.keys.verify(api_key)
            if not scheme:
                return ANONYMOUS
            if scheme.lower() == "apikey":
                return await self.keys.verify(credentials)
            if scheme.lower() == "basic":
                return await self.keys.verify(basic_key(credentials))
            if scheme.lower() == "bearer":
                if self.tokens is None:
                    raise Unauthorized(NO_BEARER)
                if not credentials:
                    raise Unauthorized("malformed token")
                return await self.tokens.validate(credentials)
        except APIError:
            raise
        except Exception as exc:
            raise _failed(exc) from None
        raise Unauthorized(f"unsupported authorization scheme {scheme[:20]!r}; "
                           "use Bearer, ApiKey or Basic (an API key as password)")


def basic_key(credentials: str) -> str:
    """The API key of HTTP Basic credentials: the password, whatever the user name (or
    the user name when the password is empty, as some clients send a key)."""
    try:
        text = base64.b64decode(credentials, validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        raise Unauthorized(MALFORMED_BASIC) from None
    user, colon, password = text.partition(":")
    if not colon:
        raise Unauthorized(MALFORMED_BASIC)
    return password.strip() or user.strip()


def _challenging_basic(send: Send) -> Send:
    """``send`` that adds a Basic challenge to a 401 response."""
    async def wrapped(message) -> None:
        if message["type"] == "http.response.start" and message["status"] == 401:
            message = {**message, "headers": [*message.get("headers", []), BASIC_CHALLENGE]}
        await send(message)
    return wrapped


def _failed(exc: Exception) -> APIError:
    """An unexpected error while checking credentials: 503 for a database outage, 401
    (logged) for anything else; never 500, never internal text."""
    from psycopg import OperationalError
    from psycopg_pool import PoolTimeout

    if isinstance(exc, (OperationalError, PoolTimeout)):
        log.warning("database unavailable while checking credentials: %s", exc)
        return Unavailable()
    log.error("error while checking credentials", exc_info=exc)
    return Unauthorized("the credentials could not be checked")


def _reject(exc: APIError):
    headers = dict(exc.headers)
    if exc.status == 401:
        reason = exc.description.replace("\\", "").replace('"', "'")
        headers["WWW-Authenticate"] = (f'Bearer realm="twin", error="invalid_token", '
                                       f'error_description="{reason}"')
        headers["Cache-Control"] = "no-store"
    return problem(exc.status, exc.code, exc.description, headers)
