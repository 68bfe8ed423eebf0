"""Flood maps for the city: the pure analysis of :mod:`twin.analysis.flood` wired to the
database, the raster catalogue and the servers.

- ``request``: what a run is asked for (a validated model, also the OGC process inputs);
- ``grid``: the DEM a run works on (the catalogued ``dem`` raster or any GeoTIFF);
- ``readings``: gauge levels and rainfall from the hourly rollups;
- ``rivers``: water bodies, their channels and the fluvial depth per hour;
- ``model``: the depth cube of a scenario or a recorded event (river + ponding);
- ``store``: the cube as COGs and its extents as ``flood_extents`` rows, in one
  transaction that replaces the scenario's previous run;
- ``assets`` and ``exposure``: what a stored depth grid floods, as features and a summary;
- ``demo``: the demo city's October 2026 storm.
"""

from .request import EventRequest, FloodInputError, ScenarioRequest

__all__ = ["EventRequest", "FloodInputError", "ScenarioRequest"]
