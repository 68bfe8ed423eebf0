"""One DGN sheet to parcels: read, polygonise the boundaries, join the labels, report.

A parcel with no parcel number, or with two different ones, is left out and listed
(``rejected``); boundaries that do not close, labels outside every parcel and texts
that are not understood are listed in ``notes``. The stated area (``stated_area``)
is compared with the computed one by the loader.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from twin.cadastre.dgn import boundary_lines, read_elements
from twin.cadastre.errors import CadastreError
from twin.cadastre.labels import Label, ParcelLabels, centre, join, sheet_number
from twin.cadastre.polygonise import polygonise

Decode = Callable[[list[bytes], list[str]], list[str]]   # raw texts, their labels -> text


@dataclass
class Parcel:
    polygon: object
    parcel_no: int
    land_use: str | None
    stated_area: float | None
    elements: list[int]           # the label elements it was read from


@dataclass
class Sheet:
    path: Path
    sheet: int | None
    sheet_from: str
    parcels: list[Parcel] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    polygons: int = 0


def _labels(elements, decode: Decode) -> list[Label]:
    rows = np.flatnonzero(elements.is_text())
    raws = [elements.texts[i] for i in rows]
    names = [f"element {int(elements.ids[i])}" for i in rows]
    texts = decode(raws, names) if raws else []
    return [Label(int(elements.ids[i]), elements.geoms[i], t, int(elements.levels[i]))
            for i, t in zip(rows, texts, strict=True)
            if t and t.strip() and elements.geoms[i] is not None]


def _parcel(polygon, found: ParcelLabels, sheet: Sheet) -> Parcel | None:
    x, y = centre(polygon)
    where = f"parcel at {x:.2f}, {y:.2f}"
    numbers = found.parcel_numbers()
    if not numbers:
        sheet.rejected.append(f"{where}: no parcel number label inside it")
        return None
    if len(numbers) > 1:
        listed = ", ".join(f"{n} (element {e})" for n, e in found.numbers)
        sheet.rejected.append(f"{where}: two parcel numbers, {listed}")
        return None
    uses = sorted({u for u, _ in found.land_use})
    if len(uses) > 1:
        sheet.notes.append(f"{where} (parcel {numbers[0]}): land-use codes {', '.join(uses)}; "
                           f"{uses[0]} taken")
    areas = sorted({a for a, _ in found.areas})
    if len(areas) > 1:
        sheet.notes.append(f"{where} (parcel {numbers[0]}): areas {areas}; none taken")
    for token, element in found.other:
        sheet.notes.append(f"element {element}: text {token!r} in parcel {numbers[0]} is "
                           "not a parcel number, land-use code or area")
    elements = sorted({e for _, e in found.numbers + found.land_use + found.areas})
    return Parcel(polygon, numbers[0], uses[0] if uses else None,
                  areas[0] if len(areas) == 1 else None, elements)


def convert(path: Path, *, boundary_level: int, codes: set[str], decode: Decode,
            label_level: int | None = None) -> Sheet:
    """Parcels of one DGN v7 sheet (coordinates as in the file)."""
    elements = read_elements(path)
    lines, ids = boundary_lines(elements, boundary_level)
    faces = polygonise(lines, ids)
    if not faces.polygons:
        raise CadastreError(f"{path}: the boundary lines on level {boundary_level} close no "
                            "parcel", faces.problems)
    labels = _labels(elements, decode)
    parcel_labels = [lab for lab in labels if label_level in (None, lab.level)]
    found, outside = join(faces.polygons, parcel_labels, codes)
    others = [lab for lab in labels if label_level not in (None, lab.level)]
    number, source, title = sheet_number(outside + others, path)
    sheet = Sheet(Path(path), number, source, polygons=len(faces.polygons))
    sheet.notes += faces.problems
    for label in outside:
        if label is not title:
            p = label.point
            sheet.notes.append(f"element {label.element}: text {label.text!r} at "
                               f"{p.x:.2f}, {p.y:.2f} lies outside every parcel")
    for polygon, labels_in in zip(faces.polygons, found, strict=True):
        parcel = _parcel(polygon, labels_in, sheet)
        if parcel is not None:
            sheet.parcels.append(parcel)
    if number is None:
        sheet.notes.append("no sheet number: no title text ('Tờ bản đồ số N') and no number "
                           "in the file name; give map_sheet as a mapping constant")
    return sheet
