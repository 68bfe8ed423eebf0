"""MQTT ingest against a real Mosquitto started by the tests and real PostGIS: a burst
with duplicates, out-of-order and malformed messages arrives exactly once; killing the
subscriber (SIGKILL) or restarting the broker mid-stream loses nothing; a database that
is away keeps messages unacknowledged until it is back; SIGTERM writes what is in hand;
the demo replay reaches the database."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import text

from tests.city import EXTENT
from tests.files import write_csv
from tests.mqtt_broker import MOSQUITTO, Mosquitto, free_port
from twin.demo.replay import Publisher
from twin.ingest.mqtt import Broker, MqttOptions, Refused, Subscriber, topic_target
from twin.ingest.vector import load_vector
from twin.server.db import libpq_url

pytestmark = pytest.mark.skipif(not Path(MOSQUITTO).exists(), reason="mosquitto not installed")

STATIONS = ["MQ-AIR-1", "MQ-AIR-2", "MQ-WL-1"]
T0 = datetime(2026, 10, 10, tzinfo=UTC)
WAIT_S = 120  # upper bound for polling only; no test asserts on time


@pytest.fixture(scope="module")
def stations(engine, registry, tmp_path_factory):
    path = write_csv(tmp_path_factory.mktemp("mq") / "stations.csv",
                     ["code", "name", "kind", "properties", "lon", "lat"],
                     [["MQ-AIR-1", "Ba Đình", "air", "pm25;pm10", 105.83, 21.03],
                      ["MQ-AIR-2", "Đống Đa", "air", "pm25;pm10", 105.82, 21.01],
                      ["MQ-WL-1", "Tô Lịch", "water_level", "water_level_m", 105.81, 21.00]])
    load_vector(engine, registry, "sensor_stations", path, extent=EXTENT, mode="upsert")
    return engine


@pytest.fixture(scope="module")
def broker(tmp_path_factory):
    mosquitto = Mosquitto(tmp_path_factory.mktemp("mosquitto")).start()
    yield mosquitto
    mosquitto.stop()


@pytest.fixture()
def prefix(stations) -> str:
    """A topic prefix of its own per test; the test's readings are cleared first."""
    with stations.begin() as conn:
        conn.execute(text("TRUNCATE ingest_dead_letters"))
        conn.execute(text("DELETE FROM sensor_readings WHERE station_id IN (SELECT id FROM "
                          "sensor_stations WHERE external_id LIKE 'MQ-%')"))
    return f"test/{uuid.uuid4().hex[:8]}/readings"


def dsn(engine) -> str:
    return libpq_url(engine.url.render_as_string(False))


def count(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(text(
            "SELECT count(*) FROM sensor_readings r JOIN sensor_stations s ON s.id = "
            "r.station_id WHERE s.external_id LIKE 'MQ-%'")).scalar()


def dead_letters(engine) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(
            "SELECT source, topic, payload, reason FROM ingest_dead_letters ORDER BY id"))]


def wait_until(check, what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.05)


def messages(prefix: str, start: int, n: int) -> list[tuple[str, bytes]]:
    """n station messages (two readings each) at distinct times from ``start``."""
    out = []
    for k in range(start, start + n):
        t = (T0 + timedelta(minutes=k)).isoformat()
        station = STATIONS[k % 2]
        out.append((f"{prefix}/{station}", json.dumps([
            {"property": "pm25", "time": t, "value": k % 97},
            {"property": "pm10", "time": t, "value": k % 89, "unit": "µg/m³"}]).encode()))
    return out


def publish(broker: Mosquitto, items: list[tuple[str, bytes]]) -> None:
    """Publish with QoS 1; returns once the broker has acknowledged every message."""
    pub = Publisher(Broker.parse(broker.url), f"test-pub-{uuid.uuid4().hex[:8]}")
    assert pub.connected.wait(30)
    for topic, payload in items:
        pub.publish(topic, payload)
    pub.close()


class Running:
    """An in-process subscriber on a thread."""

    def __init__(self, engine, broker: Mosquitto, prefix: str, **opts):
        target = opts.pop("dsn", None) or dsn(engine)
        options = MqttOptions(Broker.parse(broker.url), (f"{prefix}/#",),
                              opts.pop("client_id", f"test-sub-{uuid.uuid4().hex[:8]}"), **opts)
        self.subscriber = Subscriber(target, options)
        self.thread = threading.Thread(target=self.subscriber.run, args=(False,), daemon=True)
        self.thread.start()
        assert self.subscriber.subscribed.wait(WAIT_S)

    def stop(self):
        self.subscriber.stop()
        self.thread.join(WAIT_S)
        assert not self.thread.is_alive()


