"""GeoJSON: one feature per station and observation time, the parameters as properties.

That is the shape GIS clients read without help: QGIS's temporal controller and web
maps filter features on a ``datetime`` property and style them by a numeric column; a
feature per station with nested series would need custom code in every client, and a
feature per single reading would repeat the geometry once per parameter. A parameter
not observed (or observed missing/bad/NaN) at that time is ``null``. The collection
lists the parameters (with units) as EDR's GeoJSON responses do. A feature's id is
``<station>~<UTC time>``: path-safe, as every id twin gives (:mod:`twin.feature_ids`).
"""

from __future__ import annotations

import json

from psycopg import sql

from twin.server.edr import series
from twin.server.edr.catalogue import Catalogue
from twin.server.edr.covjson import parameter

MEDIA = "application/geo+json"

FEATURES = """
SELECT json_build_object(
         'type', 'Feature',
         'id', s.code || '~' || to_char(g.observed_at AT TIME ZONE 'UTC',
                                        'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
         'geometry', ST_AsGeoJSON(s.geom, 7)::json,
         'properties', json_build_object('station', s.code, 'name', s.name,
                                         'datetime', g.observed_at, {values}))::text
FROM ({by_time}) g JOIN sensor_stations s ON s.id = g.station_id
ORDER BY s.code, g.observed_at
"""


def features_sql(names: list[str], readings: sql.Composable) -> sql.Composable:
    """A feature per row (text), in station and time order: every feature has every
    requested parameter (null where not observed), so clients see one schema."""
    values = sql.SQL(", ").join(sql.SQL("{}, g.{}").format(sql.Literal(n), series.column(i))
                                for i, n in enumerate(names))
    return sql.SQL(FEATURES).format(values=values,
                                    by_time=series.by_time_sql(names, readings))


HEAD = b'{"type":"FeatureCollection","features":['


def tail(catalogue: Catalogue, names: list[str]) -> bytes:
    """What follows the features: the parameters, with units."""
    params = [{"id": n, **parameter(catalogue.parameters[n])} for n in names]
    return ("]," + json.dumps({"parameters": params}, ensure_ascii=False)[1:]).encode()
