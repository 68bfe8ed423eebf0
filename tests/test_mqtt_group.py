"""A group of ``twin ingest mqtt --group`` processes on MQTT 5 shared subscriptions of a
real Mosquitto, writing to real PostGIS: the broker splits the stream among the members,
every reading is stored exactly once (duplicates sent to another member included), a
member killed (SIGKILL) mid-batch and restarted under its client id loses nothing and
doubles nothing, and the rollups and AQI of station-hours that several members wrote at
once equal those of ``twin rollups rebuild``."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import text

from tests.city import EXTENT
from tests.files import write_csv
from tests.mqtt_broker import MOSQUITTO, Mosquitto
from twin.demo.replay import Publisher
from twin.ingest.mqtt import Broker, MqttOptions

pytestmark = pytest.mark.skipif(not Path(MOSQUITTO).exists(), reason="mosquitto not installed")

STATIONS = ["GRP-AIR-1", "GRP-AIR-2"]
T0 = datetime(2026, 10, 12, tzinfo=UTC)
WAIT_S = 300  # upper bound for polling only; no test asserts on time
OURS = "SELECT id FROM sensor_stations WHERE external_id LIKE 'GRP-%'"
DERIVED = {  # every column, in a fixed order, of our stations' derived rows
    "reading_rollups": "SELECT grain, station_id, property, bucket, n, mean, min, max, p10, "
                       "p50, p90, p95 FROM reading_rollups",
    "station_aqi": "SELECT station_id, scale, period, observed_at, aqi, pollutant, category, "
                   "colour, level, sub_indices::text FROM station_aqi",
    "station_latest": "SELECT station_id, property, observed_at, value, unit, quality "
                      "FROM station_latest",
}


@pytest.fixture(scope="module")
def stations(engine, registry, tmp_path_factory):
    from twin.ingest.vector import load_vector

    path = write_csv(tmp_path_factory.mktemp("grp") / "stations.csv",
                     ["code", "name", "kind", "properties", "lon", "lat"],
                     [["GRP-AIR-1", "Hoàn Kiếm", "air", "pm25;pm10", 105.85, 21.03],
                      ["GRP-AIR-2", "Cầu Giấy", "air", "pm25;pm10", 105.80, 21.03]])
    load_vector(engine, registry, "sensor_stations", path, extent=EXTENT, mode="upsert")
    return engine


@pytest.fixture(scope="module")
def broker(tmp_path_factory):
    mosquitto = Mosquitto(tmp_path_factory.mktemp("mosquitto-group")).start()
    yield mosquitto
    mosquitto.stop()


@pytest.fixture()
def prefix(stations) -> str:
    with stations.begin() as conn:
        conn.execute(text(f"DELETE FROM sensor_readings WHERE station_id IN ({OURS})"))
    return f"grp/{uuid.uuid4().hex[:8]}/readings"


def messages(prefix: str, start: int, n: int) -> list[tuple[str, bytes]]:
    """n messages of two readings (integers: sums are exact in any order); message k is
    station k % 2 at minute k // 2, so consecutive messages of one station-hour go to
    different members."""
    out = []
    for k in range(start, start + n):
        t = (T0 + timedelta(minutes=k // 2)).isoformat()
        out.append((f"{prefix}/{STATIONS[k % 2]}", json.dumps([
            {"property": "pm25", "time": t, "value": (7 * k) % 151},
            {"property": "pm10", "time": t, "value": (11 * k) % 233}]).encode()))
    return out


def expected(items: list[tuple[str, bytes]]) -> set[tuple]:
    rows = set()
    for topic, payload in items:
        for r in json.loads(payload):
            rows.add((topic.rsplit("/", 1)[1], r["property"],
                      datetime.fromisoformat(r["time"]), float(r["value"])))
    return rows


def stored(engine) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(
            "SELECT s.external_id, r.property, r.observed_at, r.value FROM sensor_readings r "
            "JOIN sensor_stations s ON s.id = r.station_id WHERE s.external_id LIKE 'GRP-%'"))]


def count(engine) -> int:
    return len(stored(engine))


def wait_until(check, what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.1)


def publish(broker: Mosquitto, items: list[tuple[str, bytes]]) -> None:
    """QoS 1; returns once the broker has acknowledged every message."""
    pub = Publisher(Broker.parse(broker.url), f"grp-pub-{uuid.uuid4().hex[:8]}")
    assert pub.connected.wait(60)
    for topic, payload in items:
        pub.publish(topic, payload)
    pub.close()


def member(engine, broker: Mosquitto, prefix: str, group: str, client_id: str,
           *extra: str) -> subprocess.Popen:
    """``twin ingest mqtt --group`` in a process of its own, once it has subscribed."""
    env = {**os.environ, "TWIN_DATABASE_URL": engine.url.render_as_string(False)}
    proc = subprocess.Popen(
        [sys.executable, "-c", "from twin.cli import main; main()", "ingest", "mqtt",
         "--broker", broker.url, "--topic", f"{prefix}/+", "--group", group,
         "--client-id", client_id, "--report-s", "0", *extra],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines = []
    while not lines or "subscribed to" not in lines[-1]:
        line = proc.stdout.readline()
        assert line, "".join(lines)  # the member ended before subscribing
        lines.append(line)
    assert f"$share/{group}/{prefix}/+" in lines[-1]
    proc.head = "".join(lines)  # its log until subscribed
    return proc


def stop(proc: subprocess.Popen) -> dict[str, int]:
    """SIGTERM; the member's final counts."""
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=WAIT_S)
    assert proc.returncode == 0, out
    last = re.search(r"([\d,]+) messages, ([\d,]+) readings stored, ([\d,]+) duplicates, "
                     r"([\d,]+) dead letters", out)
    assert last, out
    values = [int(v.replace(",", "")) for v in last.groups()]
    return dict(zip(("messages", "inserted", "duplicates", "dead"), values, strict=True))