def cli_subscriber(engine, broker: Mosquitto, prefix: str, client_id: str, *extra: str):
    """``twin ingest mqtt`` in a process of its own, once it has subscribed."""
    env = {**os.environ, "TWIN_DATABASE_URL": engine.url.render_as_string(False)}
    proc = subprocess.Popen(
        [sys.executable, "-c", "from twin.cli import main; main()", "ingest", "mqtt",
         "--broker", broker.url, "--topic", f"{prefix}/+", "--topic", f"{prefix}/+/+",
         "--client-id", client_id, "--report-s", "0", *extra],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines = []
    while not lines or "subscribed to" not in lines[-1]:
        line = proc.stdout.readline()
        assert line, "".join(lines)  # the subscriber ended before subscribing
        lines.append(line)
    return proc


# --- topics -----------------------------------------------------------------------------

def test_topics_name_station_and_property():
    prefixes = MqttOptions(Broker.parse("mqtt://h"), ("twin/readings/+/+", "a/#")).prefixes
    assert topic_target("twin/readings/AQ-1/pm25", prefixes) == ("AQ-1", "pm25")
    assert topic_target("twin/readings/AQ-1", prefixes) == ("AQ-1", None)
    assert topic_target("a/AQ-1", prefixes) == ("AQ-1", None)
    for bad in ("twin/readings", "twin/readings/a/b/c", "twin/readings//pm25", "b/AQ-1"):
        with pytest.raises(Refused):
            topic_target(bad, prefixes)
    assert Broker.parse("mqtts://u:p%40@host") == Broker("host", 8883, True, "u", "p@")
    with pytest.raises(ValueError):
        Broker.parse("http://host")


# --- a burst ----------------------------------------------------------------------------

def test_burst_arrives_exactly_once_and_malformed_ones_are_dead_letters(stations, broker, prefix):
    good = messages(prefix, 0, 300)
    late = [(f"{prefix}/MQ-WL-1/water_level_m",
             json.dumps({"time": "2026-07-31T23:00:00+07:00", "value": 4.2}).encode())]
    single = [(f"{prefix}/MQ-WL-1/water_level_m",
               json.dumps([{"time": (T0 + timedelta(minutes=k)).isoformat(), "value": k / 10}
                           for k in (3, 1, 2)]).encode())]  # out of order within a message
    malformed = [(f"{prefix}/MQ-AIR-1/pm25", b"{not json"),
                 (f"{prefix}/MQ-AIR-1/pm25", b'{"time": "2026-10-10T00:00:00Z", "value": "x"}'),
                 (f"{prefix}/NO-SUCH-STATION", json.dumps(
                     {"property": "pm25", "time": T0.isoformat(), "value": 1}).encode()),
                 (f"{prefix}/MQ-AIR-1/pm25/extra", b"{}"),
                 (f"{prefix}/MQ-WL-1/water_level_m", b"\xff\x00binary")]
    burst = list(reversed(good)) + good[:50] + late + single + malformed + single
    sub = Running(stations, broker, prefix, batch_messages=64, batch_ms=20)
    publish(broker, burst)
    wait_until(lambda: sub.subscriber.stats.messages >= len(burst), "the burst")
    sub.stop()
    assert count(stations) == 2 * 300 + 1 + 3
    stats = sub.subscriber.stats
    assert (stats.inserted, stats.duplicates, stats.dead_lettered) == (604, 2 * 50 + 3, 5)
    letters = dead_letters(stations)
    assert sorted((s, t) for s, t, _p, _r in letters) == sorted(("mqtt", t) for t, _ in malformed)
    reasons = {payload: reason for _s, _t, payload, reason in letters}
    expected = ["not JSON", "must be a number", "unknown station", "topic must be"]
    for (_topic, payload), words in zip(malformed, expected, strict=False):
        assert words in reasons[payload.decode()]
    assert "not UTF-8" in reasons["\\xff\\x00binary"]  # escaped, NUL included
    with stations.connect() as conn:
        late_part = conn.execute(text(
            "SELECT tableoid::regclass::text FROM sensor_readings WHERE value = 4.2 AND "
            "property = 'water_level_m'")).scalar()
    assert late_part == "sensor_readings_2026_07"


# --- the subscriber killed, the broker restarted ---------------------------------------

def test_killing_the_subscriber_mid_stream_loses_nothing(stations, broker, prefix):
    client_id = f"test-kill-{uuid.uuid4().hex[:8]}"
    first, second = messages(prefix, 0, 1500), messages(prefix, 1500, 500)
    proc = cli_subscriber(stations, broker, prefix, client_id, "--batch", "5", "--batch-ms", "5")
    publish(broker, first)
    wait_until(lambda: count(stations) > 0, "the first readings")
    proc.send_signal(signal.SIGKILL)  # no flush, no acknowledgement of the batch in hand
    proc.wait(30)
    publish(broker, second)  # queued by the broker while nobody listens
    proc = cli_subscriber(stations, broker, prefix, client_id, "--batch", "200")
    wait_until(lambda: count(stations) == 2 * 2000, "every reading")
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=WAIT_S)
    assert proc.returncode == 0, out
    assert "readings stored" in out
    assert count(stations) == 4000 and dead_letters(stations) == []


