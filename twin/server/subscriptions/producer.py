"""Layer changes become deliveries: the second producer of the notify outbox.

For each subscription (rows locked ``FOR UPDATE SKIP LOCKED``, so dispatchers share
them), the changes committed after its cursor are read from the change log
(:mod:`twin.catalogue.changes`) with its bbox, and its CQL2 filter tested on each
changed feature in SQL (the items' own filter translation, :mod:`twin.server.features.cql`,
typed against what the subscriber may query); a page of changes becomes one delivery
(event id: the last change's log id) in the same transaction that moves the cursor on.

What a subscriber mirroring "the features in my bbox / filter" needs, per change:

- the feature matches now: it is sent as it is now (``created`` / ``updated``); an
  update whose replaced version (``change_log.old``) did not match is sent as
  ``created``: the feature *entered* the subscriber's view;
- an update whose replaced version matched and whose current one does not: a
  tombstone-like ``left`` (the id, no geometry, no properties): remove it from the copy,
  it still exists in the layer; an update that stays outside sends nothing;
- a deletion is always sent (tombstones carry no properties to test).

The bbox is tested exactly (the geometry intersects it in CRS84), on the version before
and the version now. The message::

    {"type": "layer.changes", "subscription": 7, "layer": "cameras",
     "cursor": "...", "features": [<the change feed's features>]}

When the page is not full the cursor moves to the end of the feed read before it, so a
subscription whose bbox or filter sees nothing for months does not fall behind the
change log's retention (:mod:`twin.db.retention`). One that is behind all the same (no
dispatcher ran for longer than ``TWIN_CHANGES_KEEP_DAYS``) gets one ``layer.pruned``
message (``pruned_before``: the changes before that time are lost; copy the layer
again) and resumes after what was removed.

Webhooks are signed, retried and dead-lettered by :mod:`twin.notify.webhook` exactly
as alert webhooks (the secret is the subscription's); MQTT messages are published
(QoS 1, not retained) on the subscription's topic.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from psycopg import sql

from twin.catalogue.changes import (
    END_OF_COMMIT,
    Change,
    ChangePage,
    Cursor,
    changes_sql,
    page_of,
)
from twin.db.retention import PRUNED_SQL, gone_since
from twin.notify.config import Endpoint
from twin.notify.outbox import Claimed, Outcome, enqueue
from twin.registry import Layer, Registry
from twin.server.auth.principal import Principal
from twin.server.errors import APIError
from twin.server.features import cql
from twin.server.features import sql as fsql
from twin.server.features.fields import output_names, queryable_fields
from twin.server.params.binds import Params
from twin.server.params.crs import CRS84

STREAM = "layer_changes"
NOTICE = "twin_layer_changes"
PAGE = 500
TARGET = "subscription:"
COLUMNS = ("id, owner, roles, layer, bbox, filter, filter_lang, channel, target, cursor, "
           "created_at, updated_at")
# the first character of a row's feature column: the change as this subscriber sees it
KINDS = {"U": None, "C": "created", "L": "left"}  # None: the logged action


class SecretEndpoint(Endpoint):
    """A subscription's webhook: its secret is stored with it, not in the environment."""

    def __init__(self, name: str, url: str, key: str):
        super().__init__(name=name, url=url, secret_env="")
        object.__setattr__(self, "_key", key)

    @property
    def secret(self) -> str | None:
        return self._key or None


def principal(owner: str, roles) -> Principal:
    return Principal(owner, roles=frozenset(roles or ()))


def filter_sql(registry: Registry, layer_name: str, who: Principal, text: str | None,
               lang: str | None, params: Params) -> sql.Composable:
    """The subscription's CQL2 filter on row ``t`` (TRUE without one); a bad filter is
    :class:`InvalidParameter`."""
    if not text:
        return sql.SQL("TRUE")
    layer = registry.get(layer_name)
    return cql.to_sql(text, lang or "cql2-text", queryable_fields(layer, who), layer.srid,
                      CRS84, params)


