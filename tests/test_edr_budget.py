"""EDR output limits (issue 13, finding 8): ``datetime`` is required on cube and area
queries, every query type is refused with 413 over its format's output budget (estimated
before the body is built), and large bodies are streamed, so that a worker's memory does
not grow with the size of the answer. Real HTTP against the small demo city."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
import time
from datetime import timedelta

import httpx
import psycopg
import pytest
import yaml

from tests.conftest import _free_port, served
from tests.test_edr import BASE, codes_where, expected_coverages, iso, sql_rows, stamp, station
from twin.config import REPO_ROOT
from twin.server.db import libpq_url
from twin.server.edr import catalogue, covjson, csv_, geojson, limits, query, series, stations
from twin.server.limits import MiB
from twin.server.pygeoapi.config import DEFAULT_SERVER_FILE

pytestmark = pytest.mark.api_language("en")  # its assertions quote English descriptions

CITY = "105,20,107,22"          # the bbox of the issue: every station of the demo city
TWO_DAYS = "2026-09-30T00:00:00Z/2026-10-03T00:00:00Z"   # all of the small city's readings


@pytest.fixture(scope="module")
def span(city_engine):
    from sqlalchemy import text

    with city_engine.connect() as conn:
        return tuple(conn.execute(text(
            "SELECT min(observed_at), max(observed_at) FROM sensor_readings")).one())


def day_of(span) -> str:
    return f"{iso(span[0] + timedelta(hours=6))}/{iso(span[0] + timedelta(hours=30))}"


def ogc(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"code", "description"} and body["description"]
    return body["description"]


def server_file(folder, edr: dict):
    path = folder / "server.yaml"
    config = yaml.safe_load(DEFAULT_SERVER_FILE.read_text(encoding="utf-8"))
    config["edr"] = edr
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return path


# --- datetime on cube and area ----------------------------------------------------------

def test_the_issue_request_needs_datetime(http):
    """The request of the issue, anonymous: 400, saying datetime is needed and how."""
    description = ogc(http.get(f"{BASE}/cube?bbox={CITY}&f=geojson"), 400)
    assert "datetime" in description and "31 days" in description


def test_area_needs_datetime(http):
    polygon = "POLYGON((105 20,107 20,107 22,105 22,105 20))"
    description = ogc(http.get(f"{BASE}/area", params={"coords": polygon}), 400)
    assert "area query needs datetime" in description


def test_cube_and_area_span_at_most_31_days(http, span):
    start = span[0] - timedelta(days=40)
    description = ogc(http.get(f"{BASE}/cube", params={
        "bbox": CITY, "datetime": f"{iso(start)}/{iso(span[1])}"}), 400)
    assert "at most 31 days" in description
    # An open start reaches back to the first reading: two days here.
    open_start = http.get(f"{BASE}/cube", params={
        "bbox": "105.82,21.00,105.88,21.05", "datetime": f"../{iso(span[1])}",
        "parameter-name": "pm25"})
    assert open_start.status_code == 200, open_start.text


def test_other_query_types_need_no_datetime(http, city_engine):
    lon, lat = station(city_engine, "AQ-BD-01")
    assert http.get(f"{BASE}/position", params={
        "coords": f"POINT({lon} {lat})", "parameter-name": "pm25"}).status_code == 200
    assert http.get(f"{BASE}/locations/AQ-BD-01").status_code == 200


# --- the output budget ------------------------------------------------------------------

@pytest.fixture(scope="module")
def budgeted(settings, registry, city_url, tmp_path_factory):
    """A server on the demo city with small budgets: 2 MiB of GeoJSON, 32 KiB of CSV,
    CoverageJSON as the limits table has it."""
    from twin.server.app import create_app

    path = server_file(tmp_path_factory.mktemp("edr-budget"),
                       {"output_bytes": {"geojson": 2 * MiB, "csv": 32 * 1024}})
    port = _free_port()
    app = create_app(settings.model_copy(update={"port": port, "server_config": path,
                                                 "public_url": None}), city_url, registry)
    with served(app, port) as base, httpx.Client(base_url=base, timeout=60) as client:
        yield client


def test_over_budget_is_413_with_advice(budgeted, span):
    """All stations for half a day as GeoJSON: about 3 MiB, over the 2 MiB budget. The
    answer says how large, and how to narrow it or which format fits."""
    half_day = f"{iso(span[0] + timedelta(hours=6))}/{iso(span[0] + timedelta(hours=18))}"
    params = {"bbox": CITY, "datetime": half_day, "f": "geojson"}
    response = budgeted.get(f"{BASE}/cube", params=params)
    description = ogc(response, 413)
    assert response.json()["code"] == "RequestTooLarge"
    assert "of GeoJSON" in description and "2.0 MiB" in description
    for advice in ("shorter datetime", "parameter-name", "smaller bbox", "f=json"):
        assert advice in description, advice
    # ... and CoverageJSON, which the advice names, is served.
    assert budgeted.get(f"{BASE}/cube", params={**params, "f": "json"}).status_code == 200
    # Fewer parameters fit the GeoJSON budget too.
    fewer = budgeted.get(f"{BASE}/cube", params={**params, "parameter-name": "pm25"})
    assert fewer.status_code == 200, fewer.text


def test_every_query_type_goes_through_the_budget(budgeted, city_engine, span):
    """CSV capped at 32 KiB (about 500 values): each query type is refused with 413."""
    lon, lat = station(city_engine, "AQ-BD-01")
    day = day_of(span)
    polygon = "POLYGON((105.7 20.9,106.0 20.9,106.0 21.2,105.7 21.2,105.7 20.9))"
    requests = {
        "position": {"coords": f"POINT({lon} {lat})"},
        "radius": {"coords": f"POINT({lon} {lat})", "within": "3", "within-units": "km"},
        "area": {"coords": polygon, "datetime": day},
        "cube": {"bbox": CITY, "datetime": day},
        "locations/AQ-BD-01": {},
    }
    for path, params in requests.items():
        description = ogc(budgeted.get(f"{BASE}/{path}", params={**params, "f": "csv"}), 413)
        assert "CSV" in description and "parameter-name" in description, path
        small = budgeted.get(f"{BASE}/{path}", params={
            **params, "f": "csv", "parameter-name": "pm25",
            "datetime": f"{iso(span[0] + timedelta(hours=6))}/"
                        f"{iso(span[0] + timedelta(hours=7))}"})
        assert small.status_code == 200, (path, small.text)


def test_stations_lists_go_through_the_budget():
    limits.check_places(100, limits.budgets())
    with pytest.raises(limits.RequestTooLarge):
        limits.check_places(100, limits.budgets({"geojson": 10_000}))


def test_value_limit_is_checked_on_the_count(city_url):
    """The planner may guess low; the count the budget is based on is exact, so a value
    limit below it refuses with the value limit's 400."""
    with psycopg.connect(libpq_url(city_url), autocommit=True) as conn:
        readings, params, _ = selection(conn, ["pm25"], None)
        with pytest.raises(limits.InvalidParameter, match="limit of 10"):
            limits.check_output(conn, readings, params, "csv", 1, limits.budgets(), 10)


