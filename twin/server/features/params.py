"""Query parameters of the items endpoints, validated into one object."""

from __future__ import annotations

import base64
import math
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from starlette.datastructures import QueryParams

from twin.registry import FieldSpec, FieldType, Layer
from twin.server.errors import InvalidParameter
from twin.server.features.crs import CRS84, OutputCRS, parse_crs
from twin.server.limits import LIMITS

DEFAULT_LIMIT = LIMITS.default_page_size
MAX_LIMIT = LIMITS.page_size
STANDARD = {"f", "limit", "offset", "cursor", "bbox", "bbox-crs", "crs", "datetime", "filter",
            "filter-lang", "filter-crs", "sortby", "properties", "skipGeometry", "lang"}
FORMATS = {"json": "geojson", "geojson": "geojson", "html": "html", "csv": "csv",
           "fgb": "fgb", "flatgeobuf": "fgb", "gpkg": "gpkg", "jsonld": "geojson"}
ACCEPT = [("application/geo+json", "geojson"), ("application/json", "geojson"),
          ("text/html", "html"), ("text/csv", "csv"), ("application/flatgeobuf", "fgb"),
          ("application/geopackage+sqlite3", "gpkg")]


@dataclass
class TimeFilter:
    start: datetime | None
    end: datetime | None
    instant: bool = False


@dataclass
class ItemsQuery:
    fmt: str = "geojson"
    limit: int = DEFAULT_LIMIT
    offset: int = 0
    after_id: int | None = None
    bbox: tuple[float, ...] | None = None
    bbox_crs: OutputCRS = CRS84
    crs: OutputCRS = CRS84
    time: TimeFilter | None = None
    filter_text: str | None = None
    filter_lang: str = "cql2-text"
    filter_crs: OutputCRS = CRS84
    sortby: list[tuple[str, bool]] = field(default_factory=list)  # (field, descending)
    properties: list[str] | None = None
    skip_geometry: bool = False
    equals: dict[str, object] = field(default_factory=dict)


def negotiate(params: QueryParams, accept: str | None, allowed=FORMATS) -> str:
    f = params.get("f")
    if f is not None:
        if f.lower() not in allowed:
            raise InvalidParameter(f"f: {f!r} is not one of {', '.join(sorted(allowed))}")
        return allowed[f.lower()]
    for media, fmt in _accepted(accept or ""):
        if fmt in allowed.values():
            return fmt
    return "geojson"


def _accepted(header: str) -> list[tuple[str, str]]:
    ranked = []
    for n, part in enumerate(header.split(",")):
        media, _, params = part.strip().partition(";")
        q = 1.0
        for p in params.split(";"):
            key, _, value = p.strip().partition("=")
            if key == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        ranked.append((-q, n, media.strip().lower()))
    out = []
    for _, _, media in sorted(ranked):
        out += [(m, fmt) for m, fmt in ACCEPT if m == media]
    return out


def parse_int(params: QueryParams, name: str, default: int, lo: int, hi: int) -> int:
    raw = params.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise InvalidParameter(f"{name}: {raw!r} is not an integer") from None
    if not lo <= value <= hi:
        raise InvalidParameter(f"{name}: {value} is outside {lo}..{hi}")
    return value


def parse_bbox(raw: str) -> tuple[float, ...]:
    try:
        values = tuple(float(v) for v in raw.split(","))
    except ValueError:
        raise InvalidParameter(f"bbox: {raw!r} must be 4 or 6 comma-separated numbers") from None
    if len(values) not in (4, 6) or not all(math.isfinite(v) for v in values):
        raise InvalidParameter(f"bbox: {raw!r} must be 4 or 6 finite numbers")
    if len(values) == 6:
        values = (values[0], values[1], values[3], values[4])
    if values[0] > values[2] or values[1] > values[3]:
        raise InvalidParameter("bbox: the lower corner must come before the upper corner")
    return values


def _moment(text: str, end: bool) -> datetime | None:
    if text in ("", ".."):
        return None
    try:
        if "T" not in text.upper() and len(text) <= 10:
            day = date.fromisoformat(text)
            moment = datetime.combine(day, time.min, tzinfo=UTC)
            return moment + timedelta(days=1) - timedelta(microseconds=1) if end else moment
        stamp = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
        stamp = stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)
        stamp.astimezone(UTC)  # an offset that pushes it past year 9999 fails here
    except ValueError:
        raise InvalidParameter(f"datetime: {text!r} is not an RFC 3339 date or date-time") \
            from None
    except OverflowError:
        raise InvalidParameter(f"datetime: {text!r} is out of range") from None
    return stamp


