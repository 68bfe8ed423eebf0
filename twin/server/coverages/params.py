"""Query parameters of the coverage, map and position routes, validated (or a 400).

- ``bbox`` (+ ``bbox-crs``, default CRS84) and ``subset`` (OGC API – Coverages:
  ``subset=E(a:b),N(c:d)`` in the storage CRS or ``subset-crs``; ``Lon``/``Lat`` axes
  imply CRS84; ``subset=time("…")`` is the same as ``datetime``).
- ``datetime``: one instant selects the step nearest to it (exact when a step has that
  time); a coverage or map is one step, a position query takes an interval.
- ``scale-size=x(W),y(H)`` (axis names E/N/x/y/Lon/Lat), ``width``/``height``,
  ``scale-factor``: the output grid size.

What every API reads alike (``bbox``'s numbers, ``datetime``, CRSs, ``f``, unknown
names) is the request-parameter library's (:mod:`twin.server.params`).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime

from rasterio.enums import Resampling
from starlette.datastructures import QueryParams

from twin.server.errors import InvalidParameter
from twin.server.params.crs import RASTER_CRS84 as CRS84
from twin.server.params.crs import raster_crs
from twin.server.params.extent import check_bbox
from twin.server.params.values import TimeFilter, parse_bbox, parse_datetime

X_AXES = {"x", "e", "easting", "lon", "long", "longitude"}
Y_AXES = {"y", "n", "northing", "lat", "latitude"}
GEOGRAPHIC_AXES = {"lon", "long", "longitude", "lat", "latitude"}
_SUBSET = re.compile(r'\s*([A-Za-z_]+)\s*\(([^()]*)\)\s*(?:,|$)')
_POINT = re.compile(r"^\s*POINT\s*\(\s*([-+0-9.eE]+)\s+([-+0-9.eE]+)\s*\)\s*$", re.IGNORECASE)
RESAMPLING = {"nearest": Resampling.nearest, "bilinear": Resampling.bilinear,
              "cubic": Resampling.cubic, "average": Resampling.average,
              "mode": Resampling.mode}


@dataclass
class Area:
    """A requested area: ``bounds`` in ``crs`` (None = the whole coverage)."""
    bounds: tuple[float, float, float, float] | None = None
    crs: str = CRS84



def _number(text: str, where: str) -> float:
    try:
        value = float(text.strip().strip('"'))
    except ValueError:
        raise InvalidParameter(f"{where}: {text!r} is not a number") from None
    if not math.isfinite(value):
        raise InvalidParameter(f"{where}: {text!r} is not a finite number")
    return value


def parse_subset(raw_values: list[str]) -> tuple[dict[str, tuple], str | None]:
    """``{"x": (lo, hi, geographic), "y": (...)}`` and the time text, from ``subset``."""
    spatial, when = {}, None
    for raw in raw_values:
        pos = 0
        for match in _SUBSET.finditer(raw):
            if match.start() != pos:
                break
            pos = match.end()
            axis, body = match.group(1), match.group(2)
            if axis.lower() in ("time", "t", "date"):
                when = body.strip().strip('"')
                continue
            parts = body.split(":")
            if len(parts) != 2:
                raise InvalidParameter(f"subset: {axis}({body}) must be an interval low:high")
            lo, hi = (_number(p, f"subset {axis}") for p in parts)
            if lo > hi:
                raise InvalidParameter(f"subset: {axis}({body}) has its low above its high")
            key = "x" if axis.lower() in X_AXES else "y" if axis.lower() in Y_AXES else None
            if key is None:
                raise InvalidParameter(f"subset: unknown axis {axis!r}; use E/N (or x/y) in "
                                       "the storage CRS, Lon/Lat in CRS84, or time")
            spatial[key] = (lo, hi, axis.lower() in GEOGRAPHIC_AXES)
        if pos != len(raw):
            raise InvalidParameter(f"subset: {raw!r} is not axis(low:high)[,axis(low:high)]")
    return spatial, when


def parse_area(params: QueryParams, storage_crs: str,
               crs84_bbox: tuple[float, float, float, float]) -> Area:
    """The area from ``bbox`` or ``subset`` (not both). An axis ``subset`` leaves out
    spans the coverage (its CRS84 bbox for Lon/Lat, unbounded in the storage CRS)."""
    subset, _ = parse_subset(params.getlist("subset"))
    if "bbox" in params and subset:
        raise InvalidParameter("bbox and subset: give one of them")
    if "bbox" in params:
        crs = raster_crs(params["bbox-crs"], "bbox-crs") if "bbox-crs" in params else CRS84
        return Area(check_bbox(parse_bbox(params["bbox"]), crs, xy=True), crs)
    if not subset:
        return Area(None, storage_crs)
    geographic = any(v[2] for v in subset.values())
    default = CRS84 if geographic else storage_crs
    crs = raster_crs(params["subset-crs"], "subset-crs") if "subset-crs" in params \
        else default
    if crs == CRS84:
        full = {"x": crs84_bbox[0::2], "y": crs84_bbox[1::2]}
    else:
        full = {"x": (-1e12, 1e12), "y": (-1e12, 1e12)}
    (x0, x1), (y0, y1) = (subset[k][:2] if k in subset else full[k] for k in ("x", "y"))
    return Area((x0, y0, x1, y1), crs)


def parse_time(params: QueryParams) -> TimeFilter | None:
    """``datetime`` (or ``subset=time(...)``) as a filter; None when absent."""
    _, subset_time = parse_subset(params.getlist("subset"))
    raw = params.get("datetime", subset_time)
    if raw is None:
        return None
    if "datetime" in params and subset_time is not None:
        raise InvalidParameter("datetime and subset=time(...): give one of them")
    return parse_datetime(raw)


def instant_of(when: TimeFilter | None) -> datetime | None:
    """The instant a coverage or map is asked for (None: the latest step)."""
    if when is None:
        return None
    if not when.instant:
        raise InvalidParameter("datetime: a coverage or map is one time step; give an "
                               "instant (the nearest step is served)")
    return when.start


def positive_int(raw: str, name: str, limit: int) -> int:
    if not re.fullmatch(r"\s*[0-9]{1,9}\s*", raw):
        raise InvalidParameter(f"{name}: {raw!r} is not a positive integer")
    value = int(raw)
    if not 1 <= value <= limit:
        raise InvalidParameter(f"{name}: {value} is outside 1..{limit}")
    return value


def parse_size(params: QueryParams, native: tuple[int, int], limit: int) -> tuple[int, int] | None:
    """The output (width, height) asked by ``scale-size``, ``width``/``height`` or
    ``scale-factor``; a missing side keeps the aspect ratio. None: native size."""
    width = height = None
    for part in filter(None, re.split(r",(?![^()]*\))", params.get("scale-size", ""))):
        m = re.fullmatch(r"\s*([A-Za-z_]+)\s*\(\s*([^()]*)\s*\)\s*", part)
        if not m or (m.group(1).lower() not in X_AXES | Y_AXES):
            raise InvalidParameter(f"scale-size: {part!r} is not axis(size) with axis E/N/x/y")
        size = positive_int(m.group(2), "scale-size", limit)
        if m.group(1).lower() in X_AXES:
            width = size
        else:
            height = size
    if "width" in params:
        width = positive_int(params["width"], "width", limit)
    if "height" in params:
        height = positive_int(params["height"], "height", limit)
    if "scale-factor" in params:
        factor = _number(params["scale-factor"], "scale-factor")
        if not 0 < factor <= 1_000:
            raise InvalidParameter("scale-factor: must be above 0 and at most 1000")
        width, height = (max(1, round(native[0] / factor)), max(1, round(native[1] / factor)))
    if width is None and height is None:
        return None
    width = width or max(1, round(height * native[0] / native[1]))
    height = height or max(1, round(width * native[1] / native[0]))
    return width, height


def parse_resampling(params: QueryParams, default: str = "nearest") -> Resampling:
    raw = params.get("resampling", default).lower()
    if raw not in RESAMPLING:
        raise InvalidParameter(f"resampling: {raw!r} is not one of {', '.join(RESAMPLING)}")
    return RESAMPLING[raw]


def parse_point(raw: str | None) -> tuple[float, float]:
    """``POINT(lon lat)`` (WKT, longitude first) as floats."""
    if raw is None:
        raise InvalidParameter("coords: required, as POINT(lon lat)")
    match = _POINT.match(raw)
    if not match:
        raise InvalidParameter(f"coords: {raw!r} is not POINT(lon lat)")
    lon, lat = (_number(v, "coords") for v in match.groups())
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise InvalidParameter(f"coords: POINT({lon} {lat}) is not a longitude/latitude")
    return lon, lat

