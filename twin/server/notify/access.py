"""Who may read alerts (as the ``alerts`` layer's ``access.read`` says; public when no
such layer is declared) and who may see deliveries (admin)."""

from __future__ import annotations

from starlette.requests import Request

from twin.server.auth.policy import ADMIN, can_read
from twin.server.auth.principal import principal_of
from twin.server.errors import AuthenticationRequired, Forbidden
from twin.server.state import ServerState

ALERTS_LAYER = "alerts"


def check_alerts_readable(request: Request, state: ServerState) -> None:
    if ALERTS_LAYER not in state.registry:
        return
    who = principal_of(request)
    if can_read(state.registry.get(ALERTS_LAYER), who):
        return
    if not who.authenticated:
        raise AuthenticationRequired("alerts are readable by signed-in callers only; send "
                                     "an API key or a token")
    raise Forbidden("this caller's roles may not read alerts")


def check_admin(request: Request, what: str) -> None:
    who = principal_of(request)
    if ADMIN in who.roles:
        return
    if not who.authenticated:
        raise AuthenticationRequired(f"{what} needs the role 'admin'; send an API key or a "
                                     "token of an admin")
    raise Forbidden(f"{what} needs the role 'admin'; this caller has the roles "
                    f"{', '.join(sorted(who.roles))}")


def sees_private(request: Request) -> bool:
    """Whether the caller may see who acknowledged an alert and their note."""
    return principal_of(request).authenticated
