"""Time travel on asset layers (``history: true``): ``datetime`` returns the versions valid
then, from the items, a single item's layer and the vector tiles. Features are created
and deleted by each test through the edit API (see test_edit.py)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import mapbox_vector_tile
import pytest
from sqlalchemy import text

from twin.server.auth.keys import create_key

X, Y = 105.8521, 21.0285
ROADS = "/collections/road_segments/items"


@pytest.fixture(scope="module")
def transport(city_engine) -> dict[str, str]:
    key, _ = create_key(city_engine, "test history", "transport")
    return {"X-API-Key": key}


def stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def version_time(engine, table: str, fid: str) -> datetime:
    with engine.connect() as conn:
        return conn.execute(text(f"SELECT updated_at FROM {table} WHERE external_id = :f"),
                            {"f": fid}).scalar()


def between(a: datetime, b: datetime) -> str:
    return stamp(a + (b - a) / 2)


def road(name: str, coords) -> dict:
    return {"type": "Feature", "id": name,
            "geometry": {"type": "LineString", "coordinates": coords},
            "properties": {"name": name, "road_class": "primary", "condition": 2}}


def find(http, name: str, **params) -> list[dict]:
    r = http.get(ROADS, params={"filter": f"name = '{name}'", **params})
    assert r.status_code == 200, r.text
    return r.json()["features"]


@pytest.fixture()
def a_road(http, transport, city_engine):
    """A road created for the test: (id, version time); deleted at the end."""
    fid = "test-road-" + uuid.uuid4().hex[:10]
    r = http.post(ROADS, json=road(fid, [[X, Y], [X + 0.001, Y]]), headers=transport)
    assert r.status_code == 201, r.text
    yield fid, version_time(city_engine, "road_segments", fid)
    http.delete(f"{ROADS}/{fid}", headers=transport)


def test_datetime_before_a_patch_returns_the_old_version(http, transport, city_engine, a_road):
    fid, created = a_road
    r = http.patch(f"{ROADS}/{fid}", json={"type": "Feature", "properties": {"condition": 5}},
                   headers=transport)
    assert r.status_code == 200
    repaired = version_time(city_engine, "road_segments", fid)
    assert repaired > created

    (old,) = find(http, fid, datetime=between(created, repaired))
    assert old["properties"]["condition"] == 2
    assert old["properties"]["valid_to"] is not None
    (new,) = find(http, fid, datetime=stamp(datetime.now(UTC)))
    assert new["properties"]["condition"] == 5 and new["properties"]["valid_to"] is None
    (now,) = find(http, fid)
    assert now["properties"]["condition"] == 5 and "valid_from" not in now["properties"]
    assert find(http, fid, datetime=stamp(created.replace(year=2000))) == []
    # an interval gives each feature once: its latest version within the interval
    (latest,) = find(http, fid, datetime=f"{stamp(created)}/..")
    assert latest["properties"]["condition"] == 5
    (earlier,) = find(http, fid, datetime=f"../{between(created, repaired)}")
    assert earlier["properties"]["condition"] == 2
    # paging and counts still hold on a time-travel query
    body = http.get(ROADS, params={"datetime": between(created, repaired), "limit": 1}).json()
    assert body["numberReturned"] == 1


def test_a_deleted_feature_exists_at_an_earlier_datetime(http, transport, city_engine):
    fid = "test-road-" + uuid.uuid4().hex[:10]
    assert http.post(ROADS, json=road(fid, [[X, Y], [X + 0.001, Y]]),
                     headers=transport).status_code == 201
    alive = version_time(city_engine, "road_segments", fid)
    assert http.delete(f"{ROADS}/{fid}", headers=transport).status_code == 204
    assert find(http, fid) == []
    assert find(http, fid, datetime=stamp(datetime.now(UTC))) == []
    with city_engine.connect() as conn:
        history = list(conn.execute(text(
            "SELECT operation, valid_from, valid_to FROM road_segments_history "
            "WHERE external_id = :f"), {"f": fid}))
    assert [(op, start) for op, start, _ in history] == [("delete", alive)]
    deleted = history[0][2]
    (ghost,) = find(http, fid, datetime=between(alive, deleted))
    assert ghost["id"] == fid and ghost["properties"]["valid_to"] is not None
    assert find(http, fid, datetime=stamp(deleted)) == []  # validity is [from, to)


def test_number_matched_at_an_instant_is_the_layer_as_it_was(http, a_road):
    _fid, created = a_road
    now = http.get(ROADS, params={"limit": 1}).json().get("numberMatched")
    before = http.get(ROADS, params={"limit": 1, "datetime": stamp(
        created - timedelta(microseconds=1))}).json().get("numberMatched")
    at = http.get(ROADS, params={"limit": 1, "datetime": stamp(datetime.now(UTC))}).json()
    assert at.get("numberMatched") == now
    if now is not None:  # counted (the planner expects fewer than count_limit matches)
        assert before == now - 1


def _tile(lon: float, lat: float, z: int = 16) -> tuple[int, int, int]:
    import math

    n = 2 ** z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return z, x, y


def tile_ids(http, lon: float, lat: float, **params) -> set[int]:
    z, x, y = _tile(lon, lat)
    r = http.get(f"/collections/road_segments/tiles/WebMercatorQuad/{z}/{y}/{x}", params=params)
    assert r.status_code == 200, r.text
    layer = mapbox_vector_tile.decode(r.content).get("road_segments", {})
    return {f["id"] for f in layer.get("features", [])}


def test_tiles_with_datetime_show_the_old_geometry(http, transport, city_engine, a_road):
    fid, created = a_road
    with city_engine.connect() as conn:
        row_id = conn.execute(text("SELECT id FROM road_segments WHERE external_id = :f"),
                              {"f": fid}).scalar()
    far = (X + 0.05, Y + 0.04)  # another z16 tile
    moved = {"type": "LineString", "coordinates": [list(far), [far[0] + 0.001, far[1]]]}
    r = http.patch(f"{ROADS}/{fid}", json={"type": "Feature", "geometry": moved},
                   headers=transport)
    assert r.status_code == 200
    moved_at = version_time(city_engine, "road_segments", fid)
    then = between(created, moved_at)
    assert row_id not in tile_ids(http, X + 0.0005, Y)
    assert row_id in tile_ids(http, X + 0.0005, Y, datetime=then)
    assert row_id in tile_ids(http, far[0] + 0.0005, far[1])
    assert row_id not in tile_ids(http, far[0] + 0.0005, far[1], datetime=then)


def test_history_layers_advertise_an_open_temporal_extent(http):
    extent = http.get("/collections/road_segments").json()["extent"]
    begin, end = extent["temporal"]["interval"][0]
    assert begin is not None and end is None


TILE = "/collections/road_segments/tiles/WebMercatorQuad/16/28911/52105"


@pytest.mark.parametrize("path", [ROADS, TILE])
def test_a_malformed_datetime_is_refused(http, path):
    assert http.get(path, params={"datetime": "yesterday"}).status_code == 400
