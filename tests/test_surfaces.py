"""Air-quality surfaces from the demo city's readings: the stored COG of an hour is
exactly ``twin.analysis.interpolate`` run on that hour's means, with its LOOCV in the
catalogue; the CLI stores rows and COGs; ingests queue the hours they touch."""

from __future__ import annotations

import json
import os
import subprocess
from datetime import UTC, datetime, timedelta

import numpy as np
import psycopg
import pytest
import rasterio
from click.testing import CliRunner
from pyproj import Transformer
from shapely import wkb
from shapely.ops import transform as reproject
from sqlalchemy import text

from twin.analysis.interpolate import Grid, InterpolationParams, fit_surface, interpolate, project
from twin.cli import main
from twin.surfaces.pending import process_pending
from twin.surfaces.request import DEFAULT_RESOLUTION, SurfaceRequest
from twin.surfaces.run import driver_connection, make_surfaces

HOUR = datetime(2026, 10, 1, 3, tzinfo=UTC)        # 10:00 in Hà Nội, day 1 of the demo


def _means(conn, variable: str, hour: datetime):
    """Station lon/lat and means of ``hour``, read here independently of twin.surfaces."""
    rows = conn.execute(
        "SELECT ST_X(s.geom), ST_Y(s.geom), r.mean FROM reading_rollups r JOIN "
        "sensor_stations s ON s.id = r.station_id WHERE r.grain = 'hour' AND "
        "r.property = %s AND r.bucket = %s AND r.mean IS NOT NULL ORDER BY s.id",
        (variable, hour)).fetchall()
    lon, lat, z = (np.array(col, dtype=float) for col in zip(*rows, strict=True))
    return project(lon, lat, 3405), z


def _boundary(conn):
    raw = conn.execute("SELECT ST_AsBinary(ST_Union(geom)) FROM admin_areas "
                       "WHERE level = 'district'").fetchone()[0]
    to_m = Transformer.from_crs(4326, 3405, always_xy=True).transform
    return reproject(to_m, wkb.loads(bytes(raw)))


@pytest.fixture(scope="module")
def raster_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("surfaces")


@pytest.fixture(scope="module")
def stored(city_engine, raster_dir):
    """PM2.5 at HOUR and the hour after, made by the pipeline (method auto)."""
    request = SurfaceRequest(pollutant="pm25", start=HOUR, end=HOUR + timedelta(hours=1))
    with driver_connection(city_engine) as conn:
        run = make_surfaces(conn, request, raster_dir)
    return run


def _row(city_engine, ident: str) -> dict:
    with city_engine.connect() as conn:
        return dict(conn.execute(text("SELECT * FROM rasters WHERE external_id = :i"),
                                 {"i": ident}).mappings().one())


def test_surface_equals_direct_interpolation(stored, city_engine):
    assert len(stored.ids) == 2 and stored.skipped == 0
    row = _row(city_engine, stored.ids[0])
    assert row["valid_time"] == HOUR and row["kind"] == "air_quality"
    with driver_connection(city_engine) as conn:
        xy, z = _means(conn, "pm25", HOUR)
        boundary = _boundary(conn)
    grid = Grid.from_bounds(boundary.bounds, DEFAULT_RESOLUTION, 3405)
    params = InterpolationParams(resolution=DEFAULT_RESOLUTION, variance=False)
    expected = interpolate(xy, z[None, :], grid, params, [np.datetime64("2026-10-01T03")],
                           boundary)["value"].values[0]
    with rasterio.open(row["path"]) as src:
        assert src.crs.to_epsg() == 3405
        assert src.transform.almost_equals(grid.transform)
        assert (src.height, src.width) == (grid.ny, grid.nx)
        got = src.read(1, masked=True).filled(np.nan)
    outside = ~grid.inside(boundary)
    assert outside.any() and np.isnan(got[outside]).all()
    np.testing.assert_allclose(got[~outside], expected[~outside].astype("float32"), rtol=1e-6)
    assert np.isfinite(got[~outside]).all()


def test_loocv_metrics_and_method_are_stored(stored, city_engine):
    attrs = _row(city_engine, stored.ids[0])["stats"]["attributes"]
    with driver_connection(city_engine) as conn:
        xy, z = _means(conn, "pm25", HOUR)
    fitted = fit_surface(xy, z, InterpolationParams(variance=False))
    assert attrs["method"] == fitted.method
    assert attrs["stations"] == len(z)
    assert attrs["cv_rmse"] == pytest.approx(fitted.cv.rmse, rel=1e-12)
    assert attrs["cv_mae"] == pytest.approx(fitted.cv.mae, rel=1e-12)
    assert attrs["cv_bias"] == pytest.approx(fitted.cv.bias, rel=1e-12)
    assert json.loads(attrs["interpolation"])["method"] == fitted.method


def test_fixed_method_and_bbox(city_engine, tmp_path):
    request = SurfaceRequest(pollutant="no2", start=HOUR, end=HOUR, method="kriging",
                             model="exponential", resolution=300,
                             bbox=(105.80, 21.00, 105.86, 21.05))
    with driver_connection(city_engine) as conn:
        run = make_surfaces(conn, request, tmp_path)
    attrs = _row(city_engine, run.ids[0])["stats"]["attributes"]
    assert attrs["method"] == "kriging" and attrs["variogram_model"] == "exponential"
    with rasterio.open(_row(city_engine, run.ids[0])["path"]) as src:
        assert src.res == (300, 300)
        assert src.width < 30 and src.height < 30     # the bbox (~6 x 5.5 km), not the city
        assert np.isfinite(src.read(1)).any()


