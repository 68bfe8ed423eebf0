"""The city's QGIS project: a ``.qgz`` (a zip holding one ``.qgs``) written without QGIS.

- Vector layers read twin's OGC API – Features (``OAPIF`` provider), styled with the
  layers' QML and grouped by theme (Transport, Environment, Land, Administration).
- The same collections as vector tiles, in a group that is off by default (faster for
  browsing large layers; no attributes table, no time filter).
- Rasters (COGs) when given, coloured with the flood-depth or PM2.5 ramp.
- Project CRS EPSG:3405, VN-2000 / UTM zone 48N: Vietnam's national projected CRS, in
  metres, the CRS of twin's DEM, so QGIS measures lengths and areas in metres.
- Time-aware layers carry temporal properties; the project's time range spans the
  timestamped layers' data, stepped hourly.
"""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from pyproj import Transformer

from twin.qgis import layers as ql
from twin.qgis.xml import extent, extent_children, properties, spatialrefsys, sub
from twin.registry import FieldType, Layer
from twin.styles.maplibre import HANOI_BOUNDS
from twin.styles.qml import QGIS_VERSION
from twin.styles.resolve import resolve

PROJECT_CRS = "EPSG:3405"
QGS_NAME = "twin-hanoi.qgs"
ZIP_TIME = (2020, 1, 1, 0, 0, 0)  # fixed, so the same project gives the same bytes
# Theme groups, in layer-tree order, and the layer keywords that put a layer in each.
GROUPS = (
    ("Environment", {"environment", "sensors", "flood", "air quality", "monitoring"}),
    ("Transport", {"transport", "roads", "bus", "traffic"}),
    ("Administration", {"administration", "boundaries"}),
    ("Land", {"cadastre", "land", "parcels"}),
)
OTHER_GROUP = "Other"
TILES_GROUP = "Vector tiles (alternative, off)"
RASTER_GROUP = "Rasters"


@dataclass(frozen=True)
class ProjectOptions:
    base_url: str
    extents: dict[str, dict] = field(default_factory=dict)  # layer -> {"bbox", "interval"}
    rasters: Sequence[ql.RasterLayer] = ()
    title: str = "twin — Hà Nội"


def group_of(layer: Layer) -> str:
    keywords = {k.lower() for k in layer.keywords}
    for name, words in GROUPS:
        if keywords & words:
            return name
    return OTHER_GROUP


def _draw_order(layers: Iterable[Layer]) -> list[Layer]:
    """Top first: points over lines over outlines over filled areas."""
    return sorted(layers, key=lambda lyr: resolve(lyr).draw_rank, reverse=True)


def _tree_layer(parent: ET.Element, lid: str, name: str, source: str, provider: str,
                checked: bool = True) -> None:
    sub(parent, "layer-tree-layer", id=lid, name=name, source=source, providerKey=provider,
        checked="Qt::Checked" if checked else "Qt::Unchecked", expanded="0")


def _group(parent: ET.Element, name: str, checked: bool = True) -> ET.Element:
    return sub(parent, "layer-tree-group", name=name, expanded="1",
               checked="Qt::Checked" if checked else "Qt::Unchecked")


def layer_tree(root: ET.Element, layers: list[Layer], options: ProjectOptions) -> list[str]:
    """The layer tree; returns layer ids top first (the rendering order)."""
    tree = sub(root, "layer-tree-group")
    names = [name for name, _ in GROUPS] + [OTHER_GROUP]
    for name in names:
        members = [lyr for lyr in layers if group_of(lyr) == name]
        if members:
            group = _group(tree, name)
            for lyr in members:
                _tree_layer(group, ql.layer_id(lyr), lyr.title,
                            ql.oapif_source(lyr, options.base_url), "OAPIF")
    if options.rasters:
        group = _group(tree, RASTER_GROUP)
        series: dict[str, ET.Element] = {}
        for raster in options.rasters:  # a time series: its steps in a group of its own
            if raster.start is not None and raster.series not in series:
                series[raster.series] = _group(group, raster.series or "rasters")
                series[raster.series].set("expanded", "0")
            parent = group if raster.start is None else series[raster.series]
            _tree_layer(parent, raster.layer_id, raster.title, raster.uri, "gdal")
    tiles = _group(tree, TILES_GROUP, checked=False)
    for lyr in layers:
        _tree_layer(tiles, ql.layer_id(lyr, "_tiles"), f"{lyr.title} (tiles)",
                    ql.vector_tile_source(lyr, options.base_url), "vectortile")
    order = [ql.layer_id(lyr) for lyr in layers] + [r.layer_id for r in options.rasters] \
        + [ql.layer_id(lyr, "_tiles") for lyr in layers]
    custom = sub(tree, "custom-order", enabled="1")
    for lid in order:
        sub(custom, "item", lid)
    return order