def test_restarting_the_broker_mid_stream_loses_nothing(stations, prefix, tmp_path):
    mosquitto = Mosquitto(tmp_path / "broker").start()
    try:
        sub = Running(stations, mosquitto, prefix, batch_messages=5, batch_ms=5,
                      retry_max_s=2)
        publish(mosquitto, messages(prefix, 0, 1500))
        wait_until(lambda: count(stations) > 0, "the first readings")
        mosquitto.restart()  # SIGTERM: the broker saves sessions and queues, comes back
        publish(mosquitto, messages(prefix, 1500, 500))
        wait_until(lambda: count(stations) == 4000, "every reading")
        sub.stop()
    finally:
        mosquitto.stop()
    assert sub.subscriber.generation >= 2  # it did reconnect
    assert dead_letters(stations) == []


# --- the database away, shutdown, replay ------------------------------------------------

def test_database_unavailable_keeps_messages_unacknowledged(stations, broker, prefix):
    away = f"host=127.0.0.1 port={free_port()} dbname=nowhere connect_timeout=2"
    sub = Running(stations, broker, prefix, dsn=away, batch_messages=50, batch_ms=10,
                  retry_max_s=1)
    publish(broker, messages(prefix, 0, 200))
    wait_until(lambda: sub.subscriber.received >= 200, "the messages")
    assert count(stations) == 0
    sub.subscriber.dsn = dsn(stations)  # the database is back
    wait_until(lambda: count(stations) == 400, "every reading")
    sub.stop()


def test_stop_writes_the_batch_in_hand(stations, broker, prefix):
    sub = Running(stations, broker, prefix, batch_messages=10_000, batch_ms=600_000)
    publish(broker, messages(prefix, 0, 40))
    wait_until(lambda: sub.subscriber.received >= 40, "the messages to arrive")
    assert count(stations) == 0  # the batch waits for more (or 10 minutes)
    sub.stop()
    assert count(stations) == 80


def test_replay_publishes_the_readings_csv(stations, broker, prefix, tmp_path):
    from twin.cli import main

    rows = []
    for k in range(30):
        t = (datetime(2026, 10, 1, tzinfo=timezone(timedelta(hours=7)))
             + timedelta(minutes=5 * k)).isoformat()
        rows += [["MQ-AIR-2", t, "pm25", f"{k + 0.5}", "µg/m³", "good"],
                 ["MQ-AIR-2", t, "pm10", "" if k == 3 else f"{k}", "µg/m³",
                  "missing" if k == 3 else "good"],
                 ["MQ-WL-1", t, "water_level_m", f"{k / 100:.2f}", "m", "good"]]
    path = write_csv(tmp_path / "readings.csv", ["station_code", "observed_at", "property",
                                                 "value", "unit", "quality"], rows)
    sub = Running(stations, broker, prefix, batch_messages=20, batch_ms=20)
    result = CliRunner().invoke(main, ["ingest", "replay", str(path), "--broker", broker.url,
                                       "--prefix", prefix, "--speed", "0"])
    assert result.exit_code == 0, result.output
    assert "published 90 readings in 60 messages" in result.output
    wait_until(lambda: count(stations) == 90, "the replayed readings")
    sub.stop()
    with stations.connect() as conn:
        missing = conn.execute(text("SELECT quality FROM sensor_readings WHERE value IS NULL "
                                    "AND property = 'pm10'")).scalars().all()
    assert missing == ["missing"]
