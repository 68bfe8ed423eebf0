"""Kept per-layer counts (issue 17, point 3): ``layer_counts`` equals count(*) after
loads, upserts, deletes, TRUNCATE and API edits; an unfiltered items request reads its
numberMatched from there (O(1), any size), a filtered one keeps the counted path."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text

from tests.city import EXTENT
from tests.files import write_csv
from twin.ingest.vector import load_vector
from twin.server.auth.keys import create_key
from twin.server.features.counts import whole_layer
from twin.server.features.params import ItemsQuery
from twin.server.params.values import TimeFilter


def kept_and_real(engine, table: str) -> tuple[int, int]:
    with engine.connect() as conn:
        kept = conn.execute(text("SELECT n FROM layer_counts WHERE layer = :t"),
                            {"t": table}).scalar()
        real = conn.execute(text(f"SELECT count(*) FROM {table}")).scalar()
    return kept, real


def stations_csv(tmp_path, codes):
    return write_csv(tmp_path / f"s{uuid.uuid4().hex[:6]}.csv",
                     ["code", "name", "kind", "lon", "lat"],
                     [[c, f"station {c}", "air", 105.85 + i * 1e-3, 21.03]
                      for i, c in enumerate(codes)])


def test_every_layer_table_has_a_kept_count(db, registry):
    for layer in registry.tables():
        kept, real = kept_and_real(db, layer.table)
        assert kept == real == 0, layer.name


def test_kept_count_follows_loads_upserts_deletes_and_truncate(db, registry, tmp_path):
    load_vector(db, registry, "sensor_stations",
                stations_csv(tmp_path, [f"AQ-{i}" for i in range(30)]), extent=EXTENT)
    assert kept_and_real(db, "sensor_stations") == (30, 30)
    # an upsert: 10 rows updated, 5 inserted
    load_vector(db, registry, "sensor_stations",
                stations_csv(tmp_path, [f"AQ-{i}" for i in range(20, 35)]), extent=EXTENT,
                mode="upsert")
    assert kept_and_real(db, "sensor_stations") == (35, 35)
    with db.begin() as conn:
        conn.execute(text("DELETE FROM sensor_stations WHERE code IN ('AQ-1', 'AQ-2')"))
    assert kept_and_real(db, "sensor_stations") == (33, 33)
    with db.begin() as conn:  # a rolled-back write leaves the count as it was
        conn.execute(text("DELETE FROM sensor_stations"))
        conn.rollback()
    assert kept_and_real(db, "sensor_stations") == (33, 33)
    with db.begin() as conn:
        conn.execute(text("TRUNCATE sensor_stations CASCADE"))
    assert kept_and_real(db, "sensor_stations") == (0, 0)


def test_only_unfiltered_requests_use_the_kept_count(registry):
    layer = registry.get("land_parcels")
    assert whole_layer(layer, ItemsQuery())
    assert whole_layer(layer, ItemsQuery(limit=5000, offset=10, properties=["address"]))
    assert not whole_layer(layer, ItemsQuery(bbox=(105.8, 21.0, 105.9, 21.1)))
    assert not whole_layer(layer, ItemsQuery(filter_text="land_use = 'ODT'"))
    assert not whole_layer(layer, ItemsQuery(filter_tree=object()))
    assert not whole_layer(layer, ItemsQuery(equals={"land_use": "ODT"}))
    assert not whole_layer(layer, ItemsQuery(time=TimeFilter(None, None)))
    assert not whole_layer(registry.get("station_aqi"), ItemsQuery())  # a view


@pytest.fixture(scope="module")
def admin(city_engine) -> dict[str, str]:
    key, _ = create_key(city_engine, "counts test", "admin")
    return {"X-API-Key": key}


def test_whole_layers_carry_number_matched(http, city_engine, registry):
    for layer in registry.tables():
        body = http.get(f"/collections/{layer.name}/items", params={"limit": 1}).json()
        assert body["numberMatched"] == kept_and_real(city_engine, layer.table)[1], layer.name


def test_number_matched_of_a_whole_layer_comes_from_the_kept_count(http, city_engine):
    """The kept count is made to differ from the table for a moment: the unfiltered
    request reports it (so it read no table), a filtered one still counts rows."""
    _, real = kept_and_real(city_engine, "cameras")
    with city_engine.begin() as conn:
        conn.execute(text("UPDATE layer_counts SET n = n + 1000000 WHERE layer = 'cameras'"))
    try:
        whole = http.get("/collections/cameras/items", params={"limit": 1}).json()
        assert whole["numberMatched"] == real + 1_000_000  # over count_limit: still given
        boxed = http.get("/collections/cameras/items",
                         params={"limit": 1, "bbox": "-180,-90,180,90"}).json()
        assert boxed["numberMatched"] == real
    finally:
        with city_engine.begin() as conn:
            conn.execute(text("UPDATE layer_counts SET n = n - 1000000 "
                              "WHERE layer = 'cameras'"))


def test_api_edits_keep_the_count(http, city_engine, admin):
    before = http.get("/collections/bus_stops/items", params={"limit": 1}).json()
    fid = "count-" + uuid.uuid4().hex[:10]
    r = http.post("/collections/bus_stops/items", headers=admin, json={
        "type": "Feature", "id": fid, "geometry": {"type": "Point", "coordinates": [105.85, 21.03]},
        "properties": {"code": fid[:20], "name": "Count stop"}})
    assert r.status_code == 201, r.text
    after = http.get("/collections/bus_stops/items", params={"limit": 1}).json()
    assert after["numberMatched"] == before["numberMatched"] + 1
    assert http.delete(f"/collections/bus_stops/items/{fid}", headers=admin).status_code == 204
    gone = http.get("/collections/bus_stops/items", params={"limit": 1}).json()
    assert gone["numberMatched"] == before["numberMatched"]
    kept, real = kept_and_real(city_engine, "bus_stops")
    assert kept == real == gone["numberMatched"]


def test_osm_import_and_change_file_keep_the_counts(db, settings, registry, tmp_path):
    from pathlib import Path

    from twin.osm.run import import_osm

    data = Path(__file__).parent / "data" / "osm"
    with db.begin() as conn:
        conn.execute(text("TRUNCATE osm_nodes, osm_ways, osm_relations, osm_state"))
    local = settings.model_copy(update={"data_dir": tmp_path / "data"})
    for source in ("hoan_kiem.osm", "hoan_kiem_change.osc"):  # creates, then splits/deletes
        import_osm(db, registry, local, data / source)
        for layer in registry.tables():
            kept, real = kept_and_real(db, layer.table)
            assert kept == real, (source, layer.name, kept, real)
