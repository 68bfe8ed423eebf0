"""What the EDR collection offers: its parameters and its extent, read once at start-up.

The extent costs a few index probes, never a scan of the readings: the stations'
bbox comes from the small stations table, the time range from ``min``/``max`` of
``observed_at``, which PostgreSQL answers from the first and last entries of the
(observed_at, property) index of the first and last non-empty partitions.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import psycopg

AQI_TABLE = "station_aqi"


@dataclass(frozen=True)
class Parameter:
    """One EDR parameter: an observed property and how it is measured."""
    id: str
    label: str
    unit: str          # the unit as stored and shown (µg/m³)
    ucum: str          # its UCUM code (ug/m3)
    description: str
    aqi_scale: str | None = None   # 'vn' or 'us' for the AQI parameters (station_aqi)


PM = "mass concentration in ambient air, 1-hour average of the monitor's reports"
OBSERVED = (
    Parameter("pm25", "PM2.5", "µg/m³", "ug/m3", f"Fine particulate matter (PM2.5) {PM}"),
    Parameter("pm10", "PM10", "µg/m³", "ug/m3", f"Particulate matter (PM10) {PM}"),
    Parameter("no2", "Nitrogen dioxide", "µg/m³", "ug/m3", "NO₂ mass concentration"),
    Parameter("o3", "Ozone", "µg/m³", "ug/m3", "O₃ mass concentration"),
    Parameter("co", "Carbon monoxide", "µg/m³", "ug/m3", "CO mass concentration"),
    Parameter("so2", "Sulphur dioxide", "µg/m³", "ug/m3", "SO₂ mass concentration"),
    Parameter("temperature", "Air temperature", "°C", "Cel", "Air temperature at the monitor"),
    Parameter("humidity", "Relative humidity", "%", "%", "Relative humidity of the air"),
    Parameter("water_level_m", "Water level", "m", "m",
              "Water level above the gauge datum"),
    Parameter("rain_mm", "Rainfall", "mm", "mm", "Rainfall depth since the previous report"),
)
AQI = (
    Parameter("aqi_vn", "VN_AQI (hourly)", "AQI", "1",
              "Vietnam's hourly air quality index (Decision 1459/QĐ-TCMT, 2019)", "vn"),
    Parameter("aqi_us", "US AQI (hourly)", "AQI", "1",
              "US EPA air quality index, hourly (2024 PM2.5 breakpoints)", "us"),
)


@dataclass(frozen=True)
class Catalogue:
    """The collection as found in the database when the server started."""
    parameters: dict[str, Parameter]
    bbox: tuple[float, float, float, float]
    begin: datetime | None
    end: datetime | None
    has_aqi: bool = False

    def observed(self, names: list[str]) -> list[str]:
        return [n for n in names if self.parameters[n].aqi_scale is None]

    def aqi_scales(self, names: list[str]) -> list[str]:
        return [s for n in names if (s := self.parameters[n].aqi_scale)]


def probe(conn: psycopg.Connection, fallback_bbox: tuple[float, ...]) -> Catalogue:
    """Read the catalogue: parameters (AQI only if ``station_aqi`` exists), stations'
    bbox and the readings' time range."""
    has_aqi = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (AQI_TABLE,)).fetchone()[0]
    bbox = conn.execute(
        "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) "
        "FROM (SELECT ST_Extent(geom) AS e FROM sensor_stations) s").fetchone()
    begin, end = conn.execute(
        "SELECT (SELECT min(observed_at) FROM sensor_readings), "
        "(SELECT max(observed_at) FROM sensor_readings)").fetchone()
    params = {p.id: p for p in OBSERVED + (AQI if has_aqi else ())}
    box = tuple(float(v) for v in bbox) if bbox[0] is not None else tuple(fallback_bbox)
    return Catalogue(parameters=params, bbox=box, begin=begin, end=end, has_aqi=has_aqi)


def latest(conn: psycopg.Connection) -> datetime | None:
    """The newest reading's time (one index probe): the live end of the extent."""
    return conn.execute("SELECT max(observed_at) FROM sensor_readings").fetchone()[0]
