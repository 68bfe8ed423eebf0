"""QGIS layer styles (QML), written as XML without QGIS.

The same elements are the styling children of a ``<maplayer>`` in a QGIS project, so
``twin.qgis`` embeds them as they are. Only the properties twin sets are written; QGIS
(checked with 3.22) fills every other symbol property with its default. Widths and radii
in the layer files are screen pixels (as in MapLibre); QGIS gets millimetres at 96 dpi,
so a printed map keeps the web map's proportions.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import replace

from twin.registry import Layer
from twin.styles.resolve import Category, Resolved, resolve, zoom_to_scale

QGIS_VERSION = "3.22.16-Białowieża"
MM_PER_PX = 25.4 / 96
QML_TYPE = "application/vnd.qgis.qml"
GEOMETRY_TYPE = {"point": "0", "line": "1", "polygon": "2"}
SYMBOL_TYPE = {"point": "marker", "line": "line", "polygon": "fill"}
# QgsPalLayerSettings::Placement: AroundPoint, Curved (along lines), OverPoint (centroid).
LABEL_PLACEMENT = {"point": "0", "line": "3", "polygon": "1"}
NO_SCALE_LIMIT = 100_000_000


def qgis_colour(hex_colour: str | None, alpha: int = 255) -> str:
    """``#rrggbb`` as QGIS's ``r,g,b,a``; None is fully transparent."""
    if hex_colour is None:
        return "0,0,0,0"
    r, g, b = (int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))
    return f"{r},{g},{b},{alpha}"


def _mm(px: float) -> str:
    return f"{px * MM_PER_PX:.3g}"


def _options(parent: ET.Element, props: dict[str, str]) -> None:
    node = ET.SubElement(parent, "Option", type="Map")
    for key, value in props.items():
        ET.SubElement(node, "Option", name=key, value=value, type="QString")


def _symbol_layer(r: Resolved, fill: str | None, stroke: str | None) -> tuple[str, dict]:
    if r.kind == "point":
        return "SimpleMarker", {
            "name": "circle", "color": qgis_colour(fill), "outline_color": qgis_colour(stroke),
            "outline_style": "solid", "outline_width": "0.2", "outline_width_unit": "MM",
            "size": _mm(2 * r.radius), "size_unit": "MM"}
    if r.kind == "line":
        return "SimpleLine", {
            "line_color": qgis_colour(stroke), "line_width": _mm(r.width),
            "line_width_unit": "MM", "line_style": "solid", "capstyle": "round",
            "joinstyle": "round"}
    return "SimpleFill", {
        "color": qgis_colour(fill), "style": "solid" if fill else "no",
        "outline_color": qgis_colour(stroke), "outline_style": "solid" if stroke else "no",
        "outline_width": _mm(r.width), "outline_width_unit": "MM", "joinstyle": "round"}


def symbol(r: Resolved, name: str, colour: str | None = None) -> ET.Element:
    """A one-layer QGIS symbol of the layer's kind, with a category colour applied."""
    fill, stroke = r.symbol(colour)
    node = ET.Element("symbol", type=SYMBOL_TYPE[r.kind], name=name, alpha=f"{r.opacity:g}",
                      clip_to_extent="1", force_rhr="0")
    cls, props = _symbol_layer(r, fill, stroke)
    layer = ET.SubElement(node, "layer", {"class": cls, "enabled": "1", "locked": "0",
                                          "pass": "0"})
    _options(layer, props)
    return node


def renderer(r: Resolved) -> ET.Element:
    """``categorizedSymbol`` with one category per value of ``by``, else ``singleSymbol``."""
    common = {"forceraster": "0", "symbollevels": "0", "enableorderby": "0",
              "referencescale": "-1"}
    if not r.categories:
        node = ET.Element("renderer-v2", type="singleSymbol", **common)
        ET.SubElement(node, "symbols").append(symbol(r, "0"))
        return node
    node = ET.Element("renderer-v2", type="categorizedSymbol", attr=r.by, **common)
    cats, symbols = ET.SubElement(node, "categories"), ET.SubElement(node, "symbols")
    for i, cat in enumerate(r.categories):
        _category(cats, symbols, r, cat, str(i))
    ET.SubElement(node, "source-symbol").append(symbol(r, "0"))
    return node


def _category(cats: ET.Element, symbols: ET.Element, r: Resolved, cat: Category,
              key: str) -> None:
    ET.SubElement(cats, "category", value=cat.value, label=cat.label, symbol=key,
                  render="true")
    symbols.append(symbol(replace(r, width=r.width * cat.width), key, cat.colour))


def labeling(r: Resolved) -> ET.Element | None:
    """Simple labeling on ``label.field``, shown from ``label.minzoom`` on."""
    if r.label is None:
        return None
    node = ET.Element("labeling", type="simple")
    settings = ET.SubElement(node, "settings", calloutType="simple")
    style = ET.SubElement(settings, "text-style", fieldName=r.label.field, isExpression="0",
                          fontFamily="DejaVu Sans", fontSize=f"{r.label.size:g}",
                          fontSizeUnit="Point", textColor=qgis_colour(r.label.colour),
                          textOpacity="1")
    ET.SubElement(style, "text-buffer", bufferDraw="1", bufferSize="0.8",
                  bufferSizeUnits="MM", bufferColor="255,255,255,255", bufferOpacity="0.8")
    ET.SubElement(settings, "placement", placement=LABEL_PLACEMENT[r.kind], dist="1",
                  distUnits="MM", placementFlags="10")
    ET.SubElement(settings, "rendering", scaleVisibility="1", scaleMin="0",
                  scaleMax=f"{zoom_to_scale(r.label.minzoom):.0f}", obstacle="1",
                  drawLabels="1")
    return node


def scale_range(r: Resolved) -> dict[str, str]:
    """Layer visibility by scale (QGIS: minScale is the most zoomed-out denominator)."""
    limited = r.minzoom is not None or r.maxzoom is not None
    return {"hasScaleBasedVisibilityFlag": "1" if limited else "0",
            "minScale": f"{zoom_to_scale(r.minzoom):.0f}" if r.minzoom is not None
            else str(NO_SCALE_LIMIT),
            "maxScale": f"{zoom_to_scale(r.maxzoom + 1):.0f}" if r.maxzoom is not None
            else "0"}


def style_elements(layer: Layer) -> tuple[dict[str, str], list[ET.Element]]:
    """The attributes and children a ``<qgis>`` document or ``<maplayer>`` needs."""
    r = resolve(layer)
    attrs = {**scale_range(r), "labelsEnabled": "1" if r.label else "0"}
    children = [renderer(r)]
    label_node = labeling(r)
    if label_node is not None:
        children.append(label_node)
    for tag, text in (("blendMode", "0"), ("featureBlendMode", "0"),
                      ("layerGeometryType", GEOMETRY_TYPE[r.kind])):
        node = ET.Element(tag)
        node.text = text
        children.append(node)
    return attrs, children


def qml_document(layer: Layer) -> str:
    """The QML file of a layer (what QGIS's *Load Style…* reads)."""
    attrs, children = style_elements(layer)
    root = ET.Element("qgis", version=QGIS_VERSION, styleCategories="Symbology|Labeling",
                      **attrs)
    root.extend(children)
    ET.indent(root, " ")
    return ("<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n"
            + ET.tostring(root, encoding="unicode") + "\n")
