"""``twin ingest mqtt``: a subscriber that stores readings from an MQTT broker, losing none.

Topics: ``<prefix>/<station_code>/<property>`` with a payload ``{time, value, unit?,
quality?}`` (or an array of them), and ``<prefix>/<station_code>`` with readings that
carry their ``property``. The prefix is the literal part of the subscribed filter
(``twin/readings`` for ``twin/readings/+/+`` or ``twin/readings/#``).

Agency topics (``agency_topics``, ``twin ingest mqtt --agency-topics``): every topic
carries the publishing agency first, ``<prefix>/<agency>/<station_code>[/<property>]``,
where the broker's ACL lets each agency's user publish only under its own level (e.g.
Mosquitto's ``pattern write twin/readings/%u/#``). The level is the agency's name or
its slug (:func:`twin.ingest.policy.agency_slug`: ``so-tai-nguyen-va-moi-truong-ha-noi``)
and must name the station's ``agency``; a reading whose topic names another agency is a
dead letter. Without the option the subscriber trusts every topic it may read.

How nothing is lost:

- MQTT 5, QoS 1, a fixed client id and a session that never expires (``clean_start``
  off): while the subscriber is down, the broker queues its messages.
- Manual acknowledgement: a message is acknowledged only after the transaction that
  stored its readings (or its dead letter) has committed. A subscriber killed in
  between gets the message again on reconnection; the write path counts it as a
  duplicate. MQTT 5's Receive Maximum lets a whole batch be in flight unacknowledged
  (with MQTT 3.1.1 Mosquitto allows 20).
- Batches of ``batch_messages`` messages or ``batch_ms`` milliseconds go through the
  one write path (:func:`twin.ingest.stream.write_batch`). Messages are parsed on
  arrival (paho's thread), so parsing overlaps the writer's wait on the database.
- The database out of reach: the batch stays unacknowledged and is retried with
  backoff; the broker stops sending once Receive Maximum messages are in flight.
- A payload that cannot be stored becomes a dead letter with the reason; should the
  database refuse a batch for a reason the parser did not foresee, the batch is split
  until the offending message is found and dead-lettered. The subscriber never stops
  on input.
- paho reconnects to the broker with exponential backoff; messages received on a
  connection that has since dropped are not acknowledged (the broker redelivers them).
- SIGTERM/SIGINT: the batch in hand is written and acknowledged, then it disconnects.

A group (``group``, ``twin ingest mqtt --group NAME``): N subscribers, each with a
client id of its own, subscribe to MQTT 5 shared subscriptions ``$share/NAME/<filter>``
and the broker hands each message to one of them. The guarantees above hold per member
(its session keeps what it had in flight: a member restarted under its client id gets
its unacknowledged messages again); writers run one after another under the ingest
lock (``twin.ingest.derived``), so rollups and AQI of a station-hour two members touch
are those of a rebuild.
"""

from __future__ import annotations

import logging
import queue
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

import paho.mqtt.client as mqtt
import psycopg
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

from twin.alerts import engine as alerts
from twin.ingest.errors import LoadError
from twin.ingest.mqtt_topics import agency_topic_target, check_group, filter_prefix, topic_target
from twin.ingest.observations import (
    DeadLetter,
    Parsed,
    Refused,
    parse_payload,
    payload_text,
    utcnow,
)
from twin.ingest.policy import STREAMS, Window
from twin.ingest.stream import WriteResult, ensure_partitions, write_batch
from twin.surfaces.pending import Follower

log = logging.getLogger("twin.ingest.mqtt")

NEVER_EXPIRES = 0xFFFFFFFF  # MQTT 5 session expiry: keep the session (and its queue)
RECEIVE_MAXIMUM_CAP = 65535
ALERTS_EVERY_S = 60.0       # the silence timer of the alert rules


