"""Request bodies of edits, checked against the layer file before any SQL runs.

Every refusal is a 400 (413 for a body over the size limit, 415 for a body that is not
JSON) whose text says what to fix. Values are checked with the loaders' own
:func:`twin.ingest.fields.coerce`, geometry types with :func:`conform_type` and the
plausible extent with :func:`check_extent`, so an edit and a load accept the same data;
unlike a load, an invalid geometry is refused, never repaired.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import shapely
from pyproj import CRS
from shapely.errors import GEOSException
from starlette.requests import Request

from twin.feature_ids import RULE, unsafe_id
from twin.ingest.errors import LoadError
from twin.ingest.fields import coerce
from twin.ingest.geometry import CRS84, check_extent, conform_type, to_crs
from twin.registry import FieldSpec, FieldType, Layer
from twin.server.errors import InvalidParameter, RequestTooLarge, UnsupportedMediaType
from twin.server.limits import LIMITS
from twin.server.params.crs import OutputCRS, parse_crs

Mode = Literal["create", "replace", "update"]
JSON_TYPES = ("application/json", "application/geo+json", "application/merge-patch+json")


@dataclass(frozen=True)
class Limits:
    body_bytes: int = LIMITS.edit_body_bytes
    vertices: int = LIMITS.vertices        # per feature
    features: int = LIMITS.edit_features   # per POST of a FeatureCollection


@dataclass
class Change:
    """One checked feature: what to write."""
    external_id: str | None
    values: dict[str, Any] = field(default_factory=dict)   # field -> value to set
    wkb: bytes | None = None                               # in the layer's SRID
    bounds84: tuple[float, float, float, float] | None = None


class Invalid(InvalidParameter):
    """A body that cannot be written (400)."""


# --- the body ---------------------------------------------------------------------

async def read_json(request: Request, limits: Limits) -> Any:
    """The JSON body, refused when too large (413), not JSON (415) or malformed (400)."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media and media not in JSON_TYPES and not media.endswith("+json"):
        raise UnsupportedMediaType(f"send GeoJSON (Content-Type: application/geo+json), "
                                   f"not {media[:60]}")
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limits.body_bytes:
        raise _too_large(limits)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limits.body_bytes:
            raise _too_large(limits)
        chunks.append(chunk)
    raw = b"".join(chunks)
    if not raw.strip():
        raise Invalid("the request has no body; send a GeoJSON Feature")
    try:
        return json.loads(raw, parse_constant=_no_constant)
    except UnicodeDecodeError:
        raise Invalid("the body is not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise Invalid(f"the body is not valid JSON: {exc.msg} at line {exc.lineno} "
                      f"column {exc.colno}") from None
    except ValueError as exc:
        raise Invalid(f"the body is not valid JSON: {exc}") from None


def _no_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")


def _too_large(limits: Limits) -> RequestTooLarge:
    return RequestTooLarge(f"the body is larger than {limits.body_bytes // 1024} KiB; "
                           "send fewer features per request")


def features_of(doc: Any, allow_collection: bool, limits: Limits) -> tuple[list[dict], bool]:
    """The features of a body, and whether it was a FeatureCollection."""
    if not isinstance(doc, dict):
        raise Invalid("the body must be a GeoJSON Feature (a JSON object)")
    kind = doc.get("type")
    if kind == "FeatureCollection" and allow_collection:
        features = doc.get("features")
        if not isinstance(features, list) or not features:
            raise Invalid("a FeatureCollection needs a non-empty 'features' array")
        if len(features) > limits.features:
            raise Invalid(f"at most {limits.features} features per request")
        for n, feature in enumerate(features):
            if not isinstance(feature, dict) or feature.get("type") != "Feature":
                raise Invalid(f"features[{n}] is not a GeoJSON Feature")
        return features, True
    if kind != "Feature":
        what = "a Feature or a FeatureCollection" if allow_collection else "a Feature"
        raise Invalid(f"the body must be a GeoJSON Feature (\"type\": \"Feature\"); send "
                      f"{what}, not {str(kind)[:40]!r}")
    return [doc], False


