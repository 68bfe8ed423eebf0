"""The ``interpolate`` process and surfaces made as readings arrive, over real HTTP.

The server here is the demo city's, started with its own data directory: surfaces it
stores must not land among the COGs of a real ``.twin`` (the demo's hours are these).

interpolate stores surfaces, so the client is the environment department's (issue 13:
anonymous runs are refused, tests/test_process_access.py); its runs are stored as its
own series unless an admin publishes.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import httpx
import numpy as np
import pytest
import rasterio
from sqlalchemy import text

from tests.conftest import _free_port, served
from twin.server.auth.keys import create_key

pytestmark = pytest.mark.api_language("en")  # its assertions quote English descriptions

HOUR = "2026-10-01T03:00:00Z"
PROCESS = "/processes/interpolate/execution"


@pytest.fixture(scope="module")
def base(settings, registry, city_url, city_engine, tmp_path_factory):
    """The app under uvicorn, its data (rasters, jobs) in a directory of its own; the
    hours queued by the city's load are taken off the queue first."""
    from twin.server.app import create_app

    with city_engine.begin() as conn:
        conn.execute(text("DELETE FROM surface_pending"))
    port = _free_port()
    app_settings = settings.model_copy(update={
        "port": port, "public_url": None, "data_dir": tmp_path_factory.mktemp("data")})
    with served(create_app(app_settings, city_url, registry), port) as url:
        yield url


@pytest.fixture(scope="module")
def keys(city_engine):
    return {role: create_key(city_engine, "Sở Tài nguyên và Môi trường", role)[0]
            for role in ("environment", "admin")}


@pytest.fixture()
def client(base, keys):
    with httpx.Client(base_url=base, timeout=120,
                      headers={"X-API-Key": keys["environment"]}) as c:
        yield c


def _wait_job(client, job_url: str) -> str:
    job_id = job_url.rstrip("/").rsplit("/", 1)[-1]
    for _ in range(1200):   # polls as a client does
        status = client.get(f"/jobs/{job_id}").json()["status"]
        if status not in ("accepted", "running"):
            return job_id
        time.sleep(0.1)
    raise AssertionError("the job never finished")


def test_process_is_described(client):
    doc = client.get("/processes/interpolate").json()
    assert set(doc["inputs"]) == {"pollutant", "datetime", "method", "model", "resolution",
                                  "bbox", "name", "publish"}
    assert {"sync-execute", "async-execute"} <= set(doc["jobControlOptions"])


def test_sync_single_hour_returns_a_geotiff(client):
    r = client.post(PROCESS, json={"inputs": {"pollutant": "pm25", "datetime": HOUR,
                                              "method": "idw", "resolution": 300}})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("image/tiff")
    with rasterio.io.MemoryFile(r.content).open() as src:
        assert src.crs.to_epsg() == 3405 and src.res == (300.0, 300.0)
        band = src.read(1, masked=True)
        assert band.count() > 0 and np.isfinite(band.compressed()).all()
        assert src.profile["tiled"]


def test_sync_hours_summary_links_the_coverages(client, keys):
    # Published by an admin, so the links name the published series (no2_surface).
    r = client.post(PROCESS, json={"inputs": {
        "pollutant": "no2", "datetime": "2026-10-01T05:00:00Z/2026-10-01T07:00:00Z",
        "publish": True}}, headers={"X-API-Key": keys["admin"]})
    assert r.status_code == 200, r.text
    doc = r.json()
    assert doc["surfaces"] == 3 and doc["pollutant"] == "no2"
    assert doc["loocv_rmse_mean"] > 0 and sum(doc["methods"].values()) == 3
    coverage = [link["href"] for link in doc["links"] if link["rel"].endswith("/coverage")]
    assert len(coverage) == 3 and "/collections/no2_surface/coverage?datetime=" in coverage[0]
    for _ in range(100):   # the catalogue is re-read at most once a second
        got = client.get(coverage[1])
        if got.status_code == 200:
            break
        time.sleep(0.1)
    assert got.status_code == 200 and got.headers["content-type"].startswith("image/tiff")


