"""The EDR collection in pygeoapi's configuration, and what its provider needs at run time.

:func:`resources` is called once per worker by the bridge's configuration builder. It
reads the catalogue (parameters, extent: index probes only), registers it beside the
bridge's database source (the configuration only names the key, as for
:class:`twin.server.pygeoapi.provider.TwinProvider`) and returns the ``sensor_readings``
resource. Options come from an optional ``edr:`` section of ``config/server.yaml``.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any, Literal

import psycopg
from pydantic import BaseModel, ConfigDict, Field, PositiveInt

from twin.server.edr.catalogue import Catalogue, probe
from twin.server.edr.formatters import FORMATTERS
from twin.server.pygeoapi.config import server_options
from twin.server.state import ServerState

log = logging.getLogger("twin.server")

COLLECTION = "sensor_readings"
PROVIDER = "twin.server.edr.provider.ReadingsProvider"
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
GREGORIAN = "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"


class EDROptions(BaseModel):
    """``edr:`` in config/server.yaml."""
    model_config = ConfigDict(extra="forbid")
    value_limit: int = Field(2_000_000, ge=1, description=(
        "Refuse (400) a request the planner expects to return more values than this"))
    output_bytes: dict[Literal["json", "geojson", "csv", "html"], PositiveInt] = Field(
        default_factory=dict, description=(
            "Per format (f), the most bytes a response may have (413 over it); those not "
            "named here are the limits table's (twin.server.limits)"))
    position_tolerance_m: float = Field(1500.0, gt=0, le=50_000, description=(
        "A position query is answered by the nearest station within this distance"))
    extent_refresh_s: float = Field(60.0, ge=0, description=(
        "How often the end of the time extent follows new readings (0: never)"))


@dataclass
class EDRSource:
    """What a provider instance needs beyond the database: catalogue and options."""
    catalogue: Catalogue
    options: EDROptions


_SOURCES: dict[str, EDRSource] = {}
_LOCK = threading.Lock()


def register(key: str, source: EDRSource) -> None:
    with _LOCK:
        _SOURCES[key] = source


def get(key: str) -> EDRSource:
    return _SOURCES[key]



def read_catalogue(state: ServerState, timeout: int = 5) -> Catalogue:
    """The catalogue from the database; without one, every parameter but AQI and the
    plausible extent (the server still starts, as for the layers' extents). One plain
    connection: a refused one fails at once, where the pool would retry for its timeout."""
    from twin.server.edr.catalogue import OBSERVED

    fallback = tuple(state.settings.plausible_extent)
    try:
        with psycopg.connect(state.db.dsn, connect_timeout=timeout, autocommit=True) as conn:
            return probe(conn, fallback)
    except psycopg.OperationalError as exc:
        log.warning("EDR catalogue not read (%s); sensor_readings advertises every "
                    "observed property and the plausible extent", exc)
        return Catalogue({p.id: p for p in OBSERVED}, fallback, None, None)


def resource(catalogue: Catalogue, source: str, base_url: str) -> dict[str, Any]:
    temporal = {"begin": catalogue.begin, "end": catalogue.end, "trs": GREGORIAN}
    return {
        "type": "collection",
        "title": {"vi": "Số liệu quan trắc", "en": "Sensor readings"},
        "description": {
            "vi": "Chất lượng không khí, mực nước và lượng mưa đo tại các trạm của twin "
                  "(sensor_stations), dạng chuỗi thời gian theo trạm: các truy vấn OGC API "
                  "– EDR position, radius, area, cube và locations.",
            "en": "Air quality, water level and rainfall observed at twin's stations "
                  "(sensor_stations), as time series per station: OGC API – EDR "
                  "position, radius, area, cube and locations queries."},
        "keywords": {"vi": ["môi trường", "chất lượng không khí", "mực nước", "lượng mưa",
                            "chuỗi thời gian"],
                     "en": ["environment", "air quality", "water level", "rainfall",
                            "time series"]},
        "links": [],
        "extents": {"spatial": {"bbox": list(catalogue.bbox), "crs": CRS84},
                    "temporal": temporal},
        "providers": [{"type": "edr", "name": PROVIDER, "crs": [CRS84],
                       "storage_crs": CRS84,
                       "data": {"source": source, "collection": COLLECTION,
                                "base_url": base_url}}],
        # CSV downloads as sensor_readings.csv; the JSON formats display in a browser.
        "formatters": [{"name": name, "attachment": name.endswith(".CSV")}
                       for name in FORMATTERS],
    }


def resources(state: ServerState, source: str) -> dict[str, dict]:
    options = server_options(state, "edr", EDROptions)
    catalogue = read_catalogue(state)
    register(source, EDRSource(catalogue, options))
    return {COLLECTION: resource(catalogue, source, state.url(f"collections/{COLLECTION}"))}
