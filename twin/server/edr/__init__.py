"""OGC API – Environmental Data Retrieval over the sensor readings in PostGIS.

One EDR collection, ``sensor_readings``: the stations of ``sensor_stations`` are its
locations, the observed properties (and the hourly AQI of ``station_aqi`` when that
table exists) its parameters. pygeoapi routes and validates the requests
(:mod:`twin.server.edr.routes` calls its EDR API through the bridge) and calls
:class:`twin.server.edr.provider.ReadingsProvider`, which resolves the stations
(:mod:`.stations`), refuses requests over the limits (:mod:`.limits`: ``datetime`` on
cube and area, the value limit, each format's output budget, estimated from counted
readings) and lets PostgreSQL build the body: CoverageJSON (:mod:`.covjson`), GeoJSON
(:mod:`.geojson`) or CSV (:mod:`.csv_`), all from one readings selection (:mod:`.series`)
that walks the readings primary key per station within the pruned monthly partitions.
Large bodies are streamed (:mod:`.stream`) rather than built in memory.
"""
