"""OGC API - Features Part 4 (create, replace, update, delete) over real HTTP against the
demo city: the role matrix from the layer files, validation, ETag/If-Match, a QGIS-style
session and the audit log. Every test creates its own features and deletes them, so the
demo city's counts stay as other tests expect (past versions stay in the history tables,
which no count reads)."""

from __future__ import annotations

import json
import threading
import uuid

import pytest
from pyproj import Transformer
from sqlalchemy import text

from twin.config import REPO_ROOT
from twin.registry import load_registry
from twin.server.auth.keys import create_key

pytestmark = pytest.mark.api_language("en")  # its assertions quote English descriptions

REGISTRY = load_registry(REPO_ROOT / "layers")
ROLES = ("transport", "environment", "land_office", "public")
EPSG = "http://www.opengis.net/def/crs/EPSG/0/{}"
X, Y = 105.8521, 21.0285  # central Hanoi, CRS84

GEOMETRY = {
    "Point": {"type": "Point", "coordinates": [X, Y]},
    "LineString": {"type": "LineString", "coordinates": [[X, Y], [X + 0.001, Y + 0.0005]]},
    "MultiLineString": {"type": "MultiLineString",
                        "coordinates": [[[X, Y], [X + 0.001, Y + 0.0005]]]},
    "MultiPolygon": {"type": "MultiPolygon", "coordinates": [[[
        [X, Y], [X + 0.0004, Y], [X + 0.0004, Y + 0.0003], [X, Y + 0.0003], [X, Y]]]]},
}
PROPERTIES = {
    "admin_areas": {"code": "T-{n}", "name": "Test ward", "level": "ward"},
    "bus_routes": {"route_number": "T{n}", "name": "Test - route"},
    "bus_stops": {"code": "T-{n}", "name": "Test stop"},
    "cameras": {"code": "T-{n}", "status": "online"},
    "flood_extents": {"scenario": "test", "valid_time": "2026-10-01T12:00:00+07:00",
                      "depth_class": "0.2-0.5"},
    "land_parcels": {"map_sheet": 99, "parcel_no": 1, "land_use": "ODT"},
    "parking_sites": {"code": "T-{n}", "name": "Test parking"},
    "road_segments": {"name": "Test street {n}", "road_class": "residential"},
    "sensor_stations": {"code": "T-{n}", "name": "Test station", "kind": "air"},
    "traffic_signals": {"code": "T-{n}"},
    "traffic_signs": {"sign_code": "P.102", "category": "prohibitory"},
}
# A property per layer that PATCH may change, and its new value.
PATCH = {"admin_areas": ("population", 1234), "bus_routes": ("headway_min", 12),
         "bus_stops": ("shelter", True), "cameras": ("status", "offline"),
         "flood_extents": ("depth_max_m", 0.4), "land_parcels": ("address", "1 Test Street"),
         "parking_sites": ("capacity", 40), "road_segments": ("condition", 2),
         "sensor_stations": ("elevation_m", 12.5), "traffic_signals": ("phases", 3),
         "traffic_signs": ("condition", "fair")}


def feature(layer: str, fid: str | None = None, **props) -> dict:
    """A feature of ``layer``; with ``fid``, its id field (if any) is ``fid`` too: a
    layer's id field is its feature id."""
    n = uuid.uuid4().hex[:10]
    properties = {k: v.format(n=n) if isinstance(v, str) else v
                  for k, v in PROPERTIES[layer].items()}
    if fid is not None and REGISTRY.get(layer).id_field:
        properties[REGISTRY.get(layer).id_field] = fid
    properties.update(props)
    out = {"type": "Feature", "geometry": GEOMETRY[REGISTRY.get(layer).geometry],
           "properties": properties}
    if fid is not None:
        out["id"] = fid
    return out


def new_id() -> str:
    return "test-" + uuid.uuid4().hex[:12]


@pytest.fixture(scope="module")
def keys(city_engine) -> dict[str, dict[str, str]]:
    """Headers per role: an API key of each demo role, and none for anonymous."""
    out = {"anonymous": {}}
    for role in (*ROLES, "admin"):
        key, _ = create_key(city_engine, f"test {role}", role)
        out[role] = {"X-API-Key": key}
    return out


