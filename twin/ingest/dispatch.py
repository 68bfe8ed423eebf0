"""Pick the loader for an input: vector file, GTFS feed, readings CSV or GeoTIFF."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Engine

from twin.config import Settings
from twin.ingest.errors import LoadError
from twin.registry import Registry

RASTER_SUFFIXES = (".tif", ".tiff")
DEFAULTS = dict(crs=None, mode="append", strict=False, source_layer=None, mapping=None,
                id_column=None, kind="dem", scenario=None, valid_time=None, raster_id=None)


def load_any(engine: Engine, registry: Registry, settings: Settings, path: Path,
             layer: str | None, progress: Callable[[int], None] | None = None,
             **options) -> list[str]:
    """Load one input; returns human-readable summary lines."""
    from twin.ingest.gtfs import is_gtfs, load_gtfs
    from twin.ingest.raster import load_raster
    from twin.ingest.readings import load_readings
    from twin.ingest.vector import load_vector

    opts = {**DEFAULTS, **options}
    path, extent = Path(path), settings.plausible_extent
    if path.suffix.lower() in RASTER_SUFFIXES:
        return [load_raster(engine, path, settings.raster_dir, kind=opts["kind"],
                            crs=opts["crs"], scenario=opts["scenario"],
                            valid_time=opts["valid_time"], external_id=opts["raster_id"]).line()]
    if layer == "sensor_readings":
        return [load_readings(engine, path, progress=progress).line()]
    if path.suffix.lower() == ".zip" and is_gtfs(path):
        mode = opts["mode"] if opts["mode"] != "append" else "upsert"
        return [s.line() for s in load_gtfs(engine, registry, path, extent=extent, mode=mode,
                                            strict=opts["strict"])]
    if layer is None:
        raise LoadError("name the target layer (--layer) for a vector file")
    summary = load_vector(engine, registry, layer, path, extent=extent, crs=opts["crs"],
                          mode=opts["mode"], strict=opts["strict"],
                          source_layer=opts["source_layer"], mapping=opts["mapping"],
                          id_column=opts["id_column"], progress=progress)
    lines = [summary.line()]
    lines += [f"  repaired {item}" for item in summary.repaired[:20]]
    lines += [f"  rejected {item}" for item in summary.rejected[:20]]
    lines += [f"  note: {note}" for note in summary.notes]
    if summary.ignored_columns:
        lines.append(f"  ignored columns: {', '.join(summary.ignored_columns)}")
    return lines


# The demo's inputs, in dependency order: signs link to roads, readings to stations.
DEMO_LOADS = [
    ("hanoi.gpkg", "admin_areas", {"source_layer": "admin_areas"}),
    ("hanoi.gpkg", "road_segments", {"source_layer": "road_segments"}),
    ("hanoi.gpkg", "land_parcels", {"source_layer": "land_parcels"}),
    ("hanoi.gpkg", "traffic_signs", {"source_layer": "traffic_signs"}),
    ("hanoi.gpkg", "traffic_signals", {"source_layer": "traffic_signals"}),
    ("hanoi.gpkg", "cameras", {"source_layer": "cameras"}),
    ("hanoi.gpkg", "parking_sites", {"source_layer": "parking_sites"}),
    ("gtfs.zip", None, {}),
    ("stations.csv", "sensor_stations", {}),
    ("readings.csv", "sensor_readings", {}),
    ("dem.tif", None, {"kind": "dem", "raster_id": "hanoi-dem-10m"}),
]


def load_demo(engine: Engine, registry: Registry, settings: Settings, folder: Path,
              echo: Callable[[str], None] = lambda _line: None,
              skip: tuple[str, ...] = ()) -> None:
    """Load the demo city's files with the ordinary loaders (replacing what is there);
    ``skip`` names files not to load (``twin demo --stream`` sends the readings by MQTT)."""
    import time

    for name, layer, opts in DEMO_LOADS:
        if name in skip:
            continue
        started = time.perf_counter()
        lines = load_any(engine, registry, settings, folder / name, layer,
                         **{"mode": "replace", **opts})
        echo(f"{lines[0]}  [{time.perf_counter() - started:.1f} s]")
        for line in lines[1:]:
            echo(line)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("ANALYZE")  # fresh statistics for the planner
