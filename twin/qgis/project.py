"""The city's QGIS project: a ``.qgz`` (a zip holding one ``.qgs``) written without QGIS.

- Vector layers read twin's OGC API – Features (``OAPIF`` provider), styled with the
  layers' QML and grouped by theme (Transport, Environment, Land, Administration).
- The same collections as vector tiles, in a group that is off by default (faster for
  browsing large layers; no attributes table, no time filter).
- Rasters (COGs) when given, coloured with the flood-depth or PM2.5 ramp.
- Project CRS: the city's metric CRS (the city profile's ``crs.metric``; by default
  EPSG:3405, VN-2000 / UTM zone 48N), the CRS of twin's DEM, so QGIS measures lengths
  and areas in metres.
- Time-aware layers carry temporal properties; the project's time range (and the
  temporal controller's range) spans the timestamped layers' data and the raster series,
  stepped hourly.
- It opens as an analyst wants it: every group collapsed; the vector layers and the
  rasters without a time switched on; of each raster series only the latest step (every
  step keeps its fixed temporal range, so with the series switched on QGIS's temporal
  controller shows one step at a time instead of drawing them all at once).
"""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC

from pyproj import CRS, Transformer

from twin.qgis import layers as ql
from twin.qgis.xml import extent, extent_children, properties, spatialrefsys, sub
from twin.registry import FieldType, Layer
from twin.styles.qml import QGIS_VERSION
from twin.styles.resolve import resolve

PROJECT_CRS = "EPSG:3405"
QGS_NAME = "twin-hanoi.qgs"
ZIP_TIME = (2020, 1, 1, 0, 0, 0)  # fixed, so the same project gives the same bytes
# Theme groups, in layer-tree order, and the layer keywords (English: theme keys) that put
# a layer in each.
GROUPS = (
    ("Environment", {"environment", "sensors", "flood", "air quality", "monitoring"}),
    ("Transport", {"transport", "roads", "bus", "traffic"}),
    ("Administration", {"administration", "boundaries"}),
    ("Land", {"cadastre", "land", "parcels"}),
)
OTHER_GROUP = "Other"
TILES_GROUP = "Vector tiles (alternative, off)"
RASTER_GROUP = "Rasters"
TILES_SUFFIX = "tiles"
# The names above as the project shows them in Vietnamese (``ProjectOptions.lang``).
VIETNAMESE = {"Environment": "Môi trường", "Transport": "Giao thông",
              "Administration": "Hành chính", "Land": "Đất đai", "Other": "Khác",
              TILES_GROUP: "Ô bản đồ vector (phương án thay thế, tắt)",
              RASTER_GROUP: "Dữ liệu lưới", TILES_SUFFIX: "ô bản đồ"}


def said(name: str, lang: str) -> str:
    """A group name (or word) of the project in ``lang``."""
    return VIETNAMESE.get(name, name) if lang == "vi" else name


@dataclass(frozen=True)
class ProjectOptions:
    base_url: str
    extents: dict[str, dict] = field(default_factory=dict)  # layer -> {"bbox", "interval"}
    rasters: Sequence[ql.RasterLayer] = ()
    title: str = "twin"
    bounds: tuple[float, float, float, float] | None = None  # CRS84 view without extents
    crs: str = PROJECT_CRS
    lang: str = "vi"  # layer and group names, field aliases: vi or en


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
    return sub(parent, "layer-tree-group", name=name, expanded="0",
               checked="Qt::Checked" if checked else "Qt::Unchecked")


def latest_steps(rasters: Iterable[ql.RasterLayer]) -> set[str]:
    """The layer id of the latest step of each raster series (the one switched on)."""
    latest: dict[str, ql.RasterLayer] = {}
    for raster in rasters:
        best = latest.get(raster.series)
        if raster.start is not None and (best is None or raster.start >= best.start):
            latest[raster.series] = raster
    return {r.layer_id for r in latest.values()}


