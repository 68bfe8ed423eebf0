"""Raster surfaces as catalogued, time-aware coverages.

- :mod:`twin.rasters.catalogue` writes one time step (or a cube of them) as COGs and
  upserts their ``rasters`` rows in the caller's transaction: the analyses call it.
- :mod:`twin.rasters.series` groups catalogued rasters into coverage series, one per
  (kind, variable, scenario), each with its time steps.
- :mod:`twin.rasters.read` reads windows, resampled subsets, warped images and point
  samples with rasterio.
- :mod:`twin.rasters.render` colours a band with a class ramp and draws its legend.

Nothing here knows about HTTP; :mod:`twin.server.coverages` serves it.
"""
