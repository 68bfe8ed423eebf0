"""What every route needs, built once per worker and passed in (no module globals)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from twin.config import Settings
from twin.registry import Registry
from twin.server.db import Database


@dataclass
class ServerState:
    settings: Settings
    registry: Registry
    db: Database
    base_url: str
    extents: dict[str, dict] = field(default_factory=dict)  # layer -> {"bbox", "interval"}
    # Callables other route modules provide (e.g. the pygeoapi bridge's HTML renderers).
    hooks: dict[str, Callable] = field(default_factory=dict)

    def url(self, path: str) -> str:
        return f"{self.base_url.rstrip('/')}/{path.lstrip('/')}"