def selection(conn, names, raw_window):
    cat = catalogue.probe(conn, (105, 20, 107, 22))
    found = stations.in_bbox(conn, (105, 20, 107, 22))
    sel = series.Selection([s.id for s in found], names, query.Window.parse(raw_window))
    params: dict = {}
    return series.readings_sql(sel, cat, params), params, cat


@pytest.mark.parametrize("names", [["pm25"], ["water_level_m", "rain_mm"], None])
def test_size_estimates_are_close_to_the_bodies(city_url, names):
    """The estimate each budget is checked against is not below the body (more than
    10 %) nor more than twice it, in every format."""
    with psycopg.connect(libpq_url(city_url), autocommit=True) as conn:
        cat = catalogue.probe(conn, (105, 20, 107, 22))
        names = names or list(cat.parameters)
        readings, params, _ = selection(conn, names, TWO_DAYS)
        size = limits.measure(conn, readings, params, 10_000_000)
        bodies = {
            "geojson": body_of(conn, geojson.features_sql(names, readings), params),
            "json": body_of(conn, covjson.coverages_sql(names, readings), params),
            "csv": sum(len(b) for b in csv_.blocks(conn, readings, params))}
    for fmt, real in bodies.items():
        estimated = size.output_bytes(fmt, len(names))
        assert real * 0.9 <= estimated <= real * 2, (fmt, real, estimated)


def body_of(conn, statement, params) -> int:
    return sum(len(r[0].encode()) + 1 for r in conn.execute(statement, params))


# --- streaming ----------------------------------------------------------------------------

def test_large_bodies_stream_and_equal_sql(http, city_engine, span):
    """Large answers have no Content-Length (chunked) and are still exact; small ones
    keep theirs."""
    codes = codes_where(city_engine, "TRUE", {})
    names = ["pm25", "o3", "rain_mm", "water_level_m"]
    params = {"bbox": CITY, "datetime": TWO_DAYS, "parameter-name": ",".join(names)}
    rows = sql_rows(city_engine, codes, names)
    want = expected_coverages(rows)
    geo = http.get(f"{BASE}/cube", params={**params, "f": "geojson"},
                   headers={"Accept-Encoding": "identity"})
    assert geo.status_code == 200, geo.text
    assert "content-length" not in geo.headers
    assert geo.headers["transfer-encoding"] == "chunked"
    assert geo.headers["content-type"].startswith("application/geo+json")
    doc = geo.json()
    assert [p["id"] for p in doc["parameters"]] == names
    got = {}
    for feature in doc["features"]:
        got.setdefault(feature["properties"]["station"], []).append(feature)
    assert set(got) == set(want)
    for code, features in got.items():
        assert [stamp(f["properties"]["datetime"]) for f in features] == want[code]["t"]
        for name, values in want[code]["ranges"].items():
            assert [f["properties"][name] for f in features] == values, (code, name)

    table = http.get(f"{BASE}/cube", params={**params, "f": "csv"},
                     headers={"Accept-Encoding": "identity"})
    assert "content-length" not in table.headers
    lines = list(csv.reader(io.StringIO(table.text)))
    assert lines[0] == ["station_code", "observed_at", "property", "value", "unit",
                        "quality"]
    assert [(c, stamp(t), p, float(v) if v else None, u, q)
            for c, t, p, v, u, q in lines[1:]] == rows

    small = http.get(f"{BASE}/locations/AQ-BD-01", params={
        "parameter-name": "pm25", "datetime": day_of(span)},
        headers={"Accept-Encoding": "identity"})
    assert small.status_code == 200 and int(small.headers["content-length"]) > 0


