"""Raster layers of the QGIS project from the ``rasters`` catalogue.

A catalogued COG becomes a GDAL layer when there is a URI QGIS can open: the file path
itself (``twin qgis-project --local-rasters``, for a QGIS on the server's machine), or
a URL from the ``raster_url`` hook a coverage route module may put in the server state
(``external_id -> URL`` of the COG; QGIS reads it through ``/vsicurl/`` range requests).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from twin.qgis.layers import RasterLayer

CATALOGUE_SQL = ("SELECT external_id, kind, variable, scenario, valid_time, crs, path "
                 "FROM rasters ORDER BY kind, variable, scenario, valid_time, external_id")


def _title(external_id: str, kind: str, variable, scenario, valid_time) -> str:
    parts = [kind.replace("_", " ")] + [str(p) for p in (variable, scenario) if p]
    when = f" {valid_time:%Y-%m-%d %H:%M}" if valid_time is not None else ""
    return f"{' / '.join(parts)}{when} ({external_id})"


def raster_layers(rows: Iterable[tuple], uri_for: Callable[[str, str], str]) -> list[RasterLayer]:
    """RasterLayers from ``CATALOGUE_SQL`` rows; ``uri_for(external_id, path)`` gives
    the URI GDAL opens."""
    return [RasterLayer(layer_id=f"twin_raster_{external_id}",
                        title=_title(external_id, kind, variable, scenario, valid_time),
                        uri=uri_for(external_id, path), kind=kind, crs=crs)
            for external_id, kind, variable, scenario, valid_time, crs, path in rows]


def vsicurl(url: str) -> str:
    return f"/vsicurl/{url}"
