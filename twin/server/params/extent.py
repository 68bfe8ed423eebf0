"""Impossible bboxes are 400s, before any SQL or warp sees them.

A geographic CRS (CRS84, EPSG:4326, a datum's own) bounds longitudes to ±180 and
latitudes to ±90, in the CRS's axis order; when the box would fit with its axes swapped,
the message says so. A projected CRS bounds a box by its area of use (pyproj's
``area_of_use``, projected into the CRS) widened on every side by that area's size: a
generous margin for real boxes, but ``-1e30,...,1e30`` (which PostGIS cannot transform)
is refused.
"""

from __future__ import annotations

from functools import lru_cache

from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError, ProjError

from twin.server.errors import InvalidParameter

Box = tuple[float, float, float, float]
CRS84_NAMES = ("OGC:CRS84", "CRS84", "http://www.opengis.net/def/crs/OGC/1.3/CRS84")


@lru_cache(maxsize=64)
def _describe(crs: str) -> tuple[str, bool, bool, Box | None]:
    """(name, geographic, first axis is north, allowed x/y box of a projected CRS)."""
    parsed = CRS.from_user_input("OGC:CRS84" if crs in CRS84_NAMES else crs)
    name = "CRS84" if crs in CRS84_NAMES else (parsed.to_string() or crs)
    north_first = bool(parsed.axis_info) and \
        parsed.axis_info[0].direction.lower() in ("north", "south")
    if parsed.is_geographic:
        return name, True, north_first, None
    area = parsed.area_of_use
    if area is None:
        return name, False, north_first, None
    x0, y0, x1, y1 = Transformer.from_crs("OGC:CRS84", parsed, always_xy=True) \
        .transform_bounds(area.west, area.south, area.east, area.north, densify_pts=21)
    w, h = x1 - x0, y1 - y0
    return name, False, north_first, (x0 - w, y0 - h, x1 + w, y1 + h)


def check_bbox(bbox: Box, crs: str | int = "OGC:CRS84", param: str = "bbox",
               xy: bool = False) -> Box:
    """``bbox`` (in ``crs``'s axis order, or x/y = lon/lat first with ``xy`` as rasterio
    reads it; ``crs``: EPSG:n, an EPSG code or CRS84) if it can be a box in that CRS;
    else a 400 that says why."""
    text = f"EPSG:{crs}" if isinstance(crs, int) else crs
    try:
        name, geographic, north_first, allowed = _describe(text)
    except (CRSError, ProjError):
        return bbox  # the CRS parser answers for CRSs it does not know
    north_first = north_first and not xy
    a0, b0, a1, b1 = bbox
    shown = ",".join(f"{v:g}" for v in bbox)
    if geographic:
        lat = (a0, a1) if north_first else (b0, b1)
        lon = (b0, b1) if north_first else (a0, a1)
        if all(-90 <= v <= 90 for v in lat) and all(-180 <= v <= 180 for v in lon):
            return bbox
        order = "minlat,minlon,maxlat,maxlon" if north_first else \
            "minlon,minlat,maxlon,maxlat"
        hint = ""
        if all(-90 <= v <= 90 for v in lon) and all(-180 <= v <= 180 for v in lat):
            hint = "; the axes look swapped"
        raise InvalidParameter(
            f"{param}: {shown} is not a box in {name}: latitudes must be within ±90 and "
            f"longitudes within ±180, in the order {order}{hint}")
    if allowed is None:
        return bbox
    x0, y0, x1, y1 = (b0, a0, b1, a1) if north_first else (a0, b0, a1, b1)
    if allowed[0] <= x0 and allowed[1] <= y0 and x1 <= allowed[2] and y1 <= allowed[3]:
        return bbox
    box = ",".join(f"{v:.0f}" for v in allowed)
    raise InvalidParameter(
        f"{param}: {shown} lies outside {name}'s area of use (within {box} in x,y); is "
        f"the bbox-crs right, or were longitude/latitude meant (CRS84, the default)?")