def merge_patch_of(doc: Any) -> dict:
    """A PATCH body: a JSON Merge Patch (RFC 7396) of the feature's GeoJSON, as QGIS
    sends it (``{"properties": {...}}`` or ``{"geometry": {...}}``, no ``type``). Members
    it may hold: ``properties`` (merged; a null value empties that property),
    ``geometry`` (a whole geometry replaces the current one), ``type`` (``"Feature"``,
    unchanged) and ``id`` (unchanged); ``links`` and ``bbox`` are derived and ignored.
    Returned as the Feature :meth:`Checker.check` takes in ``update`` mode."""
    if not isinstance(doc, dict):
        raise Invalid("a PATCH body is a JSON merge patch of the feature: a JSON object "
                      "such as {\"properties\": {\"name\": \"...\"}}")
    if doc.get("type", "Feature") != "Feature":
        raise Invalid(f"a merge patch cannot change the feature's type to "
                      f"{str(doc.get('type'))[:40]!r}; leave type out or send \"Feature\"")
    unknown = sorted(set(doc) - {"type", "id", "properties", "geometry", "links", "bbox"})
    if unknown:
        raise Invalid(f"a merge patch of a feature may change properties and geometry, "
                      f"not {', '.join(str(u)[:40] for u in unknown[:5])}")
    if "properties" in doc and doc["properties"] is None:
        raise Invalid("properties cannot be removed as a whole; set single properties "
                      "to null to empty them")
    if isinstance(doc.get("geometry"), dict) and "type" not in doc["geometry"]:
        raise Invalid("geometry must be a whole GeoJSON geometry (with its type)")
    out = {k: v for k, v in doc.items() if k in ("id", "properties", "geometry")}
    return {"type": "Feature", **out}


# --- one feature ------------------------------------------------------------------

@dataclass
class Checker:
    """Checks features for one layer, one caller and one request CRS."""
    layer: Layer
    fields: dict[str, FieldSpec]      # the fields the caller may see (and so edit)
    crs: OutputCRS
    extent: tuple[float, float, float, float]
    limits: Limits = Limits()

    def check(self, doc: dict, mode: Mode, path_id: str | None = None,
              where: str = "") -> Change:
        at = f"{where}: " if where else ""
        try:
            change = Change(external_id=self._id(doc, mode, path_id))
            change.values = self._values(doc, mode)
            geometry = doc.get("geometry", ...)
            if geometry is ... or geometry is None:
                if mode != "update" or geometry is None:
                    raise Invalid("a feature needs a geometry" if geometry is ...
                                  else "geometry may not be null")
            else:
                change.wkb, change.bounds84 = self._geometry(geometry)
            self._id_field(change, mode)
        except Invalid as exc:
            raise Invalid(at + exc.description) from None
        if mode == "create" and change.external_id is None:
            change.external_id = str(uuid.uuid4())
        return change

    def _id(self, doc: dict, mode: Mode, path_id: str | None) -> str | None:
        given = doc.get("id")
        if given is not None and (isinstance(given, bool) or not isinstance(given, (str, int))):
            raise Invalid("id must be a string or an integer")
        if given is not None:
            given = str(given).strip()
            if not given or len(given) > 200:
                raise Invalid("id must be 1 to 200 characters")
            if mode == "create" and unsafe_id(given):
                raise Invalid(f"id {given!r}: {RULE} (clients put it in the URL as it is)")
        if mode == "create":
            return given
        if given is not None and given != path_id:
            raise Invalid(f"the body's id {given!r} is not the id in the path {path_id!r}")
        return path_id

    def _id_field(self, change: Change, mode: Mode) -> None:
        """A layer's id field is its feature id: given on create (or the id is taken from
        it), equal to the id, and never changed."""
        name = self.layer.id_field
        if not name or name not in change.values:
            return
        value = change.values[name]
        if mode == "create" and change.external_id is None:
            if isinstance(value, str) and unsafe_id(value):
                raise Invalid(f"{name} {value!r}: it is the feature id, and {RULE}")
            change.external_id = value
        elif mode == "create" and value != change.external_id:
            raise Invalid(f"{name} {value!r} must equal the feature id {change.external_id!r}: "
                          f"{self.layer.name} features are identified by their {name} (leave "
                          "id out to have it taken from there)")
        elif mode != "create" and value != change.external_id:
            raise Invalid(f"the id field cannot change: {name} is the feature id "
                          f"{change.external_id!r}, not {value!r}")

    def _values(self, doc: dict, mode: Mode) -> dict[str, Any]:
        props = doc.get("properties")
        if props is None:
            props = {}
        if not isinstance(props, dict):
            raise Invalid("properties must be a JSON object")
        readonly = {self.layer.measure_column} - {None}
        unknown = sorted(set(props) - set(self.fields) - readonly)
        if unknown:
            raise Invalid(f"unknown properties {', '.join(unknown)}; {self.layer.name} has "
                          f"{', '.join(self.fields)}")
        out: dict[str, Any] = {}
        problems = []
        for name, spec in self.fields.items():
            if name in props:
                raw = props[name]
            elif mode == "update":
                continue
            else:
                raw = None  # create and replace: a field left out is empty
            try:
                out[name] = _value(spec, raw)
            except ValueError as exc:
                problems.append(f"{name}: {exc}" if name in props or mode == "update"
                                else f"{name}: is required")
        if problems:
            raise Invalid("invalid properties: " + "; ".join(problems))
        return out

    def _geometry(self, geometry: Any) -> tuple[bytes, tuple]:
        if not isinstance(geometry, dict) or "type" not in geometry:
            raise Invalid("geometry must be a GeoJSON geometry object")
        kind = geometry.get("type")
        if kind == "GeometryCollection" or kind not in (
                "Point", "LineString", "Polygon", "MultiPoint", "MultiLineString",
                "MultiPolygon"):
            raise Invalid(f"geometry type {str(kind)[:40]!r} cannot be stored in "
                          f"{self.layer.name}, which holds {self.layer.geometry}")
        try:
            geom = shapely.from_geojson(json.dumps(geometry))
        except (GEOSException, ValueError, TypeError) as exc:
            raise Invalid(f"geometry is not valid GeoJSON: {str(exc)[:200]}") from None
        if geom is None or geom.is_empty:
            raise Invalid("geometry is empty")
        count = shapely.get_num_coordinates(geom)
        if count > self.limits.vertices:
            raise Invalid(f"geometry has {count} vertices; at most {self.limits.vertices}")
        geom = shapely.force_2d(geom)
        if not np.isfinite(shapely.get_coordinates(geom)).all():
            raise Invalid("geometry has coordinates that are not finite numbers")
        if conform_type(geom, self.layer.geometry) is None:
            raise Invalid(f"a {geom.geom_type} cannot be stored in {self.layer.name}, which "
                          f"holds {self.layer.geometry}")
        if self.crs.lat_first:  # e.g. EPSG:4326: latitude first (OGC API Features Part 2)
            geom = shapely.transform(geom, lambda xy: xy[:, ::-1])
        if not shapely.is_valid(geom):
            raise Invalid(f"geometry is invalid: {shapely.is_valid_reason(geom)}; fix it "
                          "(twin does not repair edits)")
        source = CRS.from_epsg(self.crs.srid) if self.crs.srid != 4326 else CRS84
        geom84 = to_crs(np.array([geom]), source, CRS84)
        try:
            check_extent(geom84, self.extent, ["geometry"])
        except LoadError as exc:
            problem = exc.problems[0] if exc.problems else ""
            hint = ("latitude and longitude look swapped: send longitude first, or declare "
                    "latitude first with Content-Crs: <http://www.opengis.net/def/crs/EPSG/0/"
                    "4326>" if "swapped" in problem else
                    "is the Content-Crs header right? Without it coordinates are CRS84 "
                    "(longitude, latitude)")
            city = getattr(self.extent, "city", None)   # twin.city.Extent names its city
            whose = f" of {city}" if city else ""
            raise Invalid(f"geometry lies outside the plausible extent{whose} {tuple(self.extent)} "
                          f"(CRS84), {problem.removeprefix('geometry: ')}; {hint}") from None
        stored = geom84 if self.layer.srid == 4326 else to_crs(
            geom84, CRS84, CRS.from_epsg(self.layer.srid))
        out = conform_type(stored[0], self.layer.geometry)
        if out is None or not shapely.is_valid(out):
            raise Invalid(f"geometry is invalid in the layer's CRS {self.layer.storage_crs}")
        return shapely.to_wkb(out), tuple(shapely.bounds(geom84[0]).tolist())


