"""An EDR request, validated: which parameters, which time window, which places.

pygeoapi has parsed ``coords`` (a shapely geometry), ``bbox`` and checked that
``datetime`` parses and meets the extent; what it passes is checked again here with
twin's rules, so each mistake is a 400 that names the parameter and what to fix.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from twin.server.edr.catalogue import Catalogue
from twin.server.errors import InvalidParameter
from twin.server.params.extent import check_bbox
from twin.server.params.values import TimeFilter, bbox_values, parse_datetime

UNITS_M = {"m": 1.0, "km": 1000.0}
MAX_RADIUS_M = 100_000.0


@dataclass(frozen=True)
class Window:
    """Readings with ``start <= observed_at <= end`` (inclusive, as EDR's datetime); an
    open end is None."""
    start: object = None
    end: object = None

    @classmethod
    def parse(cls, raw: str | None) -> Window:
        if not raw:
            return cls()
        tf: TimeFilter = parse_datetime(raw)
        return cls(tf.start, tf.end)

    @property
    def given(self) -> bool:
        return self.start is not None or self.end is not None


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def require_window(kind: str, window: Window, catalogue: Catalogue, max_days: int,
                   now: datetime | None = None) -> None:
    """``cube`` and ``area`` queries must say when, within ``max_days``: without it they
    would return every reading ever made in the area. An open start reaches back to the
    first reading, an open end to now (or the last reading, if later)."""
    now = now or datetime.now(UTC)
    what = f"datetime: {'an' if kind[0] in 'aeiou' else 'a'} {kind} query"
    if not window.given:
        end = catalogue.end or now   # the example: the last day of readings
        raise InvalidParameter(
            f"{what} needs datetime, an instant or an interval of at most {max_days} days "
            f"(e.g. datetime={iso(end - timedelta(days=1))}/{iso(end)}); without it the "
            "query would cover every reading ever made there, so narrow datetime to the "
            "period you need")
    start = window.start or catalogue.begin
    if start is None:
        raise InvalidParameter(f"{what} needs the interval's start (at most {max_days} "
                               "days before its end), not '..'")
    end = window.end or (max(now, catalogue.end) if catalogue.end else now)
    if end - start > timedelta(days=max_days):
        days = (end - start) / timedelta(days=1)
        raise InvalidParameter(
            f"{what} may span at most {max_days} days; this one spans {days:,.1f} (an open "
            "start reaches back to the first reading, an open end to now); narrow "
            "datetime, or split the period into several requests")


def parameter_names(raw: list[str] | str | None, catalogue: Catalogue) -> list[str]:
    """The requested parameters in the order given, or all of them; an unknown name is a
    400 that names it and lists the known ones."""
    if isinstance(raw, str):
        raw = raw.split(",")
    names = [n.strip() for n in (raw or []) if n.strip()]
    if not names:
        return list(catalogue.parameters)
    unknown = [n for n in names if n not in catalogue.parameters]
    if unknown:
        raise InvalidParameter(
            f"parameter-name: unknown {', '.join(repr(n) for n in unknown)}; this "
            f"collection has {', '.join(catalogue.parameters)}")
    return list(dict.fromkeys(names))


def radius_m(within, units) -> float:
    """``within`` in ``within-units`` (m or km) as metres."""
    if within in (None, ""):
        raise InvalidParameter("within: a radius query needs a distance, e.g. within=2")
    if units in (None, ""):
        raise InvalidParameter("within-units: a radius query needs units: m or km")
    if str(units).lower() not in UNITS_M:
        raise InvalidParameter(f"within-units: {units!r} is not one of m, km")
    try:
        value = float(within)
    except (TypeError, ValueError):
        raise InvalidParameter(f"within: {within!r} is not a number") from None
    metres = value * UNITS_M[str(units).lower()]
    if not math.isfinite(metres) or metres <= 0 or metres > MAX_RADIUS_M:
        raise InvalidParameter(f"within: the radius must be above 0 and at most "
                               f"{MAX_RADIUS_M / 1000:g} km")
    return metres


def wkt_of(geometry, kinds: tuple[str, ...], what: str) -> str:
    """The WKT of pygeoapi's parsed ``coords`` if it is one of ``kinds`` and valid."""
    if geometry is None:
        raise InvalidParameter(f"coords: a {what} query needs coords")
    if geometry.geom_type not in kinds:
        raise InvalidParameter(f"coords: a {what} query takes {' or '.join(kinds)}, "
                               f"not {geometry.geom_type}")
    if geometry.is_empty or not geometry.is_valid:
        raise InvalidParameter(f"coords: the {geometry.geom_type} is empty or invalid "
                               "(self-intersecting, unclosed ring)")
    if geometry.has_z:
        raise InvalidParameter("coords: give 2D coordinates (lon lat); use z for heights")
    minx, miny, maxx, maxy = geometry.bounds
    if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        raise InvalidParameter("coords: coordinates must be longitude, latitude in degrees "
                               "(CRS84)")
    return geometry.wkt


def cube_bbox(bbox: list[float] | None) -> tuple[float, float, float, float]:
    """pygeoapi's parsed bbox (4 or 6 numbers; heights are ignored: stations have none)."""
    if not bbox:
        raise InvalidParameter("bbox: a cube query needs bbox=minlon,minlat,maxlon,maxlat")
    return check_bbox(bbox_values(bbox))
