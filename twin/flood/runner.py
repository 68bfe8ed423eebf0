"""Run a scenario or a recorded event end to end: compute, store, summarise."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Engine

from twin.flood.archive import Audit
from twin.flood.model import FloodRun, event_run, scenario_run
from twin.flood.request import EventRequest, ScenarioRequest
from twin.flood.store import depth_stats, persist

Progress = Callable[[str], None]


def _summary(run: FloodRun, stored, started: float) -> dict:
    return {"scenario": run.name, "coverage": stored.coverage_id, "steps": len(stored.raster_ids),
            "extents": stored.extents, "grid": {"shape": list(run.grid.z.shape),
                                                "resolution_m": run.grid.resolution,
                                                "crs": run.grid.crs.to_string()},
            **depth_stats(run), "inputs": run.inputs,
            "area_m2_by_class": stored.area_m2_by_class,
            "timings_s": {**{k: round(v, 3) for k, v in run.timings.items()},
                          "total_s": round(time.perf_counter() - started, 3)}}


def run_scenario(engine: Engine, raster_root: Path, req: ScenarioRequest,
                 dem_path: Path | None = None, progress: Progress | None = None,
                 audit: Audit | None = None) -> dict:
    """Compute and store a "what if" scenario; returns its summary."""
    started = time.perf_counter()
    with engine.connect() as conn:
        run = scenario_run(conn, req, dem_path)
    if progress:
        progress(f"computed {req.steps} hourly grids of {run.grid.z.shape[1]}x"
                 f"{run.grid.z.shape[0]} cells")
    stored = persist(engine, run, raster_root, audit)
    return _summary(run, stored, started)


def run_event(engine: Engine, raster_root: Path, req: EventRequest,
              dem_path: Path | None = None, progress: Progress | None = None,
              audit: Audit | None = None) -> dict:
    """Compute and store a recorded event; returns its summary."""
    started = time.perf_counter()
    with engine.connect() as conn:
        run = event_run(conn, req, dem_path)
    if progress:
        progress(f"computed {req.steps} hourly grids of {run.grid.z.shape[1]}x"
                 f"{run.grid.z.shape[0]} cells")
    stored = persist(engine, run, raster_root, audit)
    return _summary(run, stored, started)
