"""A run into the database: depth COGs in the raster catalogue and extents in
``flood_extents``, replacing the scenario's previous run, all or nothing.

One transaction writes the catalogue rows (``twin.rasters.catalogue.store_cube``,
kind ``flood_depth``, variable ``depth_m``, the scenario's name), deletes the rows of
hours the new run no longer has, and replaces the scenario's extents. Each run writes
its COGs into a folder of its own (``<rasters>/flood_runs/<scenario>-<run>/``), so a
rerun never overwrites the files the committed rows point at: if the run fails, its
folder is removed and the previous run stands untouched; once it commits, the previous
run's files are removed, unless the run replaced a published scenario: then the
previous run's rows were archived first (:mod:`twin.flood.archive`, with an audit row)
and its files stay for ``twin flood restore``.

Extents are vectorised before the transaction opens (it holds locks only while
writing), reprojected from the grid's CRS to the layer's storage CRS in Python (pyproj),
and repaired there, so every row passes the layer's validity check.
"""

from __future__ import annotations

import shutil
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import shapely
from pyproj import CRS, Transformer
from sqlalchemy import Connection, Engine, text

from twin.alerts.flood import after_flood
from twin.analysis.flood import vectorise
from twin.analysis.flood.vectorise import area_by_class
from twin.flood.archive import Audit, before_replace
from twin.flood.grid import project
from twin.flood.model import FloodRun
from twin.rasters.catalogue import slug, store_cube

KIND, VARIABLE = "flood_depth", "depth_m"
RUNS_DIR = "flood_runs"
DEPTH_CAP_M = 30.0  # the layer's depth_max_m bound
_SRID = text("SELECT Find_SRID('public', 'flood_extents', 'geom')")
_OLD = text("SELECT external_id, path FROM rasters WHERE kind = :kind AND scenario = :s")
_DROP_STEPS = text("DELETE FROM rasters WHERE kind = :kind AND scenario = :s "
                   "AND external_id <> ALL(:keep)")
_DROP_EXTENTS = text("DELETE FROM flood_extents WHERE scenario = :s")
_INSERT = text(
    "INSERT INTO flood_extents (external_id, scenario, valid_time, depth_class, depth_max_m, "
    "source, geom) VALUES (:external_id, :scenario, :valid_time, :depth_class, :depth_max_m, "
    ":source, ST_Multi(ST_GeomFromWKB(:geom, :srid)))")


@dataclass(frozen=True)
class StoredRun:
    scenario: str
    coverage_id: str
    raster_ids: list[str]
    extents: int
    area_m2_by_class: list[dict]   # per step: valid_time and m² per depth class


def _polygons(geom) -> shapely.MultiPolygon | None:
    """The polygonal part of a (repaired) geometry as a MultiPolygon, None if empty."""
    geom = shapely.make_valid(geom)
    parts = [p for p in shapely.get_parts(geom) if isinstance(p, shapely.Polygon)
             and not p.is_empty]
    return shapely.MultiPolygon(parts) if parts else None


def extent_rows(run: FloodRun, srid: int) -> tuple[list[dict], list[dict]]:
    """Rows for ``flood_extents`` of every step, and the exact area per class per step."""
    to_store = Transformer.from_crs(run.grid.crs, CRS.from_epsg(srid), always_xy=True)
    rows, areas = [], []
    transform = run.grid.transform
    min_depth = 1e-6
    for k, when in enumerate(pd.DatetimeIndex(run.cube["time"].values).tz_localize("UTC")):
        extents = vectorise(run.cube.values[k], transform, min_depth)
        areas.append({"valid_time": when.isoformat(), **area_by_class(extents)})
        geoms = project([e.geometry for e in extents], to_store)
        stamp = when.strftime("%Y%m%dT%H%MZ")
        for i, (e, g) in enumerate(zip(extents, geoms, strict=False)):
            mp = _polygons(g)
            if mp is None:
                continue
            rows.append({"external_id": f"{slug(run.name)}-{stamp}-{i}", "scenario": run.name,
                         "valid_time": when.to_pydatetime(), "depth_class": e.depth_class,
                         "depth_max_m": min(e.depth_max_m, DEPTH_CAP_M), "source": run.source,
                         "geom": shapely.to_wkb(mp), "srid": srid})
    return rows, areas


def _replace(conn: Connection, run: FloodRun, rows: list[dict], run_dir: Path) -> list[str]:
    ids = store_cube(conn, run.cube, kind=KIND, variable=VARIABLE, scenario=run.name,
                     raster_dir=run_dir)
    conn.execute(_DROP_STEPS, {"kind": KIND, "s": run.name, "keep": ids})
    conn.execute(_DROP_EXTENTS, {"s": run.name})
    if rows:
        conn.execute(_INSERT, rows)
    return ids


def persist(engine: Engine, run: FloodRun, raster_root: Path,
            audit: Audit | None = None) -> StoredRun:
    """Store ``run`` (see the module docstring); returns what was stored. ``audit`` says
    who replaces a published scenario, for its archive and audit rows."""
    t0 = time.perf_counter()
    with engine.connect() as conn:
        srid = int(conn.execute(_SRID).scalar())
    rows, areas = extent_rows(run, srid)
    run.timings["vectorise_s"] = time.perf_counter() - t0
    run_dir = Path(raster_root) / RUNS_DIR / f"{slug(run.name)}-{uuid.uuid4().hex[:8]}"
    t0 = time.perf_counter()
    try:
        with engine.begin() as conn:
            old = {p for _, p in conn.execute(_OLD, {"kind": KIND, "s": run.name})}
            if before_replace(conn, run.name, audit) is not None:
                old = set()  # archived: its files stay for a restore
            ids = _replace(conn, run, rows, run_dir)
    except BaseException:
        shutil.rmtree(run_dir, ignore_errors=True)
        raise
    run.timings["store_s"] = time.perf_counter() - t0
    _remove_files(old - {str(p) for p in run_dir.rglob("*.tif")})
    with engine.connect() as conn:  # committed: the flood-depth alert rules of the scenario
        after_flood(conn.connection.driver_connection, run.name)
    return StoredRun(run.name, coverage_id(run.name), ids, len(rows), areas)


def coverage_id(scenario: str) -> str:
    """The coverage collection serving a scenario's depth grids."""
    from twin.rasters.series import collection_id

    return collection_id(KIND, VARIABLE, scenario)


def _remove_files(paths: set[str]) -> None:
    """Delete a previous run's COGs and the run folders they leave empty."""
    folders = set()
    for p in map(Path, paths):
        p.unlink(missing_ok=True)
        folders.add(p.parent)
    for folder in folders:
        for f in (folder, folder.parent):
            if f.name != RUNS_DIR and f.is_dir() and not any(f.iterdir()):
                f.rmdir()


def depth_stats(run: FloodRun) -> dict:
    """Peak hour and its wet area, for the run's summary."""
    wet = np.isfinite(run.cube.values).sum(axis=(1, 2))
    k = int(np.argmax(wet)) if len(wet) else 0
    peak = pd.Timestamp(run.cube["time"].values[k]).tz_localize("UTC")
    return {"peak_time": peak.isoformat(), "peak_wet_km2": float(wet[k] * run.grid.cell_area / 1e6),
            "max_depth_m": float(np.nanmax(run.cube.values)) if wet.any() else 0.0}
