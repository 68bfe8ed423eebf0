"""Replay the demo readings over MQTT, as the stations would have sent them.

The demo's ``readings.csv`` (station by station) is put back in time order and sent as
one message per station and time: ``<prefix>/<station_code>`` with a JSON array of that
moment's readings ``{property, time, value, unit, quality}``, QoS 1. ``speed`` 0 sends as
fast as the broker acknowledges (every packet is encoded before the first is sent);
otherwise it is a time multiplier (3600: an hour of readings a second). ``window_min``
sends a station's readings of that many minutes as one message instead. Used by
``twin ingest replay`` and the ingest benchmark.
"""

from __future__ import annotations

import bisect
import contextlib
import csv
import json
import socket
import ssl
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from twin.ingest.mqtt import Broker

MAX_OUTSTANDING = 5000  # Publisher: messages published but not yet acknowledged
PACKET_IDS = 65_535     # MQTT packet identifiers 1..65535
WINDOW = 30_000         # replay: messages sent but not yet acknowledged (< PACKET_IDS)
BLOCK = 512             # replay: messages written to the socket at once
CONNECT_S = 30.0        # replay: how long to keep trying to (re)connect


@dataclass
class Moment:
    """The readings one station took at one time, ready to send."""
    time: datetime
    station: str
    readings: list[str]  # JSON objects

    def payload(self) -> bytes:
        return ("[" + ",".join(self.readings) + "]").encode()


@dataclass
class ReplayStats:
    messages: int = 0
    readings: int = 0
    seconds: float = 0.0

    def line(self) -> str:
        rate = self.readings / self.seconds if self.seconds else 0.0
        return (f"published {self.readings:,} readings in {self.messages:,} messages in "
                f"{self.seconds:.1f} s ({rate:,.0f} readings/s)")


def read_moments(path: Path, limit: int | None = None, window_min: int = 0) -> list[Moment]:
    """The file's readings grouped by station and time, in time order; with ``limit``,
    only the earliest readings (whole moments) up to about that many.

    ``window_min`` > 0 groups a station's readings over that many minutes into one
    message, sent at the window's last reading (a data logger uploading a block)."""
    groups: dict[tuple[str, str], list[str]] = defaultdict(list)
    times: dict[tuple[str, str], datetime] = {}
    with open(path, encoding="utf-8-sig", newline="") as fh:
        for row in csv.DictReader(fh):
            when = datetime.fromisoformat(row["observed_at"])
            bucket = (int(when.timestamp()) // (60 * window_min) if window_min
                      else row["observed_at"])
            key = (bucket, row["station_code"])
            value = row.get("value", "")
            groups[key].append(json.dumps({
                "property": row["property"], "time": row["observed_at"],
                "value": float(value) if value else None,
                "unit": row.get("unit") or None, "quality": row.get("quality") or None},
                ensure_ascii=False))
            times[key] = max(times.get(key, when), when)
    moments = sorted((Moment(times[key], key[1], items) for key, items in groups.items()),
                     key=lambda m: (m.time, m.station))
    if limit is None:
        return moments
    out, count = [], 0
    for m in moments:
        if count >= limit:
            break
        out.append(m)
        count += len(m.readings)
    return out


class Publisher:
    """A paho publisher for messages one at a time (the tests' bursts), keeping at most
    MAX_OUTSTANDING messages unacknowledged. The replay uses :class:`Wire` instead."""

    def __init__(self, broker: Broker, client_id: str):
        self.client = broker.client(client_id, manual_ack=False)
        self.client.max_inflight_messages_set(1000)
        self.client.max_queued_messages_set(0)
        self.client.reconnect_delay_set(1, 30)
        self.room = threading.Semaphore(MAX_OUTSTANDING)
        self.client.on_publish = lambda *_args: self.room.release()
        self.connected = threading.Event()
        self.client.on_connect = lambda *_args: self.connected.set()
        self.client.connect_async(broker.host, broker.port, 30)
        self.client.loop_start()

    def publish(self, topic: str, payload: bytes) -> None:
        self.room.acquire()
        self.client.publish(topic, payload, qos=1)

    def close(self) -> None:
        """Wait until the broker has acknowledged every message, then disconnect."""
        for _ in range(MAX_OUTSTANDING):
            self.room.acquire()
        self.client.disconnect()
        self.client.loop_stop()


