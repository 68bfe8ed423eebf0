"""``GET /auth/whoami``: who the server takes the caller to be (for agencies checking
their API key or token). Never cached: the answer depends on the credentials."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from twin.server.auth.principal import principal_of
from twin.server.state import ServerState


async def whoami(request: Request) -> JSONResponse:
    who = principal_of(request)
    return JSONResponse({"subject": who.subject, "agency": who.agency,
                         "roles": sorted(who.roles), "method": who.method,
                         "authenticated": who.authenticated},
                        headers={"Cache-Control": "no-store"})


def routes(_state: ServerState) -> list[Route]:
    return [Route("/auth/whoami", whoami, methods=["GET"], name="whoami")]
