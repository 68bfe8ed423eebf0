"""MapLibre GL style layers for twin's vector tiles, and a whole-city style document.

Each collection's tiles are one vector source whose single source-layer is named after
the collection (``ST_AsMVT(t, <layer name>)`` in ``twin.server.tiles.sql``); tile URLs
follow OGC API – Tiles, ``/collections/{id}/tiles/WebMercatorQuad/{z}/{y}/{x}`` (row
before column). The document has no ``glyphs``, ``sprite`` or basemap: it works with no
internet, so it draws no text (MapLibre text needs a glyph server) and labels are left
to QGIS and SLD clients.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from twin.city import CityProfile
from twin.registry import Layer, Registry
from twin.styles import ramps
from twin.styles.resolve import Resolved, resolve

TMS_ID = "WebMercatorQuad"
BACKGROUND = "#f4f3ef"


def tile_url(base_url: str, collection: str) -> str:
    """The tile URL template of a collection, in MapLibre's ``{z}/{y}/{x}`` placeholders."""
    return f"{base_url.rstrip('/')}/collections/{collection}/tiles/{TMS_ID}/{{z}}/{{y}}/{{x}}"


def colour_expression(r: Resolved, default: str) -> Any:
    """A ``match`` on the category field, or the plain colour without categories."""
    if not r.categories:
        return default
    expr: list[Any] = ["match", ["to-string", ["get", r.by]]]
    for cat in r.categories:
        expr += [cat.value, cat.colour]
    return [*expr, ramps.FALLBACK]


def class_colour_expression(value: Any, classes: list[ramps.ColourClass]) -> list:
    """A ``step`` expression colouring a numeric expression by class ramp, e.g.
    ``class_colour_expression(["get", "aqi"], ramps.vn_aqi_classes())``."""
    expr: list[Any] = ["step", value, classes[0].colour]
    for cls in classes[1:]:
        expr += [cls.lower, cls.colour]
    return expr


def _line_width(width: float, r: Resolved | None = None) -> list:
    """Thin at city scale, wider at street scale; scaled per category where the
    categories' widths differ (road classes: footways thin, motorways wide)."""
    factor: Any = None
    if r is not None and any(c.width != 1.0 for c in r.categories):
        factor = ["match", ["get", r.by]]
        for cat in r.categories:
            factor += [cat.value, cat.width]
        factor.append(1.0)
    stops: list[Any] = []
    for zoom, scale in ((10, 0.5), (14, 1.0), (18, 4.0)):
        value = round(width * scale, 2)
        stops += [zoom, value if factor is None else ["*", value, factor]]
    return ["interpolate", ["exponential", 1.5], ["zoom"], *stops]


def _paint(r: Resolved, part: str) -> dict:
    if part == "circle":
        return {"circle-color": colour_expression(r, r.fill), "circle-radius": r.radius,
                "circle-opacity": r.opacity, "circle-stroke-color": r.stroke,
                "circle-stroke-width": 1, "circle-stroke-opacity": r.opacity}
    if part == "fill":
        return {"fill-color": colour_expression(r, r.fill),
                "fill-opacity": r.opacity, "fill-antialias": True}
    colour = r.stroke if r.colours_fill or r.kind == "point" else colour_expression(r, r.stroke)
    width = _line_width(r.width, r) if r.kind == "line" else r.width
    return {"line-color": colour, "line-width": width, "line-opacity": r.opacity}


def layer_style(layer: Layer, source_id: str) -> list[dict]:
    """The MapLibre layers drawing ``layer`` from the vector source ``source_id``:
    a circle layer for points, a line layer for lines, a fill and/or line layer for
    polygons. Ids are ``<collection>-circle|-line|-fill``."""
    r = resolve(layer)
    parts = {"point": ["circle"], "line": ["line"],
             "polygon": (["fill"] if r.fill else []) + (["line"] if r.stroke else [])}[r.kind]
    minzoom = max(layer.tiles.minzoom, r.minzoom or 0)
    out = []
    for part in parts:
        spec: dict[str, Any] = {
            "id": f"{layer.name}-{part}", "type": part, "source": source_id,
            "source-layer": layer.name, "minzoom": minzoom,
            "metadata": {"twin:collection": layer.name, "twin:title": layer.title},
            "paint": _paint(r, part),
        }
        if r.maxzoom is not None:
            spec["maxzoom"] = r.maxzoom + 1  # MapLibre's maxzoom is exclusive
        if part == "line":
            spec["layout"] = {"line-join": "round", "line-cap": "round"}
        out.append(spec)
    return out


def source(layer: Layer, base_url: str, city: CityProfile | None = None) -> dict:
    """The vector source of one collection (tiles listed directly: no TileJSON fetch);
    with a city, tiles are asked for inside its plausible extent only."""
    out = {"type": "vector", "tiles": [tile_url(base_url, layer.name)],
           "minzoom": layer.tiles.minzoom, "maxzoom": layer.tiles.maxzoom,
           "attribution": f"twin — {city.name} city model" if city else "twin"}
    if city is not None:
        out["bounds"] = list(city.extent.plausible)
    return out


def _public(layer: Layer) -> bool:
    return "public" in layer.access.read


def style_document(registry: Registry | Iterable[Layer], base_url: str,
                   include: Callable[[Layer], bool] | None = None,
                   city: CityProfile | None = None) -> dict:
    """A complete MapLibre style (version 8) with one vector source per collection,
    named after it, and every layer's style layers, areas under lines under points.

    ``include`` picks the collections (default: the public ones, which are those with
    tiles); the server passes its access check. ``city`` (the city profile) names the
    style and gives its centre, zoom and the sources' bounds."""
    chosen = [layer for layer in registry if (include or _public)(layer)]
    ordered = sorted(chosen, key=lambda lyr: resolve(lyr).draw_rank)
    layers: list[dict] = [{"id": "background", "type": "background",
                           "paint": {"background-color": BACKGROUND}}]
    for layer in ordered:
        layers += layer_style(layer, layer.name)
    view = {"center": list(city.view.center), "zoom": city.view.zoom} if city else {}
    return {
        "version": 8,
        "name": f"twin — {city.name}" if city else "twin",
        "metadata": {"twin:offline": True},
        **view,
        "sources": {layer.name: source(layer, base_url, city) for layer in chosen},
        "layers": layers,
    }


def station_aqi_layer(source_id: str, source_layer: str, field: str = "aqi",
                      scale: str = "VN_AQI", radius: float = 7) -> dict:
    """A circle layer colouring stations by an AQI attribute on ``scale`` (VN_AQI or
    US_AQI) — for sources of station AQI points (GeoJSON or tiles)."""
    classes = ramps.vn_aqi_classes() if scale == "VN_AQI" else ramps.us_aqi_classes()
    spec: dict[str, Any] = {
        "id": f"{source_id}-aqi", "type": "circle", "source": source_id,
        "paint": {"circle-color": class_colour_expression(["to-number", ["get", field]],
                                                          classes),
                  "circle-radius": radius, "circle-stroke-color": "#333333",
                  "circle-stroke-width": 1},
    }
    if source_layer:
        spec["source-layer"] = source_layer
    return spec
