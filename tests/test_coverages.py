"""Raster coverages over real HTTP: surfaces stored with store_cube into the city DB
after the server started (so the catalogue refresh must find them), read back with
rasterio and GDAL and compared with the source arrays."""

from __future__ import annotations

import io
import subprocess
import time
from datetime import UTC, datetime, timedelta

import httpx
import numpy as np
import pytest
import rasterio
import xarray as xr
from affine import Affine
from PIL import Image
from pyproj import Transformer
from sqlalchemy import text

from twin.rasters.catalogue import SurfaceError, store_cube, store_surface
from twin.rasters.render import _rgba, aqi_concentration_classes
from twin.styles.ramps import classify, pm25_classes

pytestmark = pytest.mark.api_language("en")  # its assertions quote English descriptions

T0 = datetime(2024, 1, 15, 0, tzinfo=UTC)
HOURS = [T0 + timedelta(hours=h) for h in range(4)]
NX, NY, RES = 60, 50, 100.0
# A series of the tests' own: the published pm25_surface of the shared city gains hours
# whenever another test's readings complete an hour (surfaces are built after ingest).
SCENARIO = "coverage-test"
CID = "pm25_surface_coverage_test"


def _grid_origin() -> tuple[float, float]:
    x, y = Transformer.from_crs("OGC:CRS84", "EPSG:3405", always_xy=True).transform(105.85,
                                                                                     21.03)
    return round(x - NX * RES / 2), round(y + NY * RES / 2)


LEFT, TOP = _grid_origin()
TRANSFORM = Affine(RES, 0, LEFT, 0, -RES, TOP)


def _values(hour: int) -> np.ndarray:
    """10..300 µg/m³ across the grid (every PM2.5 class), NaN in the top-left corner."""
    yy, xx = np.mgrid[0:NY, 0:NX]
    field = 10 + 290 * (xx / (NX - 1)) * (0.6 + 0.4 * yy / (NY - 1)) + 3 * hour
    field[:5, :5] = np.nan
    return field.astype("float32")


def _cube() -> xr.DataArray:
    data = np.stack([_values(h) for h in range(len(HOURS))])
    times = np.array([t.replace(tzinfo=None) for t in HOURS], dtype="datetime64[ns]")
    return xr.DataArray(data, dims=("time", "y", "x"), coords={"time": times},
                        attrs={"crs": "EPSG:3405", "transform": tuple(TRANSFORM)[:6],
                               "method": "idw", "loocv_rmse": 4.2})


def _wait_for(http, predicate, what: str):
    """The server checks the catalogue at most once a second: poll until it shows."""
    for _ in range(100):
        body = http.get("/collections").json()
        if predicate(body):
            return body
        time.sleep(0.1)
    raise AssertionError(f"{what} never appeared in /collections")


@pytest.fixture(scope="module")
def surfaces(server, city_engine, tmp_path_factory):
    """Four hourly PM2.5 surfaces and one raster whose file then goes missing."""
    raster_dir = tmp_path_factory.mktemp("coverages")
    with city_engine.begin() as conn:
        ids = store_cube(conn, _cube(), kind="air_quality", variable="pm25",
                         scenario=SCENARIO, raster_dir=raster_dir)
        broken = store_surface(conn, _cube().isel(time=0).drop_vars("time"), kind="other",
                               variable="broken", valid_time=None, raster_dir=raster_dir)
        paths = dict(conn.execute(text("SELECT external_id, path FROM rasters")).all())
    (raster_dir / "other" / f"{broken}.tif").unlink()
    with httpx.Client(base_url=server, timeout=30) as http:
        _wait_for(http, lambda b: {CID, "broken"} <= {c["id"] for c in b["collections"]},
                  "the stored surfaces")
    yield {"ids": ids, "paths": paths, "dir": raster_dir}
    with city_engine.begin() as conn:
        conn.execute(text("DELETE FROM rasters WHERE external_id = ANY(:ids)"),
                     {"ids": [*ids, broken]})


def _tiff(response) -> rasterio.io.DatasetReader:
    assert response.status_code == 200, response.text
    return rasterio.io.MemoryFile(response.content).open()


def test_store_surface_names_and_refuses(surfaces, city_engine, tmp_path):
    assert surfaces["ids"][0] == "air_quality-pm25-coverage_test-20240115T000000Z"
    bad = xr.DataArray(np.zeros((3, 3)), dims=("y", "x"))
    with city_engine.begin() as conn, pytest.raises(SurfaceError, match="no CRS"):
        store_surface(conn, bad, kind="air_quality", variable="pm25", valid_time=T0,
                      raster_dir=tmp_path)


