"""Raster layers of the QGIS project from the ``rasters`` catalogue.

A catalogued COG becomes a GDAL layer when there is a URI QGIS can open: the file path
itself (``twin qgis-project --local-rasters``, for a QGIS on the server's machine), or
a URL from the ``raster_url`` hook a coverage route module may put in the server state
(``external_id -> URL`` of the COG; QGIS reads it through ``/vsicurl/`` range requests).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import timedelta

from twin.qgis.layers import RasterLayer

# A time series enters the project as one layer per step with a fixed temporal range
# (QGIS's temporal controller then animates it); QGIS opens every layer of a project as it
# loads, so only the latest STEPS_PER_SERIES steps of each series come in.
STEPS_PER_SERIES = 72
CATALOGUE_SQL = (
    "SELECT external_id, kind, variable, scenario, valid_time, crs, path FROM ("
    "SELECT *, row_number() OVER (PARTITION BY kind, variable, scenario "
    "ORDER BY valid_time DESC NULLS LAST) AS k FROM rasters) r "
    f"WHERE k <= {STEPS_PER_SERIES} "
    "ORDER BY kind, variable, scenario, valid_time, external_id")


def _title(external_id: str, kind: str, variable, scenario, valid_time) -> str:
    parts = [kind.replace("_", " ")] + [str(p) for p in (variable, scenario) if p]
    when = f" {valid_time:%Y-%m-%d %H:%M}" if valid_time is not None else ""
    return f"{' / '.join(parts)}{when} ({external_id})"


def raster_layers(rows: Iterable[tuple], uri_for: Callable[[str, str], str]) -> list[RasterLayer]:
    """RasterLayers from ``CATALOGUE_SQL`` rows; ``uri_for(external_id, path)`` gives
    the URI GDAL opens."""
    rows = list(rows)
    return [RasterLayer(layer_id=f"twin_raster_{external_id}",
                        title=_title(external_id, kind, variable, scenario, valid_time),
                        uri=uri_for(external_id, path), kind=kind, crs=crs,
                        series=" / ".join(str(p) for p in (kind, variable, scenario) if p),
                        start=valid_time, end=_next_time(rows, i))
            for i, (external_id, kind, variable, scenario, valid_time, crs, path)
            in enumerate(rows)]


def _next_time(rows: list[tuple], i: int):
    """End of step ``i``: the next step of the same series, else one step length on (an
    hour when the series has a single step); None for rasters without a time."""
    start = rows[i][4]
    if start is None:
        return None
    key = rows[i][1:4]
    same = [r[4] for r in rows if r[1:4] == key and r[4] is not None]
    later = [t for t in same if t > start]
    if later:
        return min(later)
    earlier = [t for t in same if t < start]
    step = start - max(earlier) if earlier else timedelta(hours=1)
    return start + step


def vsicurl(url: str) -> str:
    return f"/vsicurl/{url}"
