"""A pygeoapi feature provider over twin's PostGIS tables, built on twin's SQL builder.

pygeoapi instantiates a provider per request (``load_plugin``), so construction is
cheap: it looks the layer up in a *source* registered once per process by the bridge
(:func:`register_source`: the registry and the database's sync pool). The
configuration only names the source, never a DSN.

It serves pygeoapi's HTML item pages, schema and OpenAPI; the fast JSON routes are
twin's own (``twin.server.features``). Private fields (``private: true`` in the layer
file) are neither described nor selected, so no response can carry them.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql
from psycopg_pool import ConnectionPool, PoolTimeout
from pygeoapi.provider.base import (
    BaseProvider,
    ProviderConnectionError,
    ProviderGenericError,
    ProviderItemNotFoundError,
    ProviderQueryError,
)

from twin.registry import FieldSpec, Layer, Registry
from twin.server.db import translate
from twin.server.errors import APIError, InvalidParameter, Unavailable
from twin.server.features import sql as fsql
from twin.server.features.counts import kept_count_sql, whole_layer
from twin.server.features.fields import measure_field
from twin.server.features.params import ItemsQuery, literal
from twin.server.params.binds import Params
from twin.server.params.crs import OutputCRS, crs_uri, parse_crs
from twin.server.params.values import bbox_values, layer_datetime

log = logging.getLogger("twin.server")


# --- sources: what a provider instance needs, registered once per process ----------

@dataclass(frozen=True)
class Source:
    registry: Registry
    pool: Callable[[], ConnectionPool]
    count_limit: int = 50_000  # numberMatched up to this, as twin's JSON route does


_SOURCES: dict[str, Source] = {}
_LOCK = threading.Lock()


def register_source(dsn: str, registry: Registry, pool: Callable[[], ConnectionPool],
                    count_limit: int = 50_000) -> str:
    """Make a registry and a sync pool available to TwinProvider in this process; returns
    the key the pygeoapi configuration names (a digest of the DSN, so a DSN's password
    never enters the configuration), unique per app: two apps on one DSN in one process
    (tests, embedded servers) must not share a pool that one of them closes."""
    key = ("pg-" + hashlib.blake2b(dsn.encode(), digest_size=8).hexdigest()
           + "-" + secrets.token_hex(4))
    with _LOCK:
        _SOURCES[key] = Source(registry, pool, count_limit)
    return key


def get_source(key: str) -> Source:
    try:
        return _SOURCES[key]
    except KeyError:
        raise ProviderConnectionError(
            f"twin source {key!r} is not registered in this process; TwinProvider runs "
            "inside twin's server (twin.server.pygeoapi.bridge registers it)") from None


# --- errors ------------------------------------------------------------------------

class TwinProviderError(ProviderGenericError):
    """A twin API error (status, OGC code, client-safe text) in pygeoapi's terms."""

    def __init__(self, err: APIError):
        super().__init__(user_msg=err.description)
        self.http_status_code = err.status
        self.ogc_exception_code = err.code


@contextmanager
def provider_errors() -> Iterator[None]:
    """Client errors keep their 4xx and text; an outage is a 503; anything else is
    pygeoapi's generic query error, whose client message says nothing internal."""
    try:
        yield
    except APIError as exc:
        raise TwinProviderError(exc) from None
    except PoolTimeout as exc:
        log.warning("database unavailable: %s", exc)
        raise TwinProviderError(Unavailable("the database is unavailable; retry shortly")) \
            from None
    except psycopg.Error as exc:
        translated = translate(exc)
        if isinstance(translated, APIError):
            raise TwinProviderError(translated) from None
        raise ProviderQueryError(f"{type(exc).__name__}: {exc}") from exc


# --- the provider ------------------------------------------------------------------


