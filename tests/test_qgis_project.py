"""The QGIS project: built from the running server, then opened by QGIS itself.

QGIS (Debian's python3-qgis, run by the system Python, offscreen) reads the .qgz,
connects every OGC API – Features layer to the test server over HTTP and must find each
layer valid, styled with the renderer twin wrote and time-aware where the layer is.
"""

from __future__ import annotations

import json
import os
import subprocess
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import httpx
import pytest

from twin.qgis.layers import layer_id
from twin.qgis.project import PROJECT_CRS, QGS_NAME
from twin.styles.resolve import resolve

SYSTEM_PYTHON = "/usr/bin/python3"
CHECK = Path(__file__).with_name("qgis_check.py")


def _has_qgis() -> bool:
    try:
        done = subprocess.run([SYSTEM_PYTHON, "-c", "import qgis.core"], capture_output=True,
                              timeout=120)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


RASTER_RENDERERS = {"flood_depth": "singlebandpseudocolor",
                    "air_quality": "singlebandpseudocolor"}


def expected_layers(registry, empty: set[str]) -> dict[str, dict]:
    """What QGIS must report for each layer of the project. An empty collection opens
    without geometry type in QGIS 3.22 (it takes the type from the first features), so
    for those only validity and the temporal settings are checked."""
    out = {}
    for layer in registry:
        if "public" not in layer.access.read:
            continue
        r = resolve(layer)
        vector = {"kind": "vector", "provider": "OAPIF", "temporal_field": layer.time_field}
        if layer.name in empty:
            vector["empty"] = True
        else:
            vector.update(renderer="categorizedSymbol" if r.categories else "singleSymbol",
                          labels=r.label is not None)
        if r.categories and layer.name not in empty:
            vector.update(attr=r.by, categories=len(r.categories))
        out[layer_id(layer)] = vector
        out[layer_id(layer, "_tiles")] = {"kind": "vector-tile", "renderer": "basic",
                                          "styles": max(1, len(r.categories))}
    return out


@pytest.fixture(scope="module")
def project_file(server, tmp_path_factory) -> Path:
    response = httpx.get(server + "/qgis/project.qgz", timeout=60)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/zip"
    path = tmp_path_factory.mktemp("qgis") / "city.qgz"
    path.write_bytes(response.content)
    return path


def test_project_archive_is_deterministic_and_wired_to_the_server(project_file, http,
                                                                   server, registry):
    again = http.get("/qgis/project.qgz")
    assert again.content == project_file.read_bytes()
    with zipfile.ZipFile(project_file) as archive:
        assert archive.namelist() == [QGS_NAME]
        root = ET.fromstring(archive.read(QGS_NAME))
    assert root.find("projectCrs/spatialrefsys/authid").text == PROJECT_CRS
    sources = [n.text for n in root.iter("datasource")]
    assert all(server in s for s in sources)
    groups = [g.get("name") for g in root.find("layer-tree-group").findall("layer-tree-group")]
    # Vietnamese by default (the city's language; ?lang=en: Environment, Transport, ...)
    assert groups[:4] == ["Môi trường", "Giao thông", "Hành chính", "Đất đai"]
    tiles = root.find("layer-tree-group").findall("layer-tree-group")[-1]
    assert tiles.get("checked") == "Qt::Unchecked"
    temporal = [n for n in root.iter("temporal") if n.get("enabled") == "1"]
    vector = [n for n in temporal if "startField" in n.attrib]
    assert sorted(n.get("startField") for n in vector) == sorted(
        layer.time_field for layer in registry if layer.time_field)
    # raster steps (surfaces made by other tests, if any) carry their own time range
    assert all(n.find("fixedRange/start").text for n in temporal if n not in vector)
    assert root.find("ProjectTimeSettings/TemporalRange/start").text


@pytest.mark.skipif(not _has_qgis(), reason=f"{SYSTEM_PYTHON} cannot import qgis.core "
                    "(install Debian's python3-qgis to open the project with QGIS)")
