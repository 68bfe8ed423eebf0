"""The coverage collections in pygeoapi's configuration, so ``/collections`` lists them.

twin serves coverages, maps, tiles, legends and positions with its own routes
(:mod:`twin.server.coverages.routes`): pygeoapi's rasterio coverage provider reads one
file without a time axis and has no maps of its own. pygeoapi still describes the
collections (JSON, HTML, JSON-LD, OpenAPI): each series becomes a ``coverage``
resource whose provider (:class:`twin.server.coverages.provider.SeriesProvider`)
answers pygeoapi's questions (grid size, fields, time range) from the live catalogue.

:func:`resources` is called once per worker by the configuration builder; it reads the
catalogue, which is then kept current per request (:mod:`.catalogue`) and, through
:func:`follow`, keeps pygeoapi's resources current too: a new series or a new hour
shows in ``/collections`` without a restart (the OpenAPI document stays as built).
Options come from an optional ``coverages:`` section of ``config/server.yaml``.
"""

from __future__ import annotations

import threading
from datetime import UTC
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from twin.rasters.series import Series
from twin.server.coverages.catalogue import LiveCatalogue
from twin.server.pygeoapi.config import server_options
from twin.server.state import ServerState

PROVIDER = "twin.server.coverages.provider.SeriesProvider"
OGC_REL = "http://www.opengis.net/def/rel/ogc/1.0"
CRS84_URI = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
GREGORIAN = "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"
GEOTIFF = "image/tiff; application=geotiff"


class CoverageOptions(BaseModel):
    """``coverages:`` in config/server.yaml."""
    model_config = ConfigDict(extra="forbid")
    max_cells: int = Field(16_777_216, ge=1, description=(
        "Refuse (400) a GeoTIFF coverage request of more cells than this"))
    max_json_cells: int = Field(1_000_000, ge=1, description=(
        "Refuse (400) a CoverageJSON coverage request of more cells than this"))
    max_side: int = Field(8192, ge=1, description="Largest width or height asked for")
    max_map_side: int = Field(4096, ge=1, description="Largest map image width or height")
    max_positions: int = Field(10_000, ge=1, description=(
        "Most time steps one position query samples"))
    refresh_s: float = Field(1.0, ge=0, description=(
        "How often a request checks the raster catalogue for new rasters"))


_CATALOGUES: dict[str, LiveCatalogue] = {}
_LOCK = threading.Lock()


def catalogue_of(source: str) -> LiveCatalogue:
    """The live catalogue :func:`resources` made for the bridge's ``source``."""
    return _CATALOGUES[source]



def links(state: ServerState, cid: str, timed: bool) -> list[dict]:
    """Links pygeoapi does not write for a coverage: map, map tiles, legend, position.
    Their titles are English strings (pygeoapi's configuration takes no other); the
    Vietnamese ones are in :data:`twin.server.pygeoapi.languages.LINK_TITLES_VI`."""
    base = state.url(f"collections/{cid}")
    out = [
        {"type": GEOTIFF, "rel": f"{OGC_REL}/coverage",
         "title": "Coverage as GeoTIFF",
         "href": f"{base}/coverage?f=GeoTIFF"},
        {"type": "application/json", "rel": f"{OGC_REL}/coverage-domainset",
         "title": "Domain set of the coverage",
         "href": f"{base}/coverage/domainset"},
        {"type": "application/json", "rel": f"{OGC_REL}/coverage-rangetype",
         "title": "Range type of the coverage",
         "href": f"{base}/coverage/rangetype"},
        {"type": "image/png", "rel": f"{OGC_REL}/map",
         "title": "Map (PNG)", "href": f"{base}/map?f=png"},
        {"type": "application/json", "rel": f"{OGC_REL}/tilesets-map",
         "title": "Map tilesets (PNG)",
         "href": f"{base}/map/tiles"},
        {"type": "image/png", "rel": "describedby",
         "title": "Legend (PNG)",
         "href": f"{base}/legend?f=png"},
        {"type": "application/json", "rel": "describedby",
         "title": "Legend (JSON)",
         "href": f"{base}/legend?f=json"},
    ]
    if timed:
        out.append({"type": "application/vnd.cov+json", "rel": "data",
                    "title": "EDR position query: values at a point over time",
                    "href": f"{base}/position"})
    return out


def resource(state: ServerState, series: Series, source: str) -> dict[str, Any]:
    """The pygeoapi resource of one series (extents from the catalogue)."""
    extents: dict[str, Any] = {"spatial": {"bbox": [float(v) for v in series.bbox],
                                           "crs": CRS84_URI}}
    if series.timed:
        times = series.times
        extents["temporal"] = {"begin": times[0].astimezone(UTC),
                               "end": times[-1].astimezone(UTC), "trs": GREGORIAN}
    keywords = [k for k in (series.kind, series.variable, series.scenario, "coverage") if k]
    return {
        "type": "collection",
        "title": series.titles(),
        "description": {
            "vi": f"{series.title_in('vi')}: {len(series.steps)} lưới đã lập danh mục, "
                  "dạng lớp phủ theo thời gian, bản đồ và ô bản đồ",
            "en": f"{series.title}: {len(series.steps)} catalogued grid(s) "
                  "as a time-aware coverage, map and map tiles"},
        "keywords": keywords,
        "links": links(state, series.id, series.timed),
        "extents": extents,
        "providers": [{"type": "coverage", "name": PROVIDER,
                       "data": {"source": source, "collection": series.id},
                       "format": {"name": "GeoTIFF", "mimetype": GEOTIFF}}],
    }


def resources(state: ServerState, source: str) -> dict[str, dict]:
    """One pygeoapi resource per coverage series in the catalogue now."""
    reserved = {layer.name for layer in state.registry}
    options = server_options(state, "coverages", CoverageOptions)
    catalogue = LiveCatalogue(state.db, reserved, options.refresh_s, source)
    catalogue.load_sync()
    with _LOCK:
        _CATALOGUES[source] = catalogue
    return {cid: resource(state, s, source) for cid, s in catalogue.series.items()}


def forget_translated_config() -> None:
    from twin.server.pygeoapi.bridge import forget_translated_config as forget

    forget()


def follow(configs: tuple[dict, ...], state: ServerState, catalogue: LiveCatalogue) -> None:
    """Keep the ``resources`` of ``configs`` (pygeoapi's configuration, shared with its
    API, and the copy its HTML templates read) in step with the catalogue: on each change
    the coverage resources are rebuilt and swapped in with one assignment, so a request
    being described meanwhile sees the old or the new set."""
    source = catalogue.source

    def update(series: dict[str, Series]) -> None:
        ours = {cid: resource(state, s, source) for cid, s in series.items()}
        for config in configs:
            kept = {k: v for k, v in config["resources"].items() if not _is_ours(v, source)}
            config["resources"] = {**kept, **ours}
        forget_translated_config()
    catalogue.listeners.append(update)


def _is_ours(res: dict, source: str) -> bool:
    return any(p.get("name") == PROVIDER and (p.get("data") or {}).get("source") == source
               for p in res.get("providers", []))
