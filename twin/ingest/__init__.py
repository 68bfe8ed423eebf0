"""Loaders: vector files, GTFS, sensor readings (COPY) and rasters (COG)."""
