"""Faults, for real, on a throwaway PostgreSQL cluster of this module's own (never the
shared one other tests use) and ``twin serve`` with two uvicorn workers:

- PostgreSQL stopped and started under load: requests during the outage get 503 with
  Retry-After (twin's routes, the pygeoapi-bridged ones and the write path alike), no
  500 and no dropped connection; the server recovers without a restart; every reading
  a client was told is stored is there, and a client that retries after a 503 loses
  nothing.
- A readings CSV load and a vector load (mode replace) killed with SIGKILL mid-way
  leave nothing behind: no rows, no partitions, the replaced layer as it was.
- A worker killed with SIGKILL is replaced by uvicorn's supervisor; the server keeps
  answering and its metrics keep the dead worker's counts.

The numbers (outage length, 503 count, recovery time) are printed as ``FAULTS {...}``
(run with ``-s``); no test asserts on time, polling loops have generous caps only.
The MQTT broker restart is covered by tests/test_mqtt.py.
"""

from __future__ import annotations

import csv
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from types import SimpleNamespace

import httpx
import psycopg
import pytest
from sqlalchemy import text

from tests.city import EXTENT
from tests.files import write_csv
from twin.db.cluster import ClusterError, EmbeddedCluster, find_bin_dir
from twin.db.engine import make_engine
from twin.db.schema import upgrade
from twin.ingest.vector import load_vector
from twin.server.auth.keys import create_key
from twin.server.db import libpq_url

try:
    find_bin_dir()
except ClusterError as exc:  # pragma: no cover - depends on the machine
    pytest.skip(f"no PostgreSQL with PostGIS here: {exc}", allow_module_level=True)

WAIT_S = 120          # cap of every polling loop (never asserted as a duration)
OUTAGE_S = 3.0        # how long PostgreSQL stays down under load
STATIONS = ["FA-AIR-1", "FA-AIR-2", "FA-AIR-3"]
RESULTS: dict[str, dict] = {}


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def report(name: str, numbers: dict) -> None:
    RESULTS[name] = numbers
    print(f"\nFAULTS {name} {json.dumps(numbers, sort_keys=True)}", flush=True)


# --- the throwaway cluster, a small city and a served twin -----------------------------

@pytest.fixture(scope="module")
def pg():
    """A PostgreSQL cluster of this module's own, in a 0755 directory under /tmp (the
    postgres system user must enter it when the tests run as root)."""
    workdir = Path(tempfile.mkdtemp(prefix="twin-faults-", dir="/tmp"))
    workdir.chmod(0o755)
    cluster = EmbeddedCluster(workdir / "pgdata", free_port())
    cluster.start()
    url = cluster.ensure_database("twin_faults")
    yield SimpleNamespace(cluster=cluster, url=url, workdir=workdir)
    cluster.stop()
    shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(scope="module")
def city(pg, registry):
    engine = make_engine(pg.url, pool_size=2)
    upgrade(engine, registry)
    header = ["code", "name", "kind", "agency", "properties", "lon", "lat"]
    path = write_csv(pg.workdir / "stations.csv", header,  # the key's agency runs them
                     [[code, f"Trạm {n}", "air", "faults test", "pm25;pm10", 105.80 + n / 100,
                       21.02 + n / 100] for n, code in enumerate(STATIONS)])
    load_vector(engine, registry, "sensor_stations", path, extent=EXTENT, mode="upsert")
    key = create_key(engine, "faults test", "environment")[0]
    yield SimpleNamespace(engine=engine, key=key)
    engine.dispose()


def _twin(*args: str) -> list[str]:
    return [sys.executable, "-c", "from twin.cli import main; main()", *args]


def _env(pg, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TWIN_")}
    env.update(TWIN_DATABASE_URL=pg.url, TWIN_DATA_DIR=str(pg.workdir / "data"), **extra)
    return env


@pytest.fixture(scope="module")
def served(pg, city, tmp_path_factory):
    """``twin serve --workers 2`` as a process of its own; yields its base URL and pid.
    Its log stays in pytest's temporary directory for a post-mortem."""
    port = free_port()
    log_path = tmp_path_factory.mktemp("serve") / "serve.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(_twin("serve", "--host", "127.0.0.1", "--port", str(port),
                                      "--workers", "2"),
                                env=_env(pg), stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        try:
            if httpx.get(base + "/ready", timeout=2).status_code == 200:
                break
        except httpx.TransportError:
            pass
        assert proc.poll() is None, log_path.read_text()[-3000:]
        time.sleep(0.2)
    yield SimpleNamespace(base=base, proc=proc, key=city.key)
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)


