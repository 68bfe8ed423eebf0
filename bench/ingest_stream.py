"""Streaming ingest: sustained MQTT and HTTP batch rates against the COPY floor.

    .venv/bin/python bench/ingest_stream.py [--readings 200000] [--batch 10000]

The same demo readings (the earliest N, in time order) go four ways into a scratch
database holding the demo stations:

- floor: PostgreSQL COPY of the rows as CSV into an unindexed, unlogged table;
- csv: twin's bulk loader (COPY, checks, merge into the partitions);
- mqtt: the replay in one process publishes (QoS 1) to a Mosquitto started here
  (persistence on), ``twin ingest mqtt`` in another stores them; timed from the first
  publish until the last reading is in the table, so the rate is what the whole chain
  sustains (the publisher included, on the same cores). Twice: one message
  per station and time (about 3 readings a message), and one per station and hour
  (``twin ingest replay --window 60``, a logger's upload);
- mqtt drain: the same messages queued in the broker first (the subscriber's session
  persists while it is stopped), then ``twin ingest mqtt`` started and timed until
  the last reading is stored: the subscriber's own rate, without the publisher;
- mqtt publish only: the replay queueing those messages (nobody subscribed), until the
  broker has acknowledged the last: the publisher's own rate;
- http: ``POST /readings`` to ``twin serve`` (one worker) in batches of ``--http-batch``.

Readings/s for each, and how many times slower than the floor each path is; the
table is also written to bench/out/ingest_stream.md.
"""

from __future__ import annotations

import argparse
import csv
import json
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import ensure_out, libpq, scratch_database, table
from tests.mqtt_broker import Mosquitto, free_port, wait_for_port
from twin.config import load_settings
from twin.db.engine import make_engine
from twin.db.schema import upgrade
from twin.demo.replay import read_moments, replay
from twin.ingest.mqtt import Broker
from twin.ingest.readings import load_readings
from twin.ingest.vector import load_vector
from twin.registry import load_registry

READINGS_PER_DAY = 44_640  # the demo's 65 stations
COLS = ("station_code text, observed_at timestamptz, property text, value float8, unit text, "
        "quality text")


