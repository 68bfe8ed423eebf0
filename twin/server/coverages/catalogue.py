"""The coverage series a worker serves, kept in step with the ``rasters`` table.

Read once at start-up (synchronously: pygeoapi's configuration lists the collections)
and then, at most once per ``refresh_s``, a request first runs one cheap statement
(``count(*), max(created_at)`` of the catalogue); only when that moved are the rows
read again and the series rebuilt. Listeners (the pygeoapi resources, so that
``/collections`` lists a new series and a grown time extent) are told of every change.

A worker awaits this object to get the current series; the coverage routes find it by
the bridge's source key (:func:`twin.server.coverages.config.catalogue_of`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

import psycopg
from psycopg_pool import PoolTimeout

from twin.rasters.series import SERIES_SQL, SIGNATURE_SQL, Series, Step, group
from twin.server.db import Database
from twin.server.errors import NotFound

log = logging.getLogger("twin.server")


class LiveCatalogue:
    def __init__(self, db: Database, reserved: set[str], refresh_s: float, source: str):
        self.db = db
        self.source = source  # the key pygeoapi's provider entries name
        self.reserved = set(reserved)
        self.refresh_s = refresh_s
        self.series: dict[str, Series] = {}
        self.steps: dict[str, Step] = {}
        self.signature: tuple | None = None
        self.checked = -float("inf")
        self.listeners: list[Callable[[dict[str, Series]], None]] = []
        self._lock = asyncio.Lock()

    def load_sync(self, timeout: float = 10.0) -> None:
        """First read, with the sync pool (before the app's event loop runs). A database
        that cannot be reached leaves the catalogue empty; the first request retries."""
        try:
            with self.db.sync.connection(timeout=timeout) as conn, conn.cursor() as cur:
                signature = cur.execute(SIGNATURE_SQL).fetchone()
                rows = cur.execute(SERIES_SQL).fetchall()
        except (psycopg.OperationalError, PoolTimeout) as exc:
            log.warning("raster catalogue not read at start-up (%s); retried per request", exc)
            return
        self._apply(rows, signature)

    def _apply(self, rows: list[tuple], signature: tuple) -> None:
        self.series = group(rows, self.reserved)
        self.steps = {step.external_id: step for s in self.series.values() for step in s.steps}
        self.signature = signature
        for listener in self.listeners:
            listener(self.series)

    async def __call__(self) -> dict[str, Series]:
        """The current series, refreshed if the catalogue changed (checked at most once
        per ``refresh_s``)."""
        if time.monotonic() - self.checked < self.refresh_s:
            return self.series
        async with self._lock:
            if time.monotonic() - self.checked >= self.refresh_s:
                signature = await self.db.fetchrow(SIGNATURE_SQL)
                if signature != self.signature:
                    self._apply(await self.db.fetchall(SERIES_SQL), signature)
                self.checked = time.monotonic()
        return self.series

    async def get(self, collection_id: str) -> Series:
        series = (await self()).get(collection_id)
        if series is None:
            if collection_id in self.reserved:
                raise NotFound(f"collection {collection_id!r} is a feature collection; it "
                               "has no coverage, map or position query")
            raise NotFound(f"collection {collection_id!r} not found")
        return series
