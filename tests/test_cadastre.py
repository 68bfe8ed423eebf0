"""The cadastre as delivered: MicroStation DGN v7 sheets written with GDAL (ogr2ogr),
polygonised, labelled, reported and loaded into the real PostGIS; personal data stays
private over real HTTP."""

from __future__ import annotations

import csv
import shutil
import subprocess
from pathlib import Path

import httpx
import numpy as np
import pytest
import shapely
from click.testing import CliRunner
from pyproj import Transformer
from pyproj.transformer import TransformerGroup
from sqlalchemy import text

from tests.conftest import _free_port, served
from tests.files import HOAN_KIEM
from twin.ingest.dgn_source import DgnOptions, read_dgn
from twin.ingest.errors import LoadError
from twin.ingest.sources import SourceOptions
from twin.ingest.vector import load_vector
from twin.ingest.vnencodings import encode

TO_TM3 = Transformer.from_crs("EPSG:4326", "EPSG:5897", always_xy=True)
X0, Y0 = (round(v) for v in TO_TM3.transform(*HOAN_KIEM))   # a whole-metre corner
W, H = 20.0, 30.0                                             # each cell 600 m²
LOCAL = "EPSG:5897"          # Hà Nội's cadastral zone, as the city profile names it


def write_dgn(path: Path, lines: list[list[tuple[float, float]]], texts: list[tuple],
              boundary_level: int = 10) -> Path:
    """A DGN v7 sheet (GDAL's DGN driver through ogr2ogr, from a CSV): ``lines`` on the
    boundary level, ``texts`` as (x, y, text str or raw bytes, level). Coordinates are
    kept to the centimetre (100 units of resolution per metre)."""
    assert shutil.which("ogr2ogr"), "ogr2ogr (gdal-bin) writes the test DGN"
    source = path.with_suffix(".csv")
    with open(source, "w", encoding="latin-1", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["WKT", "Level", "Text"])
        for coords in lines:
            wkt = "LINESTRING (" + ", ".join(f"{x} {y}" for x, y in coords) + ")"
            out.writerow([wkt, boundary_level, ""])
        for x, y, value, level in texts:
            raw = value if isinstance(value, bytes) else value.encode("utf-8")
            out.writerow([f"POINT ({x} {y})", level, raw.decode("latin-1")])
    done = subprocess.run(
        ["ogr2ogr", "-f", "DGN", str(path), str(source), "-oo", "GEOM_POSSIBLE_NAMES=WKT",
         "-oo", "KEEP_GEOM_COLUMNS=NO", "-dsco", "UOR_PER_SUB_UNIT=100",
         "-dsco", "SUB_UNITS_PER_MASTER_UNIT=1", "-dsco", f"ORIGIN={X0 - 1000},{Y0 - 1000},0"],
        capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    return path


def load_sheet(db, registry, settings, path: Path, **kw):
    return load_vector(db, registry, "land_parcels", path, extent=settings.plausible_extent,
                       options=SourceOptions(local_crs=LOCAL), **kw)


def cell(i: int, j: int):
    return shapely.box(X0 + i * W, Y0 + j * H, X0 + (i + 1) * W, Y0 + (j + 1) * H)


def grid_lines(columns: int = 3, rows: int = 2) -> list:
    """Each boundary drawn once, as surveyors do: full-length lines crossing each other."""
    out = [[(X0 + i * W, Y0), (X0 + i * W, Y0 + rows * H)] for i in range(columns + 1)]
    out += [[(X0, Y0 + j * H), (X0 + columns * W, Y0 + j * H)] for j in range(rows + 1)]
    return out


def labels(i: int, j: int, number, use="ODT", area="600.0", level=13) -> list[tuple]:
    x, y = X0 + i * W + 3, Y0 + j * H + 5
    return [(x, y + 15, str(number), level), (x, y + 10, use, level), (x, y + 5, area, level)]


@pytest.fixture()
def sheet(tmp_path) -> Path:
    """3 x 2 parcels: 1, 2 and 6 well labelled; 3 with a second number; the cell of 5
    without a label; 4 with a stated area of 450 m² for its 600; a loose boundary line
    sticking out of the grid; a stray label; the title in TCVN3 (ABC)."""
    texts = labels(0, 0, 1) + labels(1, 0, 2) + labels(2, 0, 3) + labels(0, 1, 4, area="450,0")
    texts += labels(2, 1, 6, use="CLN")
    texts.append((X0 + 2 * W + 12, Y0 + 20, "7", 13))                   # parcel 3's second
    texts.append((X0, Y0 - 10, encode("Tờ bản đồ số 12", "tcvn3"), 63))  # the title
    texts.append((X0 + 100, Y0 + 100, "99", 13))                         # a stray label
    loose = [(X0 + 3 * W, Y0 + H), (X0 + 3 * W + 15, Y0 + H)]
    return write_dgn(tmp_path / "sheet.dgn", [*grid_lines(), loose], texts)


def test_sheet_is_polygonised_labelled_and_reported(sheet, registry):
    data = read_dgn(sheet, registry.get("land_parcels"), local_crs=LOCAL)
    rows = sorted(zip(data.columns["parcel_no"], data.columns["map_sheet"],
                      data.columns["land_use"], data.columns["dien_tich"], data.columns["id"],
                      data.geometries, strict=True), key=lambda r: r[0])
    assert [r[:5] for r in rows] == [(1, 12, "ODT", 600.0, "12-1"), (2, 12, "ODT", 600.0, "12-2"),
                                     (4, 12, "ODT", 450.0, "12-4"), (6, 12, "CLN", 600.0, "12-6")]
    expected = {1: cell(0, 0), 2: cell(1, 0), 4: cell(0, 1), 6: cell(2, 1)}
    for number, *_, geom in rows:
        assert geom.area == pytest.approx(expected[number].area, abs=0.01)
        assert geom.symmetric_difference(expected[number]).area < 0.01
    assert data.encoding == "tcvn3"
    assert any("sheet 12 from the title text 'Tờ bản đồ số 12'" in n for n in data.notes)
    assert any(n.startswith("6 parcel polygon(s) built") for n in data.notes)
    loose = [n for n in data.notes if "does not close a parcel" in n]
    assert len(loose) == 1 and loose[0].startswith("element ")
    assert any("text '99'" in n and "lies outside every parcel" in n for n in data.notes)
    rejected = sorted(data.rejected)
    assert len(rejected) == 2
    assert any("two parcel numbers, 3 (element" in r and "7 (element" in r for r in rejected)
    assert any("no parcel number label" in r for r in rejected)


def test_sheet_loads_with_its_report(sheet, db, registry, settings):
    summary = load_sheet(db, registry, settings, sheet)
    assert summary.loaded == 4 and len(summary.rejected) == 2
    assert any("stated area 450 m² (dien_tich) but the polygon measures 600" in n
               for n in summary.notes)
    with db.connect() as conn:
        rows = conn.execute(text("SELECT external_id, map_sheet, parcel_no, land_use, area_m2 "
                                 "FROM land_parcels ORDER BY parcel_no")).all()
        run = conn.execute(text("SELECT loaded, rejected, report->'notes' FROM load_runs")).one()
    assert [r[:4] for r in rows] == [("12-1", 12, 1, "ODT"), ("12-2", 12, 2, "ODT"),
                                     ("12-4", 12, 4, "ODT"), ("12-6", 12, 6, "CLN")]
    assert all(r[4] == pytest.approx(600, rel=2e-3) for r in rows)   # on the spheroid
    assert run[:2] == (4, 2) and any("TCVN3" in n for n in run[2])


def test_parcel_corner_round_trips_through_vn2000(sheet, db, registry, settings):
    load_sheet(db, registry, settings, sheet)
    with db.connect() as conn:
        points = conn.execute(text(
            "SELECT ST_X(p.geom), ST_Y(p.geom) FROM land_parcels, "
            "ST_DumpPoints(geom) p WHERE external_id = '12-1'")).all()
    to_wgs84 = next(t for t in TransformerGroup("EPSG:5897", "EPSG:4326", always_xy=True)
                    .transformers if "VN-2000 to WGS 84 (2)" in t.description)  # EPSG:6960
    lon, lat = to_wgs84.transform(X0, Y0)
    stored = min(points, key=lambda p: (p[0] - lon) ** 2 + (p[1] - lat) ** 2)
    assert stored == pytest.approx((lon, lat), abs=1e-9)
    back = Transformer.from_crs("EPSG:4326", "EPSG:5897", always_xy=True).transform(*stored)
    assert back == pytest.approx((X0, Y0), abs=0.001)        # a millimetre


def test_sheet_number_from_the_file_name(tmp_path, registry):
    path = write_dgn(tmp_path / "to_07.dgn", grid_lines(1, 1), labels(0, 0, 15))
    data = read_dgn(path, registry.get("land_parcels"), local_crs=LOCAL)
    assert data.columns["map_sheet"] == [7] and data.columns["parcel_no"] == [15]
    assert any("sheet 7 from the file name to_07.dgn" in n for n in data.notes)


def test_no_boundary_level_names_the_levels(sheet, registry):
    with pytest.raises(LoadError) as err:
        read_dgn(sheet, registry.get("land_parcels"), local_crs=LOCAL,
                 options=DgnOptions(boundary_level=11))
    assert str(err.value).startswith(f"{sheet}: no line elements on level 11")
    assert "levels with lines: 10 (8 lines)" in str(err.value)


def test_strict_refuses_the_sheet_and_writes_nothing(sheet, db, registry, settings):
    with pytest.raises(LoadError, match=r"cannot be read \(--strict\)") as err:
        load_sheet(db, registry, settings, sheet, strict=True)
    assert "two parcel numbers" in str(err.value)
    with db.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM land_parcels")).scalar() == 0
        assert conn.execute(text("SELECT count(*) FROM load_runs")).scalar() == 0


def test_mixed_encoding_sheet_names_the_element(tmp_path, registry):
    texts = [*labels(0, 0, 1), (X0, Y0 - 10, encode("Tờ bản đồ số 3", "tcvn3"), 63),
             (X0, Y0 - 20, encode("Phường Láng Hạ", "vni"), 63),
             (X0, Y0 - 30, encode("Quận Đống Đa", "tcvn3"), 63)]
    path = write_dgn(tmp_path / "mixed.dgn", grid_lines(1, 1), texts)
    with pytest.raises(LoadError) as err:
        read_dgn(path, registry.get("land_parcels"), local_crs=LOCAL)
    assert "in another encoding than the rest of the sheet" in str(err.value)
    assert "reads as VNI ('Phường Láng Hạ')" in str(err.value)
    assert "element " in str(err.value)


def test_unclosed_sheet_and_v8_files_are_refused_clearly(tmp_path, registry):
    open_lines = [[(X0, Y0), (X0 + W, Y0)], [(X0 + W, Y0), (X0 + W, Y0 + H)]]
    path = write_dgn(tmp_path / "open.dgn", open_lines, labels(0, 0, 1))
    with pytest.raises(LoadError) as err:
        read_dgn(path, registry.get("land_parcels"), local_crs=LOCAL)
    assert "close no parcel" in str(err.value) and "does not close a parcel" in str(err.value)
    v8 = tmp_path / "v8.dgn"
    v8.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504))
    with pytest.raises(LoadError, match="DGN v8 file; save the sheet as DGN v7"):
        read_dgn(v8, registry.get("land_parcels"), local_crs=LOCAL)
    with pytest.raises(LoadError, match="load it into land_parcels"):
        read_dgn(path, registry.get("road_segments"), local_crs=LOCAL)


