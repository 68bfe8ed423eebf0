"""Query parameters of the items endpoints, validated into one object."""

from __future__ import annotations

import base64
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from starlette.datastructures import QueryParams

from twin.registry import FieldSpec, FieldType, Layer
from twin.server.errors import InvalidParameter
from twin.server.params.crs import CRS84, OutputCRS, parse_crs
from twin.server.params.extent import check_bbox
from twin.server.params.negotiate import CSV, FGB, GEOJSON, GPKG, HTML, negotiate
from twin.server.params.values import (
    DEFAULT_LIMIT,
    TimeFilter,
    layer_datetime,
    parse_bbox,
    parse_int,
    parse_limit,
)

STANDARD = {"f", "limit", "offset", "cursor", "bbox", "bbox-crs", "crs", "datetime", "filter",
            "filter-lang", "filter-crs", "sortby", "properties", "skipGeometry", "lang"}
# GeoJSON is the items' JSON (f=json, Accept: application/json); JSON-LD is served as it.
ITEM_FORMATS = (GEOJSON.also("json", "jsonld", media=("application/json",)), HTML, CSV, FGB,
                GPKG)


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
    filter_tree: object | None = None  # a filter parsed already (pygeoapi's pages)
    filter_crs: OutputCRS = CRS84
    sortby: list[tuple[str, bool]] = field(default_factory=list)  # (field, descending)
    properties: list[str] | None = None
    skip_geometry: bool = False
    equals: dict[str, object] = field(default_factory=dict)


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
    parts = [p.strip() for p in raw.split(",")]
    if not all(parts):  # properties= or a,,b: the document says names of properties
        raise InvalidParameter("properties: an empty name; list property names separated "
                               "by commas, or leave properties out")
    names = list(dict.fromkeys(parts))
    unknown = [n for n in names if n not in fields]
    if unknown:
        raise InvalidParameter(f"properties: unknown {', '.join(unknown)}; one of "
                               f"{', '.join(fields)}")
    return names


def literal(spec: FieldSpec, raw: str, where: str):
    """A query-string value converted to the field's type and checked against the field's
    enum, bounds and pattern, as the queryables and the OpenAPI document declare them
    (400 otherwise)."""
    value = _typed(spec, raw, where)
    if spec.enum is not None and value not in spec.enum:
        raise InvalidParameter(f"{where}: {raw[:100]!r} is not one of "
                               f"{', '.join(map(str, spec.enum))}")
    number = isinstance(value, (int, float))
    if number and ((spec.min is not None and value < spec.min)
                   or (spec.max is not None and value > spec.max)):
        raise InvalidParameter(f"{where}: {raw[:100]!r} is outside "
                               f"[{spec.min if spec.min is not None else ''}, "
                               f"{spec.max if spec.max is not None else ''}]")
    if spec.pattern and isinstance(value, str) and not re.search(spec.pattern, value):
        raise InvalidParameter(f"{where}: {raw[:100]!r} does not match {spec.pattern}")
    return value


def _typed(spec: FieldSpec, raw: str, where: str):
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
                queryable: dict[str, FieldSpec], offered: Sequence[int] = ()) -> ItemsQuery:
    """The items query; ``offered``: the city's CRS codes (crs, bbox-crs, filter-crs)."""
    q = ItemsQuery(fmt=negotiate(params, accept, ITEM_FORMATS).key)
    q.limit = parse_limit(params)
    q.offset = parse_int(params, "offset", 0, 0, 10**9)
    if "cursor" in params:
        q.after_id = decode_cursor(params["cursor"])
    q.crs = parse_crs(params.get("crs"), layer.srid, "crs", offered)
    if "bbox" in params:
        q.bbox = parse_bbox(params["bbox"])
        q.bbox_crs = parse_crs(params.get("bbox-crs"), layer.srid, "bbox-crs", offered)
        check_bbox(q.bbox, "OGC:CRS84" if q.bbox_crs == CRS84 else q.bbox_crs.srid)
    elif "bbox-crs" in params:
        raise InvalidParameter("bbox-crs given without bbox")
    if "datetime" in params:
        q.time = layer_datetime(layer, params["datetime"])  # history: the versions valid then
    # filter-lang and filter-crs are checked also without a filter (400, not ignored)
    q.filter_lang = params.get("filter-lang", "cql2-text")
    if q.filter_lang not in ("cql2-text", "cql2-json"):
        raise InvalidParameter("filter-lang: use cql2-text or cql2-json")
    q.filter_crs = parse_crs(params.get("filter-crs"), layer.srid, "filter-crs", offered)
    if "filter" in params:
        q.filter_text = params["filter"]
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