def _value(spec: FieldSpec, raw: Any) -> Any:
    """One property value, as the loaders coerce it, but JSON-typed: no objects, no
    booleans for numbers, lists only for list fields."""
    if isinstance(raw, dict):
        raise ValueError("an object is not a valid value")
    if isinstance(raw, list) and spec.type is not FieldType.string_list:
        raise ValueError(f"a list is not a valid {spec.type.value}")
    if isinstance(raw, bool) and spec.type in (FieldType.integer, FieldType.number):
        raise ValueError(f"{raw!r} is not a valid {spec.type.value}")
    if isinstance(raw, (int, float)) and not isinstance(raw, bool) and spec.type in (
            FieldType.date, FieldType.datetime, FieldType.string_list):
        raise ValueError(f"{raw!r} is not a valid {spec.type.value}")
    return coerce(spec, raw)


def content_crs(request: Request, layer: Layer, offered: Sequence[int] = ()) -> OutputCRS:
    """The CRS of the body's coordinates: the ``Content-Crs`` header (a URI, optionally in
    angle brackets; one of the city's ``offered`` codes or a universal one), CRS84
    without one."""
    raw = request.headers.get("content-crs")
    if raw is None:
        return parse_crs(None, layer.srid)
    return parse_crs(raw.strip().strip("<>").strip(), layer.srid, "Content-Crs", offered)
