"""Layer changes become deliveries: the second producer of the notify outbox.

For each subscription (rows locked ``FOR UPDATE SKIP LOCKED``, so dispatchers share
them), the changes committed after its cursor are read from the change log
(:mod:`twin.catalogue.changes`) with its bbox, and its CQL2 filter tested on each
changed feature in SQL (the items' own filter translation, :mod:`twin.server.features.cql`,
typed against what the subscriber may query); a page of changes becomes one delivery
(event id: the last change's log id) in the same transaction that moves the cursor on.
A change that leaves the filter is not sent; a deletion is always sent (tombstones
carry no properties to test). The message::

    {"type": "layer.changes", "subscription": 7, "layer": "cameras",
     "cursor": "...", "features": [<the change feed's features>]}

Webhooks are signed, retried and dead-lettered by :mod:`twin.notify.webhook` exactly
as alert webhooks (the secret is the subscription's); MQTT messages are published
(QoS 1, not retained) on the subscription's topic.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from psycopg import sql

from twin.catalogue.changes import Cursor, changes_sql, page_of
from twin.notify.config import Endpoint
from twin.notify.outbox import Claimed, Outcome, enqueue
from twin.registry import Registry
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


def _feature(registry: Registry, row: tuple, params: Params) -> sql.Composable:
    _id, owner, roles, layer_name, _bbox, text, lang = row[:7]
    layer, who = registry.get(layer_name), principal(owner, roles)
    feature = fsql.feature_sql(layer, output_names(layer, who), CRS84, False)
    condition = filter_sql(registry, layer_name, who, text, lang, params)
    return sql.SQL("CASE WHEN {} THEN {} END").format(condition, feature)


async def _one(conn, registry: Registry, row: tuple) -> int:
    """Fan out one subscription's new changes; how many were enqueued."""
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
    page = page_of(rows, start, PAGE)
    if page.cursor == start:
        return 0
    if page.changes:
        message = {"type": "layer.changes", "subscription": sub_id, "layer": layer_name,
                   "cursor": page.cursor.encode(),
                   "features": [json.loads(c.as_geojson()) for c in page.changes]}
        await enqueue(conn, STREAM, page.cursor.id, channel,
                      target if channel == "mqtt" else f"{TARGET}{sub_id}",
                      "layer.changes", message)
    await conn.execute("UPDATE subscriptions SET cursor = %s, updated_at = clock_timestamp() "
                       "WHERE id = %s", (page.cursor.encode(), sub_id))
    return len(page.changes) or 1


async def fan_out(conn, registry: Registry, *, mqtt: bool) -> int:
    """Turn new changes of every subscription into deliveries; > 0 when more may wait."""
    channels = ["webhook", "mqtt"] if mqtt else ["webhook"]
    async with conn.transaction():
        cur = await conn.execute(
            f"SELECT {COLUMNS} FROM subscriptions WHERE channel = ANY(%s) ORDER BY id "
            "FOR UPDATE SKIP LOCKED", (channels,))
        rows = await cur.fetchall()
        done = 0
        for row in rows:
            done += await _one(conn, registry, row)
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
