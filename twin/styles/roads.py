"""Road classes (OpenStreetMap's ``highway=*`` values, as ``road_segments.road_class`` keeps
them): their rank, the group maps and reports put them in, colour and relative width.

One table, so the styles (QML, SLD, MapLibre), the map reports and the flood exposure
tables agree. A class not listed (a value a later layer file adds) is drawn and reported
as a minor road.
"""

from __future__ import annotations

from typing import NamedTuple


class RoadClass(NamedTuple):
    group: str        # what reports and legends sum it under
    colour: str
    width: float      # relative to the layer's line width


CLASSES: dict[str, RoadClass] = {
    "motorway": RoadClass("motorway", "#e8467c", 2.0),
    "trunk": RoadClass("trunk", "#f07f3c", 1.8),
    "primary": RoadClass("primary", "#f4a73b", 1.5),
    "secondary": RoadClass("secondary", "#e6c84f", 1.25),
    "tertiary": RoadClass("tertiary", "#9b9b9b", 1.0),
    "unclassified": RoadClass("minor", "#b0b0b0", 0.85),
    "residential": RoadClass("minor", "#bdbdbd", 0.8),
    "service": RoadClass("service", "#d9d9d9", 0.6),
    "motorway_link": RoadClass("motorway", "#e8467c", 1.2),
    "trunk_link": RoadClass("trunk", "#f07f3c", 1.1),
    "primary_link": RoadClass("primary", "#f4a73b", 1.0),
    "secondary_link": RoadClass("secondary", "#e6c84f", 0.9),
    "tertiary_link": RoadClass("tertiary", "#9b9b9b", 0.8),
    "living_street": RoadClass("minor", "#c7c7c7", 0.7),
    "pedestrian": RoadClass("path", "#dddde8", 0.6),
    "track": RoadClass("service", "#a87e3c", 0.5),
    "busway": RoadClass("minor", "#4a78b8", 0.7),
    "bus_guideway": RoadClass("minor", "#4a78b8", 0.7),
    "road": RoadClass("minor", "#c4c4c4", 0.7),
    "escape": RoadClass("service", "#c4c4c4", 0.5),
    "footway": RoadClass("path", "#fa8072", 0.35),
    "path": RoadClass("path", "#fa8072", 0.35),
    "cycleway": RoadClass("path", "#2e7bd6", 0.35),
    "bridleway": RoadClass("path", "#3f9c3f", 0.35),
    "steps": RoadClass("path", "#fa8072", 0.35),
    "corridor": RoadClass("path", "#e0a0a0", 0.3),
}
MINOR = RoadClass("minor", "#c4c4c4", 0.7)
GROUPS = ("motorway", "trunk", "primary", "secondary", "tertiary", "minor", "service", "path")
COLOURS = {name: c.colour for name, c in CLASSES.items()}
WIDTHS = {name: c.width for name, c in CLASSES.items()}


def group(road_class: str | None) -> str:
    """The group a class is summed under (``primary_link`` -> ``primary``)."""
    return CLASSES.get(road_class or "", MINOR).group


def rank(road_class: str | None) -> int:
    """Major roads first: the order of the classes' groups, then of the table."""
    order = list(CLASSES)
    found = order.index(road_class) if road_class in CLASSES else len(order)
    return GROUPS.index(group(road_class)) * 100 + found


def report_class(road_class: str | None) -> str:
    """The row a class is reported in: a link with its road (``primary_link`` ->
    ``primary``), footways, paths, steps and the like together as ``paths``, a class twin
    does not know as ``other``; every other class as itself."""
    name = road_class or ""
    if name.endswith("_link") and name[:-5] in CLASSES:
        return name[:-5]
    if name not in CLASSES:
        return "other"
    return "paths" if CLASSES[name].group == "path" else name


def report_rank(name: str) -> int:
    """Order of report rows: major roads first, ``paths`` then ``other`` last."""
    return {"paths": 10_000, "other": 10_001}.get(name, rank(name))


def by_report_class(values: dict[str, float]) -> dict[str, float]:
    """Per-class sums regrouped into report rows, in report order."""
    out: dict[str, float] = {}
    for name, value in values.items():
        row = report_class(name)
        out[row] = out.get(row, 0.0) + value
    return dict(sorted(out.items(), key=lambda kv: report_rank(kv[0])))
