"""Coverage series: the catalogued rasters of one (kind, variable, scenario).

Each series is served as one time-aware coverage collection whose time steps are its
rows' ``valid_time`` values (a DEM has a single step without a time). Collection ids
are readable and stable: ``dem``, ``pm25_surface``, ``flood_depth``, and with a
scenario ``flood_depth_<scenario>`` — a scenario is its own collection (its own
temporal extent, its own legend link in a viewer) rather than a parameter.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from twin.rasters.catalogue import slug

# Read once per refresh: everything a request needs, so no request reads the table.
SERIES_SQL = (
    "SELECT external_id, kind, variable, scenario, valid_time, crs, path, width, height, "
    "res_x, res_y, stats, ST_XMin(footprint), ST_YMin(footprint), ST_XMax(footprint), "
    "ST_YMax(footprint) FROM rasters "
    "ORDER BY kind, variable NULLS FIRST, scenario NULLS FIRST, valid_time NULLS FIRST, "
    "created_at, id")
# The cheap check run before serving: the catalogue changed if either value moved.
SIGNATURE_SQL = "SELECT count(*), max(created_at) FROM rasters"

UNITS = {"pm25": "µg/m³", "pm10": "µg/m³", "no2": "µg/m³", "o3": "µg/m³", "so2": "µg/m³",
         "co": "µg/m³", "depth_m": "m", "elevation": "m", "rain_mm": "mm"}
TITLES = {"pm25": "PM2.5", "pm10": "PM10", "no2": "NO₂", "o3": "O₃", "so2": "SO₂", "co": "CO",
          "depth_m": "Flood depth", "elevation": "Elevation", "rain_mm": "Rainfall"}
TITLES_VI = {"depth_m": "Độ sâu ngập", "elevation": "Độ cao", "rain_mm": "Lượng mưa"}
KIND_TITLES = {
    "en": {"air_quality": "{name} surface", "dem": "Digital elevation model",
           "flood_depth": "Flood depth grid", "rainfall": "Rainfall grid"},
    "vi": {"air_quality": "Bề mặt {name}", "dem": "Mô hình số độ cao",
           "flood_depth": "Lưới độ sâu ngập", "rainfall": "Lưới lượng mưa"},
}
# The variable a kind has when the catalogue row leaves it empty.
DEFAULT_VARIABLE = {"dem": "elevation", "flood_depth": "depth_m", "rainfall": "rain_mm"}


@dataclass(frozen=True)
class Step:
    """One catalogued COG: a time step of a series."""
    external_id: str
    valid_time: datetime | None
    path: Path
    crs: str
    width: int
    height: int
    res: tuple[float, float]
    stats: dict
    bbox: tuple[float, float, float, float]  # CRS84, from the footprint


@dataclass
class Series:
    id: str
    kind: str
    variable: str
    scenario: str | None
    steps: list[Step] = field(default_factory=list)

    @property
    def times(self) -> list[datetime]:
        return [s.valid_time for s in self.steps if s.valid_time is not None]

    @property
    def timed(self) -> bool:
        return bool(self.times)

    @property
    def latest(self) -> Step:
        return self.steps[-1]

    @property
    def unit(self) -> str:
        return UNITS.get(self.variable, "")

    @property
    def title(self) -> str:
        return self.title_in("en")

    def title_in(self, lang: str) -> str:
        """The series' title in ``lang`` (vi or en)."""
        name = TITLES_VI.get(self.variable) if lang == "vi" else None
        name = name or TITLES.get(self.variable, self.variable)
        kinds = KIND_TITLES["vi" if lang == "vi" else "en"]
        kind = kinds[self.kind].format(name=name) if self.kind in kinds else name
        return f"{kind} ({self.scenario})" if self.scenario else kind

    def titles(self) -> dict[str, str]:
        """``{vi, en}``: as pygeoapi's configuration takes a text in two languages."""
        return {"vi": self.title_in("vi"), "en": self.title_in("en")}

    @property
    def bbox(self) -> tuple[float, float, float, float]:
        """CRS84 bbox of every step's footprint."""
        boxes = [s.bbox for s in self.steps]
        return (min(b[0] for b in boxes), min(b[1] for b in boxes),
                max(b[2] for b in boxes), max(b[3] for b in boxes))

    def value_range(self) -> tuple[float, float] | None:
        """Smallest min and largest max of the steps' statistics (None if all empty)."""
        lows = [s.stats["min"] for s in self.steps if s.stats.get("min") is not None]
        highs = [s.stats["max"] for s in self.steps if s.stats.get("max") is not None]
        return (min(lows), max(highs)) if lows and highs else None

    def nearest(self, moment: datetime) -> Step:
        """The step whose valid time is nearest ``moment`` (the earlier one on a tie)."""
        times = self.times
        i = bisect.bisect_left(times, moment)
        if i == 0:
            return self.steps[0]
        if i == len(times):
            return self.steps[-1]
        before, after = self.steps[i - 1], self.steps[i]
        return after if after.valid_time - moment < moment - before.valid_time else before

    def shown_at(self, moment: datetime | None) -> Step:
        """The step a map or coverage shows at ``moment``: the nearest, the latest when
        no moment is given or the series has no times. A moment further from the time
        extent than the smallest spacing of the steps is refused (ValueError, with the
        extent in its message)."""
        times = self.times
        if moment is None or not times:
            return self.latest
        spacing = min((b - a for a, b in itertools.pairwise(times)), default=timedelta(hours=1))
        if moment < times[0] - spacing or moment > times[-1] + spacing:
            raise ValueError(f"{moment.isoformat()} is outside the time extent "
                             f"{times[0].isoformat()}/{times[-1].isoformat()}")
        return self.nearest(moment)

    def between(self, start: datetime | None, end: datetime | None) -> list[Step]:
        """The steps with ``start <= valid_time <= end`` (open ends unbounded)."""
        return [s for s in self.steps if s.valid_time is not None
                and (start is None or s.valid_time >= start)
                and (end is None or s.valid_time <= end)]