def test_cli_loads_a_sheet_and_checks_one(sheet, db, database_url):
    from twin.cli import main

    env = {"TWIN_DATABASE_URL": database_url}
    checked = CliRunner().invoke(main, ["load", str(sheet), "--layer", "land_parcels",
                                        "--check", "--template", str(sheet.parent / "m.yaml")],
                                 env=env)
    assert checked.exit_code == 0, checked.output
    assert "-> land_parcels: 4 feature(s)" in checked.output
    assert "left out by the reader (2)" in checked.output
    loaded = CliRunner().invoke(main, ["load", str(sheet), "--layer", "land_parcels",
                                       "--label-level", "13"], env=env)
    assert loaded.exit_code == 0, loaded.output
    assert loaded.output.startswith("land_parcels: 4 loaded, 0 repaired, 2 rejected")
    assert "note: sheet 12" in loaded.output
    wrong = CliRunner().invoke(main, ["load", str(sheet), "--layer", "land_parcels",
                                      "--boundary-level", "3"], env=env)
    assert wrong.exit_code == 1 and "no line elements on level 3" in wrong.output
    assert "Traceback" not in wrong.output


def test_label_level_and_crs_options(sheet, registry):
    with pytest.raises(LoadError, match=r"none of its 6 parcel polygon\(s\) could be read"):
        read_dgn(sheet, registry.get("land_parcels"), local_crs=LOCAL,
                 options=DgnOptions(label_level=63))
    other = read_dgn(sheet, registry.get("land_parcels"), local_crs=LOCAL, crs="EPSG:9210")
    assert other.crs.to_epsg() == 9210
    assert any(n == "coordinates read as EPSG:9210" for n in other.notes)