def test_cogs_are_cogs(surfaces):
    for ident in (surfaces["ids"][0], "hanoi-dem-10m"):
        info = subprocess.run(["gdalinfo", surfaces["paths"][ident]], capture_output=True,
                              text=True, check=True).stdout
        assert "LAYOUT=COG" in info, ident


def test_collections_list_extents(surfaces, http):
    body = http.get("/collections").json()
    found = {c["id"]: c for c in body["collections"]}
    pm25, dem = found[CID], found["dem"]
    assert pm25["extent"]["temporal"]["interval"][0][0].startswith("2024-01-15T00:00:00")
    assert pm25["extent"]["temporal"]["interval"][0][1].startswith("2024-01-15T03:00:00")
    west, south, east, north = pm25["extent"]["spatial"]["bbox"][0]
    assert west < 105.85 < east and south < 21.03 < north
    assert "temporal" not in dem["extent"]
    rels = {link["rel"].rsplit("/", 1)[-1] for link in pm25["links"]}
    assert {"coverage", "map", "tilesets-map"} <= rels
    one = http.get(f"/collections/{CID}").json()
    assert one["extent"]["spatial"]["grid"][0]["cellsCount"] == NX


def test_coverage_geotiff_subset_equals_source(surfaces, http):
    # columns 10..29, rows 5..19 of hour 2
    e0, n1 = TRANSFORM @ (10, 5)
    e1, n0 = TRANSFORM @ (30, 20)
    r = http.get(f"/collections/{CID}/coverage", params={
        "f": "GeoTIFF", "subset": f"E({e0}:{e1}),N({n0}:{n1})",
        "datetime": "2024-01-15T02:00:00Z"})
    assert r.headers["content-type"].startswith("image/tiff")
    with _tiff(r) as ds:
        assert ds.crs.to_epsg() == 3405
        assert ds.transform.almost_equals(TRANSFORM @ Affine.translation(10, 5))
        np.testing.assert_array_equal(ds.read(1), _values(2)[5:20, 10:30])


def test_coverage_bbox_in_crs84_and_scaled(surfaces, http):
    r = http.get(f"/collections/{CID}/coverage",
                 params={"bbox": "105.84,21.025,105.86,21.035", "f": "tif"})
    with _tiff(r) as ds:
        assert 15 < ds.width < NX and 5 < ds.height < NY
        col, row = ~TRANSFORM @ (ds.transform.c, ds.transform.f)
        np.testing.assert_array_equal(
            ds.read(1), _values(3)[round(row):round(row) + ds.height,
                                   round(col):round(col) + ds.width])
    r = http.get(f"/collections/{CID}/coverage", params={"scale-size": "x(30),y(25)"})
    with _tiff(r) as ds:
        assert (ds.width, ds.height) == (30, 25)
        assert ds.transform.a == pytest.approx(2 * RES)


def test_coverage_json_matches(surfaces, http):
    r = http.get(f"/collections/{CID}/coverage",
                 params={"f": "CoverageJSON", "datetime": "2024-01-15T01:10:00Z"})
    assert r.status_code == 200, r.text
    doc = r.json()
    axes = doc["domain"]["axes"]
    assert axes["t"]["values"] == ["2024-01-15T01:00:00Z"]
    assert axes["x"]["num"] == NX and axes["x"]["start"] == LEFT + RES / 2
    rng = doc["ranges"]["pm25"]
    assert rng["shape"] == [1, NY, NX]
    values = np.array([np.nan if v is None else v for v in rng["values"]]).reshape(NY, NX)
    np.testing.assert_allclose(values, _values(1), rtol=1e-5)


def test_domainset_and_rangetype(surfaces, http):
    dom = http.get(f"/collections/{CID}/coverage/domainset").json()
    axes = {a["axisLabel"]: a for a in dom["generalGrid"]["axis"]}
    assert axes["E"]["lowerBound"] == LEFT and axes["time"]["coordinate"][-1].startswith(
        "2024-01-15T03")
    rng = http.get(f"/collections/{CID}/coverage/rangetype").json()
    assert rng["field"][0]["id"] == "pm25" and rng["field"][0]["uom"]["code"] == "µg/m³"


@pytest.mark.parametrize("when,hour", [("2024-01-15T02:20:00Z", 2), ("2024-01-15T02:40:00Z", 3),
                                       ("2024-01-15T03:00:00Z", 3), (None, 3)])
def test_datetime_nearest_step(surfaces, http, when, hour):
    params = {"f": "GeoTIFF", **({"datetime": when} if when else {})}
    r = http.get(f"/collections/{CID}/coverage", params=params)
    assert r.headers["content-date"].startswith(HOURS[hour].isoformat()[:19])
    with _tiff(r) as ds:
        np.testing.assert_array_equal(ds.read(1), _values(hour))