def collection_id(kind: str, variable: str, scenario: str | None) -> str:
    """``dem``, ``pm25_surface``, ``flood_depth``, ``flood_depth_<scenario>``..."""
    default = DEFAULT_VARIABLE.get(kind)
    if kind == "air_quality":
        base = f"{slug(variable)}_surface"
    elif kind in ("dem", "flood_depth", "rainfall"):
        base = kind if variable == default else f"{kind}_{slug(variable)}"
    else:
        base = slug(variable) if variable else "raster"
    return f"{base}_{slug(scenario)}" if scenario else base


def _step(row: Sequence) -> Step:
    (ident, _kind, _var, _scen, when, crs, path, width, height, res_x, res_y, stats,
     xmin, ymin, xmax, ymax) = row
    return Step(ident, when, Path(path), crs, width, height, (res_x, res_y), stats or {},
                (xmin, ymin, xmax, ymax))


def group(rows: Iterable[Sequence], reserved: set[str] = frozenset()) -> dict[str, Series]:
    """Series from :data:`SERIES_SQL` rows (in its order). Ids already ``reserved`` (the
    vector layers) or taken by another series are prefixed with the kind. In a series
    with timed steps, rows without a time are left out; of untimed rows only the latest
    catalogued stays (a DEM loaded again replaces the old one)."""
    found: dict[tuple, Series] = {}
    for row in rows:
        kind, variable, scenario = row[1], row[2] or DEFAULT_VARIABLE.get(row[1], "value"), row[3]
        key = (kind, variable, scenario)
        if key not in found:
            found[key] = Series("", kind, variable, scenario)
        found[key].steps.append(_step(row))
    out: dict[str, Series] = {}
    for series in found.values():
        timed = [s for s in series.steps if s.valid_time is not None]
        series.steps = timed if timed else series.steps[-1:]
        ident = collection_id(series.kind, series.variable, series.scenario)
        if ident in out or ident in reserved:
            ident = f"{series.kind}_{ident}"
        series.id = ident
        out[ident] = series
    return out
