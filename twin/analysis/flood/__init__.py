"""Flood analysis as pure functions on numpy, xarray and shapely.

- ``dem``: any GeoTIFF DEM to a metric grid;
- ``fill``: priority-flood depression filling (Barnes et al. 2014; Zhou et al. 2016);
- ``connect``: fluvial flooding from a water surface, kept where connected to the river;
- ``hierarchy`` and ``ponding``: pluvial ponding by fill-spill-merge over the
  depression hierarchy, with the water budget;
- ``vectorise``: depth grids to depth-class polygons;
- ``exposure``: roads, stops, routes, signs, stations and parcels under water;
- ``cube``: (time, y, x) depth cubes and the chunked (dask) parts;
- ``params``: scenario inputs as validated models.
"""

from .connect import connected, flood_depth, flood_from_levels
from .cube import depth_cube, gauge_cube, ponding_cube
from .dem import DemGrid, read_dem
from .exposure import Exposure, ExposureParams, exposure
from .fill import fill_depressions
from .params import FloodScenario, PluvialScenario, Rainfall, RiverScenario
from .ponding import PondingModel, PondingStep
from .vectorise import CLASSES, Extent, classify, vectorise

__all__ = [
    "CLASSES", "DemGrid", "Exposure", "ExposureParams", "Extent", "FloodScenario",
    "PluvialScenario", "PondingModel", "PondingStep", "Rainfall", "RiverScenario",
    "classify", "connected", "depth_cube", "exposure", "fill_depressions", "flood_depth",
    "flood_from_levels", "gauge_cube", "ponding_cube", "read_dem", "vectorise",
]