def test_qgis_opens_every_layer_valid_and_styled(project_file, registry, http, tmp_path,
                                                 city_engine):
    from sqlalchemy import text

    from twin.qgis.rasters import CATALOGUE_SQL, raster_layers

    empty = {layer.name for layer in registry
             if not http.get(f"/collections/{layer.name}/items", params={"limit": 1}
                             ).json()["features"]}
    expected = tmp_path / "expected.json"
    layers = expected_layers(registry, empty)
    with city_engine.connect() as conn:  # catalogued COGs, served at /rasters/{id}.tif
        rows = conn.execute(text(CATALOGUE_SQL)).all()
    for r in raster_layers(rows, lambda _id, path: path):
        layers[r.layer_id] = {"kind": "raster", "renderer": RASTER_RENDERERS.get(
            r.kind, "singlebandgray")}
    expected.write_text(json.dumps({"crs": PROJECT_CRS, "layers": layers}))
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_RUNTIME_DIR": str(tmp_path),
           "HOME": str(tmp_path)}
    done = subprocess.run([SYSTEM_PYTHON, str(CHECK), str(project_file), str(expected)],
                          capture_output=True, text=True, env=env, timeout=600)
    report = done.stdout
    print(report)  # what QGIS said about each layer, kept in the test log
    assert done.returncode == 0, report + done.stderr[-3000:]
    assert report.strip().endswith("OK")


@pytest.mark.skipif(not _has_qgis(), reason=f"{SYSTEM_PYTHON} cannot import qgis.core "
                    "(install Debian's python3-qgis to read the styles with QGIS)")
def test_qgis_reads_every_exported_qml_and_sld(registry, tmp_path):
    from twin.cli.styles import export_styles

    folder = tmp_path / "styles"
    export_styles(registry, folder, "http://127.0.0.1:5000")
    geometries = tmp_path / "geometries.json"
    geometries.write_text(json.dumps({layer.name: layer.geometry for layer in registry}))
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_RUNTIME_DIR": str(tmp_path),
           "HOME": str(tmp_path)}
    done = subprocess.run([SYSTEM_PYTHON, str(CHECK), "--styles", str(folder), str(geometries)],
                          capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    reports = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    assert len(reports) == 2 * len(registry)
    for report in reports:
        name, ext = report["style"].rsplit(".", 1)
        categorized = bool(resolve(registry.get(name)).categories)
        want = {"qml": "categorizedSymbol", "sld": "RuleRenderer"}[ext] if categorized \
            else "singleSymbol"
        assert report["renderer"] == want, report


@pytest.mark.skipif(not _has_qgis(), reason=f"{SYSTEM_PYTHON} cannot import qgis.core "
                    "(install Debian's python3-qgis to open the project with QGIS)")
def test_catalogued_cogs_open_as_raster_layers(city_engine, tmp_path):
    """The rasters hook: the demo DEM, by its file path, opens in QGIS with the ramp."""
    from sqlalchemy import text

    from twin.qgis.project import ProjectOptions, build_qgz
    from twin.qgis.rasters import CATALOGUE_SQL, raster_layers

    with city_engine.connect() as conn:
        rows = conn.execute(text(CATALOGUE_SQL)).all()
    assert rows, "the demo city catalogues its DEM"
    rasters = raster_layers(rows, lambda _id, path: path)
    project = tmp_path / "rasters.qgz"
    project.write_bytes(build_qgz([], ProjectOptions("http://127.0.0.1:9", rasters=rasters)))
    expected = tmp_path / "expected.json"
    renderers = RASTER_RENDERERS
    expected.write_text(json.dumps({"crs": PROJECT_CRS, "layers": {
        r.layer_id: {"kind": "raster", "renderer": renderers.get(r.kind, "singlebandgray")}
        for r in rasters}}))
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_RUNTIME_DIR": str(tmp_path),
           "HOME": str(tmp_path)}
    done = subprocess.run([SYSTEM_PYTHON, str(CHECK), str(project), str(expected)],
                          capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]