# --- load -----------------------------------------------------------------------------

def _tile(lon: float, lat: float, z: int) -> str:
    n = 2 ** z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return f"{z}/{y}/{x}"


READS = {
    "items": "/collections/sensor_stations/items?limit=5",
    "item": f"/collections/sensor_stations/items/{STATIONS[0]}",
    "tile": "/collections/sensor_stations/tiles/WebMercatorQuad/" + _tile(105.81, 21.03, 13),
    "html_items (pygeoapi)": "/collections/sensor_stations/items?f=html&limit=2",
    "edr (pygeoapi)": "/collections/sensor_readings/locations",
    "ready": "/ready",
}


@dataclass
class Outcome:
    at: float                   # when the answer came
    what: str
    status: int | None          # None: the connection failed
    retry_after: str | None = None
    code: str | None = None       # the OGC exception code, or the transport error
    sent: float = 0.0           # when the request left


@dataclass
class Load:
    """Clients reading every route in turn, and one writer posting readings that retries
    after a 503 as Retry-After tells it; all outcomes recorded."""
    base: str
    key: str
    outcomes: list[Outcome] = field(default_factory=list)
    acknowledged: set[tuple[str, str]] = field(default_factory=set)
    stop: threading.Event = field(default_factory=threading.Event)

    def start(self, readers: int = 3) -> list[threading.Thread]:
        threads = [threading.Thread(target=self._read, daemon=True) for _ in range(readers)]
        threads.append(threading.Thread(target=self._write, daemon=True))
        for t in threads:
            t.start()
        return threads

    def _record(self, what: str, response: httpx.Response | None, sent: float) -> Outcome:
        code = None
        if response is not None and response.status_code >= 400:
            code = response.json().get("code")
        outcome = Outcome(time.monotonic(), what, response.status_code if response else None,
                          response.headers.get("retry-after") if response else None, code,
                          sent)
        self.outcomes.append(outcome)
        return outcome

    def _dropped(self, what: str, exc: Exception, sent: float) -> Outcome:
        outcome = Outcome(time.monotonic(), what, None, code=f"{type(exc).__name__}: {exc}",
                          sent=sent)
        self.outcomes.append(outcome)
        return outcome

    def _read(self) -> None:
        with httpx.Client(base_url=self.base, timeout=30) as client:
            while not self.stop.is_set():
                for what, path in READS.items():
                    sent = time.monotonic()
                    try:
                        self._record(what, client.get(path), sent)
                    except httpx.TransportError as exc:
                        self._dropped(what, exc, sent)

    def _write(self) -> None:
        t0 = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(days=1)
        with httpx.Client(base_url=self.base, timeout=30,
                          headers={"X-API-Key": self.key}) as client:
            n = 0
            while not self.stop.is_set():
                at = (t0 + timedelta(seconds=n)).isoformat()
                batch = [{"station": s, "property": "pm25", "time": at, "value": 10.0 + n % 50}
                         for s in STATIONS]
                n += 1
                while True:  # until stored: a 503 means "not stored, try again"
                    sent = time.monotonic()
                    try:
                        outcome = self._record("write", client.post("/readings", json=batch),
                                               sent)
                    except httpx.TransportError as exc:
                        outcome = self._dropped("write", exc, sent)
                    if outcome.status in (200, 201):
                        self.acknowledged.update((s, at) for s in STATIONS)
                        break
                    time.sleep(float(outcome.retry_after or 0.5) / 10)  # quicker for tests
                time.sleep(0.01)


def _stored(engine, since: datetime) -> set[tuple[str, str]]:
    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT s.external_id, r.observed_at FROM sensor_readings r JOIN sensor_stations s "
            "ON s.id = r.station_id WHERE r.observed_at >= :since"), {"since": since}).all()
    return {(code, at.astimezone(UTC).isoformat()) for code, at in rows}


# --- PostgreSQL restarted under load ---------------------------------------------------

