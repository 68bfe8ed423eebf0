"""Alerts: from a reading's commit to the alert's MQTT message and webhook delivery, and
what 500 active rules cost the ingest rate.

    .venv/bin/python bench/alerts.py [--seconds 15] [--rates 1000,10000]

A scratch database holds the demo's stations and 500 enabled rules over them: one
``stuck`` rule per air-quality station (PM2.5, the same value 3 times: the rules the
benchmark fires) and threshold rules over every station's properties for the rest
(high thresholds the stream never reaches: they are evaluated on every batch, as real
rules are, without firing). ``twin alerts dispatch`` runs as its own process against a
Mosquitto started here and a webhook receiver on loopback in this process.

For each target rate, readings go through the streaming write path
(:func:`twin.ingest.stream.write_batch`, as ``POST /readings`` and ``twin ingest mqtt``
store them, rules evaluated after commit) in batches every 100 ms, each station and
property once per simulated second; every batch also holds a run of three equal PM2.5
values at one station (the stations in turn), which opens its stuck alert (the next
value there resolves it). Latency: from the start of the write of the batch holding the run
(so it includes the write, its commit and the rule evaluation) to the arrival of the
``alert.opened`` message on ``twin/alerts/events`` and of its webhook POST; and, as
"after write", from the write call's return (readings committed, rules evaluated, the
event committed): the delivery's own share. "write p50": the batch write itself.

Ingest cost: the same batches of 1,000 readings written as fast as they go, with the
rules enabled and with every rule disabled (then the write path skips evaluation
after one index probe), alternated ``--alternations`` times; the medians (and the bests)
are compared.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import paho.mqtt.client as mqtt
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import ensure_out, libpq, scratch_database, table
from tests.mqtt_broker import Mosquitto
from twin.alerts import loader
from twin.alerts.rules import RANGES, parse_rule
from twin.config import load_settings
from twin.db.engine import make_engine
from twin.db.schema import upgrade
from twin.ingest.observations import Parsed, Reading
from twin.ingest.stream import write_batch
from twin.ingest.vector import load_vector
from twin.registry import load_registry

RULES = 500
SECRET = "bench-secret"
LOW = {"pm25": (10, 40), "pm10": (20, 60), "no2": (10, 50), "o3": (20, 80), "co": (300, 900),
       "so2": (5, 20), "temperature": (20, 32), "humidity": (50, 90),
       "water_level_m": (3, 6), "rain_mm": (0, 2)}


def prepare(folder: Path, url: str) -> list[tuple[str, str, list[str]]]:
    """Demo stations loaded; (code, kind, properties) of each."""
    from twin.demo.generate import generate

    settings = load_settings()
    registry = load_registry(settings.layers_dir)
    generate(folder, days=1, scale=0.1, dem=False)
    engine = make_engine(url)
    upgrade(engine, registry)
    load_vector(engine, registry, "sensor_stations", folder / "stations.csv",
                extent=settings.plausible_extent)
    engine.dispose()
    with psycopg.connect(libpq(url)) as conn:
        return conn.execute("SELECT external_id, kind, properties FROM sensor_stations "
                            "ORDER BY external_id").fetchall()


def make_rules(stations) -> list[dict]:
    notify = {"mqtt": True, "webhooks": ["bench"], "languages": ["vi", "en"]}
    base = {"severity": "minor", "ack_roles": ["environment"], "notify": notify}
    rules = [{**base, "id": f"stuck-{code.lower()}", "subject": {"stations": {"ids": [code]}},
              "condition": {"kind": "stuck", "property": "pm25", "times": 3}}
             for code, _kind, props in stations if "pm25" in props]
    pairs = [(code, p) for code, _k, props in stations for p in props if p in LOW]
    i = 0
    while len(rules) < RULES:
        code, prop = pairs[i % len(pairs)]
        top, ceiling = LOW[prop][1], RANGES[prop][1]
        level = round(top + (ceiling - top) * (0.9 - 0.01 * (i // len(pairs) % 50)), 3)
        rules.append({**base, "id": f"thr-{i}", "subject": {"stations": {"ids": [code]}},
                      "condition": {"kind": "threshold", "property": prop, "above": level,
                                    "clear_below": round((top + level) / 2, 3)}})
        i += 1
    return rules


def load_rules(dsn: str, raws: list[dict]) -> None:
    with psycopg.connect(dsn) as conn, conn.transaction(), conn.cursor() as cur:
        for raw in raws:
            rule = parse_rule(raw, webhooks={"bench"})
            loader.check(cur, rule)
            loader.store(cur, rule, "config")


class Clock:
    """Simulated seconds: each batch is one simulated second after the previous."""

    def __init__(self, start: datetime):
        self.start, self.second = start, 0

    def tick(self) -> datetime:
        self.second += 1
        return self.start + timedelta(seconds=self.second)


def batch(pairs, size: int, at: datetime, rng: random.Random,
          run_at: str | None = None) -> Parsed:
    """``size`` readings cycling over (station, property) at ``at`` (+1 ms each repeat),
    and a run of three equal PM2.5 values at station ``run_at``."""
    readings = []
    for i in range(size):
        code, prop = pairs[i % len(pairs)]
        lo, hi = LOW[prop]
        readings.append(Reading(code, prop, at + timedelta(milliseconds=i // len(pairs)),
                                round(rng.uniform(lo, hi), 4), None, None))
    if run_at:
        readings += [Reading(run_at, "pm25", at + timedelta(milliseconds=900 + k), 77.7,
                             None, None) for k in range(3)]
    return Parsed(readings=readings)


class Arrivals:
    """When each stuck rule's ``alert.opened`` arrived, per channel."""

    def __init__(self):
        self.times: dict[str, dict[str, list[float]]] = {"mqtt": {}, "webhook": {}}
        self.lock = threading.Lock()

    def add(self, channel: str, message: dict) -> None:
        if message.get("type") == "alert.opened":
            with self.lock:
                self.times[channel].setdefault(message["alert"]["rule"], []).append(time.time())


