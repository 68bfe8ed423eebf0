"""Replay the demo readings over MQTT, as the stations would have sent them.

The demo's ``readings.csv`` (station by station) is put back in time order and sent as
one message per station and time: ``<prefix>/<station_code>`` with a JSON array of that
moment's readings ``{property, time, value, unit, quality}``, QoS 1. ``speed`` 0 sends as
fast as the broker acknowledges; otherwise it is a time multiplier (3600: an hour of
readings a second). ``window_min`` sends a station's readings of that many minutes as
one message instead. Used by ``twin ingest replay`` and the ingest benchmark.
"""

from __future__ import annotations

import csv
import json
import threading
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Callable

from twin.ingest.mqtt import Broker

MAX_OUTSTANDING = 5000  # messages published but not yet acknowledged by the broker


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
    """A paho publisher that keeps at most MAX_OUTSTANDING messages unacknowledged."""

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


def replay(moments: list[Moment], broker: Broker, *, speed: float = 0.0,
           prefix: str = "twin/readings", client_id: str = "twin-replay",
           progress: Callable[[int], None] | None = None) -> ReplayStats:
    """Publish ``moments`` (see :func:`read_moments`); returns when the broker holds all."""
    if speed < 0:
        raise ValueError(f"speed must be 0 (as fast as possible) or positive, got {speed}")
    stats, pub = ReplayStats(), Publisher(broker, client_id)
    if not pub.connected.wait(30):
        pub.client.loop_stop()
        raise ConnectionError(f"no MQTT broker answered at {broker.host}:{broker.port}")
    started = time.perf_counter()
    first = moments[0].time if moments else None
    for m in moments:
        if speed and first is not None:
            due = started + (m.time - first).total_seconds() / speed
            pause = due - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
        pub.publish(f"{prefix}/{m.station}", m.payload())
        stats.messages += 1
        stats.readings += len(m.readings)
        if progress:
            progress(len(m.readings))
    pub.close()
    stats.seconds = time.perf_counter() - started
    return stats
