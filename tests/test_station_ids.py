"""A layer's id field (a station's code) is its feature id: unique, equal to the id, and
never changed (issue 13, finding 12) — at load, at edit, in the database, and so EDR,
which finds stations by code, lists each station once. Real PostGIS, real files, the
real app over HTTP."""

from __future__ import annotations

import uuid
from collections import Counter

import psycopg
import pytest
from sqlalchemy import text

from tests.city import EXTENT
from tests.conftest import TEST_DB, fresh_database
from tests.files import write_csv
from twin.db.engine import make_engine
from twin.db.schema import upgrade
from twin.ingest.errors import LoadError
from twin.ingest.vector import load_vector
from twin.registry import RegistryError, load_layer
from twin.server.auth.keys import create_key
from twin.server.db import libpq_url

pytestmark = pytest.mark.api_language("en")  # its assertions quote English descriptions

HEADER = ["code", "name", "kind", "properties", "lon", "lat"]
ITEMS = "/collections/sensor_stations/items"


def rows(engine, query: str, **params) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(query), params)]


def station_row(code: str, n: int = 0) -> list:
    return [code, f"Trạm {code}", "air", "pm25", 105.80 + n / 1000, 21.02 + n / 1000]


# --- the database -------------------------------------------------------------------------

def id_constraints(engine, table: str) -> set[str]:
    return {name for (name,) in rows(
        engine, "SELECT conname FROM pg_constraint WHERE conrelid = to_regclass(:t) UNION "
        "SELECT indexname FROM pg_indexes WHERE tablename = :t", t=table)
        if name.endswith("_is_id")}


def test_every_id_field_has_its_check_and_unique_index_on_the_demo_city(city_engine,
                                                                         registry):
    """The demo city was loaded after the upgrade made them: its data agree."""
    layers = [layer for layer in registry.tables() if layer.id_field]
    assert {layer.name for layer in layers} >= {"sensor_stations", "cameras"}
    for layer in layers:
        f = layer.id_field
        assert id_constraints(city_engine, layer.table) == {
            f"ck_{layer.table}_{f}_is_id", f"ux_{layer.table}_{f}_is_id"}, layer.name
        assert rows(city_engine, f"SELECT count(*) FROM {layer.table} WHERE {f} <> "
                    "external_id") == [(0,)]
    # bus stops are identified by GTFS stop_id; their rider-facing code is not the id
    assert registry.get("bus_stops").id_field is None
    assert id_constraints(city_engine, "bus_stops") == set()


def test_the_database_refuses_a_code_that_is_not_the_id(engine):
    with psycopg.connect(libpq_url(engine.url.render_as_string(False))) as conn, \
            pytest.raises(psycopg.errors.CheckViolation, match="ck_sensor_stations_code_is_id"):
        conn.execute("INSERT INTO sensor_stations (external_id, code, name, kind, geom) "
                     "VALUES ('SID-DB-1', 'SID-DB-2', 'x', 'air', "
                     "ST_SetSRID(ST_MakePoint(105.8, 21.0), 4326))")


def test_upgrade_adds_them_where_the_data_agree_and_reports_where_not(settings, registry):
    url, drop = fresh_database(settings, f"{TEST_DB}_ids")
    engine = make_engine(url, pool_size=1)
    try:
        upgrade(engine, registry)
        with engine.begin() as conn:  # as a database made before the rule, with bad rows
            conn.execute(text("ALTER TABLE sensor_stations DROP CONSTRAINT "
                              "ck_sensor_stations_code_is_id"))
            conn.execute(text("DROP INDEX ux_sensor_stations_code_is_id"))
            conn.execute(text(
                "INSERT INTO sensor_stations (external_id, code, name, kind, geom) VALUES "
                "('AQ-1', 'AQ-1', 'a', 'air', ST_SetSRID(ST_MakePoint(105.8, 21.0), 4326)), "
                "('AQ-2', 'AQ-1', 'b', 'air', ST_SetSRID(ST_MakePoint(105.9, 21.0), 4326))"))
            # and a check of a field that is no longer an id field
            conn.execute(text("ALTER TABLE bus_stops ADD CONSTRAINT ck_bus_stops_code_is_id "
                              "CHECK (code = external_id)"))
        report = upgrade(engine, registry)
        drift = [line for line in report.drift if line.startswith("sensor_stations:")]
        assert len(drift) == 1 and "id 'AQ-2' has code 'AQ-1'" in drift[0]
        assert id_constraints(engine, "sensor_stations") == set()
        assert id_constraints(engine, "bus_stops") == set()
        with engine.begin() as conn:
            conn.execute(text("UPDATE sensor_stations SET code = external_id"))
        report = upgrade(engine, registry)
        assert {"ck_sensor_stations_code_is_id", "ux_sensor_stations_code_is_id"} <= set(
            report.added_indexes)
        assert not [line for line in report.drift if "must equal the feature id" in line]
        assert len(id_constraints(engine, "sensor_stations")) == 2
    finally:
        engine.dispose()
        drop()


def test_the_id_field_must_be_a_public_string(tmp_path):
    path = tmp_path / "gauges.yaml"
    path.write_text("name: gauges\ntitle: G\ngeometry: Point\nid_field: number\nfields:\n"
                    "  number: {type: integer, required: true}\n")
    with pytest.raises(RegistryError, match="must be a public string field"):
        load_layer(path)


