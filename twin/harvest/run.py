"""One harvest run, and runs on a schedule (``twin harvest``).

A run reads everything it needs from the remote first and writes after, in one
transaction, so a remote that is down, slow or answers a malformed page (on any page)
leaves the local layer as it was; the error is kept on the source's row
(``harvest_sources.last_error``) and the next run starts again from the stored cursor.

- From another twin (its collection has ``/changes``): the first run notes the change
  feed's position, copies the items, and stores the position; later runs replay the
  feed from the stored cursor (created/updated: put, deleted: remove) and store the new
  one in the same transaction as the features. A feed that answers 410 (the remote
  pruned the changes after the cursor: the mirror was not run for longer than the
  remote keeps them) is met with a full compare and a new position, as a first run.
- From a server that can be asked for the features updated since a time, when the
  source names the remote's update-time property (``--updated PROPERTY``, kept with the
  source): the first run is a full compare that notes the latest update time (the
  high-water mark); later runs read only what was updated since it
  (:mod:`twin.harvest.updated`) and store the new mark in the same transaction. Update
  times cannot show deletions: every ``full_every``-th run (and a run with
  ``full=True``) is a full compare, which removes them.
- From any other OGC API – Features server (pygeoapi, …): a full compare every run: the
  remote's features are upserted, this source's features the remote no longer has are
  removed, and only features that differ are written (an unchanged feature gets no new
  version, no history row, no change). Features of the layer that this source did not
  harvest are never touched (:mod:`twin.harvest.apply`).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine

from twin.harvest.apply import Batch, write_batch
from twin.harvest.remote import FeedGone, Remote, RemoteError
from twin.harvest.updated import high_water, since, updated_since
from twin.ingest.analyze import vacuum_analyze
from twin.ingest.errors import LoadError
from twin.ingest.mapping import Mapping
from twin.ingest.vector import touched_tables
from twin.registry import Registry

log = logging.getLogger("twin.harvest")
VACUUM_AFTER = 10_000  # rows written by a run before its tables are analysed
FULL_EVERY = 24  # by update time: every 24th run a full compare (6 h at --every 15m)


class HarvestError(LoadError):
    """A run that wrote nothing: the remote failed, or its features do not fit."""


@dataclass
class Source:
    id: int
    mode: str
    cursor: str | None
    editable: bool
    updated_field: str | None = None
    since_full: int = 0


@dataclass
class Result:
    mode: str
    received: int
    written: int
    deleted: int
    run_id: int
    cursor: str | None
    full: bool = False
    conflicts: int = 0

    def line(self, layer: str) -> str:
        how = "a full compare" if self.full and self.mode != "compare" else self.mode
        return (f"{layer}: harvested by {how} (run {self.run_id}): {self.received} "
                f"received, {self.written} written, {self.deleted} removed"
                + (f", {self.conflicts} left alone (ids held locally or by another "
                   "source)" if self.conflicts else ""))


def source_row(engine: Engine, url: str, collection: str, layer: str,
               editable: bool | None = None, updated: str | None = None) -> Source:
    """The source's row, made on its first run; ``updated`` names the remote's
    update-time property ("" forgets it), kept for later runs."""
    with engine.begin() as conn:
        cur = conn.connection.driver_connection.cursor()
        cur.execute("INSERT INTO harvest_sources (url, collection, layer, editable, "
                    "updated_field) VALUES (%s, %s, %s, coalesce(%s, false), nullif(%s, '')) "
                    "ON CONFLICT (url, collection, layer) DO UPDATE SET "
                    "editable = coalesce(%s, harvest_sources.editable), updated_field = "
                    "CASE WHEN %s::text IS NULL THEN harvest_sources.updated_field "
                    "ELSE nullif(%s, '') END "
                    "RETURNING id, mode, cursor, editable, updated_field, since_full",
                    (url, collection, layer, editable, updated, editable, updated, updated))
        return Source(*cur.fetchone())


def _by_update_time(remote: Remote, source: Source) -> tuple[Batch, str, str | None]:
    batch, name = Batch(), source.updated_field
    for feature in updated_since(remote, name, source.cursor):
        batch.put(feature)
    mark, _ = high_water(batch.puts.values(), name, source.cursor)
    return batch, "updated", mark


def _full(remote: Remote, source: Source) -> tuple[Batch, str, str | None]:
    position = remote.feed_position()
    batch = Batch(full=True)
    if not position and source.updated_field:
        since(remote, source.updated_field, "1970-01-01T00:00:00Z")  # say now if it cannot
    for features in remote.items():
        for feature in features:
            batch.put(feature)
    if position:
        return batch, "changes", position
    if source.updated_field:
        return batch, "updated", high_water(batch.puts.values(), source.updated_field,
                                            None)[0]
    return batch, "compare", None


def _by_feed(remote: Remote, source: Source) -> tuple[Batch, str, str | None]:
    batch, cursor = Batch(), source.cursor
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


def _fetch(remote: Remote, source: Source, full: bool = False, full_every: int = FULL_EVERY
           ) -> tuple[Batch, str, str | None]:
    """Everything this run writes, read before anything is written."""
    if full or not source.cursor:
        return _full(remote, source)
    if source.mode == "changes":
        try:
            return _by_feed(remote, source)
        except FeedGone as exc:   # down longer than the remote keeps changes: copy again
            log.warning("%s; a full compare instead", exc)
            return _full(remote, source)
    if (source.mode == "updated" and source.updated_field
            and source.since_full + 1 < full_every):
        return _by_update_time(remote, source)
    return _full(remote, source)


def _failed(engine: Engine, source: Source, error: str) -> None:
    with engine.begin() as conn:
        conn.connection.driver_connection.execute(
            "UPDATE harvest_sources SET last_run_at = clock_timestamp(), last_error = %s "
            "WHERE id = %s", (error, source.id))


def harvest(engine: Engine, registry: Registry, url: str, collection: str, layer_name: str,
            *, mapping: Mapping | None = None, extent=None, editable: bool | None = None,
            remote: Remote | None = None, updated: str | None = None, full: bool = False,
            full_every: int = FULL_EVERY) -> Result:
    """One run; raises :class:`HarvestError` (nothing written) when the remote fails.
    ``updated``: the remote's update-time property (kept with the source); ``full``: a
    full compare now; ``full_every``: by update time, every Nth run a full compare."""
    layer = registry.get(layer_name)
    if layer.is_view:
        raise HarvestError(f"{layer.name} is derived from other tables (a view): harvest "
                           "into a layer table")
    if full_every < 1:
        raise HarvestError(f"full_every {full_every}: a run count, 1 or more")
    source = source_row(engine, url, collection, layer.name, editable, updated)
    own = remote is None
    remote = remote or Remote(url, collection)
    try:
        try:
            batch, mode, cursor = _fetch(remote, source, full, full_every)
        except RemoteError as exc:
            _failed(engine, source, str(exc))
            raise HarvestError(f"harvest of {url} ({collection}) failed, the layer is "
                               f"unchanged and the next run retries: {exc}") from None
        harvest_info = {"url": url, "collection": collection, "mode": mode,
                        "cursor": cursor, "full": batch.full,
                        "at": datetime.now(UTC).isoformat()}
        if source.updated_field and mode == "updated":
            harvest_info["updated_field"] = source.updated_field
            harvest_info["without_update_time"] = high_water(
                batch.puts.values(), source.updated_field, None)[1]
        try:
            counts = _write(engine, registry, layer, batch, source, remote, harvest_info,
                            mapping, extent)
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
                  counts["run_id"], cursor, batch.full, counts["conflicts"])


def _write(engine, registry, layer, batch, source, remote, harvest_info, mapping,
           extent) -> dict:
    with engine.begin() as conn, conn.connection.driver_connection.cursor() as cur:
        # one run of a source at a time; a run that read an older cursor writes nothing
        cur.execute("SELECT cursor FROM harvest_sources WHERE id = %s FOR UPDATE",
                    (source.id,))
        if cur.fetchone()[0] != source.cursor:
            raise LoadError("another run of this source committed first; run again")
        counts = write_batch(cur, registry, layer, batch, source_id=source.id,
                             source=remote.items_url, harvest=harvest_info,
                             mapping=mapping, extent=extent)
        # the cursor (feed position or update-time mark) commits with the features
        cur.execute("UPDATE harvest_sources SET mode = %s, cursor = %s, last_run_id = %s, "
                    "since_full = CASE WHEN %s THEN 0 ELSE since_full + 1 END, "
                    "last_run_at = clock_timestamp(), last_ok_at = clock_timestamp(), "
                    "last_error = NULL WHERE id = %s",
                    (harvest_info["mode"], harvest_info["cursor"], counts["run_id"],
                     batch.full, source.id))
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