@pytest.fixture()
def made(http, keys):
    """Features created in a test, deleted at its end: append (layer, id)."""
    created: list[tuple[str, str]] = []
    yield created
    for layer, fid in created:
        http.delete(f"/collections/{layer}/items/{fid}", headers=keys["admin"])


def create(http, keys, made, layer: str, role: str = "admin", **props) -> str:
    fid = new_id()
    r = http.post(f"/collections/{layer}/items", json=feature(layer, fid, **props),
                  headers=keys[role])
    assert r.status_code == 201, r.text
    made.append((layer, fid))
    return fid


def sql(engine, query: str, **params) -> list[tuple]:
    with engine.connect() as conn:
        return list(conn.execute(text(query), params))


# --- the role matrix ------------------------------------------------------------------

MATRIX = [(layer.name, role) for layer in REGISTRY.tables()
          for role in ("anonymous", *ROLES)]


@pytest.mark.parametrize("layer,role", MATRIX)
def test_role_matrix(http, keys, made, layer, role):
    """Each role tries POST, PUT, PATCH and DELETE on each layer: anonymous gets 401,
    a role without edit rights 403, an editor role 201/200/200/204."""
    editor = role in REGISTRY.get(layer).access.edit
    url = f"/collections/{layer}/items"
    headers = keys[role]
    expect = (lambda ok: ok) if editor else (lambda ok: 401 if role == "anonymous" else 403)

    fid = new_id()
    r = http.post(url, json=feature(layer, fid), headers=headers)
    assert r.status_code == expect(201), r.text
    if r.status_code == 201:
        made.append((layer, fid))
    else:
        assert set(r.json()) == {"code", "description"}
        if role == "anonymous":
            assert "WWW-Authenticate" in r.headers
        fid = create(http, keys, made, layer)

    r = http.put(f"{url}/{fid}", json=feature(layer, fid), headers=headers)
    assert r.status_code == expect(200), r.text
    name, value = PATCH[layer]
    r = http.patch(f"{url}/{fid}", json={"type": "Feature", "properties": {name: value}},
                   headers=headers)
    assert r.status_code == expect(200), r.text
    if editor:
        assert r.json()["properties"][name] == value
    r = http.delete(f"{url}/{fid}", headers=headers)
    assert r.status_code == expect(204), r.text
    gone = http.get(f"{url}/{fid}").status_code
    assert gone == (404 if editor else 200)


@pytest.mark.parametrize("role", ["anonymous", *ROLES])
def test_options_allow_reflects_the_callers_rights(http, keys, role):
    for layer in REGISTRY:
        editor = role in layer.access.edit
        allow = http.options(f"/collections/{layer.name}/items", headers=keys[role])
        assert allow.status_code == 204
        methods = {m.strip() for m in allow.headers["allow"].split(",")}
        assert methods == ({"GET", "HEAD", "OPTIONS", "POST"} if editor
                           else {"GET", "HEAD", "OPTIONS"}), (layer.name, role)
        item = http.options(f"/collections/{layer.name}/items/anything", headers=keys[role])
        methods = {m.strip() for m in item.headers["allow"].split(",")}
        assert methods == ({"GET", "HEAD", "OPTIONS", "PUT", "PATCH", "DELETE"} if editor
                           else {"GET", "HEAD", "OPTIONS"}), (layer.name, role)


def test_reads_still_reach_the_read_routes(http):
    assert http.get("/collections/road_segments/items", params={"limit": 1}).status_code == 200
    assert http.head("/collections/road_segments/items").status_code == 200
    fid = http.get("/collections/bus_stops/items", params={"limit": 1}).json()["features"][0]["id"]
    assert http.get(f"/collections/bus_stops/items/{fid}").status_code == 200


def test_unknown_collection_is_404_for_writes(http, keys):
    r = http.post("/collections/nope/items", json=feature("bus_stops"), headers=keys["admin"])
    assert r.status_code == 404