# --- loads --------------------------------------------------------------------------------

def test_a_duplicate_station_code_is_refused_at_load(engine, registry, tmp_path):
    code = f"SID-{uuid.uuid4().hex[:6]}"
    first = write_csv(tmp_path / "a.csv", HEADER, [station_row(code)])
    load_vector(engine, registry, "sensor_stations", first, extent=EXTENT)
    twice = write_csv(tmp_path / "b.csv", HEADER, [station_row(code + "-B", 1),
                                                   station_row(code + "-B", 2)])
    with pytest.raises(LoadError, match="duplicate feature ids"):
        load_vector(engine, registry, "sensor_stations", twice, extent=EXTENT)
    again = write_csv(tmp_path / "c.csv", HEADER, [station_row(code, 3)])
    with pytest.raises(LoadError, match="already exist"):
        load_vector(engine, registry, "sensor_stations", again, extent=EXTENT)
    # an id column that is not the code would make a second station with this code
    other = write_csv(tmp_path / "d.csv", ["station_uid", *HEADER],
                      [[f"{code}-other", *station_row(code, 4)]])
    with pytest.raises(LoadError, match="identified by their code") as refused:
        load_vector(engine, registry, "sensor_stations", other, extent=EXTENT,
                    id_column="station_uid")
    assert f"id '{code}-other' but code '{code}'" in refused.value.problems[0]
    assert rows(engine, "SELECT external_id FROM sensor_stations WHERE code LIKE :c",
                c=f"{code}%") == [(code,)]


# --- edits over HTTP, and EDR ---------------------------------------------------------------

@pytest.fixture(scope="module")
def environment(city_engine) -> dict[str, str]:
    return {"X-API-Key": create_key(city_engine, "test station ids", "environment")[0]}


def station(code: str | None = None, fid: str | None = None, **props) -> dict:
    body = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [105.84, 21.02]},
            "properties": {"name": "Trạm thử", "kind": "air", **props}}
    if code is not None:
        body["properties"]["code"] = code
    if fid is not None:
        body["id"] = fid
    return body


def test_a_code_other_than_the_id_is_refused_at_edit(http, environment):
    r = http.post(ITEMS, json=station("SID-Y-1", "SID-X-1"), headers=environment)
    assert r.status_code == 400, r.text
    assert set(r.json()) == {"code", "description"}
    assert "code 'SID-Y-1' must equal the feature id 'SID-X-1'" in r.json()["description"]
    assert http.get(f"{ITEMS}/SID-X-1").status_code == 404
    assert http.get(f"{ITEMS}/SID-Y-1").status_code == 404


def test_a_second_station_with_a_taken_code_is_refused(http, environment, city_engine):
    (taken,), = rows(city_engine, "SELECT code FROM sensor_stations WHERE kind = 'air' "
                     "ORDER BY code LIMIT 1")
    r = http.post(ITEMS, json=station(taken), headers=environment)
    assert r.status_code == 409 and r.json()["code"] == "Conflict", r.text
    r = http.post(ITEMS, json=station(taken, f"{taken}-2"), headers=environment)
    assert r.status_code == 400, r.text
    assert rows(city_engine, "SELECT count(*) FROM sensor_stations WHERE code = :c",
                c=taken) == [(1,)]


def test_the_code_cannot_change(http, environment, city_engine):
    code = f"SID-{uuid.uuid4().hex[:6]}"
    r = http.post(ITEMS, json=station(code), headers=environment)
    assert r.status_code == 201 and r.json()["id"] == code, r.text
    try:
        url = f"{ITEMS}/{code}"
        for method, body in (("PUT", station(code + "-new")),
                             ("PATCH", {"type": "Feature", "properties": {"code": "other"}})):
            r = http.request(method, url, json=body, headers=environment)
            assert r.status_code == 400, r.text
            assert "the id field cannot change" in r.json()["description"]
        r = http.patch(url, json={"type": "Feature", "properties": {"code": code,
                                                                    "elevation_m": 9.5}},
                       headers=environment)
        assert r.status_code == 200 and r.json()["properties"]["elevation_m"] == 9.5
        r = http.put(url, json=station(code, code, elevation_m=3.0), headers=environment)
        assert r.status_code == 200, r.text
        assert rows(city_engine, "SELECT code FROM sensor_stations WHERE external_id = :c",
                    c=code) == [(code,)]
    finally:
        http.delete(url, headers=environment)


def test_edr_lists_each_station_once(http, environment, city_engine):
    r = http.post(ITEMS, json=station("AQ-DUP-EDR"), headers=environment)
    assert r.status_code == 201, r.text
    try:
        assert http.post(ITEMS, json=station("AQ-DUP-EDR", "AQ-DUP-EDR-2"),
                         headers=environment).status_code == 400
        doc = http.get("/collections/sensor_readings/locations").json()
        ids = Counter(f["id"] for f in doc["features"])
        assert ids["AQ-DUP-EDR"] == 1 and max(ids.values()) == 1
        assert sum(ids.values()) == rows(city_engine, "SELECT count(*) FROM sensor_stations")[0][0]
    finally:
        http.delete(f"{ITEMS}/AQ-DUP-EDR", headers=environment)
