"""Where surfaces are made: the city grid in EPSG:3405, optionally cut to a bbox.

The grid covers the city boundary (the union of the districts) at the requested cell
size, snapped to multiples of it (``Grid.from_bounds``), so every surface of a given
resolution shares one grid and hours can be compared cell by cell. A bbox, given in
longitude/latitude as everywhere in the API, narrows the grid to the cells it covers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pyproj import Transformer
from shapely.geometry import box
from shapely.geometry.base import BaseGeometry

from twin.analysis.interpolate import Grid
from twin.errors import TwinInputError

from .source import EPSG


@dataclass(frozen=True)
class Region:
    grid: Grid
    boundary: BaseGeometry     # EPSG:3405; cells whose centre is outside are NaN


def parse_bbox(text: str | Sequence[float]) -> tuple[float, float, float, float]:
    """``minlon,minlat,maxlon,maxlat`` (a string or four numbers) in CRS84."""
    parts = text.split(",") if isinstance(text, str) else list(text)
    try:
        values = tuple(float(p) for p in parts)
    except (TypeError, ValueError):
        raise TwinInputError("bbox must be four numbers: minlon,minlat,maxlon,maxlat") from None
    if len(values) != 4:
        raise TwinInputError("bbox must be four numbers: minlon,minlat,maxlon,maxlat")
    x0, y0, x1, y1 = values
    if not (-180 <= x0 < x1 <= 180 and -90 <= y0 < y1 <= 90):
        raise TwinInputError("bbox must be minlon,minlat,maxlon,maxlat with min < max, in "
                             "degrees")
    return values


def city_region(boundary: BaseGeometry, resolution: float,
                bbox: Sequence[float] | None = None) -> Region:
    """The grid over ``boundary`` (EPSG:3405) at ``resolution`` metres, cut to ``bbox``
    (CRS84) when given; a bbox that misses the city is refused."""
    area = boundary
    if bbox is not None:
        to_metres = Transformer.from_crs(4326, EPSG, always_xy=True)
        area = boundary.intersection(box(*to_metres.transform_bounds(*bbox, densify_pts=21)))
        if area.is_empty or area.area <= 0:  # a bbox touching the city on a line too
            raise TwinInputError("the bbox does not overlap the city")
    return Region(Grid.from_bounds(area.bounds, resolution, EPSG), area)
