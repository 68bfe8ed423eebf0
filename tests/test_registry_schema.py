"""The layer registry and the schema built from it (migrations + declarative sync)."""

from __future__ import annotations

import re
import shutil

import pytest
import yaml
from sqlalchemy import inspect, text

from twin.config import REPO_ROOT
from twin.db.schema import sync_layers, upgrade
from twin.registry import RegistryError, load_registry


def copy_layers(tmp_path):
    target = tmp_path / "layers"
    shutil.copytree(REPO_ROOT / "layers", target)
    return target


def edit(path, change):
    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True))


def test_every_shipped_layer_is_valid(registry):
    assert {"road_segments", "bus_stops", "bus_routes", "traffic_signs", "traffic_signals",
            "cameras", "parking_sites", "land_parcels", "admin_areas", "flood_extents",
            "sensor_stations"} <= set(registry.names())
    parcels = registry.get("land_parcels")
    assert {f.name for f in parcels.fields.values() if f.private} == {"owner_name",
                                                                      "owner_id_number"}
    assert all("land_office" in f.visible_to for f in parcels.fields.values() if f.private)


@pytest.mark.parametrize("change,message", [
    (lambda d: d.update(geometry="Blob"), "geometry"),
    (lambda d: d.update(storage_crs="EPSG:999999"), "storage_crs"),
    (lambda d: d["fields"]["lanes"].update(type="complex"), "fields.lanes.type"),
    (lambda d: d["fields"]["lanes"].update(min=10, max=2), "min is greater than max"),
    (lambda d: d.update(time_field="name", history=False), "must be a date or datetime"),
    (lambda d: d.update(time_field="last_inspected"), "a layer with history"),
    (lambda d: d["fields"].update(geom={"type": "string"}), "reserved"),
    (lambda d: d.update(colour="red"), "colour"),
])
def test_invalid_layer_files_name_file_and_field(tmp_path, change, message):
    layers = copy_layers(tmp_path)
    edit(layers / "road_segments.yaml", change)
    with pytest.raises(RegistryError) as err:
        load_registry(layers)
    assert "road_segments.yaml" in str(err.value) and message in str(err.value)


def test_unreadable_layer_file(tmp_path):
    layers = copy_layers(tmp_path)
    (layers / "broken.yaml").write_text("name: [unclosed\n")
    with pytest.raises(RegistryError, match=re.escape("broken.yaml: cannot read")):
        load_registry(layers)


def test_schema_has_the_city_model(engine):
    inspector = inspect(engine)
    tables = set(inspector.get_table_names())
    assert {"road_segments", "land_parcels", "sensor_readings", "bus_route_stops", "rasters",
            "load_runs", "alembic_version"} <= tables
    with engine.connect() as conn:
        kind = conn.execute(text("SELECT relkind FROM pg_class WHERE relname = "
                                 "'sensor_readings'")).scalar()
        assert kind == "p"  # natively partitioned
        idx = conn.execute(text("SELECT indexdef FROM pg_indexes WHERE tablename = "
                                "'road_segments' AND indexname = 'ix_road_segments_geom'")).scalar()
        assert "gist" in idx


def test_upgrade_is_idempotent(engine, registry):
    report = upgrade(engine, registry)
    assert (report.created, report.added_columns, report.added_indexes, report.drift) == \
        ([], [], [], [])


def test_a_new_layer_file_and_field_are_created(engine, tmp_path):
    layers = copy_layers(tmp_path)
    (layers / "street_lights.yaml").write_text(
        "name: street_lights\ntitle: Street lights\ngeometry: Point\n"
        "fields:\n  lamp_type: {type: string, enum: [led, sodium]}\n")
    edit(layers / "cameras.yaml",
         lambda d: d["fields"].update(resolution_mp={"type": "number", "min": 0, "max": 50,
                                                    "index": True}))
    registry = load_registry(layers)
    with engine.connect() as conn:
        trans = conn.begin()
        report = sync_layers(conn, registry)
        assert report.created == ["street_lights"]
        assert report.added_columns == ["cameras.resolution_mp"]
        assert report.added_indexes == ["ix_cameras_resolution_mp"]
        with pytest.raises(Exception, match="ck_cameras_resolution_mp_max"):
            conn.execute(text("INSERT INTO cameras (external_id, code, resolution_mp, geom) "
                              "VALUES ('c', 'c', 99, 'SRID=4326;POINT(105.85 21.03)')"))
        trans.rollback()


def test_geometry_validity_is_enforced_by_the_database(engine):
    with engine.connect() as conn, pytest.raises(Exception, match="ck_land_parcels_geom_valid"):
        conn.execute(text(
            "INSERT INTO land_parcels (external_id, map_sheet, parcel_no, land_use, geom) VALUES "
            "('x', 1, 1, 'ODT', 'SRID=4326;MULTIPOLYGON(((105.85 21.02, 105.851 21.021, "
            "105.851 21.02, 105.85 21.021, 105.85 21.02)))')"))
