"""The city's extent for ``--clip``, and the plausible-extent check every feature passes.

One place: the city's extent is the city profile's plausible extent
(``Settings.plausible_extent``, from ``config/city.yaml`` or ``TWIN_CITY_PROFILE``: the
city with a margin, CRS84), the same box ``twin load`` checks every feature against.
"""

from __future__ import annotations

import numpy as np
import shapely

from twin.config import Settings
from twin.ingest import geometry as geo
from twin.ingest.errors import LoadError

Extent = tuple[float, float, float, float]


def city_extent(settings: Settings) -> Extent:
    """(west, south, east, north) in CRS84 of the city an import keeps with ``--clip``."""
    return settings.plausible_extent  # a tuple that names its city (twin.city.Extent)


def inside(geoms: np.ndarray, extent: Extent) -> np.ndarray:
    """Which geometries (CRS84) lie wholly inside ``extent``."""
    if not len(geoms):
        return np.zeros(0, dtype=bool)
    x0, y0, x1, y1 = extent
    b = shapely.bounds(geoms)
    return (b[:, 0] >= x0) & (b[:, 2] <= x1) & (b[:, 1] >= y0) & (b[:, 3] <= y1)


def outside_reasons(geoms: np.ndarray, labels: list[str], extent: Extent) -> list[str]:
    """Why each of these geometries is refused: the loaders' own extent message (with its
    hint when latitude and longitude look swapped), one per geometry."""
    try:
        geo.check_extent(geoms, extent, labels)
    except LoadError as exc:
        return [p.split(": ", 1)[1] if ": " in p else p for p in exc.problems]
    return ["outside the plausible extent"] * len(labels)