@dataclass(frozen=True)
class Broker:
    host: str
    port: int
    tls: bool = False
    username: str | None = None
    password: str | None = None

    @classmethod
    def parse(cls, url: str) -> Broker:
        """``mqtt://[user:password@]host[:port]`` (1883) or ``mqtts://...`` (8883, TLS)."""
        parts = urlsplit(url if "://" in url else f"mqtt://{url}")
        if parts.scheme not in ("mqtt", "mqtts", "tcp", "ssl") or not parts.hostname:
            raise ValueError(f"{url!r} is not an mqtt://host[:port] or mqtts:// URL")
        tls = parts.scheme in ("mqtts", "ssl")
        return cls(parts.hostname, parts.port or (8883 if tls else 1883), tls,
                   unquote(parts.username) if parts.username else None,
                   unquote(parts.password) if parts.password else None)

    def client(self, client_id: str, manual_ack: bool) -> mqtt.Client:
        """A paho MQTT 5 client for this broker (not yet connected)."""
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id,
                             protocol=mqtt.MQTTv5, manual_ack=manual_ack)
        if self.tls:
            client.tls_set()
        if self.username is not None:
            client.username_pw_set(self.username, self.password)
        return client


@dataclass(frozen=True)
class MqttOptions:
    broker: Broker
    topics: tuple[str, ...] = ("twin/readings/#",)
    client_id: str = "twin-ingest"
    batch_messages: int = 10_000
    batch_ms: int = 1000
    keepalive_s: int = 30
    partitions_every_s: float = 3600.0
    retry_max_s: float = 30.0
    surfaces_dir: Path | None = None    # raster dir: make surfaces of new hours
    surfaces_every_s: float = 10.0
    agency_topics: bool = False          # <prefix>/<agency>/<station>[/<property>]
    window: Window = STREAMS             # the times a reading may have, the city's zone
    group: str | None = None             # MQTT 5 shared subscription $share/<group>/...

    def __post_init__(self) -> None:
        if self.group is not None:
            check_group(self.group)

    @property
    def subscriptions(self) -> tuple[str, ...]:
        """The filters subscribed to: the topics, or shared by the group."""
        if self.group is None:
            return self.topics
        return tuple(f"$share/{self.group}/{t}" for t in self.topics)

    @property
    def receive_maximum(self) -> int:
        """Room for the batch being written and the next one arriving meanwhile."""
        return min(RECEIVE_MAXIMUM_CAP, max(1000, 4 * self.batch_messages))

    @property
    def prefixes(self) -> list[list[str]]:
        return sorted((filter_prefix(t) for t in self.topics), key=len, reverse=True)


@dataclass(slots=True)
class Message:
    mid: int
    qos: int
    topic: str
    payload: bytes
    generation: int   # the connection it arrived on: only that one can acknowledge it
    parsed: Parsed    # parsed on arrival, while the writer waits on the database


@dataclass
class Stats:
    messages: int = 0
    inserted: int = 0
    duplicates: int = 0
    dead_lettered: int = 0
    batches: int = 0
    started: float = field(default_factory=time.monotonic)

    def add(self, messages: int, result: WriteResult) -> None:
        self.messages += messages
        self.inserted += result.inserted
        self.duplicates += result.duplicates
        self.dead_lettered += len(result.dead)
        self.batches += 1

    def line(self) -> str:
        rate = self.inserted / max(time.monotonic() - self.started, 1e-9)
        return (f"{self.messages:,} messages, {self.inserted:,} readings stored, "
                f"{self.duplicates:,} duplicates, {self.dead_lettered:,} dead letters "
                f"({rate:,.0f} stored/s)")


