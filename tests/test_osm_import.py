"""``twin import osm``: a hand-written OSM file of a few Hà Nội blocks (tests/data/osm) into
the real PostGIS, a change file on top, every kind of bad input, and GDAL reading the
result over the real API."""

from __future__ import annotations

import gzip
import re
import shutil
import subprocess
from pathlib import Path

import osmium
import pytest
import yaml
from click.testing import CliRunner
from sqlalchemy import text

from tests.conftest import _free_port, served
from twin.config import REPO_ROOT
from twin.ingest.errors import LoadError
from twin.osm.run import import_osm
from twin.registry import RegistryError, load_registry

DATA = Path(__file__).parent / "data" / "osm"
BLOCKS = DATA / "hoan_kiem.osm"
CHANGE = DATA / "hoan_kiem_change.osc"
COUNTS = ("created", "updated", "unchanged", "deleted", "refused", "repaired", "skipped")
FIRST = {"admin_areas": (2, 0, 0, 0, 1, 0, 0), "bus_routes": (1, 0, 0, 0, 0, 0, 0),
         "bus_stops": (3, 0, 0, 0, 0, 0, 0), "cameras": (2, 0, 0, 0, 0, 0, 0),
         "parking_sites": (2, 0, 0, 0, 0, 0, 0), "road_segments": (13, 0, 0, 0, 0, 2, 0),
         "traffic_signals": (2, 0, 0, 0, 0, 0, 0), "traffic_signs": (2, 0, 0, 0, 1, 0, 0)}


def rows(engine, sql, **params):
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(sql), params).all()]


def counts(report) -> dict[str, tuple]:
    return {name: tuple(getattr(c, k) for k in COUNTS) for name, c in report.layers.items()}


@pytest.fixture()
def osm(db, settings, registry, tmp_path):
    """An empty city (no OSM store, no OSM history) and an import function."""
    with db.begin() as conn:
        conn.execute(text("TRUNCATE osm_nodes, osm_ways, osm_relations, osm_state"))
        for layer in registry.tables():
            if layer.history:
                conn.execute(text(f"DELETE FROM {layer.table}_history "
                                  "WHERE external_id LIKE 'osm-%'"))
    local = settings.model_copy(update={"data_dir": tmp_path / "data"})

    def run(path, **options):
        return import_osm(db, registry, local, Path(path), **options)
    return run


def write_osm(path: Path, nodes=(), ways=(), relations=()) -> Path:
    """A small OSM file through pyosmium's writer (.osm or .osm.pbf by its name)."""
    with osmium.SimpleWriter(str(path)) as writer:
        for nid, lon, lat, tags in nodes:
            writer.add_node(osmium.osm.mutable.Node(id=nid, location=(lon, lat), tags=tags))
        for wid, refs, tags in ways:
            writer.add_way(osmium.osm.mutable.Way(id=wid, nodes=refs, tags=tags))
        for rid, members, tags in relations:
            writer.add_relation(osmium.osm.mutable.Relation(id=rid, members=members, tags=tags))
    return path


def as_pbf(source: Path, target: Path) -> Path:
    with osmium.SimpleWriter(str(target)) as writer:
        for obj in osmium.FileProcessor(str(source)):
            writer.add(obj)
    return target


# --- the layer files' osm: blocks ---------------------------------------------------------

@pytest.mark.parametrize("layer, change, message", [
    ("road_segments", lambda o: o["fields"].update(colour="colour"),
     "osm.fields.colour: 'colour' is not a field"),
    ("road_segments", lambda o: o["fields"].update(name={"tags": ["name"], "parse": "metres"}),
     "osm.fields.name.parse"),
    ("road_segments", lambda o: o["fields"].update(
        lanes={"tags": ["lanes"], "extract": "[unclosed"}), "osm.fields.lanes.extract"),
    ("road_segments", lambda o: o["fields"].update(lanes="@lanes"), "unknown pseudo tag"),
    ("road_segments", lambda o: o["fields"].pop("road_class"), "road_class not mapped"),
    ("road_segments", lambda o: o.update(objects=["node"]), "osm.objects"),
    ("road_segments", lambda o: o.update(match=[{}]), "osm.match"),
    ("cameras", lambda o: o["fields"].update(code="ref"), "osm.fields.code: the layer's id"),
    ("bus_stops", lambda o: o["fields"].update(name={"tags": ["@source"]}), "split"),
])
def test_osm_blocks_are_validated_naming_file_and_key(tmp_path, layer, change, message):
    folder = tmp_path / "layers"
    shutil.copytree(REPO_ROOT / "layers", folder)
    path = folder / f"{layer}.yaml"
    data = yaml.safe_load(path.read_text())
    change(data["osm"])
    path.write_text(yaml.safe_dump(data, allow_unicode=True))
    with pytest.raises(RegistryError) as err:
        load_registry(folder)
    assert f"{layer}.yaml" in str(err.value) and message in str(err.value)


