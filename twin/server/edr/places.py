"""The stations as GeoJSON features: EDR's locations list and its items.

Each feature is a station (id = its code, which is the ``locationId``), with the
parameters it measures (those this collection offers) and a link to its series.
"""

from __future__ import annotations

import json

from twin.server.edr.catalogue import Catalogue
from twin.server.edr.stations import Station

MEDIA = "application/geo+json"


def station_parameters(station: Station, catalogue: Catalogue) -> list[str]:
    """The station's observed properties, plus the AQI parameters for air stations."""
    names = [p for p in station.properties if p in catalogue.parameters]
    if station.kind == "air":
        names += [p.id for p in catalogue.parameters.values() if p.aqi_scale]
    return names


def feature(station: Station, catalogue: Catalogue, base: str) -> dict:
    return {
        "type": "Feature",
        "id": station.code,
        "geometry": {"type": "Point", "coordinates": [round(station.lon, 7),
                                                      round(station.lat, 7)]},
        "properties": {"name": station.name, "kind": station.kind,
                       "parameter-name": station_parameters(station, catalogue)},
        "links": [{"rel": "data", "type": "application/vnd.cov+json",
                   "title": f"{station.name}: readings as CoverageJSON",
                   "href": f"{base}/locations/{station.code}"}],
    }


def collection(found: list[Station], catalogue: Catalogue, base: str) -> str:
    features = [feature(s, catalogue, base) for s in found]
    return json.dumps({"type": "FeatureCollection", "features": features,
                       "numberReturned": len(features)}, ensure_ascii=False)
