"""/metrics, /health and /ready on the real server: the exposition parses, requests are
counted by route template (never the concrete path), pool, process and ingest numbers
are there; the workers of one server share their reports through the data directory."""

from __future__ import annotations

import json
import os
import re

import pytest
from prometheus_client.parser import text_string_to_metric_families

from twin.server.metrics.collect import duration_family
from twin.server.metrics.exposition import Family, render
from twin.server.metrics.store import BUCKETS, Report, RequestStats, SharedDir


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


def test_reports_of_other_workers_are_summed(tmp_path):
    """Two workers' files in one run directory: the histogram is their sum."""
    root = tmp_path / "metrics"
    first, second = SharedDir(root, run=os.getpid()), SharedDir(root, run=os.getpid())
    assert first.prepare() and second.prepare()
    for shared, seconds in ((first, 0.003), (second, 0.2)):
        stats = RequestStats()
        stats.observe(("GET", "/collections", "200"), seconds)
        shared.write(Report(pid=os.getpid(), requests=stats.rows(), in_progress=0,
                            pools={}, process={}))
    reports = second.others() + [Report.from_json((second.path / second.name).read_text())]
    text = render([duration_family(reports)])
    samples = {(s.name, s.labels.get("le")): s.value
               for f in text_string_to_metric_families(text) for s in f.samples}
    assert samples[("twin_http_request_duration_seconds_count", None)] == 2
    assert samples[("twin_http_request_duration_seconds_bucket", "0.005")] == 1
    assert samples[("twin_http_request_duration_seconds_bucket", "0.25")] == 2
    assert samples[("twin_http_request_duration_seconds_sum", None)] == pytest.approx(0.203)


def test_stale_run_directories_are_removed(tmp_path):
    root = tmp_path / "metrics"
    dead = root / "999999999"  # above pid_max: no such process
    dead.mkdir(parents=True)
    (dead / "1-x.json").write_text(json.dumps({}))
    assert SharedDir(root, run=os.getpid()).prepare()
    assert not dead.exists()


def test_label_values_are_escaped():
    family = Family("twin_x", "gauge", "help with \\ and\nnewline")
    family.add(1, {"route": 'a"b\\c\nd'})
    text = render([family])
    assert re.search(r'route="a\\"b\\\\c\\nd"', text)
    (parsed,) = text_string_to_metric_families(text)
    assert parsed.samples[0].labels["route"] == 'a"b\\c\nd'
    assert len(BUCKETS) == len(set(BUCKETS))


def test_reports_older_than_the_server_are_dropped(tmp_path):
    """A restarted container reuses pids: a report written before this server started
    is not one of its workers'."""
    shared = SharedDir(tmp_path / "metrics", run=os.getpid())
    shared.path.mkdir(parents=True)
    old = shared.path / "12345-old.json"
    old.write_text("{}")
    os.utime(old, (1_000_000, 1_000_000))  # 1970: before any running process
    assert shared.prepare()
    assert not old.exists()
