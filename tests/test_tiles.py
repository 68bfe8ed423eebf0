"""OGC API - Tiles (Mapbox vector tiles on WebMercatorQuad) over real HTTP against the
demo city in PostGIS; tiles are decoded and compared with PostGIS queries."""

from __future__ import annotations

import gzip
import math

import mapbox_vector_tile
import pytest
from sqlalchemy import text

from twin.server.tiles.metadata import tile_index

MVT = "application/vnd.mapbox-vector-tile"
TILES = "/collections/{layer}/tiles/WebMercatorQuad"
ORIGIN = 20037508.3427892


def tile_url(layer: str, z: int, x: int, y: int) -> str:
    return f"{TILES.format(layer=layer)}/{z}/{y}/{x}"


def decode(resp, layer: str) -> list[dict]:
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"] == MVT
    return mapbox_vector_tile.decode(resp.content).get(layer, {}).get("features", [])


def rows(engine, query: str, **params) -> list[tuple]:
    with engine.connect() as conn:
        return list(conn.execute(text(query), params))


def ids_in_envelope(engine, table: str, z: int, x: int, y: int, margin: float = 0.0,
                    extra: str = "") -> set[int]:
    """Ids of the features whose geometry meets the tile (plus a margin, in tile units)."""
    return {r[0] for r in rows(
        engine, f"SELECT id FROM {table} WHERE ST_Intersects(ST_Transform(geom, 3857), "
                f"ST_TileEnvelope(:z, :x, :y, margin => :m)) {extra}",
        z=z, x=x, y=y, m=margin)}


@pytest.fixture(scope="module")
def http(server):
    """One keep-alive client for the module (the shared fixture makes one per test)."""
    import httpx

    with httpx.Client(base_url=server, timeout=30) as client:
        yield client


@pytest.fixture(scope="module")
def residential(city_engine) -> tuple[int, float, float]:
    """A residential road (the lowest id) and a point on it."""
    found = rows(city_engine, "SELECT id, ST_X(p), ST_Y(p) FROM (SELECT id, "
                              "ST_LineInterpolatePoint(geom, 0.5) AS p FROM road_segments "
                              "WHERE road_class = 'residential' ORDER BY id LIMIT 1) s")
    assert found, "the demo city has no residential roads"
    return found[0]


@pytest.fixture(scope="module")
def parcel_spot(city_engine) -> tuple[float, float]:
    found = rows(city_engine, "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) "
                              "AS p FROM land_parcels ORDER BY id LIMIT 1) s")
    assert found, "the demo city has no parcels"
    return found[0]


# --- tile matrix sets ----------------------------------------------------------------

@pytest.mark.parametrize("path", ["/tileMatrixSets", "/TileMatrixSets"])
def test_tile_matrix_set_list(http, path):
    body = http.get(path).json()
    (tms,) = body["tileMatrixSets"]
    assert tms["id"] == "WebMercatorQuad"
    assert tms["uri"] == "http://www.opengis.net/def/tilematrixset/OGC/1.0/WebMercatorQuad"
    assert any(link["rel"] == "self" and link["href"].endswith("/WebMercatorQuad")
               for link in tms["links"])


def test_web_mercator_quad_definition(http):
    tms = http.get("/tileMatrixSets/WebMercatorQuad").json()
    assert http.get("/TileMatrixSets/WebMercatorQuad").json() == tms
    assert tms["crs"] == "http://www.opengis.net/def/crs/EPSG/0/3857"
    matrices = tms["tileMatrices"]
    assert [m["id"] for m in matrices] == [str(z) for z in range(25)]
    for z, m in enumerate(matrices):
        assert m["matrixWidth"] == m["matrixHeight"] == 2 ** z
        assert m["tileWidth"] == m["tileHeight"] == 256
        assert m["cornerOfOrigin"] == "topLeft"
        assert m["pointOfOrigin"] == [-ORIGIN, ORIGIN]
        assert math.isclose(m["cellSize"] * 256 * 2 ** z, 2 * ORIGIN, rel_tol=1e-12)
        assert math.isclose(m["scaleDenominator"], m["cellSize"] / 0.00028, rel_tol=1e-12)
    assert http.get("/tileMatrixSets/WorldCRS84Quad").status_code == 404