def twin(engine, *args: str) -> str:
    from twin.cli import main

    result = CliRunner().invoke(main, list(args), catch_exceptions=False,
                                env={"TWIN_DATABASE_URL": engine.url.render_as_string(False)})
    assert result.exit_code == 0, result.output
    return result.output


def derived(engine) -> dict[str, list[tuple]]:
    with engine.connect() as conn:
        return {name: sorted(tuple(r) for r in conn.execute(text(
                    f"{query} WHERE station_id IN ({OURS})")))
                for name, query in DERIVED.items()}


def assert_derived_equal_a_rebuild(engine) -> None:
    """The derived tables as the streaming members left them (month buckets made
    current by ``twin rollups refresh``) equal a from-scratch ``twin rollups rebuild``."""
    twin(engine, "rollups", "refresh")
    streamed = derived(engine)
    assert streamed["reading_rollups"] and streamed["station_aqi"]
    twin(engine, "rollups", "rebuild")
    rebuilt = derived(engine)
    for name in DERIVED:
        assert streamed[name] == rebuilt[name], name


# --- the group --------------------------------------------------------------------------

def test_group_name_is_one_topic_level():
    opts = MqttOptions(Broker.parse("mqtt://h"), ("a/+", "b/#"), group="g1")
    assert opts.subscriptions == ("$share/g1/a/+", "$share/g1/b/#")
    assert opts.prefixes == [["a"], ["b"]]  # the topics of messages carry no $share
    for bad in ("", "a/b", "+", "x#", " g"):
        with pytest.raises(ValueError):
            MqttOptions(Broker.parse("mqtt://h"), group=bad)


def test_three_members_split_the_stream_exactly_once(stations, broker, prefix):
    group = f"g{uuid.uuid4().hex[:6]}"
    procs = [member(stations, broker, prefix, group, f"{group}-{i}", "--batch", "50",
                    "--batch-ms", "20") for i in range(3)]
    items = messages(prefix, 0, 1200)
    again = items[:200]  # sent twice: the copies may go to different members
    # the copies first: a member writes in arrival order, so once every reading is
    # stored each member has written every message it was handed
    publish(broker, again + items)
    want = expected(items)
    wait_until(lambda: count(stations) == len(want), "every reading")
    counts = [stop(p) for p in procs]
    assert all(c["messages"] > 0 for c in counts), counts  # the broker split the stream
    assert sum(c["messages"] for c in counts) == len(items) + len(again)
    assert sum(c["inserted"] for c in counts) == len(want) == 2 * len(items)
    assert sum(c["duplicates"] for c in counts) == 2 * len(again)
    assert sum(c["dead"] for c in counts) == 0
    rows = stored(stations)
    assert len(rows) == len(set(rows)) and set(rows) == want
    assert_derived_equal_a_rebuild(stations)


def test_member_killed_mid_batch_loses_and_doubles_nothing(stations, broker, prefix):
    group = f"g{uuid.uuid4().hex[:6]}"
    small = ("--batch", "5", "--batch-ms", "5")  # many batches: the kill lands mid-batch
    doomed = member(stations, broker, prefix, group, f"{group}-doomed", *small)
    steady = member(stations, broker, prefix, group, f"{group}-steady", *small)
    first, second = messages(prefix, 0, 1500), messages(prefix, 1500, 500)
    publish(broker, first)
    wait_until(lambda: count(stations) > 200, "the first readings")
    doomed.send_signal(signal.SIGKILL)  # no flush, no acknowledgement of the batch in hand
    doomed.wait(60)
    publish(broker, second)  # the dead member's share waits in its session
    back = member(stations, broker, prefix, group, f"{group}-doomed", "--batch", "100")
    want = expected(first + second)
    wait_until(lambda: count(stations) == len(want), "every reading")
    totals = [stop(back), stop(steady)]
    assert "session resumed" in back.head, back.head
    assert totals[0]["messages"] > 0  # its share, kept in its session while it was dead
    assert sum(c["dead"] for c in totals) == 0
    rows = stored(stations)
    assert len(rows) == len(set(rows)) and set(rows) == want
    assert_derived_equal_a_rebuild(stations)
