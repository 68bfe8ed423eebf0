"""Geometry checks shared by every loader: type, CRS, validity, plausible extent."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import numpy as np
import shapely
from pyproj import CRS, Transformer
from pyproj.transformer import TransformerGroup

from twin.ingest.errors import LoadError

DIMENSION = {"Point": 0, "MultiPoint": 0, "LineString": 1, "MultiLineString": 1,
             "Polygon": 2, "MultiPolygon": 2}
CRS84 = CRS.from_user_input("OGC:CRS84")
VN2000 = "VN-2000"
VN2000_TO_WGS84 = "VN-2000 to WGS 84 (2)"    # EPSG:6960
_TRANSFORMERS = threading.local()


@dataclass
class GeometryResult:
    geometries: np.ndarray
    keep: np.ndarray
    repaired: list[str] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)


def _datum(crs: CRS) -> str:
    return crs.geodetic_crs.name if crs.geodetic_crs is not None else ""


def transformer(source: CRS, target: CRS) -> Transformer:
    """PROJ's transformation, except that VN-2000 and WGS 84 are related by the EPSG
    parameters of EPSG:6960 ("VN-2000 to WGS 84 (2)", 1 m), whatever PROJ would pick.
    Kept per thread (a transformer is not shared between threads)."""
    cache = _TRANSFORMERS.__dict__.setdefault("cache", {})
    key = (source.to_wkt(), target.to_wkt())
    if key not in cache:
        if len(cache) >= 32:
            cache.clear()
        cache[key] = _make_transformer(source, target)
    return cache[key]


def _make_transformer(source: CRS, target: CRS) -> Transformer:
    if VN2000 in (_datum(source), _datum(target)):
        for candidate in TransformerGroup(source, target, always_xy=True).transformers:
            if VN2000_TO_WGS84 in candidate.description:
                return candidate
    return Transformer.from_crs(source, target, always_xy=True)


def to_crs(geoms: np.ndarray, source: CRS, target: CRS) -> np.ndarray:
    if source.equals(target):
        return geoms
    transformer_ = transformer(source, target)
    return shapely.transform(geoms, lambda xy: np.column_stack(
        transformer_.transform(xy[:, 0], xy[:, 1], errcheck=False)))


def _parts_of_dimension(geom, dim: int):
    parts = shapely.get_parts(geom)
    keep = [p for p in parts if DIMENSION.get(p.geom_type, -1) == dim and not p.is_empty]
    if not keep:
        return None
    for p in list(keep):
        if p.geom_type.startswith("Multi"):
            keep.remove(p)
            keep.extend(shapely.get_parts(p))
    return keep


def conform_type(geom, target: str):
    """Return ``geom`` as the layer's geometry type, or None if it can't be."""
    kind = geom.geom_type
    if kind == target:
        return geom
    if DIMENSION.get(kind, -1) != DIMENSION[target] and kind != "GeometryCollection":
        return None
    parts = _parts_of_dimension(geom, DIMENSION[target])
    if parts is None:
        return None
    if target.startswith("Multi"):
        return {"MultiPoint": shapely.multipoints, "MultiLineString": shapely.multilinestrings,
                "MultiPolygon": shapely.multipolygons}[target](parts)
    return parts[0] if len(parts) == 1 else None


def check_types(geoms: np.ndarray, target: str, labels: list[str]) -> None:
    bad = [f"{labels[i]}: {g.geom_type} where the layer holds {target}"
           for i, g in enumerate(geoms)
           if g is not None and not g.is_empty and conform_type(g, target) is None
           and shapely.is_valid(g)]
    if bad:
        raise LoadError("wrong geometry type", bad)


def check_extent(geoms_crs84: np.ndarray, extent, labels: list[str]) -> None:
    """Every feature must lie in the plausible extent; say when axes look swapped. An
    extent that names its city (:class:`twin.city.Extent`) is named in the refusal."""
    x0, y0, x1, y1 = extent
    bounds = shapely.bounds(geoms_crs84)
    ok = np.isnan(bounds[:, 0]) | ((bounds[:, 0] >= x0) & (bounds[:, 2] <= x1)
                                   & (bounds[:, 1] >= y0) & (bounds[:, 3] <= y1))
    if ok.all():
        return
    swapped = ((bounds[:, 1] >= x0) & (bounds[:, 3] <= x1)
               & (bounds[:, 0] >= y0) & (bounds[:, 2] <= y1))
    problems = []
    for i in np.flatnonzero(~ok):
        cx, cy = (bounds[i, 0] + bounds[i, 2]) / 2, (bounds[i, 1] + bounds[i, 3]) / 2
        hint = " (latitude and longitude look swapped)" if swapped[i] else ""
        problems.append(f"{labels[i]}: at lon {cx:.5f}, lat {cy:.5f}{hint}")
    hint = " Are the axes swapped, or is the CRS wrong?" if swapped[~ok].any() else \
        " Is the CRS right (use --crs to set the source CRS)?"
    city = getattr(extent, "city", None)
    whose = f" of {city}" if city else ""
    raise LoadError(f"{len(problems)} feature(s) outside the layer's plausible extent{whose} "
                    f"{tuple(extent)} (CRS84).{hint}", problems)


def repair(geoms: np.ndarray, target: str, labels: list[str], strict: bool) -> GeometryResult:
    """Repair invalid geometries with make_valid (or refuse them when ``strict``)."""
    geoms = geoms.copy()
    keep = np.ones(len(geoms), dtype=bool)
    result = GeometryResult(geoms, keep)
    missing = np.array([g is None or g.is_empty for g in geoms], dtype=bool)
    for i in np.flatnonzero(missing):
        keep[i] = False
        result.rejected.append(f"{labels[i]}: no geometry")
    invalid = np.flatnonzero(~missing & ~shapely.is_valid(np.where(missing, None, geoms)))
    reasons = shapely.is_valid_reason(geoms[invalid]) if len(invalid) else []
    if strict and (len(invalid) or missing.any()):
        raise LoadError("invalid or missing geometries (--strict)",
                        [f"{labels[i]}: {r}" for i, r in zip(invalid, reasons, strict=False)]
                        + result.rejected)
    for i, reason in zip(invalid, reasons, strict=False):
        fixed = conform_type(shapely.make_valid(geoms[i]), target)
        if fixed is None or fixed.is_empty:
            keep[i] = False
            result.rejected.append(f"{labels[i]}: invalid ({reason}) and not repairable")
        else:
            geoms[i] = fixed
            result.repaired.append(f"{labels[i]}: {reason}")
    for i in np.flatnonzero(keep):
        geoms[i] = conform_type(geoms[i], target)
    return result