def test_async_job_completes(client):
    inputs = {"pollutant": "pm10", "datetime": "2026-10-01T00:00:00Z/2026-10-01T09:00:00Z",
              "method": "idw", "resolution": 400}
    r = client.post(PROCESS, json={"inputs": inputs}, headers={"Prefer": "respond-async"})
    assert r.status_code == 201, r.text
    job_id = _wait_job(client, r.headers["location"])
    assert client.get(f"/jobs/{job_id}").json()["status"] == "successful"
    result = client.get(f"/jobs/{job_id}/results", params={"f": "json"})
    assert result.status_code == 200
    assert result.json()["surfaces"] == 10


def test_long_periods_must_be_async(client):
    r = client.post(PROCESS, json={"inputs": {
        "pollutant": "pm25", "datetime": "2026-10-01T00:00:00Z/2026-10-01T23:00:00Z"}})
    assert r.status_code == 400, r.text
    assert "respond-async" in r.json()["description"]


@pytest.mark.parametrize("inputs, words", [
    ({"pollutant": "o3", "datetime": HOUR}, "pollutant"),
    ({"pollutant": "pm25"}, "datetime"),
    ({"pollutant": "pm25", "datetime": "yesterday"}, "datetime"),
    ({"pollutant": "pm25", "datetime": "2026-10-02T00:00Z/2026-10-01T00:00Z"}, "before"),
    ({"pollutant": "pm25", "datetime": "2026-10-01T00:00Z/.."}, "closed"),
    ({"pollutant": "pm25", "datetime": "2026-01-01T00:00Z/2026-12-01T00:00Z"}, "at most"),
    ({"pollutant": "pm25", "datetime": HOUR, "method": "spline"}, "method"),
    ({"pollutant": "pm25", "datetime": HOUR, "resolution": 1}, "resolution"),
    ({"pollutant": "pm25", "datetime": HOUR, "bbox": [1, 2, 3]}, "bbox"),
    ({"pollutant": "pm25", "datetime": HOUR, "bbox": [0, 0, 1, 1]}, "overlap"),
    ({"pollutant": "pm25", "datetime": HOUR, "colour": "red"}, "colour"),
])
def test_bad_inputs_are_400(client, inputs, words):
    r = client.post(PROCESS, json={"inputs": inputs})
    assert r.status_code == 400, r.text
    doc = r.json()
    assert doc["code"] == "InvalidParameterValue" and words in doc["description"]


def test_posted_readings_of_a_new_hour_make_its_surface(client, city_engine):
    """POST /readings -> queued in the ingest transaction -> made by the route's
    background task -> served by /collections/pm25_surface/coverage?datetime=hour."""
    with city_engine.connect() as conn:
        codes = conn.execute(text(
            "SELECT external_id FROM sensor_stations WHERE kind = 'air' AND 'pm25' = "
            "ANY(properties) ORDER BY external_id LIMIT 9")).scalars().all()
        agency, = conn.execute(text("SELECT DISTINCT agency FROM sensor_stations WHERE "
                                    "external_id = ANY(:c)"), {"c": codes}).scalars().all()
    key = create_key(city_engine, agency, "environment")[0]  # the stations' own agency
    hour = datetime(2026, 8, 15, 4, tzinfo=UTC)   # before the demo, in the past
    items = [{"station": c, "property": "pm25", "value": 30.0 + 5 * k,
              "time": (hour + timedelta(minutes=5)).isoformat()} for k, c in enumerate(codes)]
    r = client.post("/readings", json=items, headers={"X-API-Key": key})
    assert r.status_code == 201, r.text
    stamp = hour.strftime("%Y-%m-%dT%H:%M:%SZ")
    for _ in range(300):
        got = client.get("/collections/pm25_surface/coverage", params={"datetime": stamp})
        if got.status_code == 200:
            break
        time.sleep(0.1)
    assert got.status_code == 200, got.text
    with rasterio.io.MemoryFile(got.content).open() as src:
        assert src.crs.to_epsg() == 3405 and src.read(1, masked=True).count() > 0
    with city_engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM surface_pending WHERE hour = :h"),
                            {"h": hour}).scalar() == 0
