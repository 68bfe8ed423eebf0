"""Run a scenario or a recorded event end to end: compute, store, summarise (one path
for both, :func:`run_flood`)."""
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


def run_flood(engine: Engine, raster_root: Path, req: ScenarioRequest | EventRequest,
              dem_path: Path | None = None, progress: Progress | None = None,
              audit: Audit | None = None) -> dict:
    """Compute and store a "what if" scenario (a ScenarioRequest) or a recorded event (an
    EventRequest); returns its summary. ``audit`` says who replaces a published run."""
    started = time.perf_counter()
    compute = scenario_run if isinstance(req, ScenarioRequest) else event_run
    with engine.connect() as conn:
        run = compute(conn, req, dem_path)
    if progress:
        progress(f"computed {req.steps} hourly grids of {run.grid.z.shape[1]}x"
                 f"{run.grid.z.shape[0]} cells")
    stored = persist(engine, run, raster_root, audit)
    return _summary(run, stored, started)
