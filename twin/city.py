"""The city profile: which city twin serves, read from one YAML file.

``config/city.yaml`` (Hà Nội) is the default; ``TWIN_CITY_PROFILE`` names another
(``config/cities/da-nang.yaml``). The profile holds the city's name, its extents
(CRS84), its time zone, its coordinate reference systems (storage, metric, the local
VN-2000 TM-3 zone, as an EPSG code or as parameters where EPSG has none), the AQI
scale shown first, the administrative levels, the river gauges with their alarm
levels, and what maps frame at start.

It is read once by whoever holds the settings (:attr:`twin.config.Settings.city`) and
passed to what needs it; no module reads it at import.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import cached_property
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pyproj import CRS
from pyproj.crs import ProjectedCRS
from pyproj.crs.coordinate_operation import TransverseMercatorConversion
from pyproj.exceptions import CRSError

DEFAULT_PROFILE = Path(__file__).resolve().parent.parent / "config" / "city.yaml"
ZONE_PATTERN = r"^[A-Za-z][A-Za-z0-9_+\-]*(/[A-Za-z0-9_+\-]+)*$"


class CityProfileError(ValueError):
    """The profile cannot be used; the message names the file and the field."""


class Extent(tuple):
    """A CRS84 box (minx, miny, maxx, maxy) that knows whose it is, so that a refusal
    can say "outside Đà Nẵng's plausible extent". It is a plain tuple otherwise."""

    city: str | None

    def __new__(cls, bounds, city: str | None = None) -> Extent:
        out = super().__new__(cls, (float(v) for v in bounds))
        out.city = city
        return out

    def __reduce__(self):
        return (Extent, (tuple(self), self.city))


Box = tuple[float, float, float, float]


def _check_box(box: Box, what: str) -> Box:
    x0, y0, x1, y1 = box
    if not (-180 <= x0 < x1 <= 180 and -90 <= y0 < y1 <= 90):
        raise ValueError(f"{what} must be [minlon, minlat, maxlon, maxlat] in CRS84")
    return box


def _inside(inner: Box, outer: Box) -> bool:
    return outer[0] <= inner[0] and outer[1] <= inner[1] and inner[2] <= outer[2] \
        and inner[3] <= outer[3]


class Extents(BaseModel):
    model_config = ConfigDict(extra="forbid")

    municipality: Box = Field(description="The city's administrative boundary's box")
    plausible: Box = Field(description="Data outside this box is refused")

    @model_validator(mode="after")
    def _nested(self) -> Extents:
        _check_box(self.municipality, "extent.municipality")
        _check_box(self.plausible, "extent.plausible")
        if not _inside(self.municipality, self.plausible):
            raise ValueError("extent.plausible must contain extent.municipality")
        return self


class TransverseMercator(BaseModel):
    """A TM-3 zone given by its parameters, on a geodetic datum (VN-2000 by default, so
    that PROJ picks its transformation to WGS 84 from the EPSG database)."""

    model_config = ConfigDict(extra="forbid")

    central_meridian: float = Field(ge=-180, le=180)
    scale_factor: float = Field(0.9999, gt=0.9, le=1.1)
    false_easting: float = 500_000.0
    false_northing: float = 0.0
    latitude_of_origin: float = Field(0.0, ge=-90, le=90)
    datum: str = "EPSG:4756"
    name: str | None = None

    def crs(self) -> CRS:
        base = CRS.from_user_input(self.datum)
        if not base.is_geographic:
            raise ValueError(f"datum {self.datum!r} is not a geographic CRS")
        name = self.name or f"{base.name} / TM {self.central_meridian:g}"
        return ProjectedCRS(TransverseMercatorConversion(
            latitude_natural_origin=self.latitude_of_origin,
            longitude_natural_origin=self.central_meridian,
            false_easting=self.false_easting, false_northing=self.false_northing,
            scale_factor_natural_origin=self.scale_factor), geodetic_crs=base, name=name)


def _crs(value: str | TransverseMercator, what: str) -> CRS:
    try:
        return value.crs() if isinstance(value, TransverseMercator) else \
            CRS.from_user_input(value)
    except (CRSError, ValueError) as exc:
        raise ValueError(f"{what}: {value!r} is not a CRS PROJ knows ({exc})") from None


class Crs(BaseModel):
    model_config = ConfigDict(extra="forbid")

    storage: str = "EPSG:4326"
    metric: str = Field(description="Projected CRS in metres for rasters and analysis")
    local: str | TransverseMercator = Field(description="The local cadastral (TM-3) zone")

    @model_validator(mode="after")
    def _known(self) -> Crs:
        for name in ("storage", "metric", "local"):
            crs = _crs(getattr(self, name), f"crs.{name}")
            if name != "storage" and not crs.is_projected:
                raise ValueError(f"crs.{name}: {crs.name} is not a projected CRS")
        return self


class Gauge(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=1)
    name: str = Field(min_length=1)
    river: str | None = None
    alarm_levels_m: tuple[float, float, float] = Field(description="Alarm levels I, II, III")

    @field_validator("alarm_levels_m")
    @classmethod
    def _rising(cls, levels: tuple[float, float, float]) -> tuple[float, float, float]:
        if not levels[0] < levels[1] < levels[2]:
            raise ValueError("alarm levels I, II, III must rise")
        return levels


class View(BaseModel):
    model_config = ConfigDict(extra="forbid")

    center: tuple[float, float]
    bounds: Box
    zoom: float = Field(12, ge=0, le=22)

    @model_validator(mode="after")
    def _center_inside(self) -> View:
        _check_box(self.bounds, "view.bounds")
        lon, lat = self.center
        if not _inside((lon, lat, lon, lat), self.bounds):
            raise ValueError("view.center must lie inside view.bounds")
        return self


class CityProfile(BaseModel):
    """One city, as ``config/city.yaml`` describes it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=100)
    names: dict[str, str] = Field(default_factory=dict, description="Name per language")
    # The languages of human-facing text, the default first (twin speaks vi and en).
    languages: list[Literal["vi", "en"]] = Field(default=["vi", "en"], min_length=1)
    timezone: str = Field(pattern=ZONE_PATTERN)
    extent: Extents
    crs: Crs
    aqi_scale: Literal["vn", "us"] = "vn"
    admin_levels: list[str] = Field(min_length=1)
    former_admin_levels: list[str] = Field(default_factory=list)
    gauges: list[Gauge] = Field(default_factory=list)
    view: View

    @field_validator("timezone")
    @classmethod
    def _whole_hours(cls, name: str) -> str:
        """A zone IANA knows, a whole number of hours from UTC all year: the rollups and
        the AQI nest hours in local days and stack days of 24 hours."""
        try:
            zone = ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{name!r} is not an IANA time zone") from None
        offsets = {zone.utcoffset(datetime(2020 + y, m, 1)) for y in range(8) for m in (1, 7)}
        if len(offsets) > 1 or next(iter(offsets)) % timedelta(hours=1):
            raise ValueError(f"{name!r} keeps daylight saving or a part-hour offset; twin "
                             "needs a zone a constant whole number of hours from UTC")
        return name

    @model_validator(mode="after")
    def _view_inside(self) -> CityProfile:
        if not _inside(self.view.bounds, self.extent.plausible):
            raise ValueError("view.bounds must lie inside extent.plausible")
        codes = [g.code for g in self.gauges]
        if len(set(codes)) != len(codes):
            raise ValueError("gauges: two gauges have the same code")
        return self

    def title(self, lang: str | None = None) -> str:
        return self.names.get(lang or self.language, self.name)

    @property
    def language(self) -> str:
        """The default language of pages, reports and errors."""
        return self.languages[0]

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def plausible_extent(self) -> Extent:
        return Extent(self.extent.plausible, self.name)

    @cached_property
    def local_crs(self) -> CRS:
        return _crs(self.crs.local, "crs.local")

    @cached_property
    def metric_crs(self) -> CRS:
        return _crs(self.crs.metric, "crs.metric")

    @property
    def local_epsg(self) -> int | None:
        """The local zone's EPSG code, None when it is given by parameters alone."""
        return self.local_crs.to_epsg(min_confidence=100) if isinstance(
            self.crs.local, str) else None

    @property
    def metric_epsg(self) -> int | None:
        return self.metric_crs.to_epsg(min_confidence=100)

    @cached_property
    def offered_epsg(self) -> tuple[int, ...]:
        """EPSG codes the APIs offer besides CRS84, WGS 84 and Web Mercator: the local
        datum's geographic CRS (VN-2000), the metric CRS and the local zone, where they
        have a code (PostGIS transforms by code)."""
        datum = self.local_crs.geodetic_crs
        codes = (datum.to_epsg(min_confidence=100) if datum else None, self.metric_epsg,
                 self.local_epsg)
        return tuple(dict.fromkeys(c for c in codes if c is not None))

    def gauge(self, code: str) -> Gauge | None:
        return next((g for g in self.gauges if g.code == code), None)


def load_city(path: Path | str = DEFAULT_PROFILE) -> CityProfile:
    """Read and validate a city profile; errors name the file and the field."""
    path = Path(path)
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise CityProfileError(f"{path}: cannot read the city profile ({exc.strerror})") \
            from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise CityProfileError(f"{path}: not a YAML file ({exc})") from None
    if not isinstance(doc, dict):
        raise CityProfileError(f"{path}: a city profile is a mapping of fields")
    try:
        return CityProfile.model_validate(doc)
    except ValidationError as exc:
        parts = [f"{'.'.join(str(p) for p in e['loc']) or 'profile'}: "
                 f"{e['msg'].removeprefix('Value error, ')}" for e in exc.errors()]
        raise CityProfileError(f"{path}: " + "; ".join(parts)) from None