# --- tileset metadata and TileJSON ---------------------------------------------------

def test_tileset_list_and_metadata(http):
    body = http.get("/collections/land_parcels/tiles").json()
    (tileset,) = body["tilesets"]
    assert tileset["dataType"] == "vector"
    assert tileset["crs"] == "http://www.opengis.net/def/crs/EPSG/0/3857"
    href = next(link["href"] for link in tileset["links"] if link["rel"] == "self")
    meta = http.get(href).json()
    assert meta["dataType"] == "vector"
    assert meta["tileMatrixSetURI"].endswith("/WebMercatorQuad")
    limits = meta["tileMatrixSetLimits"]
    assert [lim["tileMatrix"] for lim in limits] == [str(z) for z in range(14, 23)]
    for lim in limits:
        assert 0 <= lim["minTileRow"] <= lim["maxTileRow"] < 2 ** int(lim["tileMatrix"])
        assert 0 <= lim["minTileCol"] <= lim["maxTileCol"] < 2 ** int(lim["tileMatrix"])
    (layer,) = meta["layers"]
    assert layer["id"] == "land_parcels" and layer["geometryDimension"] == 2
    props = layer["propertiesSchema"]["properties"]
    assert {"external_id", "map_sheet", "parcel_no", "land_use"} <= set(props)
    assert not {"owner_name", "owner_id_number"} & set(props)
    item = next(link for link in meta["links"] if link["rel"] == "item")
    assert item["type"] == MVT and item["templated"] is True
    assert item["href"].endswith("/collections/land_parcels/tiles/WebMercatorQuad/"
                                 "{tileMatrix}/{tileRow}/{tileCol}")


def test_tilejson(http):
    tj = http.get(TILES.format(layer="road_segments") + "/tilejson.json").json()
    assert tj["tilejson"] == "3.0.0"
    assert tj["tiles"][0].endswith("/collections/road_segments/tiles/WebMercatorQuad/"
                                   "{z}/{y}/{x}")
    assert (tj["minzoom"], tj["maxzoom"]) == (10, 22)
    west, south, east, north = tj["bounds"]
    assert west < tj["center"][0] < east and south < tj["center"][1] < north
    assert tj["minzoom"] <= tj["center"][2] <= tj["maxzoom"]
    (vl,) = tj["vector_layers"]
    assert vl["id"] == "road_segments" and {"external_id", "road_class"} <= set(vl["fields"])
    parcels = http.get(TILES.format(layer="land_parcels") + "/tilejson.json").json()
    assert "owner_name" not in parcels["vector_layers"][0]["fields"]
    timed = http.get(TILES.format(layer="cameras") + "/tilejson.json",
                     params={"datetime": "2020-01-01/.."}).json()
    assert timed["tiles"][0].endswith("{x}?datetime=2020-01-01/..")


# --- tiles ---------------------------------------------------------------------------

def test_tile_holds_the_features_of_its_envelope(http, city_engine, residential):
    _, lon, lat = residential
    z = 16                                    # no generalisation rule applies at z16
    x, y = tile_index(lon, lat, z)
    features = decode(http.get(tile_url("road_segments", z, x, y)), "road_segments")
    got = {f["id"] for f in features}
    inside = ids_in_envelope(city_engine, "road_segments", z, x, y)
    buffered = ids_in_envelope(city_engine, "road_segments", z, x, y, margin=64 / 4096)
    assert inside and inside <= got <= buffered
    first = min(features, key=lambda f: f["id"])
    (name, road_class, external_id), = rows(
        city_engine, "SELECT name, road_class, external_id FROM road_segments WHERE id = :i",
        i=first["id"])
    props = first["properties"]
    assert (props["name"], props["road_class"], props["external_id"]) == (
        name, road_class, external_id)
    assert first["geometry"]["type"] in ("LineString", "MultiLineString")


