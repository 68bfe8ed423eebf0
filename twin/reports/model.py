"""What a report says, independent of how it is drawn: sections of map layers, tables,
charts and notes. The PDF and HTML renderers read only these objects."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Literal

import shapely


@dataclass(frozen=True)
class Symbol:
    """How one category of a layer is drawn and what the legend calls it."""
    label: str
    colour: str                   # #rrggbb
    size: float = 1.0             # line width (pt) or marker size (pt)
    edge: str | None = None       # marker or polygon outline colour
    marker: str = "o"             # matplotlib marker for points
    alpha: float = 1.0


@dataclass
class MapLayer:
    """One layer of an overview map: geometries in CRS84, each with a category key
    into ``symbols`` (one symbol per category, in legend order)."""
    title: str
    kind: Literal["point", "line", "polygon"]
    geoms: list[shapely.Geometry]
    categories: list[str]
    symbols: dict[str, Symbol]
    popups: list[str] = field(default_factory=list)   # HTML map only
    widths: list[float] = field(default_factory=list) # per-feature line widths (optional)
    legend: bool = True
    zorder: int = 2

    def used_symbols(self) -> list[tuple[str, Symbol]]:
        """Legend entries for the categories that actually occur, in symbol order."""
        present = set(self.categories)
        return [(k, s) for k, s in self.symbols.items() if k in present]


@dataclass
class Table:
    title: str
    columns: list[str]
    rows: list[list[str]]
    note: str = ""                # shown under the table (e.g. "first 25 of 112")
    align: str = "LR"             # first column left, the rest right; one letter each
    total: bool = False           # the last row is a total (drawn bold)

    def alignment(self, i: int) -> str:
        return self.align[i] if i < len(self.align) else self.align[-1]


@dataclass
class Chart:
    title: str
    png: bytes                    # rendered by twin.reports.charts
    caption: str = ""


@dataclass
class Section:
    """One topic: its title, an overview map (layers drawn over the area), tables,
    charts, and plain sentences (e.g. "no flood extents in the period")."""
    topic: str
    title: str
    layers: list[MapLayer] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    charts: list[Chart] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    map_note: str = ""            # a line under the map (data source, classification)


@dataclass
class Area:
    """The administrative area a report covers; ``geom`` in CRS84."""
    id: int
    code: str
    name: str
    level: str
    geom: shapely.Geometry
    area_m2: float
    parent: str | None = None     # the district's name, for a ward
    valid_from: date | None = None  # when the area is in force (admin_areas' validity)
    valid_to: date | None = None
    map_note: str = ""            # which administrative map the period uses

    @property
    def label(self) -> str:
        """How titles name the area: "Quận Hoàn Kiếm", "Phường Hàng Bạc, Quận Hoàn
        Kiếm" (names carry their level; one that does not gets it in English)."""
        label = self.name
        if not self.name.lower().startswith(LEVEL_WORDS):
            label = f"{self.name} {self.level}"
        return f"{label}, {self.parent}" if self.parent else label

    def label_in(self, lang: str) -> str:
        """:attr:`label` in ``lang``: a name without its level gets the level first in
        Vietnamese ("Phường X"), after it in English ("X ward")."""
        if lang == "en" or self.name.lower().startswith(LEVEL_WORDS):
            return self.label
        label = f"{LEVEL_VI.get(self.level, self.level)} {self.name}"
        return f"{label}, {self.parent}" if self.parent else label


LEVEL_VI = {"district": "Quận/huyện", "ward": "Phường", "commune": "Xã"}
LEVEL_WORDS = ("quận", "huyện", "thị xã", "phường", "xã", "thị trấn")


@dataclass
class Report:
    area: Area
    period_label: str
    generated: str                # local date-time of generation, for the footer
    sections: list[Section]
    context: list[MapLayer] = field(default_factory=list)   # drawn under every map
    day: str = ""                 # the generation's date, as the maps print it
    lang: str = "vi"              # every word of the report is in this language
    place: str = ""               # the city's name in that language (page headers)

    @property
    def title(self) -> str:
        """The area as headers name it, in the report's language."""
        return self.area.label_in(self.lang)