# --- a full import --------------------------------------------------------------------------

def test_import_counts_every_layer_and_lists_issues_by_osm_id(osm, db):
    report = osm(BLOCKS)
    assert counts(report) == FIRST
    assert {(i.kind, i.osm_id) for i in report.issues} == {
        ("refused", "r203"), ("refused", "n303"), ("repaired", "w106")}
    by_id = {i.osm_id: i.reason for i in report.issues if i.kind == "refused"}
    assert "outer ring not closed: open at lon 105.855100, lat 21.024400" in by_id["r203"]
    assert "sign_code: 'city_limit' does not match" in by_id["n303"]
    repairs = sorted(i.reason for i in report.of("repaired"))
    assert repairs == ["field lanes: 'two' is not a valid integer; left empty",
                       "field speed_limit_kmh: 'signals' is not a speed (a number, km/h or "
                       "mph); left empty"]
    (run,) = rows(db, "SELECT layer, mode, loaded, repaired, rejected, report->'layers' "
                      "FROM load_runs")
    assert run[:5] == ("osm", "osm-import", 27, 2, 2)
    assert run[5]["road_segments"]["created"] == 13


def test_fields_come_from_the_layer_files_mapping(osm, db):
    osm(BLOCKS)
    roads = {r[0]: r[1:] for r in rows(db, "SELECT external_id, name, name_en, road_class, "
                                           "lanes, speed_limit_kmh, oneway, surface, width_m, "
                                           "ref FROM road_segments")}
    assert roads["osm-w101-1"] == ("Đinh Tiên Hoàng", "Dinh Tien Hoang Street", "secondary",
                                   2, 40, False, "asphalt", None, None)
    assert roads["osm-w103-1"][2:] == ("primary", 3, None, None, None, 12.0, None)
    assert roads["osm-w104-1"][:2] == ("Cầu Gỗ", None) and roads["osm-w104-1"][5:7] == (
        True, "paving_stones")                              # oneway=-1, surface=sett
    assert roads["osm-w109-1"][0] == "Phố Hàng Trống"       # name:vi before name
    assert roads["osm-w105-1"][0] == "(không tên)"          # the layer file's default
    assert roads["osm-w107-1"][-1] == "QL1A"
    assert {r[2] for r in roads.values()} >= {"unclassified", "footway", "steps",
                                              "primary_link"}
    assert rows(db, "SELECT external_id, sign_code, category, bearing_deg, road_segment FROM "
                    "traffic_signs ORDER BY 1") == [
        ("osm-n301", "P.102", "prohibitory", 180.0, "osm-w101-1"),
        ("osm-n302", "W.207a", "warning", 0.0, "osm-w102-1")]
    assert rows(db, "SELECT code, kind, direction_deg FROM cameras ORDER BY 1") == [
        ("osm-n401", "surveillance", 90.0), ("osm-n402", "enforcement", None)]
    assert rows(db, "SELECT code, name, kind, capacity, fee, opening_hours FROM parking_sites "
                    "ORDER BY 1") == [
        ("osm-n501", "Bãi đỗ xe Hàng Khay", "on_street", 20, True, "Mo-Su 06:00-22:00"),
        ("osm-w120", "Bãi đỗ xe Lê Thái Tổ", "surface_lot", 40, True, None)]
    (inside,) = rows(db, "SELECT ST_Within(p.geom, ST_MakeEnvelope(105.8490, 21.0300, "
                         "105.8498, 21.0306, 4326)) FROM parking_sites p "
                         "WHERE code = 'osm-w120'")
    assert inside == (True,)                                # an area's point lies inside it
    assert rows(db, "SELECT code, name, level, parent_code, population, ST_IsValid(geom) "
                    "FROM admin_areas ORDER BY 1") == [
        ("osm-r201", "Phường Hàng Trống", "ward", "osm-r202", None, True),
        ("osm-r202", "Quận Hoàn Kiếm", "district", None, 135618, True)]
    assert rows(db, "SELECT route_number, name, operator, headway_min FROM bus_routes") == [
        ("09", "Tuyến buýt 09", "Hanoibus", 15)]
    assert rows(db, "SELECT external_id, code, name, shelter, wheelchair FROM bus_stops "
                    "ORDER BY 1") == [
        ("osm-n201", "osm-n201", "Bờ Hồ", True, None),
        ("osm-n202", "osm-n202", "Đinh Tiên Hoàng", False, None),   # wheelchair=limited
        ("osm-n203", "HK01", "Hàng Khay", None, True)]              # code: its ref