def receiver(arrivals: Arrivals) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            arrivals.add("webhook", json.loads(body))
            self.send_response(204)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd


def subscriber(url: str, arrivals: Arrivals) -> mqtt.Client:
    host, port = url.removeprefix("mqtt://").split(":")
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    client.on_message = lambda _c, _u, m: arrivals.add("mqtt", json.loads(m.payload))
    client.on_connect = lambda c, *_a: c.subscribe("twin/alerts/events", qos=1)
    client.connect(host, int(port))
    client.loop_start()
    return client


def paced(conn, pairs, stuck: list[str], rate: int, seconds: float, clock: Clock,
          tz: str) -> tuple[float, list[tuple[str, float]]]:
    """Write at ``rate`` readings/s for ``seconds``; (achieved rate, fired runs)."""
    rng, size, fired = random.Random(rate), max(1, rate // 10), []
    written, b, writes = 0, 0, []
    started = tick = time.perf_counter()
    while time.perf_counter() - started < seconds:
        code = stuck[b % len(stuck)]
        parsed = batch(pairs, size, clock.tick(), rng, code)
        at = time.time()
        write_batch(conn, parsed, "http", tz=tz)
        writes.append(time.time() - at)
        if code:
            fired.append((f"stuck-{code.lower()}", at, time.time()))
        written += len(parsed.readings)
        b += 1
        tick += 0.1
        time.sleep(max(0.0, tick - time.perf_counter()))
    return written / (time.perf_counter() - started), fired, writes


def latencies(fired, arrivals: Arrivals, channel: str, wait_s: float = 30
              ) -> tuple[list[float], list[float]]:
    """Seconds from each fired run's write start, and from the write's return (its
    commit and the rules' evaluation done), to its message (runs matched per rule, in
    order); waits up to ``wait_s`` for the last ones."""
    deadline = time.monotonic() + wait_s
    want: dict[str, int] = {}
    for rule, _at, _end in fired:
        want[rule] = want.get(rule, 0) + 1
    while time.monotonic() < deadline:
        with arrivals.lock:
            got = {r: len(arrivals.times[channel].get(r, [])) for r in want}
        if all(got[r] >= n for r, n in want.items()):
            break
        time.sleep(0.1)
    out, after, used = [], [], {}
    with arrivals.lock:
        for rule, at, end in fired:
            i = used.get(rule, 0)
            times = arrivals.times[channel].get(rule, [])
            if i < len(times):
                out.append(times[i] - at)
                after.append(times[i] - end)
            used[rule] = i + 1
    return out, after


def ingest_rate(conn, pairs, clock: Clock, tz: str, batches: int = 20,
                size: int = 1000) -> float:
    rng = random.Random(size)
    started = time.perf_counter()
    for _ in range(batches):
        write_batch(conn, batch(pairs, size, clock.tick(), rng), "http", tz=tz)
    return batches * size / (time.perf_counter() - started)


def set_rules(conn, enabled: bool) -> None:
    with conn.transaction():
        conn.execute("UPDATE alert_rules SET enabled = %s", (enabled,))


def pct(values: list[float], q: int) -> str:
    if not values:
        return "-"
    if len(values) == 1:
        return f"{values[0] * 1000:.0f}"
    return f"{statistics.quantiles(values, n=100, method='inclusive')[q - 1] * 1000:.0f}"


def dispatcher(folder: Path, url: str, broker: str, hook_url: str) -> subprocess.Popen:
    config = folder / "alerts.yaml"
    config.write_text(f"webhooks:\n  bench:\n    url: {hook_url}\n"
                      "    secret_env: TWIN_BENCH_WEBHOOK_SECRET\n", encoding="utf-8")
    env = {**os.environ, "TWIN_DATABASE_URL": url, "TWIN_NOTIFY_ALERTS_CONFIG": str(config),
           "TWIN_BENCH_WEBHOOK_SECRET": SECRET, "TWIN_NOTIFY_MQTT_URL": broker}
    return subprocess.Popen([str(Path(sys.executable).parent / "twin"), "alerts", "dispatch"],
                            env=env, stdout=subprocess.DEVNULL)


def ready(dsn: str, timeout_s: float = 120) -> None:
    """Wait until the dispatcher listens (its two connections are open)."""
    deadline = time.monotonic() + timeout_s
    with psycopg.connect(dsn, autocommit=True) as conn:
        while time.monotonic() < deadline:
            n = conn.execute("SELECT count(*) FROM pg_stat_activity "
                             "WHERE application_name = 'twin-notify' "
                             "AND datname = current_database()"
                             ).fetchone()[0]
            if n >= 2:
                time.sleep(1)
                return
            time.sleep(0.2)
    raise RuntimeError("the dispatcher did not connect")


def delivery_share(dsn: str) -> list[list]:
    """From a delivery's creation (the fan-out of its event) to its end, per channel."""
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "SELECT channel, count(*), percentile_cont(0.5) WITHIN GROUP (ORDER BY s), "
            "percentile_cont(0.95) WITHIN GROUP (ORDER BY s) FROM (SELECT channel, "
            "extract(epoch FROM delivered_at - created_at) * 1000 AS s FROM deliveries "
            "WHERE status = 'delivered') d GROUP BY channel ORDER BY channel").fetchall()
    return [[c, n, f"{p50:.0f}", f"{p95:.0f}"] for c, n, p50, p95 in rows]


