"""Bus routes from PTv2 ``route=bus`` relations, and their ordered stops.

The routes of one ``route_master`` are one feature (``osm-r<master>``): the master's first
route is direction 0, its second direction 1 (bus_route_stops keeps two directions; a third
variant is reported and left out of the stop lists). A route without a master is a feature
of its own with direction 0. The line is every member way of the routes (platforms and
stops aside); the stops are the route's platforms in order, else its stop positions, those
that are bus stops of the twin.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import shapely

from twin.osm.features import Built, feature_values, missing_location
from twin.osm.read import Extract, Relation
from twin.osm.report import ImportReport
from twin.osm.tags import Mapper

PLATFORMS = ("platform", "platform_entry_only", "platform_exit_only")
STOPS = ("stop", "stop_entry_only", "stop_exit_only")


@dataclass
class Links:
    """(route feature id, direction, sequence, stop feature id) rows for bus_route_stops."""
    rows: list[tuple[str, int, int, str]] = field(default_factory=list)


@dataclass
class Group:
    key: int                        # the feature's relation: the master, or the route
    master: Relation | None
    routes: list[int]               # route relation ids, in the master's order


def groups(extract: Extract, mapper: Mapper, only: set[int] | None = None) -> list[Group]:
    """The features to build: masters over their routes, and routes without a master.
    ``only``: relation ids touched (a change file); a group is built when any of its
    relations is."""
    routes = {rid for rid, rel in extract.relations.items() if mapper.wants(rel.tags.get)}
    found, grouped = [], set()
    for mid in sorted(extract.relations):
        master = extract.relations[mid]
        if not mapper.master(master.tags.get):
            continue
        members = [ref for kind, ref, _ in master.members
                   if kind == "r" and ref in routes and ref not in grouped]
        if members:
            found.append(Group(mid, master, members))
            grouped.update(members)
    found += [Group(rid, None, [rid]) for rid in sorted(routes - grouped)]
    if only is not None:
        found = [g for g in found if only & {g.key, *g.routes}]
    return found


def _line(extract: Extract, index: dict[int, int], routes: list[Relation],
          report: ImportReport, name: str, osm: str):
    parts, seen = [], set()
    for rel in routes:
        for kind, ref, role in rel.members:
            if kind != "w" or role in PLATFORMS or role in STOPS or ref in seen:
                continue
            seen.add(ref)
            i = index.get(ref)
            problem = "not in the file" if i is None else missing_location(extract, i)
            if problem:
                report.add("repaired", name, osm, f"member way w{ref} left out of the "
                           f"route's line: {problem}")
                continue
            parts.append(shapely.LineString(extract.ways.coords(i)))
    return shapely.multilinestrings(parts) if parts else None


def _stops(rel: Relation) -> list[str]:
    for roles in (PLATFORMS, STOPS):
        found = [f"osm-{kind}{ref}" for kind, ref, role in rel.members
                 if role in roles and kind in "nw"]
        if found:
            return found
    return []


def route_features(built: Built, mapper: Mapper, extract: Extract, report: ImportReport,
                   links: Links, only: set[int] | None = None) -> None:
    index = extract.ways.index()
    name = built.layer.name
    for group in groups(extract, mapper, only):
        fid = f"osm-r{group.key}"
        routes = [extract.relations[r] for r in group.routes]
        first = routes[0]
        tags = {**first.tags, **(group.master.tags if group.master else {})}
        line = _line(extract, index, routes, report, name, fid[4:])
        if line is None:
            built.refuse(report, fid, "no member way with a location: the route has no line")
            continue
        values = feature_values(built, mapper, report, fid, tags.get, {"@id": fid})
        if values is None:
            continue
        built.add(fid, values, line)
        for direction, rid in enumerate(group.routes):
            if direction > 1:
                report.add("repaired", name, fid[4:], f"route r{rid} (a third variant) "
                           "left out of the stop lists: two directions are kept")
                continue
            for seq, stop in enumerate(_stops(extract.relations[rid]), start=1):
                links.rows.append((fid, direction, seq, stop))


def scope_of(extract: Extract, mapper: Mapper, only: set[int]) -> set[str]:
    """The feature keys a change to the relations ``only`` touches."""
    keys = {f"osm-r{r}" for r in only}
    keys |= {f"osm-r{g.key}" for g in groups(extract, mapper, only)}
    return keys
