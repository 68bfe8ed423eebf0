"""pygeoapi's EDR provider over twin's readings.

pygeoapi instantiates it per request and calls one method per query type with the
parsed request. Each method picks the stations (:mod:`.stations`), then
:meth:`ReadingsProvider.answer` checks the limits (:mod:`.limits`: ``datetime`` on cube
and area queries, the value limit, the output budget of the format) and has PostgreSQL
write the body in the requested format: read at once when small, else handed over as a
:class:`.stream.Stream` that reads it while it is sent. Errors leave as
:class:`twin.server.pygeoapi.provider.TwinProviderError` (an OGC exception with its 4xx).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import ExitStack

import psycopg
from pygeoapi.provider.base import ProviderConnectionError
from pygeoapi.provider.base_edr import BaseEDRProvider

from twin.server.edr import config, covjson, csv_, geojson, limits, places, query, stations
from twin.server.edr.catalogue import Catalogue
from twin.server.edr.formatters import Encoded
from twin.server.edr.series import Selection, readings_sql
from twin.server.edr.stream import Parts, nothing, open_stream, read
from twin.server.errors import NotFound
from twin.server.limits import LIMITS
from twin.server.pygeoapi.provider import get_source, provider_errors

Pick = Callable[[psycopg.Connection], list[stations.Station]]
STREAM_FROM = 1024 * 1024   # estimated bytes above which a body is streamed
MEDIA = {"json": covjson.MEDIA, "geojson": geojson.MEDIA, "csv": csv_.MEDIA}


class ReadingsProvider(BaseEDRProvider):
    """EDR queries on ``sensor_readings``; ``data`` is ``{"source": key, ...}``."""

    def __init__(self, provider_def: dict):
        super().__init__(provider_def)
        data = self.data if isinstance(self.data, dict) else {}
        try:
            self.edr = config.get(data["source"])
        except KeyError:
            raise ProviderConnectionError("ReadingsProvider: data.source is not a source "
                                          "registered by twin's server") from None
        self.pool = get_source(data["source"]).pool
        self.catalogue: Catalogue = self.edr.catalogue
        self.base = data.get("base_url", f"/collections/{config.COLLECTION}")
        self.budget = limits.budgets(self.edr.options.output_bytes)
        self._fields = self.get_fields()

    def get_fields(self) -> dict[str, dict]:
        return {p.id: {"type": "number", "title": p.label, "description": p.description,
                       "x-ogc-unit": p.ucum}
                for p in self.catalogue.parameters.values()}

    def get_parameters(self, parameters=(), as_list: bool = False) -> dict | list:
        """CoverageJSON parameters (labels, units with UCUM codes), for the collection
        document's ``parameter_names``."""
        names = [n for n in (parameters or self.catalogue.parameters)
                 if n in self.catalogue.parameters]
        out = {n: {"id": n, **covjson.parameter(self.catalogue.parameters[n])}
               for n in names}
        return list(out.values()) if as_list else out

    # -- query types (pygeoapi passes every argument to each) --

    def position(self, wkt=None, datetime_=None, select_properties=None, format_=None,
                 **kwargs):
        tolerance = self.edr.options.position_tolerance_m
        shape = ("Point", "MultiPoint")
        return self.answer(lambda conn: stations.nearest(
            conn, query.wkt_of(wkt, shape, "position"), tolerance),
            datetime_, select_properties, format_)

    def radius(self, wkt=None, within=None, within_units=None, datetime_=None,
               select_properties=None, format_=None, **kwargs):
        def pick(conn):
            where = query.wkt_of(wkt, ("Point",), "radius")
            return stations.within_radius(conn, where, query.radius_m(within, within_units))
        return self.answer(pick, datetime_, select_properties, format_)

    def area(self, wkt=None, datetime_=None, select_properties=None, format_=None, **kwargs):
        shape = ("Polygon", "MultiPolygon")
        return self.answer(lambda conn: stations.in_area(
            conn, query.wkt_of(wkt, shape, "area")), datetime_, select_properties, format_,
            required="area")

    def cube(self, bbox=None, datetime_=None, select_properties=None, format_=None,
             **kwargs):
        return self.answer(lambda conn: stations.in_bbox(conn, query.cube_bbox(bbox)),
                           datetime_, select_properties, format_, required="cube")

    def locations(self, location_id=None, bbox=None, datetime_=None,
                  select_properties=None, format_=None, **kwargs):
        """Without an id, the stations (GeoJSON); with one, that station's series."""
        if location_id is None:
            return self.places(lambda conn: stations.in_bbox(
                conn, query.cube_bbox(bbox) if bbox else None), format_)

        def pick(conn):
            found = stations.by_code(conn, location_id)
            if not found:
                raise NotFound(f"location {location_id!r} is not a station of this "
                               f"collection; see {self.base}/locations")
            return found
        return self.answer(pick, datetime_, select_properties, format_)

    def items(self, item_id=None, bbox=None, format_=None, **kwargs):
        """The stations as features (all, in a bbox, or one by its code)."""
        if item_id is None:
            return self.places(lambda conn: stations.in_bbox(
                conn, query.cube_bbox(bbox) if bbox else None), format_)
        found = self.places(lambda conn: stations.by_code(conn, item_id), "html")
        if not found["features"]:
            raise self.error(NotFound(f"item {item_id!r} is not a station of this collection"))
        one = found["features"][0]
        return one if format_ == "html" else Encoded(json.dumps(one, ensure_ascii=False),
                                                     places.MEDIA)

    # -- building blocks --

    def error(self, err):
        with provider_errors():
            raise err

    def places(self, pick: Pick, format_: str | None) -> dict:
        with provider_errors(), self.pool().connection() as conn:
            found = pick(conn)
            limits.check_places(len(found), self.budget)
            body = places.collection(found, self.catalogue, self.base)
        return json.loads(body) if format_ == "html" else Encoded(body, places.MEDIA)

    def answer(self, pick: Pick, datetime_, select_properties, format_,
               required: str | None = None) -> dict:
        """The readings of the picked stations, in ``format_``, within the limits;
        ``required`` names a query type that must give ``datetime``."""
        with provider_errors(), ExitStack() as stack:
            names = query.parameter_names(select_properties, self.catalogue)
            window = query.Window.parse(datetime_)
            if required:
                query.require_window(required, window, self.catalogue,
                                     LIMITS.edr_datetime_days)
            conn = stack.enter_context(self.pool().connection())
            found = pick(conn)
            sel = Selection([s.id for s in found], names, window)
            return self.encode(conn, sel, format_ or "json", stack)

    def encode(self, conn: psycopg.Connection, sel: Selection, fmt: str,
               stack: ExitStack) -> dict:
        """The body: read now when small (or HTML, which pygeoapi renders from a dict),
        else a stream that takes over the connection held by ``stack``."""
        params: dict = {}
        readings = readings_sql(sel, self.catalogue, params)
        nbytes = 0
        if sel.station_ids:
            limits.check(conn, readings, params, self.edr.options.value_limit)
            nbytes = limits.check_output(conn, readings, params, fmt, len(sel.parameters),
                                         self.budget, self.edr.options.value_limit)
        parts = self.parts(sel, fmt, readings, params)
        if fmt == "html":
            return json.loads(read(conn, parts))
        if nbytes <= STREAM_FROM:
            return Encoded(read(conn, parts), MEDIA[fmt])
        return Encoded(open_stream(conn, parts, stack.pop_all()), MEDIA[fmt])

    def parts(self, sel: Selection, fmt: str, readings, params: dict) -> Parts:
        """What the body of ``fmt`` is made of (no statement when no station matched)."""
        if fmt == "csv":
            return Parts(blocks=(lambda conn: csv_.blocks(conn, readings, params))
                         if sel.station_ids else nothing, empty=(csv_.HEADER + "\n").encode())
        names = sel.parameters
        if fmt == "geojson":
            statement = geojson.features_sql(names, readings)
            head, tail, fetch = geojson.HEAD, geojson.tail(self.catalogue, names), 200
        else:
            statement = covjson.coverages_sql(names, readings)
            head, tail, fetch = covjson.head(self.catalogue, names), covjson.TAIL, 1
        if not sel.station_ids:
            return Parts(head=head, tail=tail, blocks=nothing)
        return Parts(statement, params, head, tail, fetch)

    def __repr__(self) -> str:
        return "<ReadingsProvider> sensor_readings"
