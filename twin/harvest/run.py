"""One harvest run, and runs on a schedule (``twin harvest``).

A run reads everything it needs from the remote first and writes after, in one
transaction, so a remote that is down, slow or answers a malformed page (on any page)
leaves the local layer as it was; the error is kept on the source's row
(``harvest_sources.last_error``) and the next run starts again from the stored cursor.

- From another twin (its collection has ``/changes``): the first run notes the change
  feed's position, copies the items, and stores the position; later runs replay the
  feed from the stored cursor (created/updated: put, deleted: remove) and store the new
  one in the same transaction as the features.
- From any other OGC API – Features server (pygeoapi, …): a full compare every run: the
  remote's features replace the harvested ones, and only features that differ are
  written (an unchanged feature gets no new version, no history row, no change).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine

from twin.harvest.apply import Batch, write_batch
from twin.harvest.remote import Remote, RemoteError
from twin.ingest.analyze import vacuum_analyze
from twin.ingest.errors import LoadError
from twin.ingest.mapping import Mapping
from twin.ingest.vector import touched_tables
from twin.registry import Registry

log = logging.getLogger("twin.harvest")
VACUUM_AFTER = 10_000  # rows written by a run before its tables are analysed


class HarvestError(LoadError):
    """A run that wrote nothing: the remote failed, or its features do not fit."""


@dataclass
class Source:
    id: int
    mode: str
    cursor: str | None
    editable: bool


@dataclass
class Result:
    mode: str
    received: int
    written: int
    deleted: int
    run_id: int
    cursor: str | None

    def line(self, layer: str) -> str:
        return (f"{layer}: harvested by {self.mode} (run {self.run_id}): {self.received} "
                f"received, {self.written} written, {self.deleted} removed")


def source_row(engine: Engine, url: str, collection: str, layer: str,
               editable: bool | None = None) -> Source:
    """The source's row, made on its first run."""
    with engine.begin() as conn:
        cur = conn.connection.driver_connection.cursor()
        cur.execute("INSERT INTO harvest_sources (url, collection, layer, editable) "
                    "VALUES (%s, %s, %s, coalesce(%s, false)) ON CONFLICT (url, collection, "
                    "layer) DO UPDATE SET editable = coalesce(%s, harvest_sources.editable) "
                    "RETURNING id, mode, cursor, editable",
                    (url, collection, layer, editable, editable))
        return Source(*cur.fetchone())


def _fetch(remote: Remote, source: Source) -> tuple[Batch, str, str | None]:
    """Everything this run writes, read before anything is written."""
    batch = Batch()
    if source.mode == "changes" and source.cursor:
        cursor = source.cursor
        for page in remote.changes(cursor):
            for change in page.features:
                action = (change.get("change") or {}).get("action")
                if action == "deleted":
                    batch.delete(str(change["id"]))
                elif action in ("created", "updated"):
                    batch.put(change)
                else:
                    raise RemoteError(f"{remote.changes_url}: a change without an action")
            cursor = page.cursor
        return batch, "changes", cursor
    position = remote.feed_position()
    batch.full = True
    for features in remote.items():
        for feature in features:
            batch.put(feature)
    return batch, ("changes" if position else "compare"), position


def _failed(engine: Engine, source: Source, error: str) -> None:
    with engine.begin() as conn:
        conn.connection.driver_connection.execute(
            "UPDATE harvest_sources SET last_run_at = clock_timestamp(), last_error = %s "
            "WHERE id = %s", (error, source.id))


def harvest(engine: Engine, registry: Registry, url: str, collection: str, layer_name: str,
            *, mapping: Mapping | None = None, extent=None, editable: bool | None = None,
            remote: Remote | None = None) -> Result:
    """One run; raises :class:`HarvestError` (nothing written) when the remote fails."""
    layer = registry.get(layer_name)
    if layer.is_view:
        raise HarvestError(f"{layer.name} is derived from other tables (a view): harvest "
                           "into a layer table")
    source = source_row(engine, url, collection, layer.name, editable)
    own = remote is None
    remote = remote or Remote(url, collection)
    try:
        try:
            batch, mode, cursor = _fetch(remote, source)
        except RemoteError as exc:
            _failed(engine, source, str(exc))
            raise HarvestError(f"harvest of {url} ({collection}) failed, the layer is "
                               f"unchanged and the next run retries: {exc}") from None
        harvest_info = {"url": url, "collection": collection, "mode": mode,
                        "cursor": cursor, "at": datetime.now(UTC).isoformat()}
        try:
            counts = _write(engine, registry, layer, batch, source, remote, harvest_info,
                            mapping, extent, mode, cursor)
        except LoadError as exc:
            _failed(engine, source, str(exc))
            raise HarvestError(f"harvest of {url} ({collection}) refused, the layer is "
                               f"unchanged: {exc}") from None
    finally:
        if own:
            remote.close()
    if counts["written"] + counts["deleted"] >= VACUUM_AFTER:
        vacuum_analyze(engine, touched_tables(layer))
    return Result(mode, counts["received"], counts["written"], counts["deleted"],
                  counts["run_id"], cursor)


def _write(engine, registry, layer, batch, source, remote, harvest_info, mapping, extent,
           mode, cursor) -> dict:
    with engine.begin() as conn, conn.connection.driver_connection.cursor() as cur:
        # one run of a source at a time; a run that read an older cursor writes nothing
        cur.execute("SELECT cursor FROM harvest_sources WHERE id = %s FOR UPDATE",
                    (source.id,))
        if cur.fetchone()[0] != source.cursor:
            raise LoadError("another run of this source committed first; run again")
        counts = write_batch(cur, registry, layer, batch, source_id=source.id,
                             source=remote.items_url, harvest=harvest_info,
                             mapping=mapping, extent=extent)
        cur.execute("UPDATE harvest_sources SET mode = %s, cursor = %s, last_run_id = %s, "
                    "last_run_at = clock_timestamp(), last_ok_at = clock_timestamp(), "
                    "last_error = NULL WHERE id = %s",
                    (mode, cursor, counts["run_id"], source.id))
    return counts


def every(seconds: float, run, stop: threading.Event | None = None,
          wake: threading.Event | None = None) -> None:
    """Call ``run()`` now and every ``seconds`` (sooner when ``wake`` is set) until
    ``stop``; a failed run is logged and retried at the next turn."""
    stop = stop or threading.Event()
    wake = wake or threading.Event()
    while not stop.is_set():
        wake.clear()
        try:
            run()
        except HarvestError as exc:
            log.warning("%s", exc)
        wake.wait(seconds)
