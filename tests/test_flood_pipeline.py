"""The flood pipeline on the small demo city (real PostGIS, real COGs): a scenario's
depth grids are catalogued COGs, its extents match them class by class, both are
served, reruns replace, failed runs leave nothing, exposure agrees with a direct
computation on the same grid."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime

import numpy as np
import pytest
import rasterio
from click.testing import CliRunner
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from twin.analysis.flood import ExposureParams, classify, exposure
from twin.analysis.flood.vectorise import CLASSES
from twin.cli import main
from twin.flood import store
from twin.flood.assets import load_assets
from twin.flood.exposure import ExposureRequest, compute, depth_step
from twin.flood.request import FloodInputError, ScenarioRequest, parse
from twin.flood.runner import run_flood

NAME = "test-yagi"
START = datetime(2026, 10, 21, 0, tzinfo=UTC)
INPUTS = {"name": NAME, "rain_mm": 240.0, "hours": 3, "drainage_mm_h": 25.0, "stage_m": 11.3,
          "start": START, "resolution_m": 50.0}


@pytest.fixture(scope="module")
def roots(tmp_path_factory):
    return tmp_path_factory.mktemp("flood")


@pytest.fixture(scope="module")
def yagi(city_engine, roots):
    """The scenario, run once for the module."""
    return run_flood(city_engine, roots, parse(ScenarioRequest, INPUTS))


def _steps(engine, scenario):
    with engine.connect() as conn:
        return conn.execute(text("SELECT external_id, valid_time, path FROM rasters WHERE "
                                 "kind = 'flood_depth' AND scenario = :s ORDER BY valid_time"),
                            {"s": scenario}).all()


def test_scenario_writes_catalogued_cogs(yagi, city_engine):
    steps = _steps(city_engine, NAME)
    assert [s.valid_time for s in steps] == [START.replace(hour=h) for h in range(3)]
    assert yagi["steps"] == 3 and yagi["coverage"] == "flood_depth_test_yagi"
    for s in steps:
        info = subprocess.run(["gdalinfo", s.path], capture_output=True, text=True,
                              check=True).stdout
        assert "LAYOUT=COG" in info
    assert yagi["max_depth_m"] > 1.0 and yagi["peak_wet_km2"] > 1.0


def _class_cells(path):
    with rasterio.open(path) as src:
        depth = src.read(1, masked=True).filled(np.nan)
        cell = abs(src.transform.a * src.transform.e)
    cls = classify(depth, 1e-6)
    return {name: float((cls == k).sum()) * cell for k, (name, _, _) in enumerate(CLASSES, 1)}


def test_extents_match_the_cog_class_by_class(yagi, city_engine):
    for s in _steps(city_engine, NAME):
        with city_engine.connect() as conn:
            rows = dict(conn.execute(text(
                "SELECT depth_class, sum(area_m2) FROM flood_extents WHERE scenario = :s "
                "AND valid_time = :t GROUP BY depth_class"), {"s": NAME, "t": s.valid_time}).all())
        cells = _class_cells(s.path)
        for name, area in cells.items():
            assert rows.get(name, 0.0) == pytest.approx(area, rel=0.05, abs=2 * 2500), name


def test_extents_served_by_features_with_datetime(yagi, http):
    t = START.replace(hour=1).strftime("%Y-%m-%dT%H:%M:%SZ")
    r = http.get("/collections/flood_extents/items",
                 params={"datetime": t, "limit": 1000, "filter": f"scenario = '{NAME}'"})
    assert r.status_code == 200, r.text
    feats = r.json()["features"]
    assert feats and {f["properties"]["valid_time"][:19] for f in feats} == {t[:19]}
    assert {f["properties"]["depth_class"] for f in feats} <= {c[0] for c in CLASSES}


def test_depth_served_as_coverage(yagi, http):
    t = START.replace(hour=2).strftime("%Y-%m-%dT%H:%M:%SZ")
    r = http.get(f"/collections/{yagi['coverage']}/coverage", params={"datetime": t})
    assert r.status_code == 200, r.text
    assert r.content[:4] in (b"II*\x00", b"MM\x00*")


def test_rerun_replaces_and_failed_run_leaves_nothing(yagi, city_engine, roots, monkeypatch):
    name = "test-rerun"
    first = run_flood(city_engine, roots, parse(ScenarioRequest, {**INPUTS, "name": name}))
    again = run_flood(city_engine, roots, parse(ScenarioRequest,
                                                   {**INPUTS, "name": name, "hours": 2}))
    steps = _steps(city_engine, name)
    assert len(steps) == 2 and first["steps"] == 3
    with city_engine.connect() as conn:
        n, times = conn.execute(text("SELECT count(*), count(DISTINCT valid_time) FROM "
                                     "flood_extents WHERE scenario = :s"), {"s": name}).one()
    assert n == again["extents"] and times == 2
    files = sorted(p for p in (roots / store.RUNS_DIR).rglob("*.tif") if name.replace("-", "_")
                   in p.name)
    # A published scenario's replaced run is archived with its files (issue 13: a
    # replacement can be undone): the current run's files and the archived run's.
    with city_engine.connect() as conn:
        archived = conn.execute(text(
            "SELECT r.props->>'path' FROM scenario_archive a JOIN scenario_archive_rows r "
            "ON r.archive_id = a.id WHERE a.scenario = :s AND r.source = 'rasters'"),
            {"s": name}).scalars().all()
    assert len(archived) == first["steps"]
    assert sorted(map(str, files)) == sorted([s.path for s in steps] + archived)

    def broken(run, srid):
        rows, areas = real(run, srid)
        rows[-1]["depth_class"] = "deep"          # violates the layer's enum check
        return rows, areas
    real = store.extent_rows
    monkeypatch.setattr(store, "extent_rows", broken)
    with pytest.raises(IntegrityError):
        run_flood(city_engine, roots, parse(ScenarioRequest, {**INPUTS, "name": name}))
    assert _steps(city_engine, name) == steps
    after = sorted(p for p in (roots / store.RUNS_DIR).rglob("*.tif") if name.replace("-", "_")
                   in p.name)
    assert after == files


def test_bad_scenario_inputs_are_named():
    with pytest.raises(FloodInputError, match="rain_mm > 0, a stage_m"):
        parse(ScenarioRequest, {"name": "x"})
    with pytest.raises(FloodInputError, match="name"):
        parse(ScenarioRequest, {"name": "a/b", "rain_mm": 10})
    with pytest.raises(FloodInputError, match="whole hours"):
        parse(ScenarioRequest, {"name": "x", "rain_mm": 10, "start": "2026-10-20T00:30"})


def _direct(city_engine, when, threshold):
    with city_engine.connect() as conn:
        step = depth_step(conn, NAME, when)
        a = load_assets(conn, step.grid, (-180, -90, 180, 90)).frames
    p = ExposureParams(road_threshold_m=threshold, point_threshold_m=threshold,
                       parcel_threshold_m=threshold)
    return exposure(step.grid.z, step.grid.transform, a["roads"], a["stops"], a["signs"],
                    a["parcels"], a["stations"], a["route_stops"][["route_id", "stop_id"]], p)


def test_exposure_equals_direct_computation(yagi, city_engine):
    when = START.replace(hour=2)
    direct = _direct(city_engine, when, 0.2).summary()
    with city_engine.connect() as conn:
        got = compute(conn, ExposureRequest.of(NAME, when, 0.2))
    s = got["summary"]
    assert s["road_km_flooded"] == pytest.approx(direct["road_km_flooded"], abs=1e-3)
    assert s["stops_flooded"] == direct["stops_flooded"]
    assert s["parcels_flooded"] == direct["parcels_flooded"]
    assert s["routes_losing_stops"] == direct["routes_losing_stops"]
    assert len(got["features"]) == (direct["stops_flooded"] + direct["signs_flooded"] +
                                    direct["stations_flooded"] + direct["parcels_flooded"] +
                                    sum(1 for f in got["features"]
                                        if f["properties"]["layer"] == "road_segments"))


def test_exposure_cli_writes_geojson(yagi, city_engine, city_url, tmp_path):
    out = tmp_path / "exposure.geojson"
    when = START.replace(hour=2).isoformat()
    r = CliRunner().invoke(main, ["flood", "exposure", "--scenario", NAME, "--time", when,
                                  "--threshold", "0.2", "-o", str(out)],
                           env={"TWIN_DATABASE_URL": city_url, "TWIN_DATA_DIR": str(tmp_path)})
    assert r.exit_code == 0, r.output
    doc = json.loads(out.read_text())
    direct = _direct(city_engine, START.replace(hour=2), 0.2).summary()
    assert doc["summary"]["parcels_flooded"] == direct["parcels_flooded"]
    assert doc["summary"]["road_km_flooded"] == pytest.approx(direct["road_km_flooded"], abs=1e-3)
    bad = CliRunner().invoke(main, ["flood", "exposure", "--scenario", "nope", "--time", when],
                             env={"TWIN_DATABASE_URL": city_url, "TWIN_DATA_DIR": str(tmp_path)})
    assert bad.exit_code == 1 and "no flood scenario 'nope'" in bad.output