def test_map_png_colours_and_transparency(surfaces, http):
    e1, n0 = TRANSFORM @ (NX, NY)
    r = http.get(f"/collections/{CID}/map", params={
        "bbox": f"{LEFT},{n0},{e1},{TOP}", "bbox-crs": "EPSG:3405", "crs": "EPSG:3405",
        "width": NX, "height": NY, "datetime": "2024-01-15T00:00:00Z"})
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    rgba = np.asarray(Image.open(io.BytesIO(r.content)).convert("RGBA"))
    source = _values(0)
    for row, col in ((10, 3), (25, 30), (45, 59), (49, 20)):
        expected = _rgba(classify(float(source[row, col]), pm25_classes()).colour)
        assert tuple(rgba[row, col]) == expected, (row, col)
    assert rgba[:5, :5, 3].max() == 0  # nodata corner
    wide = http.get(f"/collections/{CID}/map", params={"bbox": "105.7,20.9,106.0,21.2",
                                                       "width": 300, "height": 300})
    rgba = np.asarray(Image.open(io.BytesIO(wide.content)).convert("RGBA"))
    assert rgba[0, 0, 3] == 0 and rgba[150, 150, 3] == 255


def test_map_tiles(surfaces, http):
    z, n = 13, 2 ** 13
    x = int((105.85 + 180) / 360 * n)
    lat = np.radians(21.03)
    y = int((1 - np.log(np.tan(lat) + 1 / np.cos(lat)) / np.pi) / 2 * n)
    r = http.get(f"/collections/{CID}/map/tiles/WebMercatorQuad/{z}/{y}/{x}",
                 params={"datetime": "2024-01-15T01:00:00Z"})
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    tile = np.asarray(Image.open(io.BytesIO(r.content)).convert("RGBA"))
    assert tile.shape == (256, 256, 4) and (tile[..., 3] > 0).sum() > 100
    far = http.get(f"/collections/{CID}/map/tiles/WebMercatorQuad/{z}/{y}/{x + 50}")
    assert np.asarray(Image.open(io.BytesIO(far.content)).convert("RGBA"))[..., 3].max() == 0
    dem = http.get(f"/collections/dem/map/tiles/WebMercatorQuad/{z}/{y}/{x}")
    assert np.asarray(Image.open(io.BytesIO(dem.content)).convert("RGBA"))[..., 3].max() == 255
    assert http.get(f"/collections/{CID}/map/tiles/WebMercatorQuad").json()["dataType"] == "map"


def test_legend(surfaces, http):
    doc = http.get(f"/collections/{CID}/legend", params={"f": "json"}).json()
    assert [c["colour"] for c in doc["classes"]] == [c.colour for c in pm25_classes()]
    assert doc["classes"][-1]["upper"] is None
    r = http.get(f"/collections/{CID}/legend")
    assert r.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(r.content)).size[1] > 100
    no2 = aqi_concentration_classes("no2")  # VN_AQI colours at the NO2 breakpoints
    assert [c.lower for c in no2] == [0, 100, 200, 700, 1200, 2350]
    assert [c.colour for c in no2] == [c.colour for c in pm25_classes()]


def test_position_series_equals_rasterio(surfaces, http):
    col, row = 33, 21
    x, y = TRANSFORM @ (col + 0.5, row + 0.5)
    lon, lat = Transformer.from_crs("EPSG:3405", "OGC:CRS84", always_xy=True).transform(x, y)
    r = http.get(f"/collections/{CID}/position", params={
        "coords": f"POINT({lon} {lat})", "parameter-name": "pm25",
        "datetime": "2024-01-15T00:00:00Z/2024-01-15T02:00:00Z"})
    assert r.status_code == 200, r.text
    doc = r.json()
    assert doc["domain"]["domainType"] == "PointSeries"
    assert doc["domain"]["axes"]["t"]["values"] == [f"2024-01-15T0{h}:00:00Z" for h in range(3)]
    expected = []
    for ident in surfaces["ids"][:3]:
        with rasterio.open(surfaces["paths"][ident]) as ds:
            expected.append(float(next(ds.sample([(x, y)]))[0]))
    assert doc["ranges"]["pm25"]["values"] == pytest.approx(expected, rel=1e-6)
    csv_body = http.get(f"/collections/{CID}/position",
                        params={"coords": f"POINT({lon} {lat})", "f": "csv"}).text
    assert csv_body.count("\n") == 1 + len(HOURS)


