"""CoverageJSON: a CoverageCollection of PointSeries, one coverage per station.

PostgreSQL builds the coverages (``json_agg`` of each station's time axis and of each
parameter's values along it), one row each; Python only writes the envelope around that
text (:mod:`.stream`), so a large answer is never parsed and re-encoded, nor held whole.
The parameters of a station share one ``t`` axis: the union of the times any selected
parameter was observed there; a parameter not observed at one of those times, or
observed as missing/bad/NaN, is ``null`` there, as CoverageJSON has it for missing
values.
"""

from __future__ import annotations

import json

from psycopg import sql

from twin.server.edr import series
from twin.server.edr.catalogue import Catalogue, Parameter

MEDIA = "application/vnd.cov+json"
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
REFERENCING = [
    {"coordinates": ["x", "y"], "system": {"type": "GeographicCRS", "id": CRS84}},
    {"coordinates": ["t"], "system": {"type": "TemporalRS", "calendar": "Gregorian"}},
]

COVERAGES = """
WITH c AS (
  SELECT station_id, count(*) AS n, json_agg(observed_at ORDER BY observed_at) AS t, {aggs}
  FROM ({by_time}) g GROUP BY station_id)
SELECT json_build_object(
         'type', 'Coverage', 'id', s.code,
         'domain', json_build_object(
           'type', 'Domain', 'domainType', 'PointSeries',
           'axes', json_build_object(
             'x', json_build_object('values', json_build_array(ST_X(s.geom))),
             'y', json_build_object('values', json_build_array(ST_Y(s.geom))),
             't', json_build_object('values', c.t))),
         'ranges', json_strip_nulls(json_build_object({ranges})))::text
FROM c JOIN sensor_stations s ON s.id = c.station_id
ORDER BY s.code
"""
RANGE = ("{p}, CASE WHEN c.{h} THEN json_build_object('type', 'NdArray', 'dataType', 'float', "
         "'axisNames', json_build_array('t'), 'shape', json_build_array(c.n), "
         "'values', c.{v}) END")


def coverages_sql(names: list[str], readings: sql.Composable) -> sql.Composable:
    """A coverage per row (text), one per station in code order. A parameter the station
    never reported in the window has no range (``json_strip_nulls`` drops it; it strips
    object members only, never array elements)."""
    aggs = sql.SQL(", ").join(
        sql.SQL("bool_or({h}) AS {h}, json_agg({v} ORDER BY observed_at) AS {v}").format(
            h=series.flag(i), v=series.column(i)) for i in range(len(names)))
    ranges = sql.SQL(", ").join(
        sql.SQL(RANGE).format(p=sql.Literal(n), h=series.flag(i), v=series.column(i))
        for i, n in enumerate(names))
    return sql.SQL(COVERAGES).format(aggs=aggs, ranges=ranges,
                                     by_time=series.by_time_sql(names, readings))


def parameter(p: Parameter) -> dict:
    """A CoverageJSON parameter: its observed property (label, description) and unit
    (label and UCUM code)."""
    return {
        "type": "Parameter",
        "description": {"en": p.description},
        "observedProperty": {"id": p.id, "label": {"en": p.label},
                             "description": {"en": p.description}},
        "unit": {"label": {"en": p.unit},
                 "symbol": {"value": p.ucum,
                            "type": "http://www.opengis.net/def/uom/UCUM/"}},
    }


def parameters(catalogue: Catalogue, names: list[str]) -> dict[str, dict]:
    return {n: parameter(catalogue.parameters[n]) for n in names}


def head(catalogue: Catalogue, names: list[str]) -> bytes:
    """The CoverageCollection up to its coverages (the SQL-made rows, then ``TAIL``)."""
    doc = json.dumps({"type": "CoverageCollection", "domainType": "PointSeries",
                      "parameters": parameters(catalogue, names),
                      "referencing": REFERENCING}, ensure_ascii=False)
    return (doc[:-1] + ',"coverages":[').encode()


TAIL = b"]}"
