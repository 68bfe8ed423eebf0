"""Legend entries for the viewer, the reports and the QGIS project alike.

``legend(target)`` takes a layer or the name of a ramp target that is not a layer
(``vn_aqi``, ``us_aqi``, ``flood_depth``, ``pm25``) and returns ``{label, colour, kind}``
items, ``kind`` being ``point``, ``line``, ``polygon`` or ``raster``.
"""

from __future__ import annotations

from twin.registry import Layer
from twin.styles import ramps
from twin.styles.resolve import resolve

RAMP_TARGETS = {
    "vn_aqi": ("point", ramps.vn_aqi_classes),
    "us_aqi": ("point", ramps.us_aqi_classes),
    "flood_depth": ("raster", ramps.flood_depth_classes),
    "pm25": ("raster", ramps.pm25_classes),
}


def legend(target: Layer | str) -> list[dict[str, str]]:
    """The legend of a layer (one item per category, or one for a single symbol) or of
    a ramp target; raises KeyError for an unknown target name."""
    if isinstance(target, str):
        kind, classes = RAMP_TARGETS[target]
        return [{"label": c.label, "colour": c.colour, "kind": kind} for c in classes()]
    r = resolve(target)
    if r.categories:
        return [{"label": c.label, "colour": c.colour, "kind": r.kind} for c in r.categories]
    fill, stroke = r.symbol()
    return [{"label": r.title, "colour": fill or stroke, "kind": r.kind}]