# --- validation -----------------------------------------------------------------------

def _line(*coords) -> dict:
    return {"type": "LineString", "coordinates": [list(c) for c in coords]}


BOWTIE = {"type": "MultiPolygon", "coordinates": [[[
    [X, Y], [X + 0.001, Y + 0.001], [X + 0.001, Y], [X, Y + 0.001], [X, Y]]]]}


@pytest.mark.parametrize("layer,change,status,words", [
    ("road_segments", {"geometry": {"type": "Point", "coordinates": [X, Y]}}, 400,
     "Point cannot be stored"),
    ("land_parcels", {"geometry": BOWTIE}, 400, "Self-intersection"),
    ("road_segments", {"geometry": _line((2.35, 48.85), (2.36, 48.86))}, 400,
     "outside the plausible extent"),
    ("road_segments", {"geometry": _line((Y, X), (Y + 0.001, X + 0.001))}, 400, "swapped"),
    ("road_segments", {"geometry": None}, 400, "geometry"),
    ("road_segments", {"geometry": {"type": "LineString", "coordinates": [[X, Y]]}}, 400,
     "geometry"),
    ("road_segments", {"properties": {"road_class": "residential"}}, 400, "name"),
    ("road_segments", {"properties": {"name": "x", "road_class": "highway"}}, 400,
     "road_class"),
    ("road_segments", {"properties": {"name": "x", "road_class": "primary", "lanes": 40}},
     400, "lanes"),
    ("road_segments", {"properties": {"name": "x", "road_class": "primary", "lanes": "four"}},
     400, "lanes"),
    ("road_segments", {"properties": {"name": "x", "road_class": "primary", "colour": "red"}},
     400, "colour"),
    ("traffic_signs", {"properties": {"sign_code": "X.1", "category": "warning"}}, 400,
     "sign_code"),
    ("road_segments", {"type": "FeatureCollection"}, 400, "features"),
    ("road_segments", {"type": "Polygon"}, 400, "Feature"),
])
def test_invalid_features_are_refused_with_the_reason(http, keys, layer, change, status, words):
    body = feature(layer, new_id())
    if "properties" in change:
        body["properties"] = change["properties"]
    for key in ("geometry", "type"):
        if key in change:
            body[key] = change[key]
    r = http.post(f"/collections/{layer}/items", json=body, headers=keys["admin"])
    assert r.status_code == status, r.text
    error = r.json()
    assert set(error) == {"code", "description"}
    assert words in error["description"], error