def test_database_restart_under_load(pg, city, served):
    load = Load(served.base, served.key)
    threads = load.start()
    time.sleep(2.0)                                   # traffic flowing
    down_at = time.monotonic()
    pg.cluster.stop()
    time.sleep(OUTAGE_S)
    pg.cluster.start()
    up_at = time.monotonic()
    recovered_at = _wait_all_routes_ok(load, up_at)
    time.sleep(2.0)                                   # traffic after recovery
    load.stop.set()
    for t in threads:
        t.join(timeout=60)

    outcomes = load.outcomes
    failures = [o for o in outcomes if o.status is None or o.status >= 400]
    unavailable = [o for o in failures if o.status == 503]
    assert served.proc.poll() is None, "the server must not exit"
    dropped = [(o.what, o.code) for o in outcomes if o.status is None]
    assert not dropped, f"no connection may be dropped: {dropped}"
    assert not [o for o in outcomes if o.status is not None and o.status >= 500
                and o.status != 503], "an outage is a 503, never another 5xx"
    assert failures == unavailable and unavailable, "only 503s, and some during the outage"
    assert all(o.retry_after and o.code == "ServiceUnavailable" for o in unavailable)
    # a request sent during the outage may get its 503 (after OUTAGE_WAIT_S) just after
    # the recovery is seen: "late" is a failed request sent after it
    late = [(o.what, o.status, round(o.sent - up_at, 2)) for o in outcomes
            if o.sent > recovered_at and o.status not in (200, 201)]
    assert not late, f"failures after recovery (route, status, s after start): {late}"
    # which reads a few seconds' outage catches depends on timing (every route's 503s
    # are in the report); the writer retries throughout, so it always meets one
    caught = {o.what for o in unavailable}
    assert "write" in caught and caught & set(READS)
    stored = _stored(city.engine, datetime.now(UTC) - timedelta(days=2))
    assert load.acknowledged and load.acknowledged <= stored, "an acknowledged write was lost"

    first_503 = min(o.at for o in unavailable)
    report("database_restart", {
        "outage_s": round(up_at - down_at, 2),
        "requests": len(outcomes),
        "responses_503": len(unavailable),
        "first_503_after_stop_s": round(first_503 - down_at, 3),
        "last_503_after_start_s": round(max(o.at for o in unavailable) - up_at, 3),
        "recovery_after_start_s": round(recovered_at - up_at, 3),
        "slowest_503_s": _slowest_503(outcomes, down_at, up_at),
        "readings_acknowledged": len(load.acknowledged),
        "readings_lost": len(load.acknowledged - stored),
        "by_route_503": {w: sum(o.what == w for o in unavailable)
                         for w in sorted({o.what for o in unavailable})}})


def _wait_all_routes_ok(load: Load, up_at: float) -> float:
    """The moment from which every route has answered 200/201 at least once."""
    deadline = time.monotonic() + WAIT_S
    wanted = set(READS) | {"write"}
    while time.monotonic() < deadline:
        ok = {o.what: o.at for o in load.outcomes if o.at > up_at and o.status in (200, 201)}
        late_fail = [o for o in load.outcomes if o.at > up_at and o.status == 503]
        if set(ok) >= wanted:
            last_fail = max((o.at for o in late_fail), default=up_at)
            return max(last_fail, min(ok.values()))
        time.sleep(0.1)
    raise AssertionError("the server did not recover after PostgreSQL came back")


def _slowest_503(outcomes: list[Outcome], down_at: float, up_at: float) -> float:
    """The longest gap between two successive outcomes of one client during the outage,
    an upper bound on how long a 503 took to come back."""
    during = sorted(o.at for o in outcomes if down_at <= o.at <= up_at)
    return round(max((b - a for a, b in pairwise(during)), default=0.0), 3)


# --- loads killed mid-way --------------------------------------------------------------