def prepare(folder: Path, url: str, n: int) -> tuple[list, Path]:
    """Demo stations loaded, the earliest ``n`` readings as moments and as a CSV."""
    from twin.demo.generate import generate

    settings = load_settings()
    days = max(1, -(-n // READINGS_PER_DAY))
    generate(folder, days=days, scale=0.1, dem=False)
    engine = make_engine(url)
    upgrade(engine, load_registry(settings.layers_dir))
    load_vector(engine, load_registry(settings.layers_dir), "sensor_stations",
                folder / "stations.csv", extent=load_settings().plausible_extent)
    engine.dispose()
    moments = read_moments(folder / "readings.csv", n)
    path = folder / "stream.csv"
    with open(path, "w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(["station_code", "observed_at", "property", "value", "unit", "quality"])
        for m in moments:
            for item in map(json.loads, m.readings):
                out.writerow([m.station, item["time"], item["property"], item["value"],
                              item["unit"], item["quality"]])
    return moments, path


def stored(dsn: str) -> int:
    with psycopg.connect(dsn) as conn:
        return conn.execute("SELECT count(*) FROM sensor_readings").fetchone()[0]


def reset(dsn: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("TRUNCATE sensor_readings, ingest_dead_letters")


def floor(dsn: str, path: Path) -> float:
    with psycopg.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute(f"CREATE UNLOGGED TABLE IF NOT EXISTS floor_copy ({COLS})")
        cur.execute("TRUNCATE floor_copy")
        conn.commit()
        started = time.perf_counter()
        with open(path, "rb") as fh, cur.copy(
                "COPY floor_copy FROM STDIN WITH (FORMAT csv, HEADER true)") as copy:
            while chunk := fh.read(1 << 20):
                copy.write(chunk)
        conn.commit()
        return time.perf_counter() - started


def csv_loader(url: str, path: Path) -> float:
    engine = make_engine(url)
    try:
        return load_readings(engine, path).seconds
    finally:
        engine.dispose()


def _publish(moments, broker_url: str, prefix: str) -> float:
    """Seconds the replay took until the broker acknowledged every message."""
    stats = replay(moments, Broker.parse(broker_url), prefix=prefix, client_id="bench-replay")
    print(f"  publisher: {stats.line()}", flush=True)
    return stats.seconds


def _subscriber(url: str, broker, batch: int, batch_ms: int) -> subprocess.Popen:
    """``twin ingest mqtt`` in its own process, once it has subscribed."""
    env = {**os.environ, "TWIN_DATABASE_URL": url}
    sub = subprocess.Popen(
        [sys.executable, "-c", "from twin.cli import main; main()", "ingest", "mqtt",
         "--broker", broker.url, "--topic", "bench/readings/+", "--client-id", "bench-ingest",
         "--batch", str(batch), "--batch-ms", str(batch_ms), "--report-s", "0"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    while "subscribed to" not in (line := sub.stdout.readline()):
        if not line:
            raise RuntimeError("the subscriber stopped before subscribing")
    return sub


def _stop(sub: subprocess.Popen) -> None:
    sub.terminate()
    print("  subscriber: " + sub.communicate(timeout=60)[0].strip().splitlines()[-1])


def _until_stored(dsn: str, n: int, started: float) -> float:
    while stored(dsn) < n:
        time.sleep(0.05)
    return time.perf_counter() - started


def mqtt(url: str, dsn: str, moments: list, folder: Path, batch: int, batch_ms: int
         ) -> tuple[float, float, float]:
    """Seconds from the first publish until every reading is stored (live), from the
    subscriber's start until every reading queued in the broker is stored (drain), and
    of the publisher alone (queueing them, no subscriber reading)."""
    n = sum(len(m.readings) for m in moments)
    broker = Mosquitto(Path(tempfile.mkdtemp(dir=folder)), autosave_s=1800).start()
    try:
        sub = _subscriber(url, broker, batch, batch_ms)
        try:
            pub = multiprocessing.get_context("fork").Process(
                target=_publish, args=(moments, broker.url, "bench/readings"))
            started = time.perf_counter()
            pub.start()
            live = _until_stored(dsn, n, started)
            pub.join()
        finally:
            _stop(sub)
        reset(dsn)
        publish = _publish(moments, broker.url, "bench/readings")  # for the stopped session
        sub = _subscriber(url, broker, batch, batch_ms)
        try:
            drain = _until_stored(dsn, n, time.perf_counter())
        finally:
            _stop(sub)
    finally:
        broker.stop()
    return live, drain, publish


def http(url: str, moments: list, batch: int) -> float:
    """Seconds to POST every reading to /readings, ``batch`` readings a request."""
    import httpx

    from twin.server.auth.keys import create_key

    engine = make_engine(url)
    key, _ = create_key(engine, "bench", "admin")  # the demo's stations have 3 agencies
    engine.dispose()
    items = [{"station": m.station, **json.loads(r)} for m in moments for r in m.readings]
    bodies = [json.dumps(items[i:i + batch]).encode() for i in range(0, len(items), batch)]
    port = free_port()
    env = {**os.environ, "TWIN_DATABASE_URL": url}
    log = open(ensure_out() / "ingest_stream-serve.log", "w")  # noqa: SIM115 - the server writes it until stopped
    server = subprocess.Popen([sys.executable, "-c", "from twin.cli import main; main()",
                               "serve", "--port", str(port), "--workers", "1"], env=env,
                              stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for_port(port, timeout=300)
        headers = {"X-API-Key": key, "Content-Type": "application/json"}
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=300) as client:
            client.post("/readings", content=b"[]", headers=headers).raise_for_status()
            started = time.perf_counter()
            for body in bodies:
                client.post("/readings", content=body, headers=headers).raise_for_status()
            return time.perf_counter() - started
    finally:
        server.terminate()
        server.wait(60)
        log.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--readings", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=10_000,
                        help="subscriber batch (messages)")
    parser.add_argument("--batch-ms", type=int, default=1000, help="subscriber batch (ms)")
    parser.add_argument("--http-batch", type=int, default=5000, help="readings per request")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, scratch_database("twin_bench_stream") as url:
        folder, dsn = Path(tmp), libpq(url)
        moments, path = prepare(folder, url, args.readings)
        n = sum(len(m.readings) for m in moments)
        print(f"{n:,} readings; subscriber batches of {args.batch} messages or "
              f"{args.batch_ms} ms")
        seconds = {"floor: COPY into an unlogged table": floor(dsn, path)}
        reset(dsn)
        seconds["csv: twin load (COPY + merge)"] = csv_loader(url, path)
        reset(dsn)
        for window in (0, 60):
            group = read_moments(path, None, window)
            label = f"{n / len(group):.0f} readings a message ({len(group):,})"
            live, drain, publish = mqtt(url, dsn, group, folder, args.batch, args.batch_ms)
            seconds[f"mqtt: replay -> broker -> twin ingest mqtt, {label}"] = live
            seconds[f"mqtt drain: queued -> twin ingest mqtt, {label}"] = drain
            seconds[f"mqtt publish only: twin ingest replay -> broker, {label}"] = publish
            assert stored(dsn) == n
            reset(dsn)
        seconds[f"http: POST /readings ({args.http_batch} a request)"] = http(
            url, moments, args.http_batch)
        assert stored(dsn) == n
    base = n / next(iter(seconds.values()))
    text = table([[name, f"{s:.2f}", f"{n / s:,.0f}", f"{base / (n / s):.1f}x"]
                  for name, s in seconds.items()], ["path", "seconds", "readings/s", "vs floor"])
    print(text)
    (ensure_out() / "ingest_stream.md").write_text(
        f"{n:,} readings; subscriber batches of {args.batch} messages or {args.batch_ms} ms; "
        f"HTTP {args.http_batch} readings a request\n\n```\n{text}\n```\n")


if __name__ == "__main__":
    main()