def city_bbox(layers: list[Layer], extents: dict[str, dict]) -> tuple[float, ...]:
    """The union of the layers' extents (CRS84), or the city's default bounds."""
    boxes = [extents[lyr.name]["bbox"] for lyr in layers if lyr.name in extents]
    if not boxes:
        return tuple(HANOI_BOUNDS)
    return (min(b[0] for b in boxes), min(b[1] for b in boxes),
            max(b[2] for b in boxes), max(b[3] for b in boxes))


def _spans(layers: Iterable[Layer], extents: dict[str, dict]) -> list[list[str]]:
    return [extents[lyr.name]["interval"] for lyr in layers
            if lyr.name in extents and all(extents[lyr.name].get("interval") or [None])]


def time_range(layers: list[Layer], extents: dict[str, dict]) -> tuple[str, str] | None:
    """The span of the timestamped layers' data; dates (installation dates, which would
    stretch it over decades) count only when no timestamped layer has data."""
    timed = [lyr for lyr in layers if lyr.time_field]
    stamped = [lyr for lyr in timed if lyr.fields[lyr.time_field].type is FieldType.datetime]
    spans = _spans(stamped, extents) or _spans(timed, extents)
    if not spans:
        return None
    return min(s[0] for s in spans), max(s[1] for s in spans)


def _views(root: ET.Element, bbox: tuple[float, ...]) -> None:
    to_project = Transformer.from_crs("EPSG:4326", PROJECT_CRS, always_xy=True)
    projected = to_project.transform_bounds(*bbox)
    canvas = sub(root, "mapcanvas", name="theMapCanvas", annotationsVisible="1")
    sub(canvas, "units", "meters")
    extent_children(canvas, "extent", projected)
    sub(canvas, "rotation", "0")
    spatialrefsys(sub(canvas, "destinationsrs"), PROJECT_CRS)
    view = sub(root, "ProjectViewSettings", UseProjectScales="0", rotation="0")
    extent(view, "DefaultViewExtent", bbox, "EPSG:4326")


def _time_settings(root: ET.Element, span: tuple[str, str] | None) -> None:
    node = sub(root, "ProjectTimeSettings", timeStepUnit="h", timeStep="1", frameRate="1",
               cumulativeTemporalRange="0")
    if span is not None:
        rng = sub(node, "TemporalRange")
        sub(rng, "start", span[0])
        sub(rng, "end", span[1])


def project_xml(layers: Sequence[Layer], options: ProjectOptions) -> str:
    """The ``.qgs`` document."""
    ordered = _draw_order(layers)
    root = ET.Element("qgis", version=QGIS_VERSION, projectname=options.title)
    sub(root, "title", options.title)
    spatialrefsys(sub(root, "projectCrs"), PROJECT_CRS)
    order = layer_tree(root, ordered, options)
    project_layers = sub(root, "projectlayers")
    for lyr in ordered:
        project_layers.append(ql.oapif_layer(lyr, options.base_url))
    for raster in options.rasters:
        project_layers.append(ql.raster_layer(raster))
    for lyr in ordered:
        project_layers.append(ql.vector_tile_layer(lyr, options.base_url))
    layer_order = sub(root, "layerorder")
    for lid in order:
        sub(layer_order, "layer", id=lid)
    properties(root, {"SpatialRefSys": {"ProjectionsEnabled": 1},
                      "Measurement": {"DistanceUnits": "meters", "AreaUnits": "m2"},
                      "Paths": {"Absolute": False}})
    _views(root, city_bbox(list(layers), options.extents))
    _time_settings(root, time_range(list(layers), options.extents))
    ET.indent(root, " ")
    return ("<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n"
            + ET.tostring(root, encoding="unicode") + "\n")


def build_qgz(layers: Sequence[Layer], options: ProjectOptions) -> bytes:
    """The project zipped as QGIS saves it (one .qgs inside a .qgz)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        info = zipfile.ZipInfo(QGS_NAME, date_time=ZIP_TIME)
        info.compress_type = zipfile.ZIP_DEFLATED
        archive.writestr(info, project_xml(layers, options).encode("utf-8"))
    return buffer.getvalue()