class TwinProvider(BaseProvider):
    """Features of one twin layer; ``data`` is ``{"layer": name, "source": key}``."""

    def __init__(self, provider_def: dict):
        super().__init__(provider_def)
        # The CRSs the configuration offers (the city's among them), as EPSG codes.
        self.offered = tuple(int(uri.rsplit("/", 1)[1]) for uri in provider_def.get("crs", [])
                             if "/EPSG/0/" in uri)
        data = self.data if isinstance(self.data, dict) else {}
        if "layer" not in data or "source" not in data:
            raise ProviderConnectionError("TwinProvider: data must be {layer, source}")
        self.source = get_source(data["source"])
        if data["layer"] not in self.source.registry:
            raise ProviderConnectionError(f"TwinProvider: unknown layer {data['layer']!r}")
        self.layer: Layer = self.source.registry.get(data["layer"])
        self.public = {f.name: f for f in self.layer.public_fields()}
        self.names = list(self.public) + ([self.layer.measure_column]
                                          if self.layer.measure_column else [])
        self._fields = self.get_fields()

    def get_fields(self) -> dict[str, dict]:
        """Public fields only (plus the computed length/area), as JSON Schema."""
        fields = {name: spec.json_schema() for name, spec in self.public.items()}
        measure = measure_field(self.layer)
        if measure is not None:
            fields[measure.name] = {**measure.json_schema(), "readOnly": True}
        return fields

    # pygeoapi passes all of these on every items request (BaseProvider declares none).
    def query(self, offset: int = 0, limit: int = 10, resulttype: str = "results",
              bbox: list[float] | None = None, datetime_: str | None = None,
              properties: list[tuple[str, str]] | None = None,
              sortby: list[dict] | None = None, select_properties: list[str] | None = None,
              skip_geometry: bool = False, q: str | None = None, filterq=None,
              crs_transform_spec=None, **kwargs) -> dict[str, Any]:
        with provider_errors():
            iq = self.items_query(offset, limit, bbox, datetime_, properties or [],
                                  sortby or [], select_properties or [], skip_geometry, q,
                                  crs_transform_spec)
            names = iq.properties if iq.properties is not None else self.names
            params = Params()
            where = self._where(iq, filterq, params)
            matched = self._count(iq, where, Params(params))
            out = {"type": "FeatureCollection", "features": [], "numberReturned": 0}
            if matched is not None:
                out["numberMatched"] = matched
            if resulttype == "hits":
                return out
            row = self._fetchone(fsql.page_sql(self.layer, iq, names, where, params), params)
        out["features"] = json.loads("[" + row[0] + "]")
        out["numberReturned"] = len(out["features"])
        return out

    def get(self, identifier: str, crs_transform_spec=None, **kwargs) -> dict[str, Any]:
        with provider_errors():
            out = self._output_crs(crs_transform_spec)
            row = self._fetchone(fsql.item_sql(self.layer, self.names, out),
                                 {"fid": str(identifier)})
        if row is None:
            raise ProviderItemNotFoundError(
                user_msg=f"item {identifier!r} not found in {self.layer.name}")
        return json.loads(row[0])

    # -- building blocks --

    def items_query(self, offset, limit, bbox, datetime_, properties, sortby,
                    select_properties, skip_geometry, q, crs_transform_spec) -> ItemsQuery:
        if q:
            raise InvalidParameter("q: free-text search is not supported; use filter")
        iq = ItemsQuery(limit=int(limit), offset=int(offset), skip_geometry=bool(skip_geometry))
        iq.crs = self._output_crs(crs_transform_spec)
        if bbox:
            # pygeoapi has already transformed the bbox to the storage CRS, in that CRS's
            # axis order (latitude first for EPSG:4326).
            iq.bbox = bbox_values([float(v) for v in bbox], ordered=False)
            iq.bbox_crs = self.storage_crs_out
        if datetime_:
            iq.time = layer_datetime(self.layer, datetime_)
        for name, value in properties:
            iq.equals[name] = literal(self._spec(name, "property filter"), value, name)
        iq.sortby = [(self._sortable(s["property"]), s.get("order") == "-") for s in sortby]
        if select_properties:
            unknown = [n for n in select_properties if n not in self.names]
            if unknown:
                raise InvalidParameter(f"properties: unknown {', '.join(unknown)}")
            iq.properties = list(select_properties)
        return iq

    @property
    def storage_crs_out(self) -> OutputCRS:
        return parse_crs(crs_uri(self.layer.srid), self.layer.srid)

    def _output_crs(self, spec) -> OutputCRS:
        """pygeoapi passes no transform spec when the requested CRS is the storage CRS."""
        if spec is None:
            return self.storage_crs_out
        return parse_crs(spec.target_crs_uri, self.layer.srid, offered=self.offered)

    def _spec(self, name: str, where: str) -> FieldSpec:
        if name not in self.public:
            raise InvalidParameter(f"{where}: {name!r} is not a queryable of {self.layer.name}")
        return self.public[name]

    def _sortable(self, name: str) -> str:
        if name not in self.names:
            raise InvalidParameter(f"sortby: {name!r} is not a sortable property")
        return name

    def _where(self, iq: ItemsQuery, filterq, params: Params) -> sql.Composable:
        """The WHERE of twin's items route, built by the same code (fsql.where_clause and
        its CQL2 evaluator): pygeoapi has parsed the filter (CQL2 text, or JSON from the
        body) and moved its geometries to the storage CRS, in that CRS's axis order."""
        iq.filter_tree, iq.filter_crs = filterq, self.storage_crs_out
        return fsql.where_clause(self.layer, iq, self.public, params)

    def _count(self, iq: ItemsQuery, where, params: Params) -> int | None:
        """Exact up to the server's count_limit (the count stops there), else None."""
        cap = self.source.count_limit
        if not cap:
            return None
        if whole_layer(self.layer, iq):  # the kept count: O(1), exact at any size
            kept = self._fetchone(kept_count_sql(), {"layer": self.layer.table})
            if kept is not None:
                return int(kept[0])
        row = self._fetchone(fsql.count_sql(self.layer, where, cap, params, iq), params)
        return int(row[0]) if row[0] <= cap else None

    def _fetchone(self, statement: sql.Composable, params: dict) -> tuple | None:
        with self.source.pool().connection() as conn:
            return conn.execute(statement, params).fetchone()

    def __repr__(self) -> str:
        return f"<TwinProvider> {self.layer.name}"