def bbox_sql(layer: Layer, bbox, params: Params) -> sql.Composable:
    """Row ``t``'s geometry intersects ``bbox`` (CRS84; TRUE without one)."""
    if not bbox:
        return sql.SQL("TRUE")
    geom = sql.SQL("t.geom" if layer.srid == 4326 else "ST_Transform(t.geom, 4326)")
    return sql.SQL("ST_Intersects({}, ST_MakeEnvelope({}, {}, {}, {}, 4326))").format(
        geom, *(params.add(float(v)) for v in bbox))


def _feature(registry: Registry, row: tuple, params: Params) -> sql.Composable:
    """The feature column of :func:`changes_sql` for one subscription: ``U`` or ``C``
    (entered) + the feature when the row matches now, ``L`` when an update's replaced
    version matched and the current one does not, else NULL (not sent)."""
    _id, owner, roles, layer_name, bbox, text, lang = row[:7]
    layer, who = registry.get(layer_name), principal(owner, roles)
    feature = fsql.feature_sql(layer, output_names(layer, who), CRS84, False)
    condition = sql.SQL("({}) AND ({})").format(
        filter_sql(registry, layer_name, who, text, lang, params),
        bbox_sql(layer, bbox, params))
    was = sql.SQL("(e.action = 'updated' AND e.old IS NOT NULL AND coalesce((SELECT {} "
                  "FROM jsonb_populate_record(NULL::{}, e.old) t), FALSE))").format(
        condition, sql.Identifier(layer.table))
    was_not = sql.SQL("(e.action = 'updated' AND e.old IS NOT NULL AND NOT {})").format(was)
    return sql.SQL("CASE WHEN t.id IS NULL THEN NULL "
                   "WHEN coalesce({now}, FALSE) THEN CASE WHEN {was_not} THEN 'C' ELSE 'U' "
                   "END || {feature} WHEN {was} THEN 'L' END").format(
        now=condition, was_not=was_not, feature=feature, was=was)


def _change(action: str, fid: str, at: datetime, marked: str | None) -> Change | None:
    """A row of :func:`changes_sql` with :func:`_feature`'s column as this subscriber's
    change: ``left`` and entered features too; None: not sent."""
    if action == "deleted":
        return Change(action, fid, at, None)
    if marked is None:
        return None
    return Change(KINDS[marked[0]] or action, fid, at, marked[1:] or None)


async def _pruned(conn, row: tuple, start: Cursor, table: str) -> Cursor | None:
    """Behind the change log's retention: one ``layer.pruned`` message, and the cursor
    to resume from (None: not behind)."""
    mark = await (await conn.execute(PRUNED_SQL, (table,))).fetchone()
    before = gone_since(mark, seq=start.seq, ident=start.id)
    if before is None:
        return None
    sub_id, layer_name, channel, target = row[0], row[3], row[7], row[8]
    resume = Cursor(mark[0], mark[1])
    await enqueue(conn, STREAM, -mark[1], channel,
                  target if channel == "mqtt" else f"{TARGET}{sub_id}", "layer.pruned",
                  {"type": "layer.pruned", "subscription": sub_id, "layer": layer_name,
                   "pruned_before": before.isoformat().replace("+00:00", "Z"),
                   "cursor": resume.encode(),
                   "message": "changes of this layer were removed before they were "
                              "delivered: copy the layer again from its items"})
    return resume