def layer_tree(root: ET.Element, layers: list[Layer], options: ProjectOptions) -> list[str]:
    """The layer tree; returns layer ids top first (the rendering order)."""
    tree = sub(root, "layer-tree-group")
    names = [name for name, _ in GROUPS] + [OTHER_GROUP]
    lang = options.lang
    for name in names:
        members = [lyr for lyr in layers if group_of(lyr) == name]
        if members:
            group = _group(tree, said(name, lang))
            for lyr in members:
                _tree_layer(group, ql.layer_id(lyr), lyr.title_in(lang),
                            ql.oapif_source(lyr, options.base_url), "OAPIF")
    if options.rasters:
        group = _group(tree, said(RASTER_GROUP, lang))
        series: dict[str, ET.Element] = {}
        shown = latest_steps(options.rasters)
        for raster in options.rasters:  # a time series: its steps in a group of its own
            if raster.start is not None and raster.series not in series:
                series[raster.series] = _group(group, ql.series_title(raster, lang))
            parent = group if raster.start is None else series[raster.series]
            _tree_layer(parent, raster.layer_id, ql.raster_title(raster, lang), raster.uri,
                        "gdal", checked=raster.start is None or raster.layer_id in shown)
    tiles = _group(tree, said(TILES_GROUP, lang), checked=False)
    for lyr in layers:
        _tree_layer(tiles, ql.layer_id(lyr, "_tiles"), ql.tiles_title(lyr, lang),
                    ql.vector_tile_source(lyr, options.base_url), "vectortile")
    order = [ql.layer_id(lyr) for lyr in layers] + [r.layer_id for r in options.rasters] \
        + [ql.layer_id(lyr, "_tiles") for lyr in layers]
    custom = sub(tree, "custom-order", enabled="1")
    for lid in order:
        sub(custom, "item", lid)
    return order


def city_bbox(layers: list[Layer], extents: dict[str, dict],
              default: tuple[float, ...] | None = None, crs: str = PROJECT_CRS
              ) -> tuple[float, ...]:
    """The union of the layers' extents (CRS84), else ``default`` (the city's view),
    else where the project CRS may be used."""
    boxes = [extents[lyr.name]["bbox"] for lyr in layers if lyr.name in extents]
    if not boxes:
        return tuple(default) if default else tuple(CRS.from_user_input(crs).area_of_use.bounds)
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


def _views(root: ET.Element, bbox: tuple[float, ...], crs: str) -> None:
    to_project = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    projected = to_project.transform_bounds(*bbox)
    canvas = sub(root, "mapcanvas", name="theMapCanvas", annotationsVisible="1")
    sub(canvas, "units", "meters")
    extent_children(canvas, "extent", projected)
    sub(canvas, "rotation", "0")
    spatialrefsys(sub(canvas, "destinationsrs"), crs)
    view = sub(root, "ProjectViewSettings", UseProjectScales="0", rotation="0")
    extent(view, "DefaultViewExtent", bbox, "EPSG:4326")


def raster_span(rasters: Iterable[ql.RasterLayer]) -> tuple[str, str] | None:
    """From the first step's start to the last step's end of the raster series."""
    steps = [r for r in rasters if r.start is not None and r.end is not None]
    if not steps:
        return None
    return (ql.iso_time(min(r.start for r in steps)), ql.iso_time(max(r.end for r in steps)))


def _time_settings(root: ET.Element, span: tuple[str, str] | None) -> dict:
    """The project's time range; returns the temporal controller's saved state (its
    range, navigation off), which QGIS reads from the project properties."""
    node = sub(root, "ProjectTimeSettings", timeStepUnit="h", timeStep="1", frameRate="1",
               cumulativeTemporalRange="0")
    if span is None:
        return {}
    rng = sub(node, "TemporalRange")
    sub(rng, "start", span[0])
    sub(rng, "end", span[1])
    return {"TemporalControllerWidget": {"NavigationMode": 0, "StartDateTime": span[0],
                                         "EndDateTime": span[1]}}


def _union(*spans: tuple[str, str] | None) -> tuple[str, str] | None:
    """ISO 8601 spans, all in UTC with a Z or all of one form, compared as instants."""
    from datetime import datetime

    def at(text: str) -> datetime:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)

    given = [s for s in spans if s is not None]
    if not given:
        return None
    return (min((s[0] for s in given), key=at), max((s[1] for s in given), key=at))


def project_xml(layers: Sequence[Layer], options: ProjectOptions) -> str:
    """The ``.qgs`` document."""
    ordered = _draw_order(layers)
    root = ET.Element("qgis", version=QGIS_VERSION, projectname=options.title)
    sub(root, "title", options.title)
    spatialrefsys(sub(root, "projectCrs"), options.crs)
    order = layer_tree(root, ordered, options)
    project_layers = sub(root, "projectlayers")
    for lyr in ordered:
        project_layers.append(ql.oapif_layer(lyr, options.base_url, options.lang))
    for raster in options.rasters:
        project_layers.append(ql.raster_layer(raster, options.lang))
    for lyr in ordered:
        project_layers.append(ql.vector_tile_layer(lyr, options.base_url, options.lang))
    layer_order = sub(root, "layerorder")
    for lid in order:
        sub(layer_order, "layer", id=lid)
    _views(root, city_bbox(list(layers), options.extents, options.bounds, options.crs),
           options.crs)
    controller = _time_settings(root, _union(time_range(list(layers), options.extents),
                                             raster_span(options.rasters)))
    properties(root, {"SpatialRefSys": {"ProjectionsEnabled": 1},
                      "Measurement": {"DistanceUnits": "meters", "AreaUnits": "m2"},
                      "Paths": {"Absolute": False}, **controller})
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
