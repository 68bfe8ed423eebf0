"""Features per layer from the kept nodes and ways; the checks every feature passes.

Ids come from the OSM object: ``osm-n123`` (node), ``osm-w45`` (way), ``osm-w45-2`` (the
second segment of a split way), ``osm-r6`` (relation). An object's *key* (``osm-w45``) names
all the features it made: what a change file touches, and what a refusal protects.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import shapely

from twin.ingest import geometry as geo
from twin.ingest.readers import parse_crs
from twin.osm.extent import Extent, inside, outside_reasons
from twin.osm.read import Extract
from twin.osm.report import ImportReport
from twin.osm.tags import Mapper
from twin.osm.topology import shared_nodes, split
from twin.registry import Layer

OSM_ID = re.compile(r"^osm-([nwr])([0-9]+)(?:-[0-9]+)?$")
OSM_ID_SQL = "^osm-[nwr][0-9]+(-[0-9]+)?$"   # the same, for PostgreSQL's ~


def key_of(feature_id: str) -> str:
    """``osm-w45-2`` -> ``osm-w45``."""
    m = OSM_ID.match(feature_id)
    return f"osm-{m[1]}{m[2]}" if m else feature_id


def osm_name(feature_id: str) -> str:
    """``osm-w45-2`` -> ``w45``: the OSM object, as issues name it."""
    return key_of(feature_id)[4:]


@dataclass
class Built:
    """A layer's features: ids, values in field order, CRS84 geometries."""
    layer: Layer
    ids: list[str] = field(default_factory=list)
    values: list[list] = field(default_factory=list)
    geoms: list = field(default_factory=list)
    refused: set[str] = field(default_factory=set)     # keys of refused objects
    scope: set[str] | None = None    # change files: the keys whose features may change
    wkb: list[bytes] = field(default_factory=list)
    pieces: Iterator[Built] | None = None   # made while written (the split layer)

    def add(self, fid: str, values: list, geom) -> None:
        self.ids.append(fid)
        self.values.append(values)
        self.geoms.append(geom)

    def refuse(self, report: ImportReport, fid: str, reason: str) -> None:
        self.refused.add(key_of(fid))
        report.add("refused", self.layer.name, osm_name(fid), reason)


def feature_values(built: Built, mapper: Mapper, report: ImportReport, fid: str, get,
            pseudo: dict) -> list | None:
    values, repairs, refusal = mapper.values(get, pseudo)
    if refusal:
        built.refuse(report, fid, refusal)
        return None
    for text in repairs:
        report.add("repaired", built.layer.name, osm_name(fid), text)
    return values


def node_features(built: Built, mapper: Mapper, extract: Extract, report: ImportReport,
                  only: set[int] | None = None) -> None:
    name = built.layer.name
    for nid, (lon, lat, tags) in extract.nodes.items():
        if name not in extract.node_layers.get(nid, ()) or (only is not None
                                                              and nid not in only):
            continue
        fid = f"osm-n{nid}"
        values = feature_values(built, mapper, report, fid, tags.get, {"@id": fid})
        if values is not None:
            built.add(fid, values, shapely.Point(lon, lat))


def way_geometry(coords: np.ndarray, closed: bool, target: str):
    """A way as the layer's geometry: a closed way is an area; a point layer takes a point
    inside the area (or on the line)."""
    area = closed and len(coords) >= 4
    geom = shapely.Polygon(coords) if area else shapely.LineString(coords)
    if target == "Point":
        return shapely.point_on_surface(shapely.make_valid(geom))
    return geom


def missing_location(extract: Extract, i: int) -> str | None:
    coords = extract.ways.coords(i)
    bad = np.flatnonzero(np.isnan(coords[:, 0]))
    if len(bad):
        node = int(extract.ways.nodes(i)[bad[0]])
        more = f", nor {len(bad) - 1} more of its nodes" if len(bad) > 1 else ""
        return f"node n{node} has no location (not in the file{more}); the way cannot be drawn"
    if len(coords) < 2:
        return "a way needs two nodes"
    return None


def way_features(built: Built, mapper: Mapper, extract: Extract, report: ImportReport,
                 only: set[int] | None = None) -> None:
    ways, name = extract.ways, built.layer.name
    for i in range(len(ways)):
        if name not in ways.layers[i] or (only is not None and int(ways.ids[i]) not in only):
            continue
        fid = f"osm-w{int(ways.ids[i])}"
        problem = missing_location(extract, i)
        if problem:
            built.refuse(report, fid, problem)
            continue
        values = feature_values(built, mapper, report, fid, ways.tags[i].get, {"@id": fid})
        if values is None:
            continue
        nodes = ways.nodes(i)
        built.add(fid, values, way_geometry(ways.coords(i), bool(nodes[0] == nodes[-1]),
                                            built.layer.geometry))


PIECE = 25_000   # road ways split, checked and written at a time (bounded memory)


