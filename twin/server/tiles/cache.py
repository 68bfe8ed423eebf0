"""The tile routes' use of the tile cache (:mod:`twin.tilecache`).

A tile request reads the layer's version first (one primary-key lookup in
``layer_counts``), then answers 304 when the client's ETag is that version, else the
stored tile, else makes the tile, stores it and answers it. The version is read before
the tile is made, so a tile stored under a version holds data at least that new: an
edit committed meanwhile moves the version and the next request misses.

View layers (latest readings, station AQI) change with the readings, not with a
statement on a layer table, and have no version: they are never cached.
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool

from twin.db.counts import VERSION_SQL
from twin.server.params.values import TimeFilter
from twin.server.state import ServerState
from twin.server.tiles.sql import LayerTiles
from twin.tilecache import DiskStore, NoStore, TileKey, TileStore, open_store

REVALIDATE = "public, no-cache"  # stored, but revalidated: edits show at once


class StoredTiles:
    """A route's use of the store: the store the settings name (one per worker, shared
    by the vector and the map tile routes: one client, one breaker, one pruning record),
    the Cache-Control of its tiles, reads and writes that never hold up the event loop."""

    def __init__(self, state: ServerState, store: TileStore | None = None):
        settings = state.settings
        self.state = state
        if store is None:
            if state.tile_store is None:
                state.tile_store = open_store(settings.tile_cache, settings.data_dir,
                                              endpoint=settings.tile_s3_endpoint)
            store = state.tile_store
        self.store = store
        self.local = isinstance(self.store, DiskStore | NoStore)
        self.cache_control = (f"public, max-age={settings.tile_max_age}"
                              if settings.tile_max_age else REVALIDATE)

    async def get(self, key: TileKey) -> bytes | None:
        """A directory is read in the event loop: a tile is a few kB from the page
        cache, and a thread hop would cost more than the read. Any other store (an
        object store: a network round trip, a dead one up to its timeouts) is read in a
        worker thread, so a slow store never holds up the other requests."""
        if self.local:
            return self.store.get(key)
        return await run_in_threadpool(self.store.get, key)

    async def put(self, key: TileKey, body: bytes) -> bool:
        return await run_in_threadpool(self.store.put, key, body)


class TileCache(StoredTiles):
    """The vector tile routes' cache, keyed by the layer's version."""

    async def key(self, tiles: LayerTiles, tms: str, z: int, x: int, y: int,
                  when: TimeFilter | None) -> TileKey | None:
        """The tile's key at the layer's current version; None when not cached."""
        if not self.store.enabled or tiles.layer.is_view:
            return None
        row = await self.state.db.fetchrow(VERSION_SQL, {"layer": tiles.layer.table})
        if row is None:
            return None
        return TileKey(tiles.layer.name, row[0], tms, z, x, y, variant(when))


def variant(when: TimeFilter | None) -> str:
    """What besides the address shaped the tile, normalised (the parsed datetime)."""
    if when is None:
        return ""
    start = when.start.isoformat() if when.start is not None else ".."
    end = when.end.isoformat() if when.end is not None else ".."
    return f"datetime={start}/{end}" + (";instant" if when.instant else "")
