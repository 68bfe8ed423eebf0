"""Hourly air-quality surfaces from the monitoring network, stored as catalogued COGs.

The database side of ``twin.analysis.interpolate``: hourly station means of PM2.5, PM10
or NO2 (``reading_rollups``) are interpolated onto the city grid in EPSG:3405, clipped
to the districts, and each hour is stored as a COG with its LOOCV metrics and method
(``twin.rasters.catalogue``), where the coverage, map and EDR routes find it.

- :mod:`.request`: a run's parameters (pollutant, hours, method, variogram, grid).
- :mod:`.source`, :mod:`.region`: stations, hourly means, boundary, grid.
- :mod:`.build`, :mod:`.run`: compute and store a run in one transaction.
- :mod:`.queue`: the hours due, queued inside ingest transactions (light imports: the
  ingest path loads it).
- :mod:`.pending`: makes the queued hours' surfaces after commit.
- :mod:`.demo`: every hour of the demo city.
"""