def test_segments_run_between_intersections_with_node_ids_at_their_ends(osm, db):
    osm(BLOCKS)
    segments = rows(db, "SELECT external_id, source, target, ST_AsText(ST_StartPoint(geom)), "
                        "ST_AsText(ST_EndPoint(geom)), ST_NPoints(geom) FROM road_segments")
    assert {s[0] for s in segments} == {
        "osm-w101-1", "osm-w101-2", "osm-w102-1", "osm-w102-2", "osm-w103-1", "osm-w103-2",
        "osm-w104-1", "osm-w105-1", "osm-w106-1", "osm-w107-1", "osm-w108-1", "osm-w109-1",
        "osm-w110-1"}
    where = {n: f"POINT({lon!r} {lat!r})" for n, lon, lat in
             rows(db, "SELECT id, lon, lat FROM osm_nodes")}
    for fid, source, target, start, end, _ in segments:
        assert (where[source], where[target]) == (start, end), fid   # ends are OSM nodes
    ends = [n for s in segments for n in s[1:3]]
    # Every node that two road ways share ends segments; no segment passes through one.
    shared = {n for n, k in rows(db, "SELECT n, count(*) FROM osm_ways, unnest(nodes) n "
                                     "WHERE road GROUP BY n HAVING count(*) > 1")}
    assert shared == {1, 2, 3, 4, 5, 6, 7, 10, 11}
    assert shared <= set(ends)
    interior = rows(db, "SELECT ST_AsText(p.geom), ST_NPoints(r.geom), p.path[1] "
                        "FROM road_segments r, ST_DumpPoints(r.geom) p")
    inner = {g for g, n, i in interior if 1 < i < n}
    assert inner and not inner & {where[n] for n in shared}
    # oneway=-1: Cầu Gỗ is drawn against its direction, so its segment runs 1 -> 4
    assert [s[1:3] for s in segments if s[0] == "osm-w104-1"] == [(1, 4)]


def test_route_stops_are_ordered_per_direction(osm, db):
    osm(BLOCKS)
    assert rows(db, "SELECT r.external_id, rs.direction, rs.sequence, s.external_id "
                    "FROM bus_route_stops rs JOIN bus_routes r ON r.id = rs.route_id "
                    "JOIN bus_stops s ON s.id = rs.stop_id ORDER BY 2, 3") == [
        ("osm-r212", 0, 1, "osm-n201"), ("osm-r212", 0, 2, "osm-n202"),
        ("osm-r212", 0, 3, "osm-n203"), ("osm-r212", 1, 1, "osm-n203"),
        ("osm-r212", 1, 2, "osm-n202"), ("osm-r212", 1, 3, "osm-n201")]
    (parts,) = rows(db, "SELECT ST_NumGeometries(geom) FROM bus_routes")
    assert parts == (2,)                                     # Đinh Tiên Hoàng and Hàng Khay


def test_pbf_reads_as_the_xml_does(osm, tmp_path):
    report = osm(as_pbf(BLOCKS, tmp_path / "hoan_kiem.osm.pbf"))
    assert counts(report) == FIRST


# --- a newer extract, a change file -------------------------------------------------------

