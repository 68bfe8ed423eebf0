"""Parcel polygons from boundary lines: node them (``unary_union``), polygonise.

Surveyors draw each boundary once, between neighbours, and lines cross or end on each
other; ``unary_union`` splits them at every crossing so that GEOS's polygoniser finds
the faces. What does not bound a face is reported by the element it came from: a loose
end (a boundary that does not close), a line that runs into a parcel and stops (cut
edge), a ring that crosses itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import shapely
from shapely import STRtree


@dataclass
class Faces:
    polygons: list = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def _where(piece) -> str:
    (x0, y0), (x1, y1) = piece.coords[0], piece.coords[-1]
    return f"from {x0:.2f}, {y0:.2f} to {x1:.2f}, {y1:.2f}"


def _elements_of(pieces, tree: STRtree, ids: np.ndarray) -> list[int]:
    """The element each piece of the noded network came from (the nearest line to the
    piece's middle)."""
    if not pieces:
        return []
    middles = shapely.line_interpolate_point(np.asarray(pieces, dtype=object), 0.5,
                                             normalized=True)
    nearest = tree.query_nearest(middles, return_distance=False, all_matches=False)
    order = np.argsort(nearest[0])
    return [int(ids[nearest[1][i]]) for i in order]


def polygonise(lines: np.ndarray, ids: np.ndarray) -> Faces:
    """Faces of the boundary network, and what in it bounds none."""
    noded = shapely.unary_union(lines)
    parts = shapely.get_parts(noded)
    polygons, cuts, dangles, invalid = shapely.polygonize_full(parts)
    out = Faces(polygons=list(shapely.get_parts(polygons)))
    tree = STRtree(lines)
    for kind, found in (("does not close a parcel (loose end)", dangles),
                        ("runs into a parcel without dividing it", cuts),
                        ("is a ring that crosses itself", invalid)):
        pieces = [p for p in shapely.get_parts(found) if not p.is_empty]
        for element, piece in zip(_elements_of(pieces, tree, ids), pieces, strict=True):
            out.problems.append(f"element {element}: boundary line {kind}, {_where(piece)}")
    return out
