"""Retention applied by the long-running processes: the windows and the period from
the settings (``TWIN_CHANGES_KEEP_DAYS``, ``TWIN_DELIVERIES_KEEP_DAYS``,
``TWIN_PRUNE_EVERY_S``), the work in :mod:`twin.db.retention` (which knows no
settings: :mod:`twin.config` imports from ``twin.db``)."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import psycopg

from twin.config import Settings
from twin.db.retention import Pruned, prune

log = logging.getLogger("twin.retention")


def prune_url(dsn: str, settings: Settings | None = None) -> Pruned:
    """:func:`prune` with the settings' windows, on a connection of its own."""
    settings = settings or Settings()
    with psycopg.connect(dsn, autocommit=True, application_name="twin-retention") as conn:
        return prune(conn, changes_days=settings.changes_keep_days,
                     deliveries_days=settings.deliveries_keep_days)


async def keep_pruning(dsn: str, stop: asyncio.Event, every_s: float | None = None) -> None:
    """Prune now and every ``every_s`` (``TWIN_PRUNE_EVERY_S``; 0: never) until ``stop``;
    the work runs in a thread, off the caller's event loop. A failure is logged and
    tried again next time."""
    every_s = Settings().prune_every_s if every_s is None else every_s
    while every_s > 0 and not stop.is_set():
        try:
            pruned = await asyncio.to_thread(prune_url, dsn)
            if pruned.changes or pruned.delivered or pruned.dead:
                log.info("retention removed %s", pruned.summary())
        except (psycopg.Error, OSError) as exc:
            log.warning("retention: %s; tried again in %s s", exc, every_s)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), every_s)
