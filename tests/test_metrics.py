"""/metrics, /health and /ready on the real server: the exposition parses, requests are
counted by route template (never the concrete path), pool, process and ingest numbers
are there; the workers of one server share their numbers through prometheus_client's
multiprocess files in the data directory (other workers here are real processes)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from twin.server.metrics.directory import prepare
from twin.server.metrics.instruments import BUCKETS


def scrape(http) -> dict[str, list]:
    response = http.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    return {f.name: f.samples for f in text_string_to_metric_families(response.text)}


def value(samples, name: str, **labels) -> float:
    return sum(s.value for s in samples if s.name == name
               and all(s.labels.get(k) == v for k, v in labels.items()))


def test_health_and_ready(http):
    assert http.get("/health").json() == {"status": "alive", "worker": os.getpid()}
    ready = http.get("/ready")
    assert ready.status_code == 200 and ready.json() == {"status": "ready"}
    assert ready.headers["cache-control"] == "no-store"


def test_requests_are_counted_by_route_template(http):
    before = scrape(http)["twin_http_request_duration_seconds"]
    for fid in ("1", "2", "3"):
        http.get(f"/collections/sensor_stations/items/{fid}")
    http.get("/no/such/path")
    after = scrape(http)["twin_http_request_duration_seconds"]
    route = "/collections/{collection_id}/items/{item_id}"
    counted = [s for s in after if s.name.endswith("_count") and s.labels["route"] == route]
    assert counted, sorted({s.labels["route"] for s in after})
    grown = (value(after, "twin_http_request_duration_seconds_count", route=route)
             - value(before, "twin_http_request_duration_seconds_count", route=route))
    assert grown == 3
    assert value(after, "twin_http_request_duration_seconds_count", route="unmatched",
                 status="404") >= 1
    assert not any("/items/1" in s.labels.get("route", "") for s in after)


def test_every_response_says_the_servers_time(http):
    """Server-Timing: the app's time until the headers, on answers and refusals alike."""
    for path, status in (("/collections/sensor_stations/items?limit=1", 200),
                         ("/collections/sensor_stations/items?limit=abc", 400),
                         ("/no/such/path", 404)):
        response = http.get(path)
        assert response.status_code == status
        match = re.fullmatch(r"app;dur=(\d+\.\d{3})", response.headers["server-timing"])
        assert match and float(match.group(1)) > 0, response.headers["server-timing"]


def test_pool_process_and_ingest_numbers(http):
    families = scrape(http)
    assert value(families["twin_database_up"], "twin_database_up") == 1
    assert value(families["twin_db_pool_max"], "twin_db_pool_max", pool="async") >= 1
    assert value(families["process_resident_memory_bytes"],
                 "process_resident_memory_bytes") > 10 * 2**20
    assert value(families["twin_workers"], "twin_workers") >= 1
    # the demo city was loaded by the real loaders: its readings count as inserted
    assert value(families["twin_readings_inserted"], "twin_readings_inserted_total") > 0
    assert "twin_ingest_dead_letters" in families
    assert value(families["twin_readings_newest_age_seconds"],
                 "twin_readings_newest_age_seconds") >= 0


def other_worker(route: str, seconds: float) -> None:
    """A worker of the served app's server, as a process of its own: it opens the
    instruments in the server's metrics folder (the one this process uses), answers one
    request in ``seconds`` and exits."""
    path = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    code = ("import sys; from pathlib import Path;"
            "from twin.server.metrics.instruments import open_instruments;"
            "i = open_instruments(Path(sys.argv[1]), run=int(sys.argv[2]));"
            "i.observe('GET', sys.argv[3], 200, float(sys.argv[4]))")
    subprocess.run([sys.executable, "-c", code, str(path.parent), path.name, route,
                    str(seconds)], check=True)


def test_histograms_of_every_worker_are_summed(http):
    """Two other workers, each answering one request and gone since: the histogram
    served is their sum (a dead worker's counts stay)."""
    scrape(http)  # the served app has opened its metrics folder
    for seconds in (0.003, 0.2):
        other_worker("/test/summed", seconds)
    samples = {(s.name, s.labels.get("le")): s.value
               for s in scrape(http)["twin_http_request_duration_seconds"]
               if s.labels.get("route") == "/test/summed"}
    assert samples[("twin_http_request_duration_seconds_count", None)] == 2
    assert samples[("twin_http_request_duration_seconds_bucket", "0.005")] == 1
    assert samples[("twin_http_request_duration_seconds_bucket", "0.25")] == 2
    assert samples[("twin_http_request_duration_seconds_sum", None)] == pytest.approx(0.203)


def test_stale_run_directories_are_removed(tmp_path):
    root = tmp_path / "metrics"
    dead = root / "999999999"  # above pid_max: no such process
    dead.mkdir(parents=True)
    (dead / "histogram_1.db").write_bytes(b"")
    assert prepare(root, run=os.getpid())
    assert not dead.exists()
    assert (root / str(os.getpid())).stat().st_mode & 0o777 == 0o700


def test_label_values_are_escaped(http):
    scrape(http)
    other_worker('a"b\\c\nd', 0.01)
    text = http.get("/metrics").text
    assert re.search(r'route="a\\"b\\\\c\\nd"', text)
    (parsed,) = [s for f in text_string_to_metric_families(text) for s in f.samples
                 if s.name.endswith("_count") and s.labels.get("route", "").startswith("a")]
    assert parsed.labels["route"] == 'a"b\\c\nd'
    assert len(BUCKETS) == len(set(BUCKETS))


def test_reports_older_than_the_server_are_dropped(tmp_path):
    """A restarted container reuses pids: a file written before this server started
    is not one of its workers'."""
    path = tmp_path / "metrics" / str(os.getpid())
    path.mkdir(parents=True)
    old = path / "histogram_12345.db"
    old.write_bytes(b"")
    os.utime(old, (1_000_000, 1_000_000))  # 1970: before any running process
    assert prepare(tmp_path / "metrics", run=os.getpid())
    assert not old.exists()
