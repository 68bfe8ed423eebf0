"""The depth cube of a run: the river model and the ponding model, hour by hour.

Each hour's depth is the larger of the fluvial depth (``rivers``: gauge levels or a
scenario's river stage over the DEM, connected to the channels) and the ponding depth
(``twin.analysis.flood.ponding``: rain beyond the drains' capacity filling the DEM's
depressions, spilling from full ones). The larger, not the sum: where river water
stands, the rain falling there is part of the same water body to first order, and
adding both would count the same hollow twice. Permanent water (the rivers at low
water, water parcels) is not flood and is left out. Cells shallower than
``min_depth_m`` are dry; dry cells are NaN in the cube, so the stored COGs are
transparent there and the wet cells of a COG are exactly the cells of its extents.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import xarray as xr
from sqlalchemy import Connection

from twin.analysis.flood import DemGrid, PondingModel, depth_cube
from twin.flood import distributed, readings
from twin.flood import grid as dem_grid
from twin.flood.request import EventRequest, FloodInputError, RunGrid, ScenarioRequest
from twin.flood.rivers import RiverModel


@dataclass
class FloodRun:
    """A computed run, not yet stored."""

    name: str
    cube: xr.DataArray           # (time, y, x) depth in m, NaN where dry
    grid: DemGrid
    source: str                  # what produced it, for the extents' ``source`` field
    inputs: dict                 # hourly rain and levels used, for the summary
    timings: dict = field(default_factory=dict)


@dataclass
class Terrain:
    grid: DemGrid
    gauges: readings.Gauges
    rivers: RiverModel | None
    permanent: np.ndarray


def terrain(conn: Connection, options: RunGrid, dem_path: Path | None,
            timings: dict) -> Terrain:
    """DEM, water parcels and gauges of a run, and the river model built on them."""
    t0 = time.perf_counter()
    g = dem_grid.load_dem(dem_path or dem_grid.catalogued_dem(conn), options.resolution_m)
    if options.fill_dem:
        g = DemGrid(distributed.fill_dem(g.z), g.transform, g.crs)   # tiled on dask above a size
    water = dem_grid.water_mask(conn, g)
    timings["dem_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    gauges = readings.gauges(conn, g.crs)
    rivers = RiverModel(g.z, g.transform, gauges, water) if len(gauges) else None
    timings["rivers_s"] = time.perf_counter() - t0
    return Terrain(g, gauges, rivers, rivers.permanent if rivers else water)


def ponding(t: Terrain, rain_mm: list[float], drainage_mm_h: float,
            timings: dict) -> list[np.ndarray] | None:
    """One ponding depth grid per hour, or None when no rain exceeds the drains."""
    if not any(mm > drainage_mm_h for mm in rain_mm):
        return None
    t0 = time.perf_counter()
    model = PondingModel(t.grid.z, t.grid.cell_area)
    timings["ponding_build_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    steps = model.run(rain_mm, drainage_mm_h)
    timings["ponding_s"] = time.perf_counter() - t0
    return [s.depth for s in steps]


def assemble(t: Terrain, fluvial, pluvial, times, min_depth_m: float,
             attrs: dict) -> xr.DataArray:
    """The (time, y, x) cube: the larger depth per cell, dry and permanent water NaN."""
    out = np.zeros((len(times), *t.grid.z.shape), np.float32)
    for k in range(len(times)):
        if fluvial is not None:
            np.maximum(out[k], fluvial(k), out=out[k])
        if pluvial is not None:
            np.maximum(out[k], pluvial[k], out=out[k])
    out[:, t.permanent] = 0
    out[out < max(min_depth_m, 1e-6)] = np.nan
    return depth_cube(out, times.tz_convert(None), t.grid.transform, t.grid.crs, attrs)


def scenario_run(conn: Connection, req: ScenarioRequest, dem_path: Path | None = None
                 ) -> FloodRun:
    """A "what if" run: even rain over ``hours``, the main river at ``stage_m``."""
    req.analysis()
    timings: dict = {}
    t = terrain(conn, req, dem_path, timings)
    fluvial = None
    if req.stage_m is not None:
        if t.rivers is None or not t.rivers.bodies:
            raise FloodInputError("stage_m needs a water-level gauge with readings on the "
                                  "DEM to tell where the river is")
        t0 = time.perf_counter()
        river = t.rivers.stage(req.stage_m)
        timings["river_s"] = time.perf_counter() - t0

        def fluvial(k: int) -> np.ndarray:   # one stage for every hour
            return river
    rain = req.hyetograph()
    pluvial = ponding(t, rain, req.drainage_mm_h, timings) if req.rain_mm > 0 else None
    times = readings.hours(req.start, req.steps)
    t0 = time.perf_counter()
    cube = assemble(t, fluvial, pluvial, times, req.min_depth_m,
                    {"model": "river stage + ponding", "scenario": req.name})
    timings["assemble_s"] = time.perf_counter() - t0
    source = f"twin flood scenario: {req.rain_mm:g} mm/{req.hours} h, drains " \
             f"{req.drainage_mm_h:g} mm/h" + (f", stage {req.stage_m:g} m" if fluvial else "")
    return FloodRun(req.name, cube, t.grid, source,
                    {"rain_mm": rain, "stage_m": req.stage_m}, timings)


def event_run(conn: Connection, req: EventRequest, dem_path: Path | None = None) -> FloodRun:
    """A recorded event: hourly gauge levels and hourly city-mean rain from the rollups."""
    timings: dict = {}
    t = terrain(conn, req, dem_path, timings)
    rain = readings.hourly_rain(conn, req.start, req.steps).tolist()
    levels = None
    if t.rivers is not None:
        levels = readings.hourly_levels(conn, t.gauges, req.start, req.steps)
    if not any(rain) and (levels is None or np.isnan(levels).all()):
        raise FloodInputError("no rain or water-level readings between 'from' and 'to'")
    pluvial = ponding(t, rain, req.drainage_mm_h, timings)
    river_s = [0.0]
    hourly = None
    if levels is not None and distributed.hours_on_cluster(t.grid.z.size, req.steps):
        t0 = time.perf_counter()
        hourly = distributed.river_hours(t.rivers, levels)    # one task per hour
        river_s[0] = time.perf_counter() - t0

    def fluvial(k: int) -> np.ndarray:
        if hourly is not None:
            return hourly[k]
        t0 = time.perf_counter()
        d = t.rivers.depth(levels[k])
        river_s[0] += time.perf_counter() - t0
        return d

    times = readings.hours(req.start, req.steps)
    t0 = time.perf_counter()
    cube = assemble(t, fluvial if levels is not None else None, pluvial, times,
                    req.min_depth_m, {"model": "gauges + ponding", "scenario": req.name})
    timings["river_s"] = river_s[0]
    timings["assemble_s"] = time.perf_counter() - t0 - river_s[0]
    peak = None if levels is None else np.nanmax(levels, axis=1, initial=-np.inf)
    return FloodRun(req.name, cube, t.grid, f"twin flood event: gauges + rain gauges, drains "
                    f"{req.drainage_mm_h:g} mm/h",
                    {"rain_mm": rain, "max_level_m": None if peak is None else peak.tolist()},
                    timings)
