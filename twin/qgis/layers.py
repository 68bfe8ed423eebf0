"""``<maplayer>`` elements: a collection as an OGC API – Features layer (QGIS's ``OAPIF``
provider) or as vector tiles, and a raster (a COG GDAL can read) with a colour ramp.

OAPIF data sources name the landing page and the collection
(``url='http://host' typename='roads' ...``), as QGIS 3.22's WFS/OAPIF URI does;
``restrictToRequestBBOX`` makes QGIS ask only for the features in view (parcels number
in the hundreds of thousands) and ``pageSize`` keeps pages large.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote

from twin.measures import measure_field
from twin.qgis.xml import spatialrefsys, sub
from twin.registry import FieldType, Layer
from twin.styles import qml, ramps
from twin.styles.maplibre import tile_url
from twin.styles.resolve import Resolved, resolve

PAGE_SIZE = 1000
QGIS_GEOMETRY = {"point": "Point", "line": "Line", "polygon": "Polygon"}
QGIS_KIND = {"point": "0", "line": "1", "polygon": "2"}


@dataclass(frozen=True)
class RasterLayer:
    """A raster GDAL opens by ``uri`` (a path, or ``/vsicurl/https://...`` for a COG),
    coloured by its ``kind``: ``flood_depth`` and ``air_quality`` (PM2.5) by their class
    ramps, anything else (a DEM) in grey."""
    layer_id: str
    title: str
    uri: str
    kind: str
    crs: str = "EPSG:3405"
    series: str = ""                 # the project groups a series' steps together
    start: datetime | None = None    # the step's valid time ...
    end: datetime | None = None      # ... until the next step: QGIS shows it in between


def layer_id(layer: Layer, suffix: str = "") -> str:
    return f"twin_{layer.name}{suffix}"


def _common(node: ET.Element, lid: str, source: str, name: str, crs: str,
            provider: str) -> None:
    sub(node, "id", lid)
    sub(node, "datasource", source)
    sub(node, "layername", name)
    spatialrefsys(sub(node, "srs"), crs)
    sub(node, "provider", provider, encoding="UTF-8" if provider == "OAPIF" else "")


def oapif_source(layer: Layer, base_url: str) -> str:
    return (f"url='{base_url.rstrip('/')}' typename='{layer.name}' pagingEnabled='true' "
            f"pageSize='{PAGE_SIZE}' restrictToRequestBBOX='1'")


def temporal(layer: Layer) -> ET.Element:
    """Temporal properties: features at their ``time_field`` instant. A date field (an
    installation date) accumulates — everything installed by then is shown; a timestamp
    (an observation, a flood map) is shown for the hour it stands for."""
    tf = layer.time_field
    is_date = tf is not None and layer.fields[tf].type is FieldType.date
    node = ET.Element("temporal", {
        "enabled": "1" if tf else "0", "mode": "1" if tf else "0", "startField": tf or "",
        "endField": "", "durationField": "", "startExpression": "", "endExpression": "",
        "durationUnit": "h", "fixedDuration": "0" if is_date or not tf else "1",
        "accumulate": "1" if is_date else "0", "limitMode": "0"})
    fixed = sub(node, "fixedRange")
    sub(fixed, "start")
    sub(fixed, "end")
    return node


def aliases(layer: Layer, lang: str) -> ET.Element:
    """Field aliases: each public field by its description in ``lang`` (QGIS shows them
    in the attribute table and forms), the computed measure included."""
    fields = layer.public_fields()
    measure = measure_field(layer)
    node = ET.Element("aliases")
    for i, spec in enumerate([*fields, *([measure] if measure is not None else [])]):
        sub(node, "alias", field=spec.name, index=str(i),
            name=spec.description_in(lang) or spec.name)
    return node


def oapif_layer(layer: Layer, base_url: str, lang: str = "vi") -> ET.Element:
    """The collection as a vector layer read through OGC API – Features, with its QML
    style embedded, its temporal properties set, its name and field aliases in ``lang``."""
    r = resolve(layer)
    attrs, style = qml.style_elements(layer)
    node = ET.Element("maplayer", {"type": "vector", "geometry": QGIS_GEOMETRY[r.kind],
                                   "wkbType": layer.geometry, "readOnly": "0",
                                   "styleCategories": "AllStyleCategories", **attrs})
    _common(node, layer_id(layer), oapif_source(layer, base_url), layer.title_in(lang),
            "EPSG:4326", "OAPIF")
    abstract = sub(node, "resourceMetadata")
    sub(abstract, "title", layer.title_in(lang))
    sub(abstract, "abstract", layer.description_in(lang))
    node.append(temporal(layer))
    node.append(aliases(layer, lang))
    node.extend(style)
    return node


def _tile_styles(r: Resolved) -> ET.Element:
    """The vector-tile renderer: one style per category (an expression on ``by``)."""
    renderer = ET.Element("renderer", type="basic")
    styles = sub(renderer, "styles")
    entries = [(c.label, f"\"{r.by}\" = '{c.value}'", c.colour) for c in r.categories] \
        or [(r.title, "", None)]
    minzoom = str(r.minzoom) if r.minzoom is not None else "-1"
    maxzoom = str(r.maxzoom) if r.maxzoom is not None else "-1"
    for label, expression, colour in entries:
        style = sub(styles, "style", name=label, layer=r.name, geometry=QGIS_KIND[r.kind],
                    enabled="1", expression=expression)
        style.set("min-zoom", minzoom)
        style.set("max-zoom", maxzoom)
        sub(style, "symbols").append(qml.symbol(r, "0", colour))
    return renderer


def vector_tile_source(layer: Layer, base_url: str) -> str:
    url = quote(tile_url(base_url, layer.name), safe=":/")
    return f"type=xyz&url={url}&zmin={layer.tiles.minzoom}&zmax={layer.tiles.maxzoom}"


def tiles_title(layer: Layer, lang: str) -> str:
    return f"{layer.title_in(lang)} ({'ô bản đồ' if lang == 'vi' else 'tiles'})"


def vector_tile_layer(layer: Layer, base_url: str, lang: str = "vi") -> ET.Element:
    """The collection's Mapbox vector tiles (EPSG:3857), styled like the OAPIF layer."""
    r = resolve(layer)
    source = vector_tile_source(layer, base_url)
    node = ET.Element("maplayer", {"type": "vector-tile", "styleCategories":
                                   "AllStyleCategories", **qml.scale_range(r)})
    _common(node, layer_id(layer, "_tiles"), source, tiles_title(layer, lang),
            "EPSG:3857", "vectortile")
    node.append(_tile_styles(r))
    return node


def _raster_renderer(kind: str) -> ET.Element:
    classes = {"flood_depth": ramps.flood_depth_classes(),
               "air_quality": ramps.pm25_classes()}.get(kind)
    if classes is None:
        node = ET.Element("rasterrenderer", type="singlebandgray", grayBand="1",
                          gradient="BlackToWhite", opacity="1", alphaBand="-1")
        sub(node, "contrastEnhancement")
        return node
    node = ET.Element("rasterrenderer", type="singlebandpseudocolor", band="1",
                      opacity="0.8", alphaBand="-1", classificationMin=str(classes[0].lower),
                      classificationMax=str(classes[-1].lower))
    shader = sub(sub(node, "rastershader"), "colorrampshader", colorRampType="DISCRETE",
                 classificationMode="1", clip="0")
    for cls in classes:
        upper = "inf" if cls.upper == ramps.INF else repr(cls.upper)
        r, g, b = (int(cls.colour[i:i + 2], 16) for i in (1, 3, 5))
        sub(shader, "item", value=upper, label=cls.label, alpha="255",
            color=f"#{r:02x}{g:02x}{b:02x}")
    return node


# Raster kinds (twin.rasters.cog.KINDS) as a Vietnamese project names them.
RASTER_KINDS_VI = {"dem": "mô hình số độ cao", "air_quality": "chất lượng không khí",
                   "flood_depth": "độ sâu ngập", "rainfall": "lượng mưa", "other": "khác"}


def _vi_kind(text: str, kind: str) -> str:
    english = kind.replace("_", " ")
    return RASTER_KINDS_VI[kind] + text[len(english):] if text.startswith(english) and \
        kind in RASTER_KINDS_VI else text


def raster_title(raster: RasterLayer, lang: str) -> str:
    """A raster step's layer name (``flood depth / depth_m / s1 2026-10-21 01:00 (id)``)
    with its kind in ``lang``."""
    return _vi_kind(raster.title, raster.kind) if lang == "vi" else raster.title


def series_title(raster: RasterLayer, lang: str) -> str:
    """The group of a raster series (``kind / variable / scenario``), its kind in ``lang``."""
    name = raster.series or "rasters"
    if lang != "vi":
        return name
    return _vi_kind(name.replace(raster.kind, raster.kind.replace("_", " "), 1), raster.kind)


def raster_layer(raster: RasterLayer, lang: str = "vi") -> ET.Element:
    """A GDAL raster layer with the ramp of its kind."""
    node = ET.Element("maplayer", type="raster", styleCategories="AllStyleCategories",
                      hasScaleBasedVisibilityFlag="0", minScale="1e+08", maxScale="0")
    _common(node, raster.layer_id, raster.uri, raster_title(raster, lang), raster.crs, "gdal")
    pipe = sub(node, "pipe")
    pipe.append(_raster_renderer(raster.kind))
    if raster.start is not None and raster.end is not None:
        node.append(raster_temporal(raster.start, raster.end))
    return node


def raster_temporal(start: datetime, end: datetime) -> ET.Element:
    """QgsRasterLayerTemporalProperties, fixed range mode: the temporal controller shows
    the step from its valid time until the next step's."""
    node = ET.Element("temporal", enabled="1", mode="0", fetchMode="0")
    rng = sub(node, "fixedRange")
    sub(rng, "start", iso_time(start))
    sub(rng, "end", iso_time(end))
    return node


def iso_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
