"""Non-GeoJSON encodings of an items query: CSV (WKT geometry), FlatGeobuf, GeoPackage.
CSV text cells are kept from running as spreadsheet formulas (:mod:`twin.server.params.csvsafe`)."""

from __future__ import annotations

import csv
import io
import os
import tempfile
from datetime import date, datetime
from decimal import Decimal

import numpy as np
import pyogrio.raw

from twin.registry import FieldType, Layer
from twin.server.params.csvsafe import text_cell

MEDIA = {"csv": "text/csv; charset=utf-8", "fgb": "application/flatgeobuf",
         "gpkg": "application/geopackage+sqlite3"}
DRIVER = {"fgb": ("FlatGeobuf", ".fgb"), "gpkg": ("GPKG", ".gpkg")}
OGR_GEOMETRY = {"Point": "Point", "LineString": "LineString", "Polygon": "Polygon",
                "MultiPoint": "MultiPoint", "MultiLineString": "MultiLineString",
                "MultiPolygon": "MultiPolygon"}


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return ";".join(map(str, value))
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return str(value)


def _csv_cell(value) -> str:
    """A CSV cell: numbers as they are (-3.5 stays a number), text that a spreadsheet
    would run as a formula with a leading quote (:mod:`twin.server.params.csvsafe`)."""
    if isinstance(value, (int, float, Decimal)):
        return _cell(value)
    return text_cell(_cell(value))


def to_csv(names: list[str], rows: list[tuple]) -> bytes:
    """id, properties..., wkt (geometry as WKT in the requested CRS)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["id", *names, "wkt"])
    for row in rows:
        writer.writerow([_csv_cell(v) for v in row])
    return out.getvalue().encode("utf-8")


def _column(layer: Layer, name: str, values: list) -> np.ndarray:
    spec = layer.fields.get(name)
    kind = spec.type if spec else FieldType.number
    if kind == FieldType.integer:
        return np.array([v if v is not None else 0 for v in values], dtype="int64")
    if kind == FieldType.number:
        return np.array([v if v is not None else np.nan for v in values], dtype="float64")
    if kind == FieldType.boolean:
        return np.array([bool(v) if v is not None else False for v in values], dtype="bool")
    return np.array([_cell(v) if v is not None else None for v in values], dtype=object)


def to_file(fmt: str, layer: Layer, names: list[str], rows: list[tuple], srid: int) -> bytes:
    """Write rows (id, properties..., WKB) with GDAL and return the file's bytes."""
    driver, suffix = DRIVER[fmt]
    columns = list(zip(*rows, strict=False)) if rows else [[] for _ in range(len(names) + 2)]
    fields = ["id", *names]
    data = [np.array(columns[0], dtype=object)]
    data += [_column(layer, n, list(columns[i + 1])) for i, n in enumerate(names)]
    masks = [np.zeros(len(rows), dtype=bool)]
    masks += [np.array([v is None for v in columns[i + 1]], dtype=bool) for i in range(len(names))]
    wkb = np.array([bytes(g) if g is not None else None for g in columns[-1]], dtype=object)
    fd, path = tempfile.mkstemp(suffix=suffix)
    os.close(fd)
    os.unlink(path)
    try:
        pyogrio.raw.write(path, wkb, fields=fields, field_data=data, field_mask=masks,
                          driver=driver, layer=layer.name,
                          geometry_type=OGR_GEOMETRY[layer.geometry], crs=f"EPSG:{srid}",
                          encoding="UTF-8")
        with open(path, "rb") as fh:
            return fh.read()
    finally:
        if os.path.exists(path):
            os.unlink(path)
