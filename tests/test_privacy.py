"""Personal data in the cadastre never reaches the public: a sweep over every route and
format, asked anonymously, looking for real owner names and ID numbers in the bytes."""

from __future__ import annotations

import math

import pytest
from sqlalchemy import text

PRIVATE_FIELDS = ("owner_name", "owner_id_number")


def _tile(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2 ** z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


@pytest.fixture(scope="module")
def secrets(city_engine) -> list[bytes]:
    """Real private values of the demo city (names, ID numbers) and the field names."""
    with city_engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT owner_name, owner_id_number FROM land_parcels WHERE owner_name IS NOT NULL "
            "ORDER BY id LIMIT 400")).all()
    values = {v for row in rows for v in row if v}
    assert len(values) > 100
    return [v.encode() for v in values] + [f.encode() for f in PRIVATE_FIELDS]


@pytest.fixture(scope="module")
def parcel_spot(city_engine):
    with city_engine.connect() as conn:
        return conn.execute(text("SELECT ST_X(p), ST_Y(p), external_id FROM (SELECT "
                                 "ST_PointOnSurface(geom) p, external_id FROM land_parcels "
                                 "ORDER BY id LIMIT 1) s")).one()


def sweep_paths(http, spot) -> list[tuple[str, dict]]:
    lon, lat, fid = spot
    items = "/collections/land_parcels/items"
    paths = [("/", {"f": "json"}), ("/", {"f": "html"}), ("/openapi", {"f": "json"}),
             ("/conformance", {}), ("/collections", {"f": "json"}),
             ("/collections", {"f": "html"}),
             ("/collections/land_parcels", {"f": "json"}),
             ("/collections/land_parcels", {"f": "html"}),
             ("/collections/land_parcels/queryables", {"f": "json"}),
             ("/collections/land_parcels/queryables", {"f": "html"}),
             ("/collections/land_parcels/schema", {"f": "json"}),
             (f"{items}/{fid}", {"f": "json"}), (f"{items}/{fid}", {"f": "html"}),
             (f"{items}/{fid}", {"crs": "http://www.opengis.net/def/crs/EPSG/0/5897"}),
             (items, {"f": "html", "limit": 200}),
             ("/collections/land_parcels/tiles", {}),
             ("/collections/land_parcels/tiles/WebMercatorQuad", {}),
             ("/collections/land_parcels/tiles/WebMercatorQuad/tilejson.json", {})]
    for fmt in ("json", "csv", "fgb", "gpkg"):
        paths += [(items, {"f": fmt, "limit": 10000}),
                  (items, {"f": fmt, "limit": 10000, "offset": 10000})]
    for z in (14, 16, 18):
        x, y = _tile(lon, lat, z)
        paths.append((f"/collections/land_parcels/tiles/WebMercatorQuad/{z}/{y}/{x}", {}))
    return paths


def test_no_private_value_anywhere_for_the_public(http, secrets, parcel_spot):
    leaks = []
    for path, params in sweep_paths(http, parcel_spot):
        response = http.get(path, params=params)
        assert response.status_code in (200, 204), (path, params, response.status_code)
        body = response.content
        leaks += [(path, params, s.decode()) for s in secrets if s in body]
    assert not leaks, leaks[:5]


@pytest.mark.parametrize("params", [
    {"filter": "owner_name = 'Nguyễn Văn An'"},
    {"filter": '{"op": "=", "args": [{"property": "owner_id_number"}, "001"]}',
     "filter-lang": "cql2-json"},
    {"filter": "owner_name LIKE 'N%'", "f": "html"},
    {"sortby": "owner_id_number"}, {"properties": "owner_name"}, {"owner_name": "x"},
])
def test_naming_a_private_field_is_refused(http, params):
    r = http.get("/collections/land_parcels/items", params=params)
    assert r.status_code == 400, r.text[:200]
    assert r.json()["code"] == "InvalidParameterValue"