def run(args, folder: Path, url: str) -> str:
    stations = prepare(folder, url)
    dsn, tz = libpq(url), load_settings().city.timezone
    raws = make_rules(stations)
    load_rules(dsn, raws)
    stuck = [code for code, _k, props in stations if "pm25" in props]
    pairs = [(code, p) for code, _k, props in stations for p in props if p in LOW]
    broker = Mosquitto(folder / "broker").start()
    arrivals = Arrivals()
    httpd, sub = receiver(arrivals), subscriber(broker.url, arrivals)
    proc = dispatcher(folder, url, broker.url,
                      f"http://127.0.0.1:{httpd.server_address[1]}/hook")
    clock = Clock(datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
                  - timedelta(days=1))
    rows = []
    try:
        ready(dsn)
        # autocommit, as the write paths' connections (twin ingest mqtt, the server's pool)
        with psycopg.connect(dsn, autocommit=True) as conn:
            for rate in args.rates:
                with arrivals.lock:  # the previous rate's arrivals are all matched
                    arrivals.times = {"mqtt": {}, "webhook": {}}
                achieved, fired, writes = paced(conn, pairs, stuck, rate, args.seconds,
                                                clock, tz)
                (mq, mq_after), (wh, wh_after) = (latencies(fired, arrivals, "mqtt"),
                                                  latencies(fired, arrivals, "webhook"))
                rows.append([f"{rate:,}", f"{achieved:,.0f}", pct(writes, 50), len(fired),
                             len(mq), pct(mq, 50), pct(mq, 95), pct(mq_after, 95), len(wh),
                             pct(wh, 50), pct(wh, 95), pct(wh_after, 95)])
                print(rows[-1], flush=True)
            rates = {True: [], False: []}
            for enabled in (False, True) * args.alternations:
                set_rules(conn, enabled)
                rates[enabled].append(ingest_rate(conn, pairs, clock, tz))
            set_rules(conn, True)
    finally:
        proc.terminate()
        proc.wait(30)
        sub.loop_stop()
        httpd.shutdown()
        broker.stop()
    without, with_rules = statistics.median(rates[False]), statistics.median(rates[True])
    best = max(rates[True]) / max(rates[False])
    latency = table(rows, ["target readings/s", "achieved", "write p50 ms", "fired",
                           "MQTT got", "MQTT p50 ms", "MQTT p95 ms", "after write p95",
                           "webhooks got", "webhook p50 ms", "webhook p95 ms",
                           "after write p95"])
    cost = table([["no rules enabled", f"{without:,.0f}", "1.00", "1.00"],
                  [f"{len(raws)} rules enabled", f"{with_rules:,.0f}",
                   f"{with_rules / without:.2f}", f"{best:.2f}"]],
                 [f"ingest (batches of 1,000; median of {len(rates[True])})", "readings/s",
                  "ratio of medians", "ratio of bests"])
    share = table(delivery_share(dsn), ["channel", "delivered", "fan-out to done p50 ms",
                                        "p95 ms"])
    return (f"{len(stations)} stations, {len(raws)} rules ({len(stuck)} stuck rules fired "
            f"in turn, the rest thresholds never reached)\n\n{latency}\n\n{share}\n\n"
            f"{cost}\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--rates", type=lambda s: [int(x) for x in s.split(",")],
                        default=[1000, 10000])
    parser.add_argument("--alternations", type=int, default=4,
                        help="ingest runs with and without rules, in alternation (the "
                             "machine may be shared: medians are reported)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, \
            scratch_database("twin_bench_alerts", keep=args.keep) as url:
        text = run(args, Path(tmp), url)
    print(text)
    (ensure_out() / "alerts.md").write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
