"""The caller of a request. Everyone, signed in or not, holds the role ``public``."""

from __future__ import annotations

from dataclasses import dataclass, field

from starlette.requests import Request

PUBLIC = "public"
ROLES = ("public", "transport", "environment", "land_office", "admin")


@dataclass(frozen=True)
class Principal:
    subject: str
    agency: str | None = None
    roles: frozenset[str] = field(default_factory=lambda: frozenset({PUBLIC}))
    method: str = "anonymous"  # anonymous | api_key | jwt

    def __post_init__(self) -> None:
        object.__setattr__(self, "roles", frozenset(self.roles) | {PUBLIC})

    @property
    def authenticated(self) -> bool:
        return self.method != "anonymous"


ANONYMOUS = Principal("anonymous")


def principal_of(request: Request) -> Principal:
    """The principal the auth middleware attached, or anonymous."""
    return getattr(request.state, "principal", None) or ANONYMOUS
