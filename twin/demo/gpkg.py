"""Write layers into one GeoPackage with pyogrio."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import shapely
from pyogrio import raw


def as_multi(geoms: np.ndarray) -> np.ndarray:
    """Polygons and MultiPolygons -> MultiPolygons (one per input)."""
    parts, index = shapely.get_parts(np.asarray(geoms, dtype=object), return_index=True)
    return shapely.multipolygons(parts, indices=index)


def write_layer(path: Path, layer: str, geoms: np.ndarray, ids: np.ndarray,
                attrs: dict[str, np.ndarray], geometry_type: str, crs: str) -> int:
    """Add one layer (with an ``id`` text column first) to the GeoPackage at ``path``."""
    fields = ["id", *attrs]
    data = [np.asarray(ids, dtype=object), *attrs.values()]
    raw.write(path, shapely.to_wkb(np.asarray(geoms, dtype=object)), data, fields, layer=layer,
              driver="GPKG", geometry_type=geometry_type, crs=crs, encoding="UTF-8")
    return len(ids)
