"""Read a MicroStation DGN v7 sheet's elements through GDAL's DGN driver (pyogrio).

GDAL gives every element as one feature of the layer ``elements`` with its ``Type``,
``Level`` and, for text elements, ``Text``; coordinates are the design file's master
units (metres in a cadastral sheet). DGN text is 8-bit in whatever font encoding the
surveyor used, so texts are returned as their bytes (read through latin-1) for the
caller to decode. DGN v8 files (an OLE container) are not read by GDAL's open driver.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyogrio
import shapely
from pyogrio.errors import DataLayerError, DataSourceError

from twin.cadastre.errors import CadastreError

OLE_MAGIC = b"\xd0\xcf\x11\xe0"
TEXT_TYPES = (7, 17)          # text node, text
LINEAR = ("LineString", "MultiLineString", "LinearRing", "Polygon", "MultiPolygon")


@dataclass
class Elements:
    """The sheet's elements: ``ids`` (GDAL's element numbers), types, levels, shapely
    geometries and, for texts, the raw bytes (None elsewhere)."""

    path: Path
    ids: np.ndarray
    types: np.ndarray
    levels: np.ndarray
    geoms: np.ndarray
    texts: list[bytes | None]

    def is_text(self) -> np.ndarray:
        return np.array([t is not None and t != b"" for t in self.texts], dtype=bool)

    def lines_on(self, level: int) -> np.ndarray:
        """Indexes of the line-like elements (lines, line strings, shapes) on ``level``."""
        kinds = shapely.get_type_id(self.geoms)
        linear = np.isin(kinds, [1, 2, 3, 5, 6]) & ~self.is_text()
        return np.flatnonzero(linear & (self.levels == level))

    def line_levels(self) -> Counter:
        """Level -> number of line-like elements on it (for messages)."""
        kinds = shapely.get_type_id(self.geoms)
        linear = np.isin(kinds, [1, 2, 3, 5, 6]) & ~self.is_text()
        return Counter(int(v) for v in self.levels[linear])


def read_elements(path: Path) -> Elements:
    path = Path(path)
    with open(path, "rb") as fh:
        head = fh.read(4)
    if head == OLE_MAGIC:
        raise CadastreError(f"{path}: a MicroStation DGN v8 file; save the sheet as DGN v7 "
                            "(MicroStation: File > Save As, V7 format) and load that")
    try:
        meta, fids, wkb, values = pyogrio.raw.read(
            path, return_fids=True, force_2d=True, encoding="latin1",
            columns=["Type", "Level", "Text"])
    except (DataSourceError, DataLayerError, RuntimeError) as exc:
        first = str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__
        raise CadastreError(f"{path}: cannot read as a MicroStation DGN v7 sheet: {first}") \
            from None
    names = list(meta["fields"])
    column = {n: values[names.index(n)] for n in ("Type", "Level", "Text")}
    geoms = shapely.from_wkb(wkb, on_invalid="ignore")
    texts = [v.encode("latin-1") if isinstance(v, str) else None for v in column["Text"]]
    return Elements(path, np.asarray(fids, dtype=np.int64),
                    np.asarray(column["Type"], dtype=np.int64),
                    np.asarray(column["Level"], dtype=np.int64),
                    np.asarray(geoms, dtype=object), texts)


def boundary_lines(elements: Elements, level: int) -> tuple[np.ndarray, np.ndarray]:
    """(line geometries, element ids) of the boundaries on ``level``; shapes (closed
    elements) give their rings. Raises when the level holds no lines."""
    rows = elements.lines_on(level)
    if len(rows) == 0:
        found = elements.line_levels()
        listed = ", ".join(f"{lvl} ({n} lines)" for lvl, n in sorted(found.items())) or "none"
        raise CadastreError(f"{elements.path}: no line elements on level {level}, the parcel "
                            f"boundary level (--boundary-level); levels with lines: {listed}")
    geoms = shapely.boundary(elements.geoms[rows])
    kinds = shapely.get_type_id(elements.geoms[rows])
    lines = np.where(np.isin(kinds, [3, 6]), geoms, elements.geoms[rows])
    return lines, elements.ids[rows]