def _loader_writing(dsn: str) -> int | None:
    """The pid of the CLI loader's backend once it holds a transaction that has written."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        row = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND application_name = 'twin' AND backend_xid IS NOT NULL").fetchone()
    return row[0] if row else None


def _kill_mid_way(pg, args: list[str]) -> dict:
    """Run ``twin <args>``, SIGKILL it once its transaction has written, wait until
    PostgreSQL has ended that backend; how far it got."""
    dsn = libpq_url(pg.url)
    started = time.monotonic()
    proc = subprocess.Popen(_twin(*args), env=_env(pg), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    backend = None
    deadline = time.monotonic() + WAIT_S
    while backend is None and time.monotonic() < deadline:
        assert proc.poll() is None, f"the load finished before it could be killed: " \
                                    f"{proc.stdout.read().decode()[-2000:]}"
        backend = _loader_writing(dsn)
        time.sleep(0.02)
    time.sleep(0.3)                                   # deeper into the transaction
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    killed_at = time.monotonic()
    with psycopg.connect(dsn, autocommit=True) as conn:
        while conn.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s",
                           (backend,)).fetchone() and time.monotonic() < deadline:
            time.sleep(0.05)
    return {"killed_after_s": round(killed_at - started, 2), "returncode": proc.returncode,
            "backend_gone_after_s": round(time.monotonic() - killed_at, 2)}


def _counts(engine) -> dict:
    with engine.connect() as conn:
        return {
            "readings": conn.execute(text("SELECT count(*) FROM sensor_readings")).scalar(),
            "partitions": conn.execute(text(
                "SELECT count(*) FROM pg_inherits WHERE inhparent = "
                "'sensor_readings'::regclass")).scalar(),
            "stations": conn.execute(text(
                "SELECT string_agg(external_id, ',' ORDER BY external_id) "
                "FROM sensor_stations")).scalar(),
            "load_runs": conn.execute(text("SELECT count(*) FROM load_runs")).scalar(),
            "dead_letters": conn.execute(text("SELECT count(*) FROM ingest_dead_letters")).scalar(),
        }


def test_readings_load_killed_mid_way_leaves_nothing(pg, city):
    path = pg.workdir / "readings.csv"
    t0 = datetime(2027, 1, 1, tzinfo=UTC)  # months with no partition yet
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["station_code", "observed_at", "property", "value"])
        for minute in range(400_000):
            at = (t0 + timedelta(minutes=minute)).isoformat()
            for code in STATIONS:
                writer.writerow([code, at, "pm25", 20.5])
    before = _counts(city.engine)
    killed = _kill_mid_way(pg, ["load", str(path), "--layer", "sensor_readings"])
    after = _counts(city.engine)
    assert killed["returncode"] == -signal.SIGKILL
    assert after == before, "a killed load must leave no row, partition or run behind"
    report("readings_load_killed", {**killed, "rows_in_file": 1_200_000,
                                    "rows_left": after["readings"] - before["readings"],
                                    "partitions_left": after["partitions"]
                                    - before["partitions"]})


def test_vector_replace_killed_mid_way_leaves_layer_as_it_was(pg, city):
    path = pg.workdir / "many-stations.csv"
    write_csv(path, ["code", "name", "kind", "properties", "lon", "lat"],
              [[f"FA-BULK-{n}", f"Trạm {n}", "air", "pm25", 105.5 + (n % 700) / 1000,
                20.9 + (n // 700) / 1000] for n in range(150_000)])
    before = _counts(city.engine)
    killed = _kill_mid_way(pg, ["load", str(path), "--layer", "sensor_stations",
                                "--mode", "replace"])
    after = _counts(city.engine)
    assert killed["returncode"] == -signal.SIGKILL
    assert after == before, "the replaced layer must be exactly as before the load"
    report("vector_replace_killed", {**killed, "features_in_file": 150_000,
                                     "stations_before": before["stations"].count(",") + 1,
                                     "stations_after": after["stations"].count(",") + 1})


# --- a worker killed -------------------------------------------------------------------

def _worker_pids(base: str, tries: int = 200) -> set[int]:
    """Worker pids seen by /health on fresh connections (the kernel spreads them)."""
    seen = set()
    for _ in range(tries):
        seen.add(httpx.get(base + "/health", timeout=10).json()["worker"])
        if len(seen) == 2:
            break
    return seen


def _metric(base: str, name: str) -> float:
    body = httpx.get(base + "/metrics", timeout=30).text
    return sum(float(line.rsplit(" ", 1)[1]) for line in body.splitlines()
               if line.startswith((name + "{", name + " ")))


def test_killed_worker_is_replaced(served):
    before = _worker_pids(served.base)
    assert len(before) == 2, f"two workers expected, saw {before}"
    for _ in range(20):
        httpx.get(served.base + "/collections/sensor_stations/items?limit=1", timeout=10)
    time.sleep(1.5)                                   # every worker has published its report
    counted = _metric(served.base, "twin_http_request_duration_seconds_count")
    victim = min(before)
    killed_at = time.monotonic()
    os.kill(victim, signal.SIGKILL)
    answered, failed, replaced_after = 0, 0, None
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        try:
            httpx.get(served.base + "/health", timeout=10)
            answered += 1
        except httpx.TransportError:
            failed += 1
        now = _worker_pids(served.base, tries=20)
        if len(now) == 2 and victim not in now:
            replaced_after = time.monotonic() - killed_at
            break
    assert replaced_after is not None, "the supervisor did not replace the killed worker"
    assert served.proc.poll() is None
    time.sleep(1.5)
    assert _metric(served.base, "twin_workers") == 2
    assert _metric(served.base, "twin_http_request_duration_seconds_count") >= counted, \
        "a dead worker's counts stay in the totals"
    report("worker_killed", {"replaced_after_s": round(replaced_after, 2),
                             "requests_answered_meanwhile": answered,
                             "requests_failed_meanwhile": failed})