@pytest.mark.skipif(not _has_qgis(), reason=f"{SYSTEM_PYTHON} cannot import qgis.core")
def test_a_raster_series_animates_in_qgis(city_engine, tmp_path):
    """Each step of a series is a layer with a fixed temporal range (valid time to the next
    step), in a group of its own; QGIS reads those ranges. At most STEPS_PER_SERIES steps
    per series come in."""
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import text

    from twin.qgis.project import ProjectOptions, build_qgz
    from twin.qgis.rasters import STEPS_PER_SERIES, raster_layers

    with city_engine.connect() as conn:
        dem = conn.execute(text("SELECT path FROM rasters WHERE kind = 'dem'")).scalar()
    t0 = datetime(2026, 10, 21, 1, tzinfo=UTC)
    rows = [(f"pm-{i}", "air_quality", "pm25", None, t0 + timedelta(hours=i), "EPSG:3405", dem)
            for i in range(3)]
    project = tmp_path / "series.qgz"
    project.write_bytes(build_qgz([], ProjectOptions(
        "http://127.0.0.1:9", rasters=raster_layers(rows, lambda _id, path: path))))
    script = (
        "from qgis.core import QgsApplication, QgsProject\n"
        "app = QgsApplication([], False); app.initQgis()\n"
        f"p = QgsProject.instance(); assert p.read({str(project)!r})\n"
        "for lid in sorted(p.mapLayers()):\n"
        "    r = p.mapLayer(lid).temporalProperties().fixedTemporalRange()\n"
        "    print(lid, r.begin().toString('yyyy-MM-ddTHH'), r.end().toString('yyyy-MM-ddTHH'))\n"
        "print(p.layerTreeRoot().findGroup('Dữ liệu lưới').children()[0].name())\n")
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_RUNTIME_DIR": str(tmp_path),
           "HOME": str(tmp_path)}
    done = subprocess.run([SYSTEM_PYTHON, "-c", script], capture_output=True, text=True,
                          env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    assert lines == ["twin_raster_pm-0 2026-10-21T01 2026-10-21T02",
                     "twin_raster_pm-1 2026-10-21T02 2026-10-21T03",
                     "twin_raster_pm-2 2026-10-21T03 2026-10-21T04",
                     "chất lượng không khí / pm25"]  # the series' group, in Vietnamese
    assert STEPS_PER_SERIES >= 24


# --- how the project opens (issue 17, point 11) -----------------------------------------

TREE_SCRIPT = """
import json, sys
from qgis.core import QgsApplication, QgsProject, QgsLayerTreeGroup
app = QgsApplication([], False); app.initQgis()
p = QgsProject.instance(); assert p.read(sys.argv[1])
root = p.layerTreeRoot()
groups = []
def walk(node):
    for child in node.children():
        if isinstance(child, QgsLayerTreeGroup):
            groups.append([child.name(), child.isExpanded()]); walk(child)
walk(root)
steps = {}
for lid, layer in p.mapLayers().items():
    t = layer.temporalProperties()
    if layer.type() == 1 and t is not None and t.isActive():
        r = t.fixedTemporalRange()
        steps[lid] = [r.begin().toString('yyyy-MM-ddTHH:mm:ss'),
                      r.end().toString('yyyy-MM-ddTHH:mm:ss')]
span = p.timeSettings().temporalRange()
print(json.dumps({
    "visible": sorted(n.layerId() for n in root.findLayers() if n.isVisible()),
    "groups": groups, "steps": steps,
    "range": [span.begin().toString('yyyy-MM-ddTHH:mm:ss'),
              span.end().toString('yyyy-MM-ddTHH:mm:ss')],
    "controller": [p.readEntry('TemporalControllerWidget', '/StartDateTime')[0],
                   p.readEntry('TemporalControllerWidget', '/EndDateTime')[0]]}))
p.clear(); app.exitQgis()
"""


def qgis_tree(project: Path, tmp_path: Path) -> dict:
    """What QGIS reads of a project's layer tree and time settings."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_RUNTIME_DIR": str(tmp_path),
           "HOME": str(tmp_path)}
    done = subprocess.run([SYSTEM_PYTHON, "-c", TREE_SCRIPT, str(project)],
                          capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def _series_rows(dem: str) -> list[tuple]:
    """Two hourly series of 5 steps (a surface and a flood scenario) on the DEM's grid."""
    from datetime import UTC, datetime, timedelta

    t0 = datetime(2026, 10, 21, 1, tzinfo=UTC)
    return [(f"{kind}-{i}", kind, variable, scenario, t0 + timedelta(hours=i), "EPSG:3405",
             dem)
            for kind, variable, scenario in (("air_quality", "pm25", None),
                                             ("flood_depth", None, "rain-100mm"))
            for i in range(5)]


@pytest.mark.skipif(not _has_qgis(), reason=f"{SYSTEM_PYTHON} cannot import qgis.core")
def test_the_project_opens_with_the_latest_step_of_each_series(city_engine, registry,
                                                               tmp_path):
    """Base layers and the latest step of each series visible, the older steps off but
    temporal (one step per hour, so the temporal controller shows one at a time), every
    group collapsed, the project's and the temporal controller's range covering the
    series."""
    from sqlalchemy import text

    from twin.qgis.project import ProjectOptions, build_qgz
    from twin.qgis.rasters import raster_layers

    with city_engine.connect() as conn:
        dem = conn.execute(text("SELECT external_id, kind, variable, scenario, valid_time, "
                                "crs, path FROM rasters WHERE kind = 'dem'")).first()
    rows = [tuple(dem), *_series_rows(dem.path)]
    rasters = raster_layers(rows, lambda _id, path: path)
    layers = list(registry)
    project = tmp_path / "analyst.qgz"
    project.write_bytes(build_qgz(layers, ProjectOptions("http://127.0.0.1:9",
                                                         rasters=rasters)))
    tree = qgis_tree(project, tmp_path)

    assert tree["visible"] == sorted([layer_id(lyr) for lyr in layers]
                                     + [f"twin_raster_{dem.external_id}",
                                        "twin_raster_air_quality-4",
                                        "twin_raster_flood_depth-4"])
    assert tree["groups"] and not any(expanded for _, expanded in tree["groups"]), \
        tree["groups"]
    for kind in ("air_quality", "flood_depth"):
        ranges = [tree["steps"][f"twin_raster_{kind}-{i}"] for i in range(5)]
        assert ranges == [[f"2026-10-21T{h:02d}:00:00", f"2026-10-21T{h + 1:02d}:00:00"]
                          for h in range(1, 6)]
    begin, end = tree["range"]
    assert begin <= "2026-10-21T01:00:00" and end >= "2026-10-21T06:00:00", tree["range"]
    assert all(tree["controller"]), tree["controller"]


@pytest.mark.skipif(not _has_qgis(), reason=f"{SYSTEM_PYTHON} cannot import qgis.core")
def test_the_served_project_shows_base_layers_and_one_step_per_series(project_file,
                                                                      registry, tmp_path):
    """The server's own project: whatever series the catalogue holds, one step each."""
    tree = qgis_tree(project_file, tmp_path)
    with zipfile.ZipFile(project_file) as archive:
        root = ET.fromstring(archive.read(QGS_NAME))
    rasters = [n for n in root.iter("maplayer") if n.get("type") == "raster"]
    timed = {n.findtext("id") for n in rasters if n.find("temporal") is not None}
    series = root.find("layer-tree-group").findall(
        "layer-tree-group[@name='Dữ liệu lưới']/layer-tree-group")  # "Rasters" in English
    base = [layer_id(lyr) for lyr in registry if "public" in lyr.access.read] + \
        [n.findtext("id") for n in rasters if n.findtext("id") not in timed]
    assert len(tree["visible"]) == len(base) + len(series), tree["visible"]
    assert set(base) <= set(tree["visible"])
    assert not any(expanded for _, expanded in tree["groups"]), tree["groups"]
