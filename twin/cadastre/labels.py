"""Read a parcel's text labels: parcel number, land-use code, stated area; the sheet number.

A cadastral sheet writes inside each parcel its number (``12``), its land-use code
(``ODT``, or ``ODT+CLN``: the first is taken) and its area (``156.4`` or ``156,4``,
perhaps with ``m2``), as one text or several. A whole number is a parcel number, a
number with a decimal part (or a unit) an area, a known code the land use. The sheet
number comes from a title text outside the parcels ("Tờ bản đồ số 12", "Tờ số 12",
"Sheet 12"), else from the last number in the file name.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import shapely
from shapely import STRtree

AREA = re.compile(r"(\d+(?:[.,]\d+)?)\s*(?:m2|m²)?", re.IGNORECASE)
TITLE = re.compile(r"\b(?:to|sheet)\s*(?:ban\s*do\s*)?(?:so|no\.?|number)?\s*[:.]?\s*(\d+)\b")


@dataclass
class Label:
    element: int
    point: object          # shapely Point
    text: str
    level: int = 0


@dataclass
class ParcelLabels:
    numbers: list[tuple[int, int]] = field(default_factory=list)     # (number, element)
    land_use: list[tuple[str, int]] = field(default_factory=list)
    areas: list[tuple[float, int]] = field(default_factory=list)
    other: list[tuple[str, int]] = field(default_factory=list)

    def parcel_numbers(self) -> list[int]:
        return sorted({n for n, _ in self.numbers})


def read_label(label: Label, codes: set[str], into: ParcelLabels) -> None:
    """Sort the tokens of one text into ``into``."""
    for token in re.split(r"[\s/;|()]+", label.text.strip()):
        if not token:
            continue
        first = token.upper().split("+")[0]
        if first in codes and all(p in codes for p in token.upper().split("+")):
            into.land_use.append((first, label.element))
        elif token.isdigit():
            into.numbers.append((int(token), label.element))
        elif (area := AREA.fullmatch(token)) is not None:
            into.areas.append((float(area.group(1).replace(",", ".")), label.element))
        else:
            into.other.append((token, label.element))


def join(polygons: list, labels: list[Label], codes: set[str]
         ) -> tuple[list[ParcelLabels], list[Label]]:
    """The labels of each polygon (a label in a polygon's hole belongs to the island
    parcel, not to the polygon around it), and the labels inside none."""
    per = [ParcelLabels() for _ in polygons]
    if not labels:
        return per, []
    points = np.asarray([lab.point for lab in labels], dtype=object)
    found = STRtree(polygons).query(points, predicate="within") if polygons else \
        np.empty((2, 0), dtype=int)
    placed = set()
    for i, p in zip(found[0], found[1], strict=True):
        read_label(labels[i], codes, per[p])
        placed.add(int(i))
    return per, [lab for i, lab in enumerate(labels) if i not in placed]


def _plain(text: str) -> str:
    text = unicodedata.normalize("NFKD", text.replace("đ", "d").replace("Đ", "D"))
    return "".join(c for c in text if not unicodedata.combining(c)).lower()


def sheet_number(outside: list[Label], path: Path) -> tuple[int | None, str, Label | None]:
    """(sheet number, where it came from, the title label used)."""
    for label in outside:
        match = TITLE.search(_plain(label.text))
        if match:
            return int(match.group(1)), f"title text {label.text!r} (element {label.element})", \
                label
    numbers = re.findall(r"\d+", Path(path).stem)
    if numbers:
        return int(numbers[-1]), f"file name {Path(path).name}", None
    return None, "", None


def centre(polygon) -> tuple[float, float]:
    point = shapely.point_on_surface(polygon)
    return point.x, point.y
