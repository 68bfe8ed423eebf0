"""``twin load --check`` and mapping files, on a transport department's road inventory
with its own class names, against the real PostGIS; VACUUM (ANALYZE) after a load."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyogrio.raw
import pytest
import shapely
import yaml
from click.testing import CliRunner
from sqlalchemy import text

from twin.ingest.check import check_file
from twin.ingest.check_report import render, write_template
from twin.ingest.dispatch import load_any
from twin.ingest.errors import LoadError
from twin.ingest.mapping import read_mapping
from twin.ingest.sources import SourceOptions

CLASSES = ["Quốc lộ", "Quốc lộ", "Đường tỉnh", "Đường tỉnh", "Đường đô thị", "Đường đô thị",
           "Đường đô thị", "primary"]
NAMES = ["Giải Phóng", "Nguyễn Trãi", "Láng Hạ", "Kim Mã", "Trần Duy Hưng", None,
         "Xuân Thủy", "Đường Láng"]


def road(i: int, lon0: float = 105.80, lat0: float = 21.00):
    x, y = lon0 + i * 0.002, lat0 + (i % 3) * 0.001
    return shapely.LineString([(x, y), (x + 0.0015, y + 0.0008)])


def inventory(path: Path, extra: bool = False) -> Path:
    """The department's file: its own column names, class names, widths in centimetres.
    ``extra`` adds what --check must find: a feature with swapped axes, a repeated id, a
    line of one point, 20 lanes."""
    geoms = [road(i) for i in range(8)]
    cols = {"id": [f"HN-{i:03d}" for i in range(8)], "TEN_DUONG": list(NAMES),
            "cap_duong": list(CLASSES), "RONG_CM": [350 + 100 * i for i in range(8)],
            "lanes": [2, 4, 2, 2, 6, 2, 4, 4]}
    if extra:
        geoms += [shapely.LineString([(21.03, 105.85), (21.031, 105.851)]),
                  road(8), shapely.LineString([(105.83, 21.01), (105.83, 21.01)])]
        cols["id"] += ["HN-100", "HN-003", "HN-102"]
        cols["TEN_DUONG"] += ["Đê La Thành", "Hào Nam", "Ô Chợ Dừa"]
        cols["cap_duong"] += ["Đường đô thị"] * 3
        cols["RONG_CM"] += [500, 500, 500]
        cols["lanes"] += [2, 20, 2]
    data = [np.asarray(v, dtype=np.int32 if k in ("RONG_CM", "lanes") else object)
            for k, v in cols.items()]
    pyogrio.raw.write(path, shapely.to_wkb(np.asarray(geoms, dtype=object)), fields=list(cols),
                      field_data=data, crs="EPSG:4326", driver="GPKG", layer="duong",
                      geometry_type="LineString")
    return path


def count(engine, sql: str, **params):
    with engine.connect() as conn:
        return conn.execute(text(sql), params).scalar()


def test_check_reports_the_contents(registry, settings, tmp_path):
    path = inventory(tmp_path / "duong.gpkg", extra=True)
    report = check_file(registry.get("road_segments"), path, extent=settings.plausible_extent)
    columns = {c.column: c for c in report.columns}
    assert report.features == 11 and not report.ok
    klass = columns["cap_duong"]
    assert (klass.field, klass.matched_by, klass.type, klass.nulls) == \
        ("road_class", "alias", "text", 0)
    assert klass.values == {"Đường đô thị": 6, "Quốc lộ": 2, "Đường tỉnh": 2, "primary": 1}
    assert klass.refused == ["Quốc lộ", "Đường tỉnh", "Đường đô thị"]
    name = columns["TEN_DUONG"]
    assert (name.field, name.matched_by, name.nulls) == ("name", "alias", 1)
    assert (columns["RONG_CM"].field, columns["RONG_CM"].type) == (None, "integer")
    lanes = columns["lanes"]
    assert (lanes.field, lanes.matched_by) == ("lanes", "name")
    assert lanes.out_of_range == ["feature 10: 20 is above the maximum 12"]
    assert (report.crs, report.crs_from) == ("EPSG:4326", "read from the file")
    assert report.outside == ["feature 9: at lon 21.03050, lat 105.85050 "
                              "(latitude and longitude look swapped)"]
    assert report.axes_swapped
    assert report.invalid_geometries == ["feature 11: Too few points in geometry component"
                                         "[105.83 21.01]"]
    assert report.id_column == "id" and report.duplicate_ids == ["id 'HN-003' appears 2 times"]
    assert report.missing_required == []
    lines = render(report)
    assert lines[0].endswith("11 feature(s); would be refused as it stands")
    assert "      values: Đường đô thị [REFUSED]: 6, Quốc lộ [REFUSED]: 2, Đường tỉnh " \
           "[REFUSED]: 2, primary: 1" in lines
    assert any("latitude and longitude look swapped" in line for line in lines)


def test_check_writes_a_template_and_changes_nothing(db, registry, settings, tmp_path,
                                                     database_url):
    from twin.cli import main

    path = inventory(tmp_path / "duong.gpkg", extra=True)
    result = CliRunner().invoke(main, ["load", str(path), "--layer", "road_segments", "--check",
                                       "--json"], env={"TWIN_DATABASE_URL": database_url})
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["ok"] is False and report["features"] == 11
    assert report["duplicate_ids"] == ["id 'HN-003' appears 2 times"]
    klass = next(c for c in report["columns"] if c["column"] == "cap_duong")
    assert klass["values"]["Quốc lộ"] == 2 and "Quốc lộ" in klass["refused"]
    template = tmp_path / "duong.mapping.yaml"
    assert report["template"] == str(template)
    filled = yaml.safe_load(template.read_text(encoding="utf-8"))
    assert filled["layer"] == "road_segments"
    assert filled["columns"] == {"RONG_CM": ""}
    assert filled["values"] == {"road_class": {"Quốc lộ": "", "Đường tỉnh": "",
                                               "Đường đô thị": ""}}
    again = CliRunner().invoke(main, ["load", str(path), "--layer", "road_segments",
                                      "--check"], env={"TWIN_DATABASE_URL": database_url})
    assert "mapping template not written" in again.output    # never over a user's file
    assert count(db, "SELECT count(*) FROM road_segments") == 0
    assert count(db, "SELECT count(*) FROM load_runs") == 0


def fill(template: Path) -> Path:
    """What the user writes into the template."""
    doc = yaml.safe_load(template.read_text(encoding="utf-8"))
    doc["columns"]["RONG_CM"] = "width_m"
    doc["values"]["road_class"] = {"Quốc lộ": "trunk", "Đường tỉnh": "secondary",
                                   "Đường đô thị": "tertiary"}
    doc["units"] = {"width_m": "cm"}
    doc["constants"] = {"agency": "Sở Giao thông Vận tải"}
    doc["defaults"] = {"name": "(không tên)"}
    template.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return template


def test_mapping_round_trips(db, registry, settings, tmp_path, database_url):
    from twin.cli import main

    layer = registry.get("road_segments")
    path = inventory(tmp_path / "duong.gpkg")
    report = check_file(layer, path, extent=settings.plausible_extent)
    assert report.ok is False and report.missing_required == []
    write_template(report, layer, None, tmp_path / "m.yaml")
    mapping = read_mapping(fill(tmp_path / "m.yaml"))
    rechecked = check_file(layer, path, extent=settings.plausible_extent,
                           options=SourceOptions(mapping=mapping))
    assert rechecked.ok, render(rechecked)
    lines = load_any(db, registry, settings, path, "road_segments", mapping_file=mapping)
    assert lines[0] == f"road_segments: {report.features} loaded, 0 repaired, 0 rejected"
    run = count(db, "SELECT max(id) FROM load_runs")
    assert f"  load run {run} with mapping {tmp_path / 'm.yaml'}" in lines[-1]
    with db.connect() as conn:
        got = conn.execute(text("SELECT external_id, name, road_class, width_m, agency "
                                "FROM road_segments ORDER BY external_id")).all()
    assert len(got) == report.features == 8
    assert got[0] == ("HN-000", "Giải Phóng", "trunk", 3.5, "Sở Giao thông Vận tải")
    assert got[5] == ("HN-005", "(không tên)", "tertiary", 8.5, "Sở Giao thông Vận tải")
    assert [g[2] for g in got] == ["trunk", "trunk", "secondary", "secondary", "tertiary",
                                   "tertiary", "tertiary", "primary"]
    stored = count(db, "SELECT report -> 'mapping' ->> 'text' FROM load_runs WHERE id = :id",
                   id=run)
    assert stored == (tmp_path / "m.yaml").read_text(encoding="utf-8")
    # the same file again, the same way, from the stored run (the layer comes with it)
    result = CliRunner().invoke(main, ["load", str(path), "--mapping-from-run", str(run),
                                       "--mode", "upsert"], env={"TWIN_DATABASE_URL": database_url})
    assert result.exit_code == 0, result.output
    assert result.output.startswith("road_segments: 0 loaded")   # nothing changed
    assert count(db, "SELECT count(*) FROM road_segments") == 8


@pytest.mark.parametrize("mapping,message", [
    ("columns: {RONG_CM: width}",
     "columns.RONG_CM: road_segments has no field 'width' (fields: name, road_class"),
    ("columns: {RONG: width_m}",
     "columns.RONG: the source has no column 'RONG' (columns: id, TEN_DUONG, cap_duong"),
    ("values: {road_class: {Quốc lộ: highway}}",
     "values.road_class.Quốc lộ: road_segments.road_class: 'highway' is not one of"),
    ("values: {road_class: {Quốc lộ: ''}}",
     "values.road_class.Quốc lộ: no value given: write the road_class it stands for"),
    ("values: {kind: {a: b}}", "values.kind: road_segments has no field 'kind'"),
    ("units: {width_m: furlong}", "units.width_m: unknown unit 'furlong'"),
    ("units: {lanes: cm}", "units.lanes: the unit of field 'lanes' is not in its name"),
    ("units: {name: {from: cm, to: m}}", "units.name: field 'name' is not a number"),
    ("constants: {lanes: many}", "constants.lanes: road_segments.lanes: 'many' is not a valid"),
    ("layer: bus_stops", "layer: the mapping is for bus_stops, not road_segments"),
    ("colums: {a: b}", "colums: unknown section"),
    ("columns: [a, b]", "columns: must be a mapping"),
])
def test_bad_mappings_name_the_file_and_key(mapping, message, db, registry, settings,
                                            tmp_path):
    path = inventory(tmp_path / "duong.gpkg")
    (tmp_path / "bad.yaml").write_text(mapping, encoding="utf-8")
    with pytest.raises(LoadError) as err:
        load_any(db, registry, settings, path, "road_segments",
                 mapping_file=read_mapping(tmp_path / "bad.yaml"))
    assert str(err.value).startswith(f"{tmp_path / 'bad.yaml'}: {message}")
    assert count(db, "SELECT count(*) FROM road_segments") == 0
    assert count(db, "SELECT count(*) FROM load_runs") == 0


def test_mapping_from_a_run_without_one(db, registry, settings, tmp_path, database_url):
    from twin.cli import main

    path = inventory(tmp_path / "duong.gpkg")
    env = {"TWIN_DATABASE_URL": database_url}
    for args, message in [(["--mapping-from-run", "999999"], "there is no load run 999999"),
                          (["--mapping", str(tmp_path / "none.yaml")], "no such mapping file")]:
        result = CliRunner().invoke(main, ["load", str(path), "-l", "road_segments", *args],
                                    env=env)
        assert result.exit_code == 1 and message in result.output, result.output
    mapping = tmp_path / "m.yaml"
    mapping.write_text("values: {road_class: {Quốc lộ: trunk, Đường tỉnh: secondary, "
                       "Đường đô thị: tertiary}}\ndefaults: {name: '?'}\n", encoding="utf-8")
    load_any(db, registry, settings, path, "road_segments", mapping_file=read_mapping(mapping))
    plain = inventory(tmp_path / "plain.gpkg")
    load_any(db, registry, settings, plain, "road_segments", mode="upsert",
             mapping_file=read_mapping(mapping))
    with db.begin() as conn:
        conn.execute(text("UPDATE load_runs SET report = report - 'mapping'"))
    run = count(db, "SELECT max(id) FROM load_runs")
    result = CliRunner().invoke(main, ["load", str(path), "--mapping-from-run", str(run)],
                                env=env)
    assert result.exit_code == 1
    assert f"load run {run} (into road_segments) was made without a mapping file" in \
        result.output


def test_load_vacuums_and_analyses_what_it_wrote(db, registry, settings, tmp_path):
    stats = ("SELECT vacuum_count, analyze_count, last_vacuum IS NOT NULL, "
             "last_analyze IS NOT NULL FROM pg_stat_user_tables WHERE relname = :t")
    with db.begin() as conn:
        conn.execute(text("ALTER TABLE road_segments SET (autovacuum_enabled = false)"))
    try:
        with db.connect() as conn:
            before = conn.execute(text(stats), {"t": "road_segments"}).one()
        mapping = tmp_path / "m.yaml"
        mapping.write_text("values: {road_class: {Quốc lộ: trunk, Đường tỉnh: secondary, "
                           "Đường đô thị: tertiary}}\ndefaults: {name: '?'}\n",
                           encoding="utf-8")
        load_any(db, registry, settings, inventory(tmp_path / "d.gpkg"), "road_segments",
                 mapping_file=read_mapping(mapping))
        with db.connect() as conn:
            after = conn.execute(text(stats), {"t": "road_segments"}).one()
            history = conn.execute(text(stats), {"t": "road_segments_history"}).one()
    finally:
        with db.begin() as conn:
            conn.execute(text("ALTER TABLE road_segments RESET (autovacuum_enabled)"))
    assert after[0] >= before[0] + 1 and after[1] >= before[1] + 1
    assert after[2:] == (True, True) and history[2:] == (True, True)
