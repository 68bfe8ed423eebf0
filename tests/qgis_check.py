"""Open a twin QGIS project with QGIS itself and check every layer.

Run by the system Python that has ``python3-qgis`` (not twin's venv)::

    QT_QPA_PLATFORM=offscreen /usr/bin/python3 tests/qgis_check.py city.qgz expected.json

``expected.json`` maps layer ids to what the layer must be: ``renderer`` (QGIS renderer
type), ``attr`` and ``categories`` (categorized renderers), ``temporal_field`` (or null)
and ``kind`` (vector, vector-tile or raster); ``empty: true`` marks a collection with no
features, which QGIS 3.22's OAPIF provider opens without a geometry type (it learns the
type from the first features), hence without a renderer. The project must hold exactly these layers,
each ``isValid()`` — which for OGC API – Features layers means QGIS fetched the landing
page, the API document and the collection from the running server — and each OAPIF
layer must return a feature. With ``--styles FOLDER geometries.json`` it instead loads
every exported QML and SLD file into a layer of QGIS. Prints one JSON report line per
layer, then ``OK`` or the failures, and exits 1 on any failure.
"""

from __future__ import annotations

import json
import sys

from qgis.core import QgsApplication, QgsFeatureRequest, QgsMapLayerType, QgsProject, QgsVectorLayer

KINDS = {QgsMapLayerType.VectorLayer: "vector", QgsMapLayerType.VectorTileLayer: "vector-tile",
         QgsMapLayerType.RasterLayer: "raster"}


def describe(layer) -> dict:
    """What QGIS says about one layer."""
    out = {"id": layer.id(), "name": layer.name(), "kind": KINDS.get(layer.type(), "other"),
           "provider": layer.providerType(), "valid": layer.isValid(),
           "crs": layer.crs().authid()}
    if not layer.isValid():
        out["error"] = layer.error().summary() or (
            layer.dataProvider().error().summary() if layer.dataProvider() else "")
    if isinstance(layer, QgsVectorLayer):
        out.update(_vector(layer))
    elif out["kind"] == "raster" and layer.isValid():
        out["renderer"] = layer.renderer().type()
    elif out["kind"] == "vector-tile":
        out["renderer"] = layer.renderer().type() if layer.renderer() else None
        out["styles"] = len(layer.renderer().styles()) if layer.renderer() else 0
    return out


def _vector(layer: QgsVectorLayer) -> dict:
    renderer = layer.renderer()
    out = {"renderer": renderer.type() if renderer else None,
           "labels": layer.labelsEnabled()}
    if renderer is not None and renderer.type() == "categorizedSymbol":
        categories = renderer.categories()
        out["attr"] = renderer.classAttribute()
        out["categories"] = len(categories)
    props = layer.temporalProperties()
    out["temporal_field"] = props.startField() if props.isActive() else None
    out["temporal_mode"] = int(props.mode()) if props.isActive() else None
    if layer.isValid():
        out["fields"] = layer.fields().count()
        features = list(layer.getFeatures(QgsFeatureRequest().setLimit(1)))
        out["sample_feature"] = bool(features) and features[0].hasGeometry()
    return out


def failures(found: dict[str, dict], expected: dict[str, dict]) -> list[str]:
    problems = []
    if set(found) != set(expected):
        problems.append(f"layers differ: missing {sorted(set(expected) - set(found))}, "
                        f"unexpected {sorted(set(found) - set(expected))}")
    for lid, want in expected.items():
        got = found.get(lid)
        if got is None:
            continue
        if not got["valid"]:
            problems.append(f"{lid}: not valid: {got.get('error')}")
            continue
        for key, value in want.items():
            if key != "empty" and got.get(key) != value:
                problems.append(f"{lid}: {key} is {got.get(key)!r}, expected {value!r}")
        if got["kind"] == "vector" and not want.get("empty") and \
                got.get("sample_feature") is not True:
            problems.append(f"{lid}: no feature came back from the server")
    return problems


def main(project_path: str, expected_path: str) -> int:
    app = QgsApplication([], False)
    app.initQgis()
    try:
        project = QgsProject.instance()
        if not project.read(project_path):
            print(f"QGIS could not read {project_path}: {project.error()}")
            return 1
        found = {lid: describe(layer) for lid, layer in project.mapLayers().items()}
        for report in found.values():
            print(json.dumps(report, ensure_ascii=False), flush=True)
        print(json.dumps({"project_crs": project.crs().authid(),
                          "time_range": project.timeSettings().temporalRange().begin()
                          .toString("yyyy-MM-ddTHH:mm:ss")}), flush=True)
        with open(expected_path, encoding="utf-8") as fh:
            expected = json.load(fh)
        problems = failures(found, expected["layers"])
        if project.crs().authid() != expected["crs"]:
            problems.append(f"project CRS is {project.crs().authid()}, expected {expected['crs']}")
        print("\n".join(problems) if problems else "OK", flush=True)
        return 1 if problems else 0
    finally:
        QgsProject.instance().clear()
        app.exitQgis()


def check_styles(folder: str, geometries_path: str) -> int:
    """Load every ``<layer>.qml`` and ``<layer>.sld`` of ``folder`` into an empty layer
    of the layer's geometry (``geometries.json``: name -> QGIS geometry) with QGIS."""
    import pathlib

    app = QgsApplication([], False)
    app.initQgis()
    problems = []
    try:
        geometries = json.loads(pathlib.Path(geometries_path).read_text(encoding="utf-8"))
        for name, geometry in geometries.items():
            for ext in ("qml", "sld"):
                layer = QgsVectorLayer(f"{geometry}?crs=EPSG:4326", name, "memory")
                path = str(pathlib.Path(folder) / f"{name}.{ext}")
                load = layer.loadNamedStyle if ext == "qml" else layer.loadSldStyle
                message, ok = load(path)
                renderer = layer.renderer().type() if layer.renderer() else None
                print(json.dumps({"style": f"{name}.{ext}", "ok": ok, "renderer": renderer,
                                  "message": message}), flush=True)
                if not ok:
                    problems.append(f"{name}.{ext}: {message}")
    finally:
        app.exitQgis()
    print("\n".join(problems) if problems else "OK", flush=True)
    return 1 if problems else 0


if __name__ == "__main__":
    if sys.argv[1] == "--styles":
        sys.exit(check_styles(sys.argv[2], sys.argv[3]))
    sys.exit(main(sys.argv[1], sys.argv[2]))