def _road_ways(built: Built, extract: Extract, report: ImportReport,
               only: set[int] | None) -> np.ndarray:
    """Indices of the split layer's ways that can be drawn (the others refused)."""
    ways, name = extract.ways, built.layer.name
    missing = ways.missing()
    chosen = []
    for i in range(len(ways)):
        if name not in ways.layers[i] or (only is not None and int(ways.ids[i]) not in only):
            continue
        if missing[i]:
            built.refuse(report, f"osm-w{int(ways.ids[i])}", missing_location(extract, i))
            continue
        chosen.append(i)
    return np.asarray(chosen, dtype=np.int64)


def _piece(built: Built, mapper: Mapper, extract: Extract, report: ImportReport,
           chosen: np.ndarray, shared: np.ndarray) -> Built:
    """One piece of the split layer: the ways' values, then one feature per segment."""
    ways = extract.ways
    piece = Built(built.layer, refused=built.refused)
    keep, flips, per_way = [], [], {}
    for i in chosen.tolist():
        fid = f"osm-w{int(ways.ids[i])}"
        get = ways.tags[i].get
        values = feature_values(piece, mapper, report, fid, get, {"@id": fid})
        if values is not None:
            keep.append(i)
            flips.append(mapper.reversed(get))
            per_way[i] = values
    if not keep:
        return piece
    segments = split(ways, np.asarray(keep), np.asarray(flips), shared)
    at_source, at_target = _position(mapper, "@source"), _position(mapper, "@target")
    owners = segments.way.tolist()
    piece.ids = [f"osm-w{w}-{n}" for w, n in zip(ways.ids[segments.way].tolist(),
                                                 segments.number.tolist(), strict=True)]
    if at_source is None and at_target is None:
        piece.values = [per_way[i] for i in owners]
    else:
        for i, source, target in zip(owners, segments.source.tolist(),
                                     segments.target.tolist(), strict=True):
            values = per_way[i].copy()
            if at_source is not None:
                values[at_source] = source
            if at_target is not None:
                values[at_target] = target
            piece.values.append(values)
    piece.geoms = list(segments.geoms)
    return piece


def segment_features(built: Built, mapper: Mapper, extract: Extract, report: ImportReport,
                     only: set[int] | None = None, check=None) -> None:
    """The split layer, as pieces made when written (``built.pieces``): ways are split at
    the intersections of the whole network, ``check`` (:func:`finish`) runs per piece."""
    chosen = _road_ways(built, extract, report, only)
    shared = extract.shared
    if shared is None:
        shared = shared_nodes(extract.ways, chosen)

    def pieces():
        for start in range(0, len(chosen), PIECE):
            piece = _piece(built, mapper, extract, report, chosen[start:start + PIECE], shared)
            if check is not None:
                check(piece)
            yield piece
    built.pieces = pieces()


def _position(mapper: Mapper, pseudo: str) -> int | None:
    for name, rule in mapper.osm.fields.items():
        if pseudo in rule.tags:
            return mapper.position[name]
    return None


def finish(built: Built, report: ImportReport, extent: Extent, clip: bool,
           strict: bool) -> None:
    """Extent (skip outside with ``clip``, else refuse), validity (repair, or refuse with
    ``strict``), the layer's geometry type, EWKB; drops what does not pass."""
    layer, name = built.layer, built.layer.name
    geoms = np.asarray(built.geoms, dtype=object)
    keep = inside(geoms, extent)
    out = np.flatnonzero(~keep)
    if len(out) and clip:
        for i in out:
            report.add("skipped", name, osm_name(built.ids[i]),
                       "not wholly inside the city's extent (--clip)")
    elif len(out):
        reasons = outside_reasons(geoms[out], [built.ids[i] for i in out], extent)
        for i, reason in zip(out, reasons, strict=True):
            built.refuse(report, built.ids[i], f"outside the city's plausible extent "
                         f"{tuple(extent)}: {reason}; --clip keeps only what lies inside")
    rows = np.flatnonzero(keep)
    labels = [built.ids[i] for i in rows]
    fixed = geo.repair(geoms[rows], layer.geometry, labels, strict=False)
    by_label = {lab: i for i, lab in enumerate(labels)}
    for text in fixed.rejected:
        label, _, reason = text.partition(": ")
        fixed.keep[by_label[label]] = False
        built.refuse(report, label, reason)
    for text in fixed.repaired:
        label, _, reason = text.partition(": ")
        if strict:
            fixed.keep[by_label[label]] = False
            built.refuse(report, label, f"invalid geometry ({reason}; --strict)")
        else:
            report.add("repaired", name, osm_name(label), f"invalid geometry made valid "
                       f"({reason})")
    final = rows[fixed.keep]
    built.ids = [built.ids[i] for i in final]
    built.values = [built.values[i] for i in final]
    kept = fixed.geometries[fixed.keep]
    built.geoms = list(kept)
    if layer.srid != 4326:
        kept = geo.to_crs(kept, geo.CRS84, parse_crs(layer.storage_crs))
    built.wkb = list(shapely.to_wkb(shapely.set_srid(kept, layer.srid), include_srid=True,
                                    hex=False)) if len(kept) else []
