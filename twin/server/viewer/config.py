"""What the viewer page is told at start: the city's extent, the style, the layer
switcher's groups, the legends and the time-aware layers.

Everything is derived from the registry, the extents read at start-up and the shared
styles (``twin.styles``), so a layer added to ``layers/`` shows in the viewer, styled
and listed in the switcher, with no edit here. The page itself is static; this document
is the only thing that changes with the city.
"""

from __future__ import annotations

import importlib.util
from typing import Any

from twin.registry import Layer
from twin.server.auth.policy import can_read
from twin.server.auth.principal import ANONYMOUS
from twin.server.state import ServerState
from twin.styles import ramps
from twin.styles.maplibre import station_aqi_layer, style_document
from twin.styles.resolve import resolve

STEP_SECONDS = 3600
# The layer whose extent frames the city at start (the districts and wards).
FRAME_LAYER = "admin_areas"
# Hourly station AQI is drawn from Features items (one frame per hour and scale), not
# from its tiles: a tile holds every hour and scale at once.
AQI_LAYER = "station_aqi"
AQI_SOURCE = "station-aqi-frame"   # the page's GeoJSON source of the current hour
AQI_RADIUS = 11                    # room for the index written inside each circle
FLOOD_LAYER = "flood_extents"
# Hourly interpolated surfaces (twin.surfaces), first one shown at start.
SURFACE_POLLUTANTS = (("pm25", "PM2.5"), ("pm10", "PM10"), ("no2", "NO₂"))
SURFACE_OPACITY = 0.35  # a wash under roads and stations, not a curtain over the city
# Dense point layers start switched off so the city reads at a glance; the switcher
# turns them on. latest_readings repeats each station once per property.
HIDDEN_AT_START = frozenset({"traffic_signs", "cameras", "parking_sites", "traffic_signals",
                             "latest_readings"})
# Group titles by a layer's first keyword; other keywords are titled as they are.
GROUP_TITLES = {"administration": "Administrative areas", "cadastre": "Land",
                "transport": "Transport", "environment": "Environment"}


def public_layers(state: ServerState) -> list[Layer]:
    """The layers an anonymous visitor may read: the ones that have public tiles."""
    return [layer for layer in state.registry if can_read(layer, ANONYMOUS)]


def city_bbox(state: ServerState) -> list[float]:
    """CRS84 bbox to frame at start: the admin areas' extent, else the plausible extent."""
    extent = state.extents.get(FRAME_LAYER)
    if extent and extent.get("bbox"):
        return [float(v) for v in extent["bbox"]]
    return [float(v) for v in state.settings.plausible_extent]


def legend(layer: Layer) -> list[dict[str, str]]:
    """Legend entries ``{"label", "fill", "stroke"}`` of one layer, from the same resolved
    style the MapLibre layers are written from, so the two cannot disagree. A category
    also names its ``field`` and ``value``: the page labels it in its own language."""
    r = resolve(layer)
    if not r.categories:
        return [{"label": layer.title, "fill": r.fill or "", "stroke": r.stroke or ""}]
    entries = []
    for cat in r.categories:
        fill, stroke = r.symbol(cat.colour)
        entries.append({"label": cat.label, "fill": fill or "", "stroke": stroke or "",
                        "field": layer.style.by or "", "value": cat.value})
    return entries


def _layer_entry(layer: Layer) -> dict[str, Any]:
    return {"id": layer.name, "title": layer.title, "description": layer.description,
            "geometry": resolve(layer).kind, "minzoom": layer.tiles.minzoom,
            "visible": layer.name not in HIDDEN_AT_START, "legend": legend(layer)}


def layer_groups(layers: list[Layer]) -> list[dict[str, Any]]:
    """Switcher groups in first-seen order of each layer's first keyword."""
    groups: dict[str, dict[str, Any]] = {}
    for layer in layers:
        key = layer.keywords[0] if layer.keywords else "other"
        group = groups.setdefault(key, {"id": key, "title": GROUP_TITLES.get(
            key, key.capitalize()), "layers": []})
        group["layers"].append(_layer_entry(layer))
    return list(groups.values())


def _classes(classes: list[ramps.ColourClass]) -> list[dict[str, Any]]:
    """JSON-safe classes: the open upper bound of the last class becomes null."""
    return [{"lower": c.lower, "upper": None if c.upper == ramps.INF else c.upper,
             "colour": c.colour, "label": c.label} for c in classes]


def _scale(title: str, scale: str, classes: list[ramps.ColourClass]) -> dict[str, Any]:
    """One AQI scale: its classes (legend, chart bands) and the shared circle layer."""
    return {"title": title, "classes": _classes(classes),
            "layer": station_aqi_layer(AQI_SOURCE, "", scale=scale, radius=AQI_RADIUS)}


def time_layers(names: set[str], timezone: str) -> dict[str, Any]:
    """The time slider's layers that this registry has: hourly AQI frames and flood
    extents by valid time; and the pollutant surfaces. Times show in ``timezone``, the
    city's."""
    out: dict[str, Any] = {"timezone": timezone, "step_s": STEP_SECONDS}
    if AQI_LAYER in names:
        out["aqi"] = {"collection": AQI_LAYER, "source": AQI_SOURCE, "scales": {
            "vn": _scale("VN_AQI", "VN_AQI", ramps.vn_aqi_classes()),
            "us": _scale("US AQI", "US_AQI", ramps.us_aqi_classes())}}
    if FLOOD_LAYER in names:
        out["flood"] = {"collection": FLOOD_LAYER}
    out["surface"] = surface_layers()
    return out


def surface_layers() -> dict[str, Any]:
    """The interpolated pollutant surfaces the page may draw under the stations (the
    page keeps those the server lists: surfaces are made after start-up)."""
    return {"opacity": SURFACE_OPACITY, "pollutants": [
        {"id": pid, "title": title, "collection": f"{pid}_surface"}
        for pid, title in SURFACE_POLLUTANTS]}


def _present(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:  # its parent package is not there either
        return False


def services() -> dict[str, bool]:
    """Optional building blocks the page may call: EDR answers a station's pollutant
    series (its routes module exists once the EDR building block is installed)."""
    return {"edr": _present("twin.server.edr.routes")}


def viewer_config(state: ServerState, base_url: str) -> dict[str, Any]:
    """The document the page starts from; ``base_url`` prefixes every API URL in it."""
    layers = public_layers(state)
    names = {layer.name for layer in layers}
    city = state.settings.city
    return {
        "title": f"twin — {city.name}",
        "base_url": base_url.rstrip("/"),
        "bbox": city_bbox(state),
        # Station AQI is drawn hour by hour from Features items, not from its tiles.
        "style": style_document([lyr for lyr in layers if lyr.name != AQI_LAYER], base_url,
                                city=city),
        "groups": layer_groups(layers),
        "time": time_layers(names, city.timezone),
        "aqi_scale": city.aqi_scale,
        "gauges": [g.model_dump() for g in city.gauges],
        "services": services(),
    }