@pytest.mark.parametrize("fields, words", [
    ({"pollutant": "o3"}, "pollutant"),
    ({"end": HOUR - timedelta(hours=1)}, "before its start"),
    ({"resolution": 1}, "resolution"),
    ({"method": "spline"}, "method"),
])
def test_bad_requests_are_refused(fields, words):
    with pytest.raises(ValueError, match=words):
        SurfaceRequest(**{"pollutant": "pm25", "start": HOUR, "end": HOUR, **fields})


def _cli(city_url, data_dir, *args):
    env = {**os.environ, "TWIN_DATABASE_URL": city_url, "TWIN_DATA_DIR": str(data_dir)}
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


def test_cli_writes_rows_and_cogs(city_url, city_engine, tmp_path):
    result = _cli(city_url, tmp_path, "interpolate", "--pollutant", "pm10",
                  "--from", "2026-10-01T05:00Z", "--to", "2026-10-01T07:00Z",
                  "--method", "idw")
    assert result.exit_code == 0, result.output
    assert "3 hourly surfaces stored" in result.output
    with city_engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT valid_time, path, stats FROM rasters WHERE kind = 'air_quality' AND "
            "variable = 'pm10' AND path LIKE :dir ORDER BY valid_time"),
            {"dir": f"{tmp_path}%"}).all()
    assert [r.valid_time.hour for r in rows] == [5, 6, 7]
    for row in rows:
        assert row.stats["attributes"]["method"] == "idw"
        info = subprocess.run(["gdalinfo", row.path], capture_output=True, text=True,
                              check=True).stdout
        assert "LAYOUT=COG" in info


def test_cli_names_the_bad_option(city_url, tmp_path):
    result = _cli(city_url, tmp_path, "interpolate", "--pollutant", "pm25",
                  "--from", "2026-10-02T05:00Z", "--to", "2026-10-01T05:00Z")
    assert result.exit_code == 2 and "--to" in result.output
    result = _cli(city_url, tmp_path, "interpolate", "--pollutant", "pm25",
                  "--from", "yesterday", "--to", "2026-10-01T05:00Z")
    assert result.exit_code == 2 and "--from" in result.output
    result = _cli(city_url, tmp_path, "interpolate", "--pollutant", "pm25", "--from",
                  "2026-10-01T05:00Z", "--to", "2026-10-01T05:00Z", "--bbox", "1,2,3")
    assert result.exit_code == 2 and "--bbox" in result.output


def _stations(conn, n: int) -> list[str]:
    return [r[0] for r in conn.execute(
        "SELECT external_id FROM sensor_stations WHERE kind = 'air' AND 'pm25' = "
        "ANY(properties) ORDER BY external_id LIMIT %s", (n,)).fetchall()]


def test_ingest_queues_hours_and_processing_makes_them(city_engine, city_url, tmp_path):
    """Readings of a new hour, stored by the streaming write path, queue that hour; the
    queue worker makes its surface and takes it off; a late reading re-queues it."""
    from twin.ingest.observations import parse_items, utcnow
    from twin.ingest.stream import write_batch

    hour = datetime(2026, 8, 20, 8, tzinfo=UTC)   # before the demo, in the past
    dsn = city_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn, autocommit=True) as conn:
        codes = _stations(conn, 8)
        items = [{"station": c, "property": "pm25", "time": (hour + timedelta(minutes=10))
                  .isoformat(), "value": 20.0 + 7 * k} for k, c in enumerate(codes)]
        assert write_batch(conn, parse_items(items, utcnow()), "http").inserted == 8
        queued = conn.execute("SELECT variable FROM surface_pending WHERE hour = %s",
                              (hour,)).fetchall()
        assert queued == [("pm25",)]
        conn.execute("DELETE FROM surface_pending WHERE hour <> %s", (hour,))
        summary = process_pending(conn, tmp_path)
        assert summary.surfaces == 1 and summary.failed == 0
        assert conn.execute("SELECT count(*) FROM surface_pending").fetchone()[0] == 0
        stats = conn.execute("SELECT stats FROM rasters WHERE kind = 'air_quality' AND "
                             "variable = 'pm25' AND valid_time = %s", (hour,)).fetchone()[0]
        assert stats["attributes"]["stations"] == 8
        late = [{**items[0], "time": (hour + timedelta(minutes=40)).isoformat()}]
        write_batch(conn, parse_items(late, utcnow()), "http")
        assert conn.execute("SELECT count(*) FROM surface_pending WHERE hour = %s",
                            (hour,)).fetchone()[0] == 1


def test_cli_process_pending(city_url, city_engine, tmp_path):
    with city_engine.begin() as conn:
        queued = conn.execute(text("SELECT count(*) FROM surface_pending")).scalar()
    result = _cli(city_url, tmp_path, "surfaces", "process-pending", "--limit", "2")
    assert result.exit_code == 0, result.output
    assert "surfaces made" in result.output
    with city_engine.begin() as conn:
        assert conn.execute(text("SELECT count(*) FROM surface_pending")).scalar() == \
            max(queued - 2, 0)