def test_malformed_oversized_and_non_json_bodies(http, keys):
    url, headers = "/collections/road_segments/items", keys["admin"]
    r = http.post(url, content=b'{"type": "Feature", ', headers={
        **headers, "Content-Type": "application/geo+json"})
    assert r.status_code == 400 and "not valid JSON" in r.json()["description"]
    big = feature("road_segments")
    big["properties"]["name"] = "x" * (3 * 1024 * 1024)
    r = http.post(url, json=big, headers=headers)
    assert r.status_code == 413 and r.json()["code"] == "RequestTooLarge"
    r = http.post(url, content=b"name=x", headers={
        **headers, "Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 415
    many = {"type": "LineString", "coordinates": [[105, 21]] * 100_001}
    r = http.post(url, json={**feature("road_segments"), "geometry": many}, headers=headers)
    assert r.status_code == 400 and "vertices" in r.json()["description"]


def test_content_crs_round_trip_in_a_projected_crs(http, keys, made):
    to_3405 = Transformer.from_crs("OGC:CRS84", "EPSG:3405", always_xy=True)
    coords = [to_3405.transform(X, Y), to_3405.transform(X + 0.001, Y + 0.0005)]
    body = feature("road_segments", new_id())
    body["geometry"] = _line(*coords)
    r = http.post("/collections/road_segments/items", json=body, headers={
        **keys["transport"], "Content-Crs": f"<{EPSG.format(3405)}>"})
    assert r.status_code == 201, r.text
    made.append(("road_segments", body["id"]))
    back = http.get(f"/collections/road_segments/items/{body['id']}",
                    params={"crs": EPSG.format(3405)}).json()
    for (x0, y0), (x1, y1) in zip(coords, back["geometry"]["coordinates"], strict=False):
        assert abs(x0 - x1) < 0.01 and abs(y0 - y1) < 0.01
    plain = http.get(f"/collections/road_segments/items/{body['id']}").json()
    assert abs(plain["geometry"]["coordinates"][0][0] - X) < 1e-6
    assert abs(plain["geometry"]["coordinates"][0][1] - Y) < 1e-6


def test_epsg_4326_is_latitude_first(http, keys, made):
    body = feature("bus_stops", new_id())
    body["geometry"] = {"type": "Point", "coordinates": [Y, X]}
    r = http.post("/collections/bus_stops/items", json=body,
                  headers={**keys["transport"], "Content-Crs": EPSG.format(4326)})
    assert r.status_code == 201, r.text
    made.append(("bus_stops", body["id"]))
    assert r.json()["geometry"]["coordinates"] == pytest.approx([X, Y])


def test_polygon_is_stored_as_multipolygon(http, keys, made):
    body = feature("land_parcels", new_id())
    body["geometry"] = {"type": "Polygon",
                        "coordinates": body["geometry"]["coordinates"][0]}
    r = http.post("/collections/land_parcels/items", json=body, headers=keys["land_office"])
    assert r.status_code == 201, r.text
    made.append(("land_parcels", body["id"]))
    assert r.json()["geometry"]["type"] == "MultiPolygon"
    assert r.json()["properties"]["area_m2"] > 0


def test_ids_client_given_server_assigned_and_taken(http, keys, made):
    url = "/collections/road_segments/items"
    fid = new_id()
    r = http.post(url, json=feature("road_segments", fid), headers=keys["transport"])
    assert r.status_code == 201 and r.headers["location"].endswith(f"/items/{fid}")
    made.append(("road_segments", fid))
    again = http.post(url, json=feature("road_segments", fid), headers=keys["transport"])
    assert again.status_code == 409 and again.json()["code"] == "Conflict"
    r = http.post(url, json=feature("road_segments"), headers=keys["transport"])
    assert r.status_code == 201
    made.append(("road_segments", r.json()["id"]))
    assert http.get(r.headers["location"]).json()["id"] == r.json()["id"]
    # a layer with an id_field takes the id from it (bus stops have none: GTFS stop_id)
    camera = feature("cameras")
    r = http.post("/collections/cameras/items", json=camera, headers=keys["transport"])
    assert r.status_code == 201 and r.json()["id"] == camera["properties"]["code"]
    made.append(("cameras", r.json()["id"]))
    wrong = http.patch(f"{url}/{fid}", json={"type": "Feature", "id": "other",
                                             "properties": {}}, headers=keys["transport"])
    assert wrong.status_code == 400
    missing = http.patch(f"{url}/no-such-feature", json={"type": "Feature", "properties": {}},
                         headers=keys["transport"])
    assert missing.status_code == 404


def test_feature_collection_is_created_in_one_transaction(http, keys, made, city_engine):
    url = "/collections/traffic_signs/items"
    ids = [new_id() for _ in range(3)]
    good = {"type": "FeatureCollection", "features": [feature("traffic_signs", i) for i in ids]}
    bad = json.loads(json.dumps(good))
    bad["features"][2]["properties"]["category"] = "nonsense"
    r = http.post(url, json=bad, headers=keys["transport"])
    assert r.status_code == 400 and "features[2]" in r.json()["description"]
    assert not sql(city_engine, "SELECT 1 FROM traffic_signs WHERE external_id = ANY(:ids)",
                   ids=ids)
    taken = json.loads(json.dumps(good))
    taken["features"][1]["id"] = "test-taken-" + uuid.uuid4().hex[:6]
    r = http.post(url, json=taken["features"][1], headers=keys["transport"])
    made.append(("traffic_signs", taken["features"][1]["id"]))
    r = http.post(url, json=taken, headers=keys["transport"])
    assert r.status_code == 409
    assert not sql(city_engine, "SELECT 1 FROM traffic_signs WHERE external_id = ANY(:ids)",
                   ids=[ids[0], ids[2]])
    r = http.post(url, json=good, headers=keys["transport"])
    assert r.status_code == 201, r.text
    made.extend(("traffic_signs", i) for i in ids)
    assert [f["id"] for f in r.json()["features"]] == ids


def test_put_replaces_and_patch_merges(http, keys, made):
    fid = create(http, keys, made, "road_segments", lanes=2, surface="asphalt")
    url = f"/collections/road_segments/items/{fid}"
    r = http.patch(url, json={"type": "Feature", "properties": {"lanes": 4, "surface": None}},
                   headers=keys["transport"])
    props = r.json()["properties"]
    assert (props["lanes"], props["surface"], props["road_class"]) == (4, None, "residential")
    # PUT: what is left out becomes empty; the computed length is read-only and ignored
    body = feature("road_segments", fid)
    body["properties"]["length_m"] = 1.0
    r = http.put(url, json=body, headers=keys["transport"])
    assert r.status_code == 200, r.text
    assert r.json()["properties"]["lanes"] is None
    assert r.json()["properties"]["length_m"] > 50
    r = http.patch(url, json={"type": "Feature", "properties": {"name": None}},
                   headers=keys["transport"])
    assert r.status_code == 400 and "name" in r.json()["description"]
    r = http.put(url, json={"type": "Feature", "properties": body["properties"]},
                 headers=keys["transport"])
    assert r.status_code == 400 and "geometry" in r.json()["description"]


def test_private_fields_are_written_only_by_those_who_see_them(http, keys, made):
    fid = create(http, keys, made, "land_parcels", role="land_office",
                 owner_name="Nguyễn Test", owner_id_number="001234567890")
    url = f"/collections/land_parcels/items/{fid}"
    mine = http.get(url, headers=keys["land_office"]).json()["properties"]
    assert mine["owner_name"] == "Nguyễn Test"
    public = http.get(url).json()["properties"]
    assert "owner_name" not in public and "owner_id_number" not in public
    r = http.patch(url, json={"type": "Feature", "properties": {"owner_id_number": "12"}},
                   headers=keys["land_office"])
    assert r.status_code == 400 and "owner_id_number" in r.json()["description"]
    # a PUT leaves the private fields alone for nobody but those who see them
    r = http.put(url, json=feature("land_parcels", fid), headers=keys["land_office"])
    assert r.json()["properties"]["owner_name"] is None


# --- optimistic concurrency -----------------------------------------------------------

def test_item_etag_is_strong_and_changes_with_every_edit(http, keys, made):
    fid = create(http, keys, made, "bus_stops", role="transport")
    url = f"/collections/bus_stops/items/{fid}"
    first = http.get(url)
    etag = first.headers["etag"]
    assert not etag.startswith("W/")
    assert http.get(url, headers={"If-None-Match": etag}).status_code == 304
    r = http.patch(url, json={"type": "Feature", "properties": {"shelter": True}},
                   headers={**keys["transport"], "If-Match": etag})
    assert r.status_code == 200 and r.headers["etag"] != etag
    assert http.get(url).headers["etag"] == r.headers["etag"]
    stale = http.patch(url, json={"type": "Feature", "properties": {"shelter": False}},
                       headers={**keys["transport"], "If-Match": etag})
    assert stale.status_code == 412 and stale.json()["code"] == "PreconditionFailed"
    assert http.delete(url, headers={**keys["transport"], "If-Match": etag}).status_code == 412
    weak = http.delete(url, headers={**keys["transport"], "If-Match": "W/" + r.headers["etag"]})
    assert weak.status_code == 412


def test_concurrent_patches_with_the_same_etag_one_wins(server, keys, made, http):
    import httpx

    fid = create(http, keys, made, "road_segments", role="transport")
    url = f"{server}/collections/road_segments/items/{fid}"
    etag = http.get(url).headers["etag"]
    barrier, results = threading.Barrier(4), []

    def patch(value: int) -> None:
        with httpx.Client(timeout=30) as client:
            barrier.wait()
            results.append(client.patch(url, json={"type": "Feature",
                                                   "properties": {"condition": value}},
                                        headers={**keys["transport"], "If-Match": etag}))

    threads = [threading.Thread(target=patch, args=(v,)) for v in (1, 2, 3, 4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    codes = sorted(r.status_code for r in results)
    assert codes == [200, 412, 412, 412], [r.text for r in results]
    winner = next(r for r in results if r.status_code == 200)
    assert http.get(url).json()["properties"]["condition"] == \
        winner.json()["properties"]["condition"]


# --- a QGIS-style session and the audit log -------------------------------------------

def test_qgis_style_session_round_trips_and_is_audited(http, keys, city_engine):
    url = "/collections/road_segments/items"
    options = http.options(url, headers=keys["transport"])
    assert "POST" in options.headers["allow"]
    body = feature("road_segments")
    created = http.post(url, json=body, headers={**keys["transport"],
                                                 "Content-Type": "application/geo+json",
                                                 "X-Request-Id": "qgis-1"})
    assert created.status_code == 201, created.text
    location = created.headers["location"]
    fid = created.json()["id"]
    got = http.get(location)
    assert got.json()["properties"]["name"] == body["properties"]["name"]
    moved = {"type": "LineString", "coordinates": [[X, Y], [X + 0.002, Y + 0.001]]}
    patched = http.patch(location, json={"type": "Feature", "geometry": moved,
                                         "properties": {"condition": 3}},
                         headers={**keys["transport"], "If-Match": got.headers["etag"],
                                  "X-Edit-Reason": "survey"})
    assert patched.status_code == 200, patched.text
    again = http.get(location).json()
    assert again["geometry"]["coordinates"][1] == pytest.approx([X + 0.002, Y + 0.001])
    assert again["properties"]["condition"] == 3
    deleted = http.delete(location, headers={**keys["transport"],
                                             "If-Match": patched.headers["etag"]})
    assert deleted.status_code == 204
    assert http.get(location).status_code == 404

    rows = sql(city_engine, "SELECT action, actor, agency, method, request_id, reason, before, "
                            "after FROM audit_log WHERE layer = 'road_segments' AND "
                            "external_id = :fid ORDER BY id", fid=fid)
    assert [r[0] for r in rows] == ["insert", "update", "delete"]
    assert {r[2] for r in rows} == {"test transport"} and {r[3] for r in rows} == {"api_key"}
    assert rows[0][4] == "qgis-1" and rows[1][5] == "survey"
    insert, update, delete = rows
    assert insert[6] is None and insert[7]["properties"]["name"] == body["properties"]["name"]
    assert update[6]["properties"]["condition"] is None
    assert update[7]["properties"]["condition"] == 3
    assert update[7]["geometry"]["coordinates"][1] == pytest.approx([X + 0.002, Y + 0.001])
    assert delete[6]["properties"]["condition"] == 3 and delete[7] is None
    history = sql(city_engine, "SELECT operation, changed_by FROM road_segments_history "
                               "WHERE external_id = :fid ORDER BY valid_from", fid=fid)
    assert [h[0] for h in history] == ["update", "delete"]
    assert {h[1] for h in history} == {rows[0][1]}


def test_a_new_feature_widens_the_collection_extent(http, keys, made):
    """The in-memory extent grows at once (the tileset metadata reads it); the whole
    extent is recomputed in the background shortly after."""
    url = "/collections/bus_stops/tiles/WebMercatorQuad"
    assert http.get(url).json()["boundingBox"]["lowerLeft"][0] > 105.2
    body = feature("bus_stops", new_id())
    body["geometry"] = {"type": "Point", "coordinates": [105.15, 21.0]}
    r = http.post("/collections/bus_stops/items", json=body, headers=keys["transport"])
    assert r.status_code == 201
    made.append(("bus_stops", body["id"]))
    assert http.get(url).json()["boundingBox"]["lowerLeft"][0] == pytest.approx(105.15)