def parse_datetime(raw: str) -> TimeFilter:
    """An instant (a date covers that whole day), a closed or an open interval."""
    if "/" not in raw:
        if raw in ("", ".."):
            raise InvalidParameter("datetime: an instant cannot be open ('..')")
        return TimeFilter(_moment(raw, False), _moment(raw, True), instant=True)
    first, _, second = raw.partition("/")
    start, end = _moment(first, False), _moment(second, True)
    if start is None and end is None:
        raise InvalidParameter("datetime: '../..' is not an interval; leave datetime out")
    if start and end and start > end:
        raise InvalidParameter("datetime: the interval ends before it starts")
    return TimeFilter(start, end)


def parse_sortby(raw: str, fields: dict[str, FieldSpec]) -> list[tuple[str, bool]]:
    out = []
    for part in (p.strip() for p in raw.split(",")):
        desc = part.startswith("-")
        name = part.lstrip("+-").strip()
        if name not in fields:
            raise InvalidParameter(f"sortby: {name!r} is not a sortable property; one of "
                                   f"{', '.join(fields)}")
        out.append((name, desc))
    return out


def parse_properties(raw: str, fields: dict[str, FieldSpec]) -> list[str]:
    # A name listed twice is returned once: GeoPackage/FlatGeobuf cannot hold two columns
    # of one name (GDAL refuses the layer), and JSON would repeat the key.
    names = list(dict.fromkeys(p.strip() for p in raw.split(",") if p.strip()))
    unknown = [n for n in names if n not in fields]
    if unknown:
        raise InvalidParameter(f"properties: unknown {', '.join(unknown)}; one of "
                               f"{', '.join(fields)}")
    return names


def literal(spec: FieldSpec, raw: str, where: str):
    """A query-string value converted to the field's type (400 if it can't be)."""
    try:
        if spec.type == FieldType.integer:
            return int(raw)
        if spec.type == FieldType.number:
            return float(raw)
        if spec.type == FieldType.boolean:
            return {"true": True, "false": False, "1": True, "0": False}[raw.lower()]
        if spec.type == FieldType.date:
            return date.fromisoformat(raw)
        if spec.type == FieldType.datetime:
            return datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except (ValueError, KeyError):
        raise InvalidParameter(f"{where}: {raw!r} is not a valid {spec.type.value}") from None
    return raw


def decode_cursor(raw: str) -> int:
    try:
        kind, _, value = base64.urlsafe_b64decode(raw.encode() + b"==").decode().partition(":")
        if kind != "id":
            raise ValueError
        return int(value)
    except (ValueError, UnicodeDecodeError):
        raise InvalidParameter("cursor: not a cursor this server issued; follow the 'next' "
                               "link as given") from None


def encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(f"id:{last_id}".encode()).decode().rstrip("=")


def parse_items(params: QueryParams, accept: str | None, layer: Layer,
                queryable: dict[str, FieldSpec]) -> ItemsQuery:
    q = ItemsQuery(fmt=negotiate(params, accept))
    q.limit = parse_int(params, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
    q.offset = parse_int(params, "offset", 0, 0, 10**9)
    if "cursor" in params:
        q.after_id = decode_cursor(params["cursor"])
    q.crs = parse_crs(params.get("crs"), layer.srid, "crs")
    if "bbox" in params:
        q.bbox = parse_bbox(params["bbox"])
        q.bbox_crs = parse_crs(params.get("bbox-crs"), layer.srid, "bbox-crs")
    elif "bbox-crs" in params:
        raise InvalidParameter("bbox-crs given without bbox")
    if "datetime" in params:
        if not (layer.time_field or layer.history):
            raise InvalidParameter(f"datetime: collection {layer.name} has no time dimension")
        q.time = parse_datetime(params["datetime"])  # history layers: the versions valid then
    if "filter" in params:
        q.filter_text = params["filter"]
        q.filter_lang = params.get("filter-lang", "cql2-text")
        if q.filter_lang not in ("cql2-text", "cql2-json"):
            raise InvalidParameter("filter-lang: use cql2-text or cql2-json")
        q.filter_crs = parse_crs(params.get("filter-crs"), layer.srid, "filter-crs")
    if "sortby" in params:
        q.sortby = parse_sortby(params["sortby"], queryable)
    if "properties" in params:
        q.properties = parse_properties(params["properties"], queryable)
    skip = params.get("skipGeometry", "false").lower()
    if skip not in ("true", "false"):
        raise InvalidParameter("skipGeometry: use true or false")
    q.skip_geometry = skip == "true"
    for key, value in params.multi_items():
        if key in STANDARD:
            continue
        if key not in queryable:
            raise InvalidParameter(f"unknown parameter {key!r}: not a standard parameter nor "
                                   f"a queryable of {layer.name}")
        q.equals[key] = literal(queryable[key], value, key)
    return q
