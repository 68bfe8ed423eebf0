"""The flood processes over real HTTP on the small demo city: flood-scenario always
runs as a job whose result links to the stored coverage and extents; flood-exposure
returns what a direct computation on the same grid gives; bad inputs are 400s.

flood-scenario stores data, so it runs with an environment key (issue 13: anonymous
runs are refused, tests/test_process_access.py) and stores under the caller's own
name, ``user:<owner>:<name>``; the exposure of that run is asked for by that name."""

from __future__ import annotations

import time

import pytest

from twin.analysis.flood import ExposureParams, exposure
from twin.flood.assets import load_assets
from twin.flood.exposure import depth_step
from twin.flood.request import parse_time
from twin.naming import scoped_name
from twin.server.auth.keys import create_key

pytestmark = pytest.mark.api_language("en")  # its assertions quote English descriptions

NAME = "proc-storm"
INPUTS = {"name": NAME, "rain_mm": 200, "hours": 2, "drainage_mm_h": 25, "stage_m": 11.0,
          "from": "2026-10-21T00:00:00Z", "resolution_m": 50}


def _wait(http, job_id: str, headers: dict | None = None) -> str:
    for _ in range(1200):   # polls until the job is done, as a client does
        status = http.get(f"/jobs/{job_id}", headers=headers).json()["status"]
        if status not in ("accepted", "running"):
            return status
        time.sleep(0.1)
    return status


@pytest.fixture(scope="module")
def env_key(city_engine):
    key, record = create_key(city_engine, "Sở Tài nguyên và Môi trường", "environment")
    return key, scoped_name(record.prefix, NAME)


@pytest.fixture(scope="module")
def scoped(env_key):
    return env_key[1]


@pytest.fixture(scope="module")
def job(server, env_key):
    import httpx

    with httpx.Client(base_url=server, timeout=60,
                      headers={"X-API-Key": env_key[0]}) as http:
        r = http.post("/processes/flood-scenario/execution", json={"inputs": INPUTS})
        assert r.status_code == 201, r.text         # async without being asked: always a job
        job_id = r.headers["location"].rstrip("/").rsplit("/", 1)[-1]
        assert _wait(http, job_id) == "successful"
        return http.get(f"/jobs/{job_id}/results", params={"f": "json"}).json()


def test_scenario_job_links_coverage_and_extents(job, http, scoped):
    assert job["scenario"] == scoped and job["steps"] == 2
    links = {link["rel"]: link["href"] for link in job["links"]}
    cov = http.get(links["coverage"], params={"datetime": "2026-10-21T01:00:00Z"})
    assert cov.status_code == 200 and cov.content[:2] in (b"II", b"MM")
    items = http.get(links["items"] + "&limit=1000").json()   # keeps the link's filter
    assert len(items["features"]) == job["extents"] > 0
    assert {f["properties"]["scenario"] for f in items["features"]} == {scoped}


def test_scenario_with_prefer_wait_is_still_a_job(http, env_key):
    r = http.post("/processes/flood-scenario/execution",
                  json={"inputs": {**INPUTS, "name": "proc-wait", "stage_m": None}},
                  headers={"Prefer": "wait", "X-API-Key": env_key[0]})
    assert r.status_code == 201, r.text
    job_id = r.headers["location"].rstrip("/").rsplit("/", 1)[-1]
    # The job is the environment user's (flood-scenario is not public): it reads it.
    assert _wait(http, job_id, {"X-API-Key": env_key[0]}) == "successful"


def test_exposure_process_equals_direct(job, http, city_engine, scoped):
    when = "2026-10-21T01:00:00Z"
    r = http.post("/processes/flood-exposure/execution",
                  json={"inputs": {"scenario": scoped, "time": when, "threshold": 0.2}})
    assert r.status_code == 200, r.text
    got = r.json()
    with city_engine.connect() as conn:
        step = depth_step(conn, scoped, parse_time(when))
        a = load_assets(conn, step.grid, (-180, -90, 180, 90)).frames
    p = ExposureParams(road_threshold_m=0.2, point_threshold_m=0.2, parcel_threshold_m=0.2)
    direct = exposure(step.grid.z, step.grid.transform, a["roads"], a["stops"], a["signs"],
                      a["parcels"], a["stations"], a["route_stops"][["route_id", "stop_id"]],
                      p).summary()
    s = got["summary"]
    assert s["road_km_flooded"] == pytest.approx(direct["road_km_flooded"], abs=1e-3)
    for key in ("stops_flooded", "routes_losing_stops", "signs_flooded", "parcels_flooded",
                "stations_flooded"):
        assert s[key] == direct[key], key
    layers = {f["properties"]["layer"] for f in got["features"]}
    assert s["parcels_flooded"] == 0 or "land_parcels" in layers
    assert all(f["geometry"] for f in got["features"])


@pytest.mark.parametrize("process, inputs, words", [
    ("flood-scenario", {"name": "x"}, "rain_mm > 0, a stage_m"),
    ("flood-scenario", {**INPUTS, "rain_mm": -1}, "rain_mm"),
    ("flood-scenario", {**INPUTS, "name": "a/b"}, "name"),
    ("flood-scenario", {**INPUTS, "from": "yesterday"}, "start"),
    ("flood-scenario", {**INPUTS, "to": "2026-10-20T00:00:00Z"}, "after 'from'"),
    ("flood-scenario", {**INPUTS, "colour": "red"}, "colour"),
    ("flood-exposure", {"scenario": "nope", "time": "2026-10-21T00:00:00Z"}, "no flood scenario"),
    ("flood-exposure", {"scenario": "SCOPED", "time": "2020-01-01T00:00:00Z"}, "starts at"),
    ("flood-exposure", {"scenario": "SCOPED", "time": "soon"}, "not an ISO"),
    ("flood-exposure", {"scenario": "SCOPED", "time": "2026-10-21T01:00:00Z",
                        "threshold": -1}, "threshold"),
])
def test_bad_inputs_are_400(job, http, env_key, process, inputs, words):
    inputs = {k: env_key[1] if v == "SCOPED" else v for k, v in inputs.items()}
    r = http.post(f"/processes/{process}/execution", json={"inputs": inputs},
                  headers={"X-API-Key": env_key[0]})
    assert r.status_code == 400, r.text
    doc = r.json()
    assert doc["code"] == "InvalidParameterValue" and words in doc["description"]