@pytest.mark.parametrize("path,params", [
    ("coverage", {"bbox": "1,2,3"}),
    ("coverage", {"bbox": "106.5,22,106.6,22.1"}),
    ("coverage", {"subset": "Foo(1:2)"}),
    ("coverage", {"subset": "E(5:1)"}),
    ("coverage", {"datetime": "yesterday"}),
    ("coverage", {"datetime": "2030-01-01T00:00:00Z"}),
    ("coverage", {"datetime": "2024-01-15T00:00:00Z/2024-01-15T02:00:00Z"}),
    ("coverage", {"f": "png"}),
    ("coverage", {"scale-size": "x(8000),y(8000)"}),
    ("coverage", {"width": "0"}),
    ("coverage", {"bbox-crs": "EPSG:999999", "bbox": "1,2,3,4"}),
    ("coverage", {"colour": "red"}),
    ("map", {"width": "100000"}),
    ("map", {"crs": "nonsense"}),
    ("map", {"f": "jpeg"}),
    ("map/tiles/WebMercatorQuad/99/0/0", {}),
    ("map/tiles/WebMercatorQuad/3/9/0", {}),
    ("legend", {"f": "svg"}),
    ("position", {}),
    ("position", {"coords": "POINT(1 2 3)"}),
    ("position", {"coords": "POINT(0 0)"}),
    ("position", {"coords": "POINT(105.85 21.03)", "parameter-name": "no2"}),
    ("position", {"coords": "POINT(105.85 21.03)", "datetime": "2024-02-01/2024-01-01"}),
])
def test_bad_parameters_are_400(surfaces, http, path, params):
    r = http.get(f"/collections/{CID}/{path}", params=params)
    assert r.status_code == 400, (path, params, r.text)
    assert r.json()["code"] == "InvalidParameterValue" and r.json()["description"]


def test_limit_message_names_the_limit(surfaces, http):
    r = http.get(f"/collections/{CID}/coverage", params={"scale-size": "x(8000),y(8000)"})
    assert "16,777,216" in r.json()["description"]


def test_unknown_and_missing(surfaces, http):
    assert http.get("/collections/nope_surface/coverage").status_code == 404
    assert http.get("/collections/bus_stops/coverage").status_code == 404
    assert http.get(f"/collections/{CID}/map/tiles/OtherTMS/1/0/0").status_code == 404
    gone = http.get("/collections/broken/coverage")
    assert gone.status_code == 410 and "broken" in gone.json()["description"]
    assert "/tmp" not in gone.text
    assert http.get("/collections/broken/position",
                    params={"coords": "POINT(105.85 21.03)"}).status_code == 410


def test_new_hour_appears(surfaces, http, city_engine):
    later = T0 + timedelta(hours=4)
    step = _cube().isel(time=0).drop_vars("time")
    with city_engine.begin() as conn:
        ident = store_surface(conn, step, kind="air_quality", variable="pm25",
                              valid_time=later, scenario=SCENARIO, raster_dir=surfaces["dir"])
    try:
        _wait_for(http, lambda b: any(
            c["id"] == CID and c["extent"]["temporal"]["interval"][0][1].startswith(
                "2024-01-15T04") for c in b["collections"]), "the new hour")
        r = http.get(f"/collections/{CID}/coverage", params={"f": "tif"})
        assert r.headers["content-date"].startswith("2024-01-15T04")
    finally:
        with city_engine.begin() as conn:
            conn.execute(text("DELETE FROM rasters WHERE external_id = :i"), {"i": ident})


def test_gdal_reads_the_coverage_endpoint(surfaces, server, tmp_path):
    out = tmp_path / "out.tif"
    url = f"{server}/collections/{CID}/coverage?f=GeoTIFF&datetime=2024-01-15T01:00:00Z"
    subprocess.run(["gdal_translate", "-q", f"/vsicurl/{url}", str(out)], check=True,
                   env={"GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR", "PATH": "/usr/bin:/bin"})
    with rasterio.open(out) as ds:
        np.testing.assert_array_equal(ds.read(1), _values(1))
        assert ds.crs.to_epsg() == 3405


def test_cog_file_served_with_ranges(surfaces, http):
    ident = surfaces["ids"][0]
    r = http.get(f"/rasters/{ident}.tif", headers={"Range": "bytes=0-99"})
    assert r.status_code == 206 and len(r.content) == 100


def test_pygeoapi_pages_of_a_coverage(surfaces, http):
    assert http.get(f"/collections/{CID}", params={"f": "html"}).status_code == 200
    schema = http.get(f"/collections/{CID}/schema").json()
    assert "pm25" in schema["properties"]
    assert http.get("/openapi").status_code == 200
