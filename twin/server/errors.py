"""Domain errors for the API. Routes raise them; one handler renders the OGC exception
document ``{"code", "description"}``. No database text or path ever reaches a client."""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import JSONResponse

log = logging.getLogger("twin.server")

RETRY_AFTER_S = 5  # what a 503 tells clients: the pools reconnect within about this long
UNAVAILABLE = "the database is unavailable; retry shortly"


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
    """The database is away (503 with Retry-After); the pools reconnect by themselves."""
    status = 503
    code = "ServiceUnavailable"

    def __init__(self, description: str = UNAVAILABLE, *,
                 headers: dict[str, str] | None = None):
        super().__init__(description, headers={"Retry-After": str(RETRY_AFTER_S),
                                               **(headers or {})})


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
    if status == 503 and not any(k.lower() == "retry-after" for k in headers or {}):
        headers = {**(headers or {}), "Retry-After": str(RETRY_AFTER_S)}
    return JSONResponse({"code": code, "description": description}, status_code=status,
                        headers=headers, media_type="application/json")


async def api_error_handler(_request: Request, exc: APIError) -> JSONResponse:
    return problem(exc.status, exc.code, exc.description, exc.headers)


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
    return problem(500, "ServerError", "internal error; it has been logged")