class Subscriber:
    """Receives on paho's network thread, writes and acknowledges on the caller's."""

    def __init__(self, dsn: str, options: MqttOptions):
        self.dsn, self.options = dsn, options
        self.stats = Stats()
        self.inbox: queue.Queue[Message] = queue.Queue()
        self.generation = 0       # connections made so far
        self.received = 0         # messages received (including ones redelivered)
        self.subscribed = threading.Event()
        self.stopping = threading.Event()
        self._conn: psycopg.Connection | None = None
        self._prefixes = options.prefixes
        self.client = options.broker.client(options.client_id, manual_ack=True)
        self.client.reconnect_delay_set(1, int(options.retry_max_s))
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message
        self.client.on_subscribe = self._on_subscribe
        self.surfaces = Follower(options.surfaces_dir, options.surfaces_every_s) \
            if options.surfaces_dir else None

    # --- paho's thread --------------------------------------------------------------

    def _on_connect(self, client, _userdata, flags, reason, _properties) -> None:
        if reason.is_failure:
            log.warning("broker refused the connection: %s", reason)
            return
        self.generation += 1
        log.info("connected to %s:%s (session %s)", self.options.broker.host,
                 self.options.broker.port, "resumed" if flags.session_present else "new")
        client.subscribe([(t, SubscribeOptions(qos=1)) for t in self.options.subscriptions])

    def _on_subscribe(self, _client, _userdata, _mid, reasons, _properties) -> None:
        refused = [r for r in reasons if r.is_failure]
        if refused:
            log.error("the broker refused the subscription: %s", refused)
            return
        log.info("subscribed to %s", ", ".join(self.options.subscriptions))
        self.subscribed.set()

    def _on_disconnect(self, _client, _userdata, _flags, reason, _properties) -> None:
        if not self.stopping.is_set():
            log.warning("disconnected from the broker (%s); reconnecting", reason)

    def _on_message(self, _client, _userdata, msg: mqtt.MQTTMessage) -> None:
        if self.stopping.is_set():
            return  # left unacknowledged: the broker redelivers it next time
        self.received += 1
        topic = msg._topic.decode("utf-8", "backslashreplace")
        parsed = self._parse(topic, msg.payload)
        self.inbox.put(Message(msg.mid, msg.qos, topic, msg.payload, self.generation, parsed))

    def _parse(self, topic: str, payload: bytes) -> Parsed:
        agency = None
        try:
            if self.options.agency_topics:
                agency, station, prop = agency_topic_target(topic, self._prefixes)
            else:
                station, prop = topic_target(topic, self._prefixes)
        except Refused as exc:
            return Parsed(dead=[DeadLetter(str(exc), payload_text(payload), topic)])
        parsed = parse_payload(payload, topic, station, prop, utcnow(), self.options.window)
        for r in parsed.readings:  # checked against the station's agency by write_batch
            r.agency = agency
        return parsed

    # --- the caller's thread --------------------------------------------------------

    def run(self, install_signals: bool = True) -> Stats:
        """Connect, then write batches until :meth:`stop` (or SIGTERM/SIGINT)."""
        if install_signals:
            for sig in (signal.SIGTERM, signal.SIGINT):
                signal.signal(sig, lambda *_: self.stop())
        connect = Properties(PacketTypes.CONNECT)
        connect.SessionExpiryInterval = NEVER_EXPIRES
        connect.ReceiveMaximum = self.options.receive_maximum
        self.client.connect_async(self.options.broker.host, self.options.broker.port,
                                  self.options.keepalive_s, clean_start=False,
                                  properties=connect)
        self.client.loop_start()
        try:
            self._loop()
        finally:
            self.client.disconnect()
            self.client.loop_stop()
            if self._conn is not None:
                self._conn.close()
        log.info("stopped: %s", self.stats.line())
        return self.stats

    def stop(self) -> None:
        self.stopping.set()

    def _loop(self) -> None:
        next_partitions = next_alerts = 0.0
        while True:
            if time.monotonic() >= next_partitions and not self.stopping.is_set():
                next_partitions = time.monotonic() + (
                    self.options.partitions_every_s if self._ensure_partitions() else 60)
            if time.monotonic() >= next_alerts and not self.stopping.is_set():
                next_alerts = time.monotonic() + ALERTS_EVERY_S
                self._alerts_tick()
            stopping = self.stopping.is_set()
            batch = self._collect(drain=stopping)
            if batch:
                self._flush(batch)
            if stopping and self.inbox.empty():
                return

    def _collect(self, drain: bool) -> list[Message]:
        """Up to batch_messages messages of the current connection, waiting at most
        batch_ms after the first; once stopping, only what has already arrived."""
        opts, batch = self.options, []
        deadline = None
        while len(batch) < opts.batch_messages:
            drain = drain or self.stopping.is_set()
            wait = 0.1 if deadline is None else min(deadline - time.monotonic(), 0.1)
            try:
                msg = self.inbox.get_nowait() if drain else self.inbox.get(timeout=max(wait, 0))
            except queue.Empty:
                if drain or (deadline is not None and time.monotonic() >= deadline):
                    break
                if deadline is None and not batch:
                    break  # nothing came: back to the loop (partitions, stop)
                continue
            if msg.generation != self.generation:
                continue  # the broker redelivers it on the new connection
            batch.append(msg)
            if deadline is None:
                deadline = time.monotonic() + opts.batch_ms / 1000
        return batch

    def _flush(self, batch: list[Message]) -> None:
        """Write the batch (retrying while the database is out of reach), then
        acknowledge the messages that arrived on the connection still open."""
        result = self._write_until_stored(batch, [m.parsed for m in batch])
        if result is None:  # stopping while the database is away: unacknowledged
            return
        self.stats.add(len(batch), result)
        for msg in batch:
            if msg.generation == self.generation:
                self.client.ack(msg.mid, msg.qos)
        if self.surfaces is not None:  # after commit and ack; errors are logged there
            self.surfaces.after_commit(self.connection)

    def _write_until_stored(self, batch: list[Message], parsed: list[Parsed]
                            ) -> WriteResult | None:
        delay = 0.5
        while True:
            try:
                return self._write(batch, parsed)
            except psycopg.OperationalError as exc:
                log.warning("database unavailable (%s); retrying in %.1f s",
                            str(exc).strip().split("\n")[0], delay)
                self._drop_connection()
            if self.stopping.wait(delay):
                return None
            delay = min(delay * 2, self.options.retry_max_s)

    def _write(self, batch: list[Message], parsed: list[Parsed]) -> WriteResult:
        """One transaction for the batch; should the database refuse it for a reason the
        parser did not foresee, halves are written until the refused message is alone,
        and that one becomes a dead letter."""
        merged = Parsed()
        for p in parsed:
            merged.extend(p)
        try:
            return write_batch(self.connection(), merged, "mqtt",
                               tz=self.options.window.tz)  # the city's local days
        except psycopg.OperationalError:
            raise
        except (psycopg.Error, LoadError) as exc:
            if len(batch) == 1:
                reason = f"the database refused the message: {_db_reason(exc)}"
                letter = DeadLetter(reason, payload_text(batch[0].payload), batch[0].topic)
                return write_batch(self.connection(), Parsed(dead=[letter]), "mqtt",
                                   tz=self.options.window.tz)
            half = len(batch) // 2
            first = self._write(batch[:half], parsed[:half])
            second = self._write(batch[half:], parsed[half:])
            return WriteResult(first.received + second.received,
                               first.inserted + second.inserted,
                               first.duplicates + second.duplicates, first.dead + second.dead)

    def connection(self) -> psycopg.Connection:
        if self._conn is None or self._conn.closed:
            self._conn = psycopg.connect(self.dsn, autocommit=True,
                                         application_name="twin-ingest-mqtt",
                                         options="-c TimeZone=UTC")
        return self._conn

    def _drop_connection(self) -> None:
        if self._conn is not None:
            self._conn.close()
        self._conn = None

    def _alerts_tick(self) -> None:
        """The alert rules' silence timer (one process at a time: twin.alerts.engine)."""
        try:
            alerts.tick(self.connection())
        except psycopg.OperationalError:
            self._drop_connection()  # the next tick tries again
        except Exception:
            log.exception("the alerts' silence timer failed")

    def _ensure_partitions(self) -> bool:
        try:
            made = ensure_partitions(self.connection())
        except psycopg.OperationalError as exc:
            log.warning("partitions not checked, database unavailable: %s",
                        str(exc).strip().split("\n")[0])
            self._drop_connection()
            return False
        if made:
            log.info("created %d monthly partition(s) ahead of time", made)
        return True


def _db_reason(exc: Exception) -> str:
    """A short reason for an operator (the primary message, not the whole report)."""
    if isinstance(exc, psycopg.Error) and exc.diag.message_primary:
        return exc.diag.message_primary[:300]
    return str(exc).split("\n")[0][:300]