def test_coveragejson_streams_a_coverage_per_station(http, city_engine):
    from tests.test_edr import assert_matches

    codes = codes_where(city_engine, "TRUE", {})
    every = list(http.get(BASE).json()["parameter_names"])
    response = http.get(f"{BASE}/cube", params={"bbox": CITY, "datetime": TWO_DAYS},
                        headers={"Accept-Encoding": "identity"})
    assert response.status_code == 200, response.text
    assert "content-length" not in response.headers     # about 1.7 MiB estimated
    assert_matches(response.json(), sql_rows(city_engine, codes, every))


def test_dropped_streams_give_their_connections_back(http, server):
    """Clients that leave in the middle of a streamed body, more of them than the pool
    has connections: the server still answers afterwards (no connection was kept)."""
    params = {"bbox": CITY, "datetime": TWO_DAYS, "f": "geojson"}
    for _ in range(12):
        with httpx.Client(base_url=server, timeout=60) as client, \
                client.stream("GET", f"{BASE}/cube", params=params,
                              headers={"Accept-Encoding": "identity"}) as response:
            assert response.status_code == 200
            next(response.iter_bytes())
    after = http.get(f"{BASE}/cube", params={**params, "parameter-name": "pm25"})
    assert after.status_code == 200, after.text


# --- a worker's memory ------------------------------------------------------------------

LAUNCH = """
import sys, uvicorn
from pathlib import Path
from twin.config import REPO_ROOT, Settings
from twin.registry import load_registry
from twin.server.app import create_app
url, port, data = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3])
settings = Settings(database_url=None, layers_dir=REPO_ROOT / "layers", _env_file=None,
                    port=port, public_url=None, data_dir=data)
app = create_app(settings, url, load_registry(REPO_ROOT / "layers"))
uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")
"""


def memory_kib(pid: int, field: str) -> int:
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise AssertionError(f"no {field} in /proc/{pid}/status")


@pytest.fixture()
def worker(city_url, tmp_path):
    """The app under uvicorn in its own process: its memory is its own."""
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-c", LAUNCH, city_url, str(port),
                             str(tmp_path)], cwd=REPO_ROOT,
                            env={**os.environ, "PYTHONPATH": str(REPO_ROOT)})
    base = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=base, timeout=120) as client:
            while True:
                assert proc.poll() is None, "the server process ended"
                try:
                    if client.get(BASE).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                time.sleep(0.1)
            yield proc.pid, client
    finally:
        proc.terminate()
        proc.wait()


def test_a_large_body_does_not_grow_the_worker(worker):
    """The whole small city as GeoJSON (about 13 MB) from a fresh worker: its peak
    resident memory while sending it grows by far less than the body. (Built in memory,
    the same body grew it by about 24 MB; before streaming, by more.)"""
    pid, client = worker
    params = {"bbox": CITY, "datetime": TWO_DAYS, "f": "geojson"}

    def fetch(**extra) -> int:
        with client.stream("GET", f"{BASE}/cube", params={**params, **extra},
                           headers={"Accept-Encoding": "identity"}) as r:
            assert r.status_code == 200, r.read()
            assert "content-length" not in r.headers
            return sum(len(chunk) for chunk in r.iter_bytes())

    # Warm the same path with a smaller streamed body (one parameter, about 2.5 MB):
    # imports, pools, threads. Not the large one: memory a body once took stays with
    # the process and would hide what the large body takes.
    assert fetch(**{"parameter-name": "pm25"}) > 2 * MiB
    with open(f"/proc/{pid}/clear_refs", "w", encoding="ascii") as refs:
        refs.write("5")                       # peak RSS := current RSS
    before = memory_kib(pid, "VmHWM")
    size = fetch()
    grown = (memory_kib(pid, "VmHWM") - before) * 1024
    assert size > 8 * MiB
    assert grown < size / 4, f"the worker grew by {grown:,} bytes for {size:,}"