def newer_extract(path: Path) -> Path:
    """hoan_kiem.osm a month on: the lakeside footway and a car park gone, Hàng Bài renamed."""
    with osmium.SimpleWriter(str(path)) as writer:
        for obj in osmium.FileProcessor(str(BLOCKS)):
            if (obj.type_str(), obj.id) in (("w", 105), ("n", 501)):
                continue
            if (obj.type_str(), obj.id) == ("w", 107):
                obj = obj.replace(tags={**dict(obj.tags), "name": "Phố Hàng Bài"})
            writer.add(obj)
    return path


def test_newer_extract_upserts_and_never_touches_hand_entered_features(osm, db, tmp_path):
    osm(BLOCKS)
    with db.begin() as conn:   # an agency's own road and stop, and an inspection of an OSM road
        conn.execute(text("INSERT INTO road_segments (external_id, name, road_class, geom) "
                          "VALUES ('hand-1', 'Ngõ tự nhập', 'service', ST_GeomFromText("
                          "'LINESTRING(105.851 21.027, 105.852 21.027)', 4326))"))
        conn.execute(text("INSERT INTO bus_stops (external_id, code, name, geom) VALUES "
                          "('T-1', 'T-1', 'Trạm tạm', ST_SetSRID(ST_MakePoint(105.852, "
                          "21.028), 4326))"))
        conn.execute(text("UPDATE road_segments SET condition = 2, last_inspected = "
                          "'2024-05-20' WHERE external_id = 'osm-w101-1'"))
    again = osm(BLOCKS)
    assert {n: c[2] for n, c in counts(again).items()} == {n: c[0] for n, c in FIRST.items()}
    assert all(c.created == c.updated == c.deleted == 0 for c in again.layers.values())
    report = osm(newer_extract(tmp_path / "newer.osm"))
    roads = report.layers["road_segments"]
    # w105 gone: Đinh Tiên Hoàng is no longer split at its end, so osm-w101-1 runs 1 -> 3
    assert (roads.created, roads.updated, roads.deleted, roads.unchanged) == (0, 2, 2, 9)
    assert report.layers["parking_sites"].deleted == 1
    assert rows(db, "SELECT external_id, source, target, condition, last_inspected::text "
                    "FROM road_segments WHERE external_id IN ('osm-w101-1', 'hand-1') "
                    "ORDER BY 1") == [("hand-1", None, None, None, None),
                                      ("osm-w101-1", 1, 3, 2, "2024-05-20")]
    assert rows(db, "SELECT name FROM road_segments WHERE external_id = 'osm-w107-1'") == [
        ("Phố Hàng Bài",)]
    assert rows(db, "SELECT count(*) FROM bus_stops WHERE external_id = 'T-1'") == [(1,)]
    # the inspection, then the import, each made a version; the re-import made none
    assert rows(db, "SELECT external_id, operation, name, condition FROM road_segments_history "
                    "WHERE external_id LIKE 'osm-%' ORDER BY 1, valid_from") == [
        ("osm-w101-1", "update", "Đinh Tiên Hoàng", None),
        ("osm-w101-1", "update", "Đinh Tiên Hoàng", 2),
        ("osm-w101-2", "delete", "Đinh Tiên Hoàng", None),
        ("osm-w105-1", "delete", "(không tên)", None),
        ("osm-w107-1", "update", "Hàng Bài", None)]
    assert rows(db, "SELECT count(*) FROM load_runs WHERE mode = 'osm-import'") == [(3,)]


