"""Stated against computed areas: a parcel whose recorded area (``DienTich``, a DGN area
label) differs from its polygon's by more than a tolerance is reported, not refused."""

from __future__ import annotations

import numpy as np
import shapely
from pyproj import Geod

from twin.ingest.readers import SourceData

AREA_COLUMNS = ("dien_tich", "dientich", "stated_area", "area_stated", "dt")
DEFAULT_TOLERANCE = 0.05       # 5 % of the computed area ...
MIN_TOLERANCE_M2 = 1.0         # ... and never less than a square metre
GEOD = Geod(ellps="WGS84")


def stated_area_column(data: SourceData) -> str | None:
    lower = {c.lower(): c for c in data.columns}
    return next((lower[c] for c in AREA_COLUMNS if c in lower), None)


def area_mismatches(data: SourceData, rows: np.ndarray, geoms_crs84: np.ndarray,
                    tolerance: float = DEFAULT_TOLERANCE) -> list[str]:
    """One line per kept row whose stated area differs from the computed (geodesic) one
    by more than ``tolerance`` (a fraction) and a square metre."""
    name = stated_area_column(data)
    if name is None:
        return []
    out = []
    for i, geom in zip(rows, geoms_crs84, strict=True):
        try:
            stated = float(data.columns[name][i])
        except (TypeError, ValueError):
            continue
        if not np.isfinite(stated) or geom is None or shapely.get_dimensions(geom) != 2:
            continue
        computed = abs(GEOD.geometry_area_perimeter(geom)[0])
        if abs(stated - computed) > max(MIN_TOLERANCE_M2, tolerance * computed):
            out.append(f"{data.row_labels[i]}: stated area {stated:g} m² ({name}) but the "
                       f"polygon measures {computed:.1f} m²")
    return out
