"""Administrative areas from ``boundary=administrative`` relations, assembled into
multipolygons from their member ways (shapely ``polygonize``: outer rings minus inner
rings).

A ring that does not close (a member way missing, or ways that do not meet) refuses the
relation, named with its id and where the ring is open; it is never dropped silently.
``@parent`` is the relation that lists this one as its ``subarea``.
"""

from __future__ import annotations

from collections import Counter

import shapely

from twin.osm.features import Built, feature_values, missing_location
from twin.osm.read import Extract, Relation
from twin.osm.report import ImportReport
from twin.osm.tags import Mapper


def _open_ends(lines: list) -> list[tuple[float, float]]:
    """Line ends that no other line end meets: where a ring is open."""
    ends = Counter()
    for line in lines:
        coords = shapely.get_coordinates(line)
        ends[tuple(coords[0])] += 1
        ends[tuple(coords[-1])] += 1
    return [xy for xy, n in ends.items() if n % 2]


def _rings(lines: list, role: str, ways: list[int]):
    """The polygons the lines close, or a problem saying where they do not."""
    if not lines:
        return None, None
    gaps = _open_ends(lines)
    if gaps:
        x, y = gaps[0]
        more = f" and {len(gaps) - 1} other end(s)" if len(gaps) > 1 else ""
        return None, (f"{role} ring not closed: open at lon {x:.6f}, lat {y:.6f}{more} "
                      f"(member ways {', '.join(f'w{w}' for w in ways[:5])}"
                      f"{', ...' if len(ways) > 5 else ''})")
    polygons = shapely.get_parts(shapely.polygonize(lines))
    if not len(polygons):
        return None, f"{role} ways enclose no area"
    return shapely.union_all(polygons), None


def assemble(rel: Relation, extract: Extract, index: dict[int, int]):
    """(multipolygon, None) or (None, why not)."""
    lines = {"outer": [], "inner": []}
    ways = {"outer": [], "inner": []}
    for kind, ref, role in rel.members:
        if kind != "w":
            continue
        i = index.get(ref)
        problem = "not in the file" if i is None else missing_location(extract, i)
        if problem:
            return None, f"member way w{ref} {problem}: the boundary cannot be closed"
        side = "inner" if role == "inner" else "outer"
        lines[side].append(shapely.LineString(extract.ways.coords(i)))
        ways[side].append(ref)
    outer, problem = _rings(lines["outer"], "outer", ways["outer"])
    if problem or outer is None:
        return None, problem or "no outer ring (no member ways)"
    inner, problem = _rings(lines["inner"], "inner", ways["inner"])
    if problem:
        return None, problem
    area = outer if inner is None else shapely.difference(outer, inner)
    return area, None


def parents(extract: Extract, mapper: Mapper) -> dict[int, str]:
    """relation id -> the feature id of the area that lists it as its subarea."""
    found = {}
    for rid, rel in sorted(extract.relations.items()):
        if mapper.wants(rel.tags.get):
            for kind, ref, role in rel.members:
                if kind == "r" and role == "subarea":
                    found.setdefault(ref, f"osm-r{rid}")
    return found


def area_features(built: Built, mapper: Mapper, extract: Extract, report: ImportReport,
                  only: set[int] | None = None) -> None:
    index = extract.ways.index()
    above = parents(extract, mapper)
    for rid, rel in sorted(extract.relations.items()):
        if not mapper.wants(rel.tags.get) or (only is not None and rid not in only):
            continue
        fid = f"osm-r{rid}"
        area, problem = assemble(rel, extract, index)
        if problem:
            built.refuse(report, fid, problem)
            continue
        values = feature_values(built, mapper, report, fid, rel.tags.get,
                                {"@id": fid, "@parent": above.get(rid)})
        if values is not None:
            built.add(fid, values, area)