def test_change_file_updates_exactly_what_it_touches(osm, db, tmp_path):
    osm(BLOCKS)
    before = dict(rows(db, "SELECT external_id, updated_at FROM road_segments"))
    packed = tmp_path / "hoan_kiem_change.osc.gz"    # as replication servers publish them
    packed.write_bytes(gzip.compress(CHANGE.read_bytes()))
    report = osm(packed)
    assert counts(report) == {
        "osm": (0, 0, 0, 0, 0, 0, 1), "admin_areas": (0,) * 7,
        "bus_routes": (0, 0, 1, 0, 0, 0, 0), "bus_stops": (0, 1, 0, 0, 0, 0, 0),
        "cameras": (0, 0, 0, 1, 0, 0, 0), "parking_sites": (0,) * 7,
        "road_segments": (2, 3, 6, 1, 0, 0, 0), "traffic_signals": (0,) * 7,
        "traffic_signs": (0,) * 7}
    assert [(i.osm_id, i.reason) for i in report.of("skipped")] == [
        ("n99999", "deleted in the change file, but twin never imported it")]
    # the new pedestrian street meets Cầu Gỗ at node 8: Cầu Gỗ is split there
    assert rows(db, "SELECT external_id, source, target, name FROM road_segments WHERE "
                    "external_id ~ '^osm-w1(04|13)-' ORDER BY 1") == [
        ("osm-w104-1", 1, 8, "Cầu Gỗ"), ("osm-w104-2", 8, 4, "Cầu Gỗ"),
        ("osm-w113-1", 18, 8, "Phố đi bộ Hồ Gươm")]
    assert rows(db, "SELECT lanes, speed_limit_kmh FROM road_segments "
                    "WHERE external_id = 'osm-w106-1'") == [(2, 40)]
    (moved,) = rows(db, "SELECT ST_AsText(ST_EndPoint(geom)) FROM road_segments "
                        "WHERE external_id = 'osm-w105-1'")
    assert moved == ("POINT(105.853 21.0292)",)              # node 9 moved
    after = dict(rows(db, "SELECT external_id, updated_at FROM road_segments"))
    untouched = {k for k in before if k in after and before[k] == after[k]}
    assert untouched == set(before) - {"osm-w104-1", "osm-w105-1", "osm-w106-1", "osm-w108-1"}
    assert rows(db, "SELECT external_id, operation FROM road_segments_history "
                    "WHERE external_id LIKE 'osm-%' ORDER BY 1") == [
        ("osm-w104-1", "update"), ("osm-w105-1", "update"), ("osm-w106-1", "update"),
        ("osm-w108-1", "delete")]
    assert rows(db, "SELECT name FROM bus_stops_history WHERE external_id = 'osm-n201'") == [
        ("Bờ Hồ",)]
    assert rows(db, "SELECT name FROM bus_stops WHERE external_id = 'osm-n201'") == [
        ("Bờ Hồ (Hoàn Kiếm)",)]
    assert rows(db, "SELECT code FROM cameras") == [("osm-n401",)]
    assert len(rows(db, "SELECT 1 FROM bus_route_stops")) == 6
    assert rows(db, "SELECT count(*) FROM osm_nodes WHERE id IN (12, 18)") == [(1,)]
    (run,) = rows(db, "SELECT mode, report->'layers'->'road_segments'->>'created' FROM "
                      "load_runs WHERE mode = 'osm-change'")
    assert run == ("osm-change", "2")


# --- bad input ------------------------------------------------------------------------------

def nothing_written(db) -> None:
    assert rows(db, "SELECT (SELECT count(*) FROM road_segments) + (SELECT count(*) FROM "
                    "bus_stops) + (SELECT count(*) FROM load_runs) + (SELECT count(*) FROM "
                    "osm_nodes)") == [(0,)]


