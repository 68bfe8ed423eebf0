"""The dispatcher: fans alert events out into deliveries and delivers what is due.

It wakes on ``LISTEN twin_alert_events`` (a new event) and ``twin_deliveries`` (an
admin retried a dead letter), polls every ``poll_s`` as a fallback and sleeps until the
next retry is due otherwise. Any number of dispatchers (server workers, ``twin alerts
dispatch`` processes) run against one database: fan-out takes turns on a row lock and
deliveries are claimed ``FOR UPDATE SKIP LOCKED`` (:mod:`twin.notify.outbox`). A lost
database connection is reopened with back-off; nothing is kept in memory that the
tables do not hold, so a restart loses nothing (a delivery in flight when a dispatcher
dies is tried again after its lease: receivers deduplicate on ``Idempotency-Key``).
Each claimed delivery is sent by a task of its own (at most ``concurrency`` in flight),
so an endpoint that hangs until its timeout delays nothing else.

Other producers (``producers``: layer-change subscriptions,
:class:`twin.server.subscriptions.producer.SubscriptionProducer`) share the same
outbox, claims, retries and dead letters: each names its ``stream`` and the ``notice``
that wakes the dispatcher, fans out in :meth:`step`, and resolves its own webhook
targets (``endpoint``) and MQTT messages (``publish``).

Beside delivering, each dispatcher applies the retention of the change log and of the
settled deliveries every ``TWIN_PRUNE_EVERY_S`` (:func:`twin.notify.pruning.keep_pruning`,
in a thread, on a connection of its own; dispatchers take turns on a lock).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import httpx
import psycopg

from twin.notify import fanout, outbox, webhook
from twin.notify.config import Endpoint, NotifySettings, load_webhooks
from twin.notify.mqtt import Publisher
from twin.notify.pruning import keep_pruning

log = logging.getLogger("twin.notify")
NOTICES = ("twin_alert_events", outbox.RETRY_NOTICE)
OPTIONS = "-c TimeZone=UTC -c statement_timeout=30000"
RECONNECT_MAX_S = 10.0
STOP_GRACE_S = 5.0


class Dispatcher:
    def __init__(self, dsn: str, settings: NotifySettings,
                 endpoints: dict[str, Endpoint] | None = None, producers=(),
                 prune_every_s: float | None = None):
        self.dsn = dsn
        self.prune_every_s = prune_every_s  # None: TWIN_PRUNE_EVERY_S
        self.settings = settings
        self.endpoints = (load_webhooks(settings.alerts_config) if endpoints is None
                          else endpoints)
        self.wake = asyncio.Event()
        self.publisher: Publisher | None = None
        self._mqtt_back = False
        self._db = asyncio.Lock()  # one statement or transaction at a time on the connection
        self._inflight: set[asyncio.Task] = set()
        self.delivered = 0  # counted for tests and the benchmark
        self.producers = {p.stream: p for p in producers}

    @property
    def channels(self) -> list[str]:
        return ["webhook"] + (["mqtt"] if self.publisher else [])

    async def _connect(self, autocommit: bool = True) -> psycopg.AsyncConnection:
        return await psycopg.AsyncConnection.connect(
            self.dsn, autocommit=autocommit, options=OPTIONS, application_name="twin-notify")

    async def _listen(self) -> None:
        """Set :attr:`wake` on every notice; reconnects while the database is away."""
        while True:
            try:
                async with await self._connect() as conn:
                    for channel in (*NOTICES, *(p.notice for p in self.producers.values())):
                        await conn.execute(f"LISTEN {channel}")
                    self.wake.set()  # anything committed while not listening
                    async for _notice in conn.notifies():
                        self.wake.set()
            except psycopg.Error as exc:
                log.warning("notify listener: %s; reconnecting", exc)
                await asyncio.sleep(1.0)

    def _broker_back(self, loop: asyncio.AbstractEventLoop) -> None:
        def flag():
            self._mqtt_back = True
            self.wake.set()
        loop.call_soon_threadsafe(flag)

    async def _send(self, conn, client, delivery: outbox.Claimed) -> outbox.Outcome:
        producer = self.producers.get(delivery.stream)
        if producer is not None:
            if delivery.channel == "mqtt":
                return await producer.publish(self.publisher, delivery)
            async with self._db:
                endpoint = await producer.endpoint(conn, delivery.target)
            return await webhook.send(client, endpoint, delivery)
        if delivery.channel == "webhook":
            return await webhook.send(client, self.endpoints.get(delivery.target), delivery)
        async with self._db:
            current = await fanout.current_alert(conn, delivery.payload["alert"]["id"])
        return await self.publisher.send(delivery, current)

    async def _deliver(self, conn, client, delivery: outbox.Claimed) -> None:
        """Send one delivery and record its outcome; a slow target holds up no other."""
        try:
            outcome = await self._send(conn, client, delivery)
            async with self._db:
                status = (await outbox.record(conn, [(delivery, outcome)]))[0]
        except psycopg.Error as exc:  # the claim's lease ends; it is tried again then
            log.warning("delivery %s not recorded: %s", delivery.id, exc)
            return
        finally:
            self.wake.set()  # room for another claim
        self.delivered += status == "delivered"
        if status == "dead":
            log.warning("delivery %s to %s %s is a dead letter: %s", delivery.id,
                        delivery.channel, delivery.target, outcome.error)

    async def step(self, conn, client) -> bool:
        """Fan out, and claim as many due deliveries as there is room for, each sent by a
        task of its own; True when more work is waiting."""
        room = self.settings.concurrency - len(self._inflight)
        async with self._db:
            if self._mqtt_back:
                self._mqtt_back = False
                await outbox.hurry(conn, "mqtt")
            fanned = await fanout.fan_out(
                conn, endpoints=self.endpoints,
                mqtt_topic=self.publisher.prefix if self.publisher else None)
            for producer in self.producers.values():
                fanned += await producer.fan_out(conn, mqtt=self.publisher is not None)
            claimed = (await outbox.claim(conn, self.channels, min(room, self.settings.batch),
                                          self.settings.lease_s) if room > 0 else [])
        for delivery in claimed:
            task = asyncio.create_task(self._deliver(conn, client, delivery))
            self._inflight.add(task)
            task.add_done_callback(self._inflight.discard)
        return bool(fanned) or (room > 0 and len(claimed) == min(room, self.settings.batch))

    async def _idle(self, conn, stop: asyncio.Event) -> None:
        async with self._db:
            due = await outbox.due_in(conn, self.channels)
        timeout = self.settings.poll_s if due is None else min(self.settings.poll_s, due)
        waiter = asyncio.create_task(self.wake.wait())
        stopper = asyncio.create_task(stop.wait())
        await asyncio.wait({waiter, stopper}, timeout=max(timeout, 0.01),
                           return_when=asyncio.FIRST_COMPLETED)
        for task in (waiter, stopper):
            task.cancel()

    async def _drain(self, graceful: bool) -> None:
        """Let deliveries in flight finish (up to ``STOP_GRACE_S`` when stopping), cancel
        the rest: their leases end and another dispatcher tries them again."""
        if graceful and self._inflight:
            await asyncio.wait(set(self._inflight), timeout=STOP_GRACE_S)
        for task in list(self._inflight):
            task.cancel()
        await asyncio.gather(*self._inflight, return_exceptions=True)

    async def _serve(self, client, stop: asyncio.Event) -> None:
        failures = 0
        while not stop.is_set():
            try:
                async with await self._connect() as conn:
                    failures = 0
                    try:
                        while not stop.is_set():
                            self.wake.clear()
                            if not await self.step(conn, client):
                                await self._idle(conn, stop)
                    finally:
                        await self._drain(graceful=stop.is_set())
            except psycopg.Error as exc:
                failures += 1
                log.warning("dispatcher: %s; reconnecting", exc)
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(stop.wait(),
                                           min(RECONNECT_MAX_S, 0.5 * 2 ** failures))

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver until ``stop`` is set."""
        loop = asyncio.get_running_loop()
        if self.settings.mqtt_url:
            self.publisher = Publisher(self.settings.mqtt_url, self.settings.mqtt_prefix,
                                       self.settings.mqtt_retry_max_s,
                                       on_connect=lambda: self._broker_back(loop))
            self.publisher.start()
        listener = asyncio.create_task(self._listen())
        pruner = asyncio.create_task(keep_pruning(self.dsn, stop, self.prune_every_s))
        try:
            async with httpx.AsyncClient(follow_redirects=False) as client:
                await self._serve(client, stop)
        finally:
            for task in (listener, pruner):  # a prune in its thread ends its batch alone
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            if self.publisher:
                self.publisher.stop()
