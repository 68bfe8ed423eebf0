"""Depth grid -> depth-class polygons.

Cells shallower than ``min_depth_m`` are dry. The others are classed 0-0.2,
0.2-0.5, 0.5-1 and >1 m, each class is split into 4-connected regions (the
connectivity ``rasterio.features.shapes`` traces, so every region is one valid
polygon with its holes), and each region becomes a feature with its exact cell
area and deepest cell. Geometries are simplified together as a coverage
(``shapely.coverage_simplify``, tolerance about one cell), so neighbouring classes
keep sharing their edges: no slivers or gaps between them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from rasterio.features import shapes
from rasterio.transform import Affine
from scipy import ndimage

CLASSES: tuple[tuple[str, float, float], ...] = (
    ("0-0.2", 0.0, 0.2), ("0.2-0.5", 0.2, 0.5), ("0.5-1", 0.5, 1.0), (">1", 1.0, np.inf))
MIN_DEPTH_M = 0.05


@dataclass(frozen=True)
class Extent:
    """One connected region of one depth class, in the grid's CRS."""

    depth_class: str
    geometry: shapely.Polygon
    area_m2: float          # cells x cell area, before simplification
    depth_max_m: float
    cells: int


def classify(depth: np.ndarray, min_depth_m: float = MIN_DEPTH_M) -> np.ndarray:
    """uint8 class per cell: 0 dry (or NaN), 1..4 the ``CLASSES`` in order."""
    edges = np.array([c[2] for c in CLASSES[:-1]], dtype=np.float32)
    with np.errstate(invalid="ignore"):
        cls = (np.searchsorted(edges, depth, side="left") + 1).astype(np.uint8)
        cls[~(depth >= min_depth_m)] = 0
    return cls


def regions(classes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(region id per cell, 0 where dry; class of each region id) with 4-connected
    regions of equal class."""
    ids = np.zeros(classes.shape, dtype=np.int32)
    region_class = [0]
    offset = 0
    for k in range(1, len(CLASSES) + 1):
        lab, n = ndimage.label(classes == k)
        ids[lab > 0] = lab[lab > 0] + offset
        region_class += [k] * n
        offset += n
    return ids, np.asarray(region_class, dtype=np.uint8)


def vectorise(depth: np.ndarray, transform: Affine, min_depth_m: float = MIN_DEPTH_M,
              tolerance_cells: float = 1.0) -> list[Extent]:
    """Depth-class polygons of a depth grid (rows north to south, ``transform`` of its
    grid), simplified by ``tolerance_cells`` cells (0: the exact cell outlines)."""
    ids, region_class = regions(classify(depth, min_depth_m))
    n = len(region_class) - 1
    if n == 0:
        return []
    cells = np.bincount(ids.ravel(), minlength=n + 1)
    wet = ids > 0
    deepest = np.zeros(n + 1)
    np.maximum.at(deepest, ids[wet], depth[wet])
    polys, keys = [], []
    for geom, value in shapes(ids, mask=ids > 0, connectivity=4, transform=transform):
        polys.append(shapely.geometry.shape(geom))
        keys.append(int(value))
    polys = np.asarray(polys, dtype=object)
    if tolerance_cells > 0:
        size = max(abs(transform.a), abs(transform.e))
        polys = shapely.make_valid(shapely.coverage_simplify(polys, tolerance_cells * size))
    cell_area = abs(transform.a * transform.e - transform.b * transform.d)
    return [Extent(CLASSES[region_class[k] - 1][0], geom, float(cells[k] * cell_area),
                   float(deepest[k]), int(cells[k])) for geom, k in zip(polys, keys, strict=False)]


def area_by_class(extents: list[Extent]) -> dict[str, float]:
    """Exact flooded area (m²) per depth class."""
    out = {name: 0.0 for name, _, _ in CLASSES}
    for e in extents:
        out[e.depth_class] += e.area_m2
    return out
