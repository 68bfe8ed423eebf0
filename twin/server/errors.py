"""Domain errors for the API. Routes raise them; one handler renders the OGC exception
document ``{"code", "description"}``. No database text or path ever reaches a client.

A :class:`twin.errors.TwinInputError` raised below the server (a report's unknown area,
a flood run's bad window) is a 400 with its message; every other exception is a logged
500 that says nothing internal. Every 503 carries the same ``Retry-After``
(:data:`RETRY_AFTER_S`, through :func:`retry_after`).

Descriptions follow the request's language (``lang=``, ``Accept-Language``, the city
profile's default): errors are raised in English and :func:`problem` renders them
through the catalogue of :mod:`twin.server.messages` when the request (as
:data:`LANGUAGE` holds it, set by :mod:`twin.server.middleware.language`) reads
Vietnamese. The ``code`` stays the OGC code.
"""

from __future__ import annotations

import logging
from contextvars import ContextVar

from starlette.requests import Request
from starlette.responses import JSONResponse

from twin.errors import TwinInputError
from twin.i18n import content_language
from twin.server.messages import localise

log = logging.getLogger("twin.server")

RETRY_AFTER = "Retry-After"  # the header's name, for the modules that must name it (CORS)
RETRY_AFTER_S = 5  # what every 503 tells clients: the pools reconnect within about this long
UNAVAILABLE = "the database is unavailable; retry shortly"
INTERNAL = "internal error; it has been logged"
# The language of the request being answered (None outside a request: descriptions as
# raised). Set per request by twin.server.middleware.language.
LANGUAGE: ContextVar[str | None] = ContextVar("twin_language", default=None)


def retry_after(headers: dict[str, str] | None = None) -> dict[str, str]:
    """``headers`` with the one ``Retry-After`` of a 503 (any other value replaced)."""
    kept = {k: v for k, v in (headers or {}).items() if k.lower() != "retry-after"}
    return {**kept, "Retry-After": str(RETRY_AFTER_S)}


class APIError(Exception):
    status = 400
    code = "InvalidParameterValue"

    def __init__(self, description: str, *, headers: dict[str, str] | None = None):
        super().__init__(description)
        self.description = description
        self.headers = headers or {}


class InvalidParameter(APIError):
    """A query parameter is malformed or out of range (400)."""


class NotFound(APIError):
    status = 404
    code = "NotFound"


class Unavailable(APIError):
    """The database or the identity provider is away (503 with the one Retry-After)."""
    status = 503
    code = "ServiceUnavailable"

    def __init__(self, description: str = UNAVAILABLE, *,
                 headers: dict[str, str] | None = None):
        super().__init__(description, headers=retry_after(headers))


class ServerError(APIError):
    """Something failed that is not the client's doing (500, logged where it was caught);
    the description never says what."""
    status = 500
    code = "ServerError"

    def __init__(self, description: str = INTERNAL):
        super().__init__(description)


class RequestTooLarge(APIError):
    status = 413
    code = "RequestTooLarge"


class AuthenticationRequired(APIError):
    """An anonymous caller asked for something only a signed-in caller may do (401)."""
    status = 401
    code = "AuthenticationRequired"

    def __init__(self, description: str):
        super().__init__(description, headers={
            "WWW-Authenticate": 'Bearer realm="twin", ApiKey realm="twin"'})


class Forbidden(APIError):
    """The caller is known but lacks the rights (403)."""
    status = 403
    code = "Forbidden"


class MethodNotAllowed(APIError):
    """The collection exists but cannot be written (a layer derived from other tables)."""
    status = 405
    code = "MethodNotAllowed"


class Conflict(APIError):
    """The request conflicts with the data, e.g. a feature id already in use (409)."""
    status = 409
    code = "Conflict"


class PreconditionFailed(APIError):
    """If-Match names a version that is no longer the current one (412)."""
    status = 412
    code = "PreconditionFailed"


class TooManyRequests(APIError):
    """A per-caller or server-wide limit on work was reached (429 with Retry-After)."""
    status = 429
    code = "TooManyRequests"

    def __init__(self, description: str, *, retry_after: int = 60):
        super().__init__(description, headers={"Retry-After": str(retry_after)})


class UnsupportedMediaType(APIError):
    status = 415
    code = "UnsupportedMediaType"


def problem(status: int, code: str, description: str,
            headers: dict[str, str] | None = None) -> JSONResponse:
    """The OGC exception document. Every 503 says when to retry, whichever path built it
    (twin's routes, pygeoapi's through the bridge, a middleware)."""
    if status == 503:
        headers = retry_after(headers)
    lang = LANGUAGE.get()
    if lang is not None:
        description = localise(description, lang)
        headers = {**(headers or {}), "Content-Language": content_language(lang)}
    return JSONResponse({"code": code, "description": description}, status_code=status,
                        headers=headers, media_type="application/json")


async def api_error_handler(_request: Request, exc: APIError) -> JSONResponse:
    return problem(exc.status, exc.code, exc.description, exc.headers)


async def input_error_handler(_request: Request, exc: TwinInputError) -> JSONResponse:
    """A domain error about the request's input: 400 with its (client-safe) message."""
    return problem(InvalidParameter.status, InvalidParameter.code, str(exc))


async def http_exception_handler(_request: Request, exc) -> JSONResponse:
    code = {404: "NotFound", 405: "MethodNotAllowed"}.get(exc.status_code, "HTTPError")
    return problem(exc.status_code, code, str(exc.detail), getattr(exc, "headers", None))


async def unexpected_error_handler(request: Request, exc: Exception) -> JSONResponse:
    """Last resort: log the traceback, tell the client nothing internal."""
    from psycopg import OperationalError
    from psycopg_pool import PoolTimeout

    if isinstance(exc, (OperationalError, PoolTimeout)):
        log.warning("database unavailable: %s", exc)
        return problem(Unavailable.status, Unavailable.code, UNAVAILABLE)
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return problem(ServerError.status, ServerError.code, INTERNAL)