def test_parcel_tiles_leave_private_fields_out(http, parcel_spot):
    x, y = tile_index(*parcel_spot, 17)
    features = decode(http.get(tile_url("land_parcels", 17, x, y)), "land_parcels")
    assert features
    for f in features:
        assert not {"owner_name", "owner_id_number"} & set(f["properties"])
        assert {"external_id", "land_use"} <= set(f["properties"])


def test_minor_roads_appear_only_from_their_zoom(http, residential):
    road_id, lon, lat = residential
    x, y = tile_index(lon, lat, 12)
    low = decode(http.get(tile_url("road_segments", 12, x, y)), "road_segments")
    assert low, "the z12 tile should still hold the major roads"
    classes = {f["properties"]["road_class"] for f in low}
    assert not {"residential", "service"} & classes
    x, y = tile_index(lon, lat, 15)
    high = decode(http.get(tile_url("road_segments", 15, x, y)), "road_segments")
    assert road_id in {f["id"] for f in high}
    assert "residential" in {f["properties"]["road_class"] for f in high}


def test_datetime_filters_the_tile(http, city_engine):
    x, y = tile_index(105.85, 21.03, 12)
    url = tile_url("cameras", 12, x, y)
    everything = {f["id"]: f for f in decode(http.get(url), "cameras")}
    dated = rows(city_engine, "SELECT id, installed_on FROM cameras WHERE id = ANY(:ids) "
                              "AND installed_on IS NOT NULL ORDER BY installed_on",
                 ids=list(everything))
    assert len(dated) >= 2, "the tile needs cameras with an installation date"
    cut = dated[len(dated) // 2][1]
    until = {f["id"] for f in decode(http.get(url, params={"datetime": f"../{cut}"}),
                                     "cameras")}
    assert until == {i for i, d in dated if d <= cut}
    since = {f["id"] for f in decode(http.get(url, params={"datetime": f"{cut}/.."}),
                                     "cameras")}
    assert since == {i for i, d in dated if d >= cut}
    day = {f["id"] for f in decode(http.get(url, params={"datetime": f"{cut}T12:00:00Z"}),
                                   "cameras")}
    assert day == {i for i, d in dated if d == cut}
    assert until != set(everything)


def test_etag_and_not_modified(http, residential):
    _, lon, lat = residential
    x, y = tile_index(lon, lat, 16)
    url = tile_url("road_segments", 16, x, y)
    first = http.get(url)
    etag = first.headers["etag"]
    assert etag.startswith('W/"') and first.headers["cache-control"] == "public, no-cache"
    assert http.get(url).headers["etag"] == etag          # same rows, same bytes
    again = http.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert http.get(url, headers={"If-None-Match": '"other"'}).status_code == 200


def test_tile_survives_gzip(http, residential):
    _, lon, lat = residential
    x, y = tile_index(lon, lat, 14)
    url = tile_url("road_segments", 14, x, y)
    plain = http.get(url, headers={"Accept-Encoding": "identity"})
    with http.stream("GET", url, headers={"Accept-Encoding": "gzip"}) as zipped:
        raw = b"".join(zipped.iter_raw())
        assert zipped.headers.get("content-encoding") == "gzip"
    assert gzip.decompress(raw) == plain.content
    assert decode(plain, "road_segments")


def test_below_minzoom_is_no_content(http, parcel_spot):
    x, y = tile_index(*parcel_spot, 12)
    resp = http.get(tile_url("land_parcels", 12, x, y))
    assert resp.status_code == 204 and resp.content == b""


@pytest.mark.parametrize("path, params", [
    (tile_url("road_segments", 25, 0, 0), {}),
    (tile_url("road_segments", 3, 8, 0), {}),
    (tile_url("road_segments", 3, 0, 8), {}),
    (TILES.format(layer="road_segments") + "/z/0/0", {}),
    (TILES.format(layer="road_segments") + "/3/-1/0", {}),
    (TILES.format(layer="road_segments") + "/3.5/0/0", {}),
    (tile_url("cameras", 14, 13000, 7200), {"datetime": "2026-13-01"}),
    (tile_url("cameras", 14, 13000, 7200), {"datetime": "2026-10-02/2026-10-01"}),
])
def test_bad_requests_are_ogc_exceptions(http, path, params):
    resp = http.get(path, params=params)
    assert resp.status_code == 400
    body = resp.json()
    assert body["code"] == "InvalidParameterValue" and body["description"]


@pytest.mark.parametrize("path", [
    "/collections/no_such_layer/tiles",
    "/collections/no_such_layer/tiles/WebMercatorQuad/14/7200/13000",
    "/collections/road_segments/tiles/WorldCRS84Quad/14/7200/13000",
    "/collections/road_segments/tiles/WorldCRS84Quad",
])
def test_unknown_collection_or_matrix_set_is_404(http, path):
    resp = http.get(path)
    assert resp.status_code == 404
    assert resp.json()["code"] == "NotFound"


def test_projected_storage_crs_gives_the_same_tile(city_url, registry, city_engine, residential):
    """A layer stored in UTM 48N (metres) is filtered in its own SRID and simplified with a
    tolerance in metres; its tile holds the same features as the EPSG:4326 original."""
    import psycopg

    from twin.server.db import libpq_url
    from twin.server.tiles.sql import LayerTiles

    roads = registry.get("road_segments")
    utm = roads.model_copy(update={"storage_crs": "EPSG:32648", "table": "tiles_utm_roads"})
    cols = ", ".join(["id", "external_id", *roads.fields])
    _, lon, lat = residential
    with psycopg.connect(libpq_url(city_url), autocommit=True) as conn:
        conn.execute(f"CREATE TEMP TABLE tiles_utm_roads AS SELECT {cols}, "
                     "ST_Transform(geom, 32648) AS geom FROM road_segments WHERE geom && "
                     "ST_Expand(ST_SetSRID(ST_MakePoint(%s, %s), 4326), 0.1)", (lon, lat))
        for z in (16, 13):
            x, y = tile_index(lon, lat, z)
            tiles = {}
            for layer in (roads, utm):
                statement, params = LayerTiles(layer).query(z, x, y)
                body = conn.execute(statement, params).fetchone()[0]
                tiles[layer.srid] = {f["id"] for f in mapbox_vector_tile.decode(bytes(body))
                                     ["road_segments"]["features"]}
            if z == 13:
                assert params["tolerance"] == pytest.approx(
                    40075016.69 / 256 / 2 ** 13 * math.cos(math.radians(lat)), rel=0.01)
                # simplified in metres rather than degrees: only lines at the edge differ
                assert len(tiles[32648] ^ tiles[4326]) <= max(2, len(tiles[4326]) // 100)
            else:
                inside = ids_in_envelope(city_engine, "road_segments", z, x, y)
                buffered = ids_in_envelope(city_engine, "road_segments", z, x, y, 64 / 4096)
                assert inside <= tiles[32648] <= buffered


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_tile_documents_follow_the_language(http, registry, lang):
    """Tilesets, tileset metadata and TileJSON in the request's language (lang= or
    Accept-Language; Vietnamese by default), as the collection documents are."""
    roads = registry.get("road_segments")
    base = TILES.format(layer="road_segments")
    headers = {"Accept-Language": lang}
    listing = http.get("/collections/road_segments/tiles", headers=headers).json()
    assert listing["tilesets"][0]["title"].startswith(roads.title_in(lang))
    assert listing["links"][0]["title"] == {"vi": "Các bộ ô bản đồ", "en": "Tilesets"}[lang]
    meta = http.get(base, params={"lang": lang}).json()
    assert (meta["title"], meta["description"]) == (roads.title_in(lang),
                                                    roads.description_in(lang))
    props = meta["layers"][0]["propertiesSchema"]["properties"]
    assert props["name"]["description"] == roads.fields["name"].description_in(lang)
    tj = http.get(base + "/tilejson.json", headers=headers)
    assert tj.headers["content-language"].startswith(lang)
    assert tj.json()["name"] == roads.title_in(lang)
    assert tj.json()["vector_layers"][0]["fields"]["name"] == \
        roads.fields["name"].description_in(lang)
