"""Small XML builders for QGIS project files (``.qgs``), written as QGIS 3.22 writes them.

QGIS reads far less than it writes: a ``<maplayer>`` needs its id, data source, provider,
name, CRS and styling; everything else falls back to defaults. CRSs are written with
their WKT (from PROJ, through pyproj), so QGIS does not have to resolve the code itself.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from functools import lru_cache

from pyproj import CRS


def sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    node = ET.SubElement(parent, tag, attrs)
    if text is not None:
        node.text = text
    return node


@lru_cache(maxsize=8)
def _crs_fields(authid: str) -> tuple[tuple[str, str], ...]:
    crs = CRS.from_user_input(authid)
    return (("wkt", crs.to_wkt()), ("srid", str(crs.to_epsg())), ("authid", authid),
            ("description", crs.name),
            ("geographicflag", "true" if crs.is_geographic else "false"))


def spatialrefsys(parent: ET.Element, authid: str) -> ET.Element:
    """``<spatialrefsys>`` of an EPSG code, e.g. ``EPSG:3405``."""
    node = sub(parent, "spatialrefsys")
    for tag, text in _crs_fields(authid):
        sub(node, tag, text)
    return node


def extent(parent: ET.Element, tag: str, bbox: tuple[float, float, float, float],
           authid: str | None = None) -> ET.Element:
    """An extent as attributes (``DefaultViewExtent``) with its CRS."""
    xmin, ymin, xmax, ymax = bbox
    node = sub(parent, tag, xmin=repr(xmin), ymin=repr(ymin), xmax=repr(xmax),
               ymax=repr(ymax))
    if authid:
        spatialrefsys(node, authid)
    return node


def extent_children(parent: ET.Element, tag: str,
                    bbox: tuple[float, float, float, float]) -> ET.Element:
    """An extent as child elements (``<mapcanvas><extent>``)."""
    node = sub(parent, tag)
    for name, value in zip(("xmin", "ymin", "xmax", "ymax"), bbox, strict=False):
        sub(node, name, repr(value))
    return node


def properties(parent: ET.Element, tree: dict) -> ET.Element:
    """Project ``<properties>``: nested scopes of typed values."""
    node = sub(parent, "properties")

    def write(into: ET.Element, values: dict) -> None:
        for key, value in values.items():
            if isinstance(value, dict):
                write(sub(into, key), value)
            else:
                kind = {bool: "bool", int: "int", float: "double"}.get(type(value), "QString")
                text = ("true" if value else "false") if isinstance(value, bool) else str(value)
                sub(into, key, text, type=kind)

    write(node, tree)
    return node