# --- the replay's own MQTT 3.1.1 publisher ------------------------------------------------
#
# paho spends ~150 µs of Python per QoS 1 message (packet objects, a wake-up byte to its
# loop thread, one send and one callback per message), which on a two-core machine takes
# the CPU the subscriber needs. The replay knows every message in advance, so it encodes
# the PUBLISH packets once, writes them in blocks of many messages, and counts the
# broker's PUBACKs on a reader thread: a few µs a message.

def _length(n: int) -> bytes:
    """MQTT's variable-length integer (the fixed header's remaining length)."""
    out = bytearray()
    while True:
        n, digit = n >> 7, n & 0x7F
        out.append(digit | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _text(value: str | bytes) -> bytes:
    raw = value.encode() if isinstance(value, str) else value
    return len(raw).to_bytes(2, "big") + raw


def publish_packet(topic: str, payload: bytes, pid: int) -> bytes:
    """A QoS 1 PUBLISH packet with packet identifier ``pid`` (1..65535)."""
    body = _text(topic) + pid.to_bytes(2, "big") + payload
    return b"\x32" + _length(len(body)) + body


def connect_packet(client_id: str, broker: Broker) -> bytes:
    """CONNECT, protocol level 4 (3.1.1), clean session, keep-alive off: the reader
    thread sees a dead connection as end of stream, and a paced replay may idle long."""
    flags, payload = 0x02, _text(client_id)
    if broker.username is not None:
        flags |= 0x80
        payload += _text(broker.username)
        if broker.password is not None:
            flags |= 0x40
            payload += _text(broker.password)
    body = _text("MQTT") + bytes([4, flags]) + (0).to_bytes(2, "big") + payload
    return b"\x10" + _length(len(body)) + body


class Acks:
    """Which messages the broker has acknowledged; ``base`` is the first one not yet."""

    def __init__(self, n: int):
        self.done = bytearray(n)
        self.base = 0
        self.lost = False  # the connection broke: resend from ``base``
        self.changed = threading.Condition()

    def ack(self, pids: list[int]) -> None:
        """Packet ids repeat every 65,535 messages; WINDOW keeps them unique in flight."""
        with self.changed:
            for pid in pids:
                index = self.base + (pid - 1 - self.base) % PACKET_IDS
                if index < len(self.done):
                    self.done[index] = 1
            while self.base < len(self.done) and self.done[self.base]:
                self.base += 1
            self.changed.notify_all()

    def disconnected(self) -> None:
        with self.changed:
            self.lost = True
            self.changed.notify_all()

    def wait(self, until: Callable[[], bool], timeout: float) -> None:
        with self.changed:
            self.changed.wait_for(lambda: until() or self.lost, timeout)


class Wire:
    """One connection to the broker: blocks of packets out, PUBACKs counted in by a
    reader thread of its own."""

    def __init__(self, broker: Broker, client_id: str, acks: Acks, timeout: float = 10.0):
        try:
            sock = socket.create_connection((broker.host, broker.port), timeout)
            if broker.tls:
                sock = ssl.create_default_context().wrap_socket(
                    sock, server_hostname=broker.host)
            sock.sendall(connect_packet(client_id, broker))
            connack = sock.recv(4)
        except OSError as exc:
            raise ConnectionError(f"no MQTT broker answered at {broker.host}:{broker.port} "
                                  f"({exc})") from None
        if len(connack) != 4 or connack[0] != 0x20 or connack[3] != 0:
            sock.close()
            raise ConnectionError(f"the MQTT broker at {broker.host}:{broker.port} refused "
                                  f"the connection (CONNACK {connack.hex() or 'missing'})")
        sock.settimeout(None)
        self.sock, self.acks, self.closing = sock, acks, False
        self.reader = threading.Thread(target=self._read, daemon=True, name="twin-replay-acks")
        self.reader.start()

    def send(self, packets: bytes) -> None:
        try:
            self.sock.sendall(packets)
        except OSError:
            self.acks.disconnected()

    def close(self) -> None:
        """DISCONNECT (the broker keeps nothing of a clean session), then stop reading."""
        self.closing = True
        with contextlib.suppress(OSError):
            self.sock.sendall(b"\xe0\x00")
            self.sock.shutdown(socket.SHUT_RDWR)
        self.reader.join(5)
        self.sock.close()

    def _read(self) -> None:
        pending = b""
        while True:
            try:
                chunk = self.sock.recv(1 << 16)
            except OSError:
                chunk = b""
            if not chunk:
                if not self.closing:
                    self.acks.disconnected()
                return
            pending, pids = _pubacks(pending + chunk)
            if pids is None:  # not a packet a publisher expects: start over
                self.acks.disconnected()
                return
            self.acks.ack(pids)


def _pubacks(data: bytes) -> tuple[bytes, list[int] | None]:
    """The packet ids of the whole PUBACKs in ``data``, and the bytes left over. A
    broker sends a 3.1.1 publisher only short packets (PUBACK: two bytes after the
    header); anything longer is a protocol error (None)."""
    pids, i, end = [], 0, len(data)
    while end - i >= 2:
        size = data[i + 1]
        if size & 0x80:
            return b"", None
        if end - i < 2 + size:
            break
        if data[i] >> 4 == 4 and size >= 2:
            pids.append(int.from_bytes(data[i + 2:i + 4], "big"))
        i += 2 + size
    return data[i:], pids


def _connect(broker: Broker, client_id: str, acks: Acks, patience_s: float) -> Wire:
    """A connection, retried each second for ``patience_s`` (the broker restarting)."""
    deadline = time.monotonic() + patience_s
    while True:
        try:
            wire = Wire(broker, client_id, acks)
        except ConnectionError:
            if time.monotonic() >= deadline:
                raise
            time.sleep(1.0)
            continue
        acks.lost = False
        return wire


def replay(moments: list[Moment], broker: Broker, *, speed: float = 0.0,
           prefix: str = "twin/readings", client_id: str = "twin-replay") -> ReplayStats:
    """Publish ``moments`` (see :func:`read_moments`) with QoS 1; returns when the broker
    has acknowledged all. A broken connection is reopened and every message not yet
    acknowledged is sent again (flagged DUP; storing a reading twice changes nothing)."""
    if speed < 0:
        raise ValueError(f"speed must be 0 (as fast as possible) or positive, got {speed}")
    packets = [publish_packet(f"{prefix}/{m.station}", m.payload(), i % PACKET_IDS + 1)
               for i, m in enumerate(moments)]
    due = _schedule(moments, speed)
    acks = Acks(len(packets))
    wire = _connect(broker, client_id, acks, CONNECT_S)
    started = time.perf_counter()
    try:
        wire = _send_all(packets, due, acks, wire,
                         lambda: _connect(broker, client_id, acks, CONNECT_S), started)
    finally:
        wire.close()
    return ReplayStats(len(moments), sum(len(m.readings) for m in moments),
                       time.perf_counter() - started)


def _schedule(moments: list[Moment], speed: float) -> list[float] | None:
    """Seconds after the start at which each message is due (None: all at once)."""
    if not speed or not moments:
        return None
    first = moments[0].time
    return [(m.time - first).total_seconds() / speed for m in moments]


def _send_all(packets: list[bytes], due: list[float] | None, acks: Acks, wire: Wire,
              reconnect: Callable[[], Wire], started: float) -> Wire:
    """Write blocks of at most BLOCK messages, never more than WINDOW unacknowledged
    and none before it is due; returns the connection in use at the end."""
    n, sent, resend_until = len(packets), 0, 0
    while acks.base < n:
        if acks.lost:
            wire.close()
            wire = reconnect()
            sent, resend_until = acks.base, sent
        room = min(n, acks.base + WINDOW)
        end = min(room, sent + BLOCK)
        if due is not None:
            end = min(end, bisect.bisect_right(due, time.perf_counter() - started))
        if end > sent:
            wire.send(b"".join(_dup(p) if i < resend_until else p
                               for i, p in enumerate(packets[sent:end], sent)))
            sent = end
        elif sent >= room:  # the window is full, or everything is sent
            base = acks.base
            acks.wait(lambda b=base: acks.base != b, 1.0)
        else:
            time.sleep(min(1.0, max(0.0, due[sent] - (time.perf_counter() - started))))
    return wire


def _dup(packet: bytes) -> bytes:
    return bytes([packet[0] | 0x08]) + packet[1:]