def test_owners_of_a_shapefile_export_stay_private(db, database_url, registry, settings,
                                                  tmp_path):
    """A cadastral Shapefile export (SoTo, SoThua, LoaiDat, ChuSuDung, SoCCCD) loads, and
    its holders' names and ID numbers are served to the land office only."""
    import pyogrio.raw

    from twin.server.app import create_app
    from twin.server.auth.keys import create_key

    squares = [cell(i, 0) for i in range(2)]
    columns = {"SoTo": np.asarray([9, 9], dtype=np.int32),
               "SoThua": np.asarray([1, 2], dtype=np.int32),
               "LoaiDat": np.asarray(["ODT", "ONT"], dtype=object),
               "ChuSuDung": np.asarray([encode("Hoàng Văn Thụ", "vni").decode("latin-1"),
                                        encode("Bùi Thị Xuân", "vni").decode("latin-1")],
                                       dtype=object),
               "So_CCCD": np.asarray(["001089012345", "001190054321"], dtype=object)}
    shp = tmp_path / "export.shp"
    pyogrio.raw.write(shp, shapely.to_wkb(np.asarray(squares, dtype=object)),
                      fields=list(columns), field_data=list(columns.values()),
                      crs="EPSG:5897", driver="ESRI Shapefile", geometry_type="Polygon",
                      encoding="latin1")
    assert load_vector(db, registry, "land_parcels", shp,
                       extent=settings.plausible_extent).loaded == 2
    key, _ = create_key(db, "Văn phòng đăng ký đất đai", "land_office")
    port = _free_port()
    app_settings = settings.model_copy(update={"port": port, "public_url": None,
                                               "data_dir": tmp_path / "served"})
    with served(create_app(app_settings, database_url, registry), port) as base, \
            httpx.Client(base_url=base, timeout=30) as http:
        public = http.get("/collections/land_parcels/items", params={"f": "json"})
        office = http.get("/collections/land_parcels/items", params={"f": "json"},
                          headers={"X-API-Key": key})
    assert public.status_code == 200 and office.status_code == 200
    for name in ("Hoàng Văn Thụ", "001089012345", "owner_name", "owner_id_number"):
        assert name.encode() not in public.content
    owners = {f["properties"]["parcel_no"]: f["properties"]["owner_name"]
              for f in office.json()["features"]}
    assert owners == {1: "Hoàng Văn Thụ", 2: "Bùi Thị Xuân"}