def test_truncated_or_corrupt_pbf_is_refused_whole(osm, db, tmp_path):
    whole = as_pbf(BLOCKS, tmp_path / "whole.osm.pbf").read_bytes()
    cut = tmp_path / "cut.osm.pbf"
    cut.write_bytes(whole[: len(whole) // 2])
    junk = tmp_path / "junk.osm.pbf"
    junk.write_bytes(b"\x00\x00\x00\x0dOSMHeader garbage" * 10)
    for path in (cut, junk):
        with pytest.raises(LoadError, match="not a readable OSM file"):
            osm(path)
    text = tmp_path / "roads.txt"
    text.write_text("x")
    with pytest.raises(LoadError, match="not an OSM file"):
        osm(text)
    nothing_written(db)


def test_way_with_missing_node_locations_is_refused(osm, db, tmp_path):
    path = write_osm(tmp_path / "gap.osm", nodes=[(1, 105.85, 21.03, {}),
                                                  (2, 105.851, 21.03, {})],
                     ways=[(10, [1, 2], {"highway": "residential", "name": "Ngõ 1"}),
                           (11, [2, 999, 998], {"highway": "service"})])
    report = osm(path)
    assert [(i.kind, i.osm_id, i.reason) for i in report.issues] == [
        ("refused", "w11", "node n999 has no location (not in the file, nor 1 more of its "
                           "nodes); the way cannot be drawn")]
    assert rows(db, "SELECT external_id FROM road_segments") == [("osm-w10-1",)]


def test_out_of_extent_objects_are_refused_or_clipped(osm, db, tmp_path):
    path = write_osm(tmp_path / "far.osm", nodes=[
        (1, 105.85, 21.03, {"highway": "bus_stop", "name": "Bờ Hồ"}),
        (2, 2.35, 48.85, {"highway": "bus_stop", "name": "Châtelet"}),
        (3, 21.03, 105.85, {"highway": "traffic_signals"})])   # lat/lon swapped
    report = osm(path)
    refused = {i.osm_id: i.reason for i in report.of("refused")}
    assert set(refused) == {"n2", "n3"}
    assert "outside the city's plausible extent" in refused["n2"]
    assert "latitude and longitude look swapped" in refused["n3"]
    assert "--clip keeps only what lies inside" in refused["n2"]
    clipped = osm(path, clip=True)
    assert [(i.kind, i.osm_id) for i in clipped.issues] == [("skipped", "n2"), ("skipped", "n3")]
    assert rows(db, "SELECT external_id FROM bus_stops") == [("osm-n1",)]
    assert rows(db, "SELECT value FROM osm_state WHERE key = 'clip'")[0][0] is not None


def test_strict_refuses_the_whole_import(osm, db):
    with pytest.raises(LoadError) as err:
        osm(BLOCKS, strict=True)
    assert "2 OSM object(s) refused (--strict): nothing was written" in str(err.value)
    assert "r203 (admin_areas): outer ring not closed" in str(err.value)
    assert "n303 (traffic_signs)" in str(err.value)
    nothing_written(db)


def test_change_file_needs_an_import_first(osm, db):
    with pytest.raises(LoadError, match="import an extract first"):
        osm(CHANGE)
    nothing_written(db)


# --- the command and GDAL over the API ----------------------------------------------------

def test_cli_prints_the_table_and_strict_fails(osm, db, database_url, tmp_path):
    from twin.cli import main

    env = {"TWIN_DATABASE_URL": database_url, "TWIN_DATA_DIR": str(tmp_path / "data")}
    done = CliRunner().invoke(main, ["import", "osm", str(BLOCKS)], env=env)
    assert done.exit_code == 0, done.output
    line = next(x for x in done.output.splitlines() if x.startswith("road_segments"))
    assert line.split() == ["road_segments", "13", "0", "0", "0", "0", "2", "0"]
    assert "r203 (admin_areas): outer ring not closed" in done.output
    strict = CliRunner().invoke(main, ["import", "osm", str(BLOCKS), "--strict"], env=env)
    assert strict.exit_code == 1 and "refused (--strict)" in strict.output
    assert "Traceback" not in strict.output


def test_gdal_reads_the_imported_layers_over_the_api(osm, settings, registry, database_url,
                                                     tmp_path):
    if shutil.which("ogrinfo") is None:
        pytest.skip("gdal-bin is not installed (make install provides it)")
    from twin.server.app import create_app

    osm(BLOCKS)
    port = _free_port()
    url = database_url + ("&" if "?" in database_url else "?") + "application_name=twin-osm"
    app = create_app(settings.model_copy(update={"port": port, "public_url": None,
                                                 "data_dir": tmp_path / "served"}),
                     url, registry)
    with served(app, port) as base:
        for layer, n in (("road_segments", 13), ("bus_stops", 3), ("bus_routes", 1),
                         ("admin_areas", 2), ("traffic_signs", 2), ("parking_sites", 2)):
            info = subprocess.run(["ogrinfo", "-ro", "-so", f"OAPIF:{base}", layer],
                                  check=True, capture_output=True, text=True, timeout=120)
            assert f"Feature Count: {n}" in info.stdout, (layer, info.stdout)
        dump = subprocess.run(["ogrinfo", "-ro", "-al", "-q", f"OAPIF:{base}", "road_segments"],
                              check=True, capture_output=True, text=True, timeout=120).stdout
    assert "road_class (String) = unclassified" in dump
    assert "road_class (String) = steps" in dump
    assert "name (String) = Cầu Gỗ" in dump
    assert re.search(r"source \(Integer(64)?\) = 1\n", dump)
