"""SLD 1.1 / Symbology Encoding 1.1 documents (OGC 05-078r4, 05-077r4).

One ``NamedLayer`` per layer, one ``se:Rule`` per category (an ``ogc:Filter`` on the
``by`` field) plus an ``se:ElseFilter`` rule for values outside the palette, and a
text rule for labels. Sizes are pixels, SE's default unit, like the layer files.
Elements are written in the order the SE schema's sequences require.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import replace

from twin.registry import Layer
from twin.styles import ramps
from twin.styles.resolve import Resolved, resolve, zoom_to_scale

SLD_TYPE = "application/vnd.ogc.sld+xml;version=1.1"
NS = {
    "sld": "http://www.opengis.net/sld",
    "se": "http://www.opengis.net/se",
    "ogc": "http://www.opengis.net/ogc",
    "xlink": "http://www.w3.org/1999/xlink",
    "xsi": "http://www.w3.org/2001/XMLSchema-instance",
}
SCHEMA = "http://www.opengis.net/sld http://schemas.opengis.net/sld/1.1.0/StyledLayerDescriptor.xsd"
for _prefix, _uri in NS.items():
    ET.register_namespace(_prefix, _uri)


def _q(prefix: str, tag: str) -> str:
    return f"{{{NS[prefix]}}}{tag}"


def _se(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    node = ET.SubElement(parent, _q("se", tag), attrs)
    if text is not None:
        node.text = text
    return node


def _params(parent: ET.Element, tag: str, params: dict[str, str]) -> ET.Element:
    node = _se(parent, tag)
    for name, value in params.items():
        _se(node, "SvgParameter", value, name=name)
    return node


def _fill(parent: ET.Element, colour: str, opacity: float) -> None:
    _params(parent, "Fill", {"fill": colour, "fill-opacity": f"{opacity:g}"})


def _stroke(parent: ET.Element, colour: str, width: float, opacity: float) -> None:
    _params(parent, "Stroke", {"stroke": colour, "stroke-width": f"{width:g}",
                               "stroke-opacity": f"{opacity:g}", "stroke-linejoin": "round"})


def symbolizer(parent: ET.Element, r: Resolved, colour: str | None) -> None:
    """The symbolizer of the layer's geometry kind, with a category colour applied."""
    fill, stroke = r.symbol(colour)
    if r.kind == "point":
        graphic = _se(_se(parent, "PointSymbolizer"), "Graphic")
        mark = _se(graphic, "Mark")
        _se(mark, "WellKnownName", "circle")
        _fill(mark, fill, r.opacity)
        _stroke(mark, stroke, 1, r.opacity)
        _se(graphic, "Size", f"{2 * r.radius:g}")
    elif r.kind == "line":
        _stroke(_se(parent, "LineSymbolizer"), stroke, r.width, r.opacity)
    else:
        node = _se(parent, "PolygonSymbolizer")
        if fill:
            _fill(node, fill, r.opacity)
        if stroke:
            _stroke(node, stroke, r.width, r.opacity)


def _scales(rule: ET.Element, minzoom: int | None, maxzoom: int | None) -> None:
    """Rule visibility: MinScaleDenominator is the zoomed-in end (SE)."""
    if maxzoom is not None:
        _se(rule, "MinScaleDenominator", f"{zoom_to_scale(maxzoom + 1):.0f}")
    if minzoom is not None:
        _se(rule, "MaxScaleDenominator", f"{zoom_to_scale(minzoom):.0f}")


def _rule(style: ET.Element, r: Resolved, title: str, value: str | None,
          colour: str | None, else_rule: bool = False) -> None:
    rule = _se(style, "Rule")
    _se(rule, "Name", value if value is not None else title)
    _se(_se(rule, "Description"), "Title", title)
    if value is not None:
        flt = ET.SubElement(rule, _q("ogc", "Filter"))
        equal = ET.SubElement(flt, _q("ogc", "PropertyIsEqualTo"))
        ET.SubElement(equal, _q("ogc", "PropertyName")).text = r.by
        ET.SubElement(equal, _q("ogc", "Literal")).text = value
    elif else_rule:
        _se(rule, "ElseFilter")
    _scales(rule, r.minzoom, r.maxzoom)
    symbolizer(rule, r, colour)


def _label_rule(style: ET.Element, r: Resolved) -> None:
    label = r.label
    rule = _se(style, "Rule")
    _se(rule, "Name", f"label {label.field}")
    _scales(rule, max(label.minzoom, r.minzoom or 0), r.maxzoom)
    text = _se(rule, "TextSymbolizer")
    ET.SubElement(_se(text, "Label"), _q("ogc", "PropertyName")).text = label.field
    _params(text, "Font", {"font-family": "DejaVu Sans", "font-size": f"{label.size * 4 / 3:g}"})
    placement = _se(text, "LabelPlacement")
    if r.kind == "line":
        _se(placement, "LinePlacement")
    else:
        _se(placement, "PointPlacement")
    halo = _se(text, "Halo")
    _se(halo, "Radius", "1.5")
    _fill(halo, "#ffffff", 0.8)
    _fill(text, label.colour, 1)


def feature_type_style(r: Resolved, parent: ET.Element) -> None:
    style = _se(parent, "FeatureTypeStyle")
    if r.categories:
        for cat in r.categories:
            _rule(style, replace(r, width=r.width * cat.width), cat.label, cat.value,
                  cat.colour)
        _rule(style, r, "other", None, ramps.FALLBACK, else_rule=True)
    else:
        _rule(style, r, r.title, None, None)
    if r.label is not None:
        _label_rule(style, r)


def sld_document(layer: Layer) -> str:
    """The SLD 1.1 document of a layer, as text."""
    r = resolve(layer)
    root = ET.Element(_q("sld", "StyledLayerDescriptor"),
                      {"version": "1.1.0", _q("xsi", "schemaLocation"): SCHEMA})
    named = ET.SubElement(root, _q("sld", "NamedLayer"))
    _se(named, "Name", layer.name)
    user = ET.SubElement(named, _q("sld", "UserStyle"))
    _se(user, "Name", layer.name)
    _se(_se(user, "Description"), "Title", layer.title)
    feature_type_style(r, user)
    ET.indent(root, " ")
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            + ET.tostring(root, encoding="unicode") + "\n")
