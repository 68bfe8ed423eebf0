"""Response bodies: CoverageJSON grids and point series, GeoTIFF, CSV, domain set and
range type (OGC API – Coverages draft: ``/coverage/domainset``, ``/coverage/rangetype``).
"""

from __future__ import annotations

import csv
import io
import math
from datetime import datetime

import numpy as np
import rasterio
from rasterio.io import MemoryFile

from twin.rasters.read import Subset
from twin.rasters.series import Series
from twin.server.params.csvsafe import text_cell

OGC_CRS = "http://www.opengis.net/def/crs/EPSG/0/{}"
CRS84_URI = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment else None


def crs_uri(crs) -> str:
    epsg = crs.to_epsg()
    return OGC_CRS.format(epsg) if epsg else crs.to_wkt()


def _parameter(series: Series) -> dict:
    return {"type": "Parameter", "description": {"en": series.title},
            "observedProperty": {"id": series.variable, "label": {"en": series.title}},
            "unit": {"symbol": series.unit}}


def _values(values: np.ndarray) -> list:
    """Floats with 7 significant digits at the array's largest magnitude (float32 holds
    no more), NaN as null; rounded in numpy, so 65,536 cells cost ~20 ms, not ~150."""
    flat = values.astype("float64").ravel()
    finite = np.isfinite(flat)
    peak = float(np.abs(flat[finite]).max()) if finite.any() else 0.0
    decimals = max(0, 7 - math.ceil(math.log10(peak))) if peak > 0 else 7
    out = flat.round(decimals).astype(object)
    out[~finite] = None
    return out.tolist()


def grid_covjson(series: Series, subset: Subset, when: datetime | None) -> dict:
    """A CoverageJSON Grid of one step: regular x/y axes at cell centres, native CRS."""
    h, w = subset.values.shape
    t = subset.transform
    axes = {"x": {"start": t.c + t.a / 2, "stop": t.c + t.a * (w - 0.5), "num": w},
            "y": {"start": t.f + t.e / 2, "stop": t.f + t.e * (h - 0.5), "num": h}}
    referencing = [{"coordinates": ["x", "y"],
                    "system": {"type": "ProjectedCRS", "id": crs_uri(subset.crs)}}]
    if when is not None:
        axes["t"] = {"values": [_iso(when)]}
        referencing.append({"coordinates": ["t"],
                            "system": {"type": "TemporalRS", "calendar": "Gregorian"}})
    shape, names = ([1, h, w], ["t", "y", "x"]) if when is not None else ([h, w], ["y", "x"])
    return {"type": "Coverage",
            "domain": {"type": "Domain", "domainType": "Grid", "axes": axes,
                       "referencing": referencing},
            "parameters": {series.variable: _parameter(series)},
            "ranges": {series.variable: {"type": "NdArray", "dataType": "float",
                                         "axisNames": names, "shape": shape,
                                         "values": _values(subset.values)}}}


def point_series_covjson(series: Series, lon: float, lat: float,
                         samples: list[tuple[datetime | None, float | None]]) -> dict:
    """A CoverageJSON PointSeries: the values at (lon, lat) at each step."""
    return {"type": "Coverage",
            "domain": {"type": "Domain", "domainType": "PointSeries",
                       "axes": {"x": {"values": [lon]}, "y": {"values": [lat]},
                                "t": {"values": [_iso(t) for t, _ in samples]}},
                       "referencing": [
                           {"coordinates": ["x", "y"],
                            "system": {"type": "GeographicCRS", "id": CRS84_URI}},
                           {"coordinates": ["t"],
                            "system": {"type": "TemporalRS", "calendar": "Gregorian"}}]},
            "parameters": {series.variable: _parameter(series)},
            "ranges": {series.variable: {"type": "NdArray", "dataType": "float",
                                         "axisNames": ["t"], "shape": [len(samples)],
                                         "values": [v for _, v in samples]}}}


def point_series_csv(series: Series, lon: float, lat: float,
                     samples: list[tuple[datetime | None, float | None]]) -> str:
    buf = io.StringIO()
    out = csv.writer(buf, lineterminator="\n")
    out.writerow(["datetime", "lon", "lat", "parameter", "value", "unit"])
    for when, value in samples:
        out.writerow([_iso(when) or "", lon, lat, text_cell(series.variable),
                      "" if value is None else f"{value:.6g}", text_cell(series.unit or "")])
    return buf.getvalue()


def geotiff(series: Series, subset: Subset, when: datetime | None) -> bytes:
    """A tiled, DEFLATE-compressed float32 GeoTIFF of the subset, NaN nodata, with the
    variable, unit and valid time as metadata."""
    h, w = subset.values.shape
    profile = dict(driver="GTiff", width=w, height=h, count=1, dtype="float32",
                   crs=subset.crs, transform=subset.transform, nodata=np.nan,
                   compress="DEFLATE", predictor=3)
    if w >= 256 and h >= 256:
        profile.update(tiled=True, blockxsize=256, blockysize=256)
    with MemoryFile() as mem:
        with mem.open(**profile) as dst:
            dst.write(subset.values.astype("float32"), 1)
            dst.update_tags(variable=series.variable, unit=series.unit,
                            **({"valid_time": _iso(when),
                                "TIFFTAG_DATETIME": when.strftime("%Y:%m:%d %H:%M:%S")}
                               if when else {}))
            dst.set_band_description(1, series.variable)
        return mem.read()


def domainset(series: Series, native_bounds, step_crs) -> dict:
    """The DomainSet: a general grid with E/N axes in the storage CRS (and time)."""
    latest = series.latest
    minx, miny, maxx, maxy = native_bounds
    crs = rasterio.crs.CRS.from_user_input(step_crs)
    axes = [{"type": "RegularAxis", "axisLabel": "E", "lowerBound": minx, "upperBound": maxx,
             "uomLabel": "m", "resolution": latest.res[0]},
            {"type": "RegularAxis", "axisLabel": "N", "lowerBound": miny, "upperBound": maxy,
             "uomLabel": "m", "resolution": latest.res[1]}]
    labels, limits = ["E", "N"], [
        {"type": "IndexAxis", "axisLabel": "i", "lowerBound": 0, "upperBound": latest.width - 1},
        {"type": "IndexAxis", "axisLabel": "j", "lowerBound": 0, "upperBound": latest.height - 1}]
    if series.timed:
        axes.append({"type": "IrregularAxis", "axisLabel": "time", "uomLabel": "s",
                     "coordinate": [_iso(t) for t in series.times]})
        labels.append("time")
    return {"type": "DomainSet",
            "generalGrid": {"type": "GeneralGridCoverage", "srsName": crs_uri(crs),
                            "axisLabels": labels, "axis": axes,
                            "gridLimits": {"type": "GridLimits", "srsName":
                                           "http://www.opengis.net/def/crs/OGC/0/Index2D",
                                           "axisLabels": ["i", "j"], "axis": limits}}}


def rangetype(series: Series) -> dict:
    """The RangeType: one float32 field, the series' variable, with its unit; NaN nodata."""
    return {"type": "DataRecord",
            "field": [{"type": "Quantity", "id": series.variable, "name": series.variable,
                       "definition": series.variable, "description": series.title,
                       "uom": {"type": "UnitReference", "code": series.unit},
                       "encodingInfo": {"dataType":
                                        "http://www.opengis.net/def/dataType/OGC/0/float32"},
                       "nilValues": [{"reason":
                                      "http://www.opengis.net/def/nil/OGC/0/missing",
                                      "value": "NaN"}]}]}