async def _one(conn, registry: Registry, row: tuple, end: int) -> int:
    """Fan out one subscription's new changes (``end``: the last commit before this pass
    began); > 0 when more may wait."""
    sub_id, layer_name, bbox, channel, target, cursor = (row[0], row[3], row[4], row[7],
                                                         row[8], row[9])
    if layer_name not in registry:
        return 0
    params = Params()
    try:
        feature = _feature(registry, row, params)
    except APIError:  # the layer's fields changed under a stored filter: nothing matches
        feature = sql.SQL("NULL")
    start = Cursor.decode(cursor)
    query, base = changes_sql(registry.get(layer_name), feature, after=start,
                              bbox=tuple(bbox) if bbox else None, limit=PAGE)
    rows = await (await conn.execute(query, {**base, **params})).fetchall()
    page = page_of(rows, start, PAGE, _change)
    last = page.cursor.id  # the event id of a delivery: its last change's log id
    resume = await _pruned(conn, row, start, registry.get(layer_name).table)
    if resume is not None:  # what the page read was after the removed changes: read again
        page = ChangePage(cursor=resume, full=True)
    elif not page.full:  # nothing more up to `end` for this subscriber
        page.cursor = max(page.cursor, Cursor(end, END_OF_COMMIT))
    if page.cursor == start:
        return 0
    if page.changes:
        message = {"type": "layer.changes", "subscription": sub_id, "layer": layer_name,
                   "cursor": page.cursor.encode(),
                   "features": [json.loads(c.as_geojson()) for c in page.changes]}
        await enqueue(conn, STREAM, last, channel,
                      target if channel == "mqtt" else f"{TARGET}{sub_id}",
                      "layer.changes", message)
    await conn.execute("UPDATE subscriptions SET cursor = %s, updated_at = clock_timestamp() "
                       "WHERE id = %s", (page.cursor.encode(), sub_id))
    return len(page.changes) or int(page.full)


async def fan_out(conn, registry: Registry, *, mqtt: bool) -> int:
    """Turn new changes of every subscription into deliveries; > 0 when more may wait."""
    channels = ["webhook", "mqtt"] if mqtt else ["webhook"]
    async with conn.transaction():
        cur = await conn.execute(
            f"SELECT {COLUMNS} FROM subscriptions WHERE channel = ANY(%s) ORDER BY id "
            "FOR UPDATE SKIP LOCKED", (channels,))
        rows = await cur.fetchall()
        end = (await (await conn.execute(
            "SELECT coalesce(max(seq), 0) FROM change_commits")).fetchone())[0]
        done = 0
        for row in rows:
            done += await _one(conn, registry, row, end)
    return done


async def endpoint(conn, target: str) -> Endpoint | None:
    """The webhook endpoint of ``subscription:<id>`` (None: the subscription is gone)."""
    try:
        sub_id = int(target.removeprefix(TARGET))
    except ValueError:
        return None
    cur = await conn.execute("SELECT target, secret FROM subscriptions WHERE id = %s AND "
                             "channel = 'webhook'", (sub_id,))
    row = await cur.fetchone()
    return None if row is None else SecretEndpoint(target, row[0], row[1] or "")


async def publish(publisher, delivery: Claimed) -> Outcome:
    """Publish a change message on its subscription's topic (QoS 1, not retained)."""
    started = datetime.now(UTC)
    try:
        await publisher.publish(delivery.target, json.dumps(
            delivery.payload, ensure_ascii=False).encode())
    except (ConnectionError, TimeoutError, RuntimeError, ValueError, OSError) as exc:
        retry = min(publisher.retry_max_s, 0.5 * 2 ** min(delivery.attempts, 10))
        return Outcome(False, started, datetime.now(UTC), error=f"MQTT: {exc}",
                       retry_in=retry)
    return Outcome(True, started, datetime.now(UTC))


class SubscriptionProducer:
    """What :class:`twin.notify.dispatcher.Dispatcher` asks of a producer besides alerts:
    its stream, the notice that wakes it, fan-out, and how its deliveries are sent."""

    stream = STREAM
    notice = NOTICE

    def __init__(self, registry: Registry):
        self.registry = registry

    async def fan_out(self, conn, *, mqtt: bool) -> int:
        return await fan_out(conn, self.registry, mqtt=mqtt)

    async def endpoint(self, conn, target: str) -> Endpoint | None:
        return await endpoint(conn, target)

    async def publish(self, publisher, delivery: Claimed) -> Outcome:
        return await publish(publisher, delivery)
