"""What every route needs, built once per worker and passed in (no module globals).

Besides settings, registry, database and extents, the state carries the ties between
building blocks, each a typed attribute set by the block that provides it and read by
the block that uses it (none is required: a route whose provider is absent says so):

- :attr:`ServerState.html`: the HTML pages of twin's Features routes, rendered by
  pygeoapi (set by :mod:`twin.server.pygeoapi.bridge`);
- :attr:`ServerState.item_routes`: collections whose ``/items`` another block serves
  (EDR's ``sensor_readings`` stations, :mod:`twin.server.edr.routes`);
- :attr:`ServerState.extent_listeners`: told when an edit moved a layer's extent (the
  bridge, which rewrites the collection documents);
- :attr:`ServerState.raster_url`: the URL of a catalogued COG (set by
  :mod:`twin.server.coverages.routes`, used by the QGIS project);
- :attr:`ServerState.background`: what a block runs for the app's lifetime (entered by
  the lifespan after the pools open, left before they close), e.g. the alerts' timer.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Protocol

from starlette.requests import Request
from starlette.responses import Response

from twin.config import Settings
from twin.registry import Registry
from twin.server.db import Database
from twin.tilecache import TileStore

Endpoint = Callable[[Request], Awaitable[Response]]
ExtentListener = Callable[[str, dict], None]  # (layer name, {"bbox", "interval"})
Background = Callable[[], AbstractAsyncContextManager[None]]


class HtmlPages(Protocol):
    """HTML of the Features routes; each is called after the route validated the request."""

    async def html_items(self, request: Request) -> Response: ...

    async def html_item(self, request: Request) -> Response: ...

    async def html_queryables(self, request: Request) -> Response: ...

    async def html_conformance(self, request: Request, conformance: list[str]) -> Response: ...


@dataclass
class ServerState:
    settings: Settings
    registry: Registry
    db: Database
    base_url: str
    extents: dict[str, dict] = field(default_factory=dict)  # layer -> {"bbox", "interval"}
    html: HtmlPages | None = None
    item_routes: dict[str, Endpoint] = field(default_factory=dict)  # collection -> /items
    extent_listeners: list[ExtentListener] = field(default_factory=list)
    raster_url: Callable[[str], str] | None = None  # raster external id -> its COG's URL
    background: list[Background] = field(default_factory=list)  # run for the app's life
    tile_store: TileStore | None = None  # the tile cache's store, shared by the tile routes

    def url(self, path: str) -> str:
        return f"{self.base_url.rstrip('/')}/{path.lstrip('/')}"

    def set_extent(self, name: str, extent: dict) -> None:
        """Store a layer's new extent and tell the listeners."""
        self.extents[name] = extent
        for listener in self.extent_listeners:
            listener(name, extent)
