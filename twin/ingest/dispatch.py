"""Pick the loader for an input: vector file, GTFS feed, readings CSV or GeoTIFF."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Engine

from twin.config import Settings
from twin.ingest.errors import LoadError
from twin.ingest.fields import local_zone
from twin.registry import Registry

RASTER_SUFFIXES = (".tif", ".tiff")
DEFAULTS = dict(crs=None, mode="append", strict=False, source_layer=None, mapping=None,
                id_column=None, kind="dem", scenario=None, valid_time=None, raster_id=None,
                mapping_file=None, encoding=None, boundary_level=None, label_level=None,
                area_tolerance=None)


def load_any(engine: Engine, registry: Registry, settings: Settings, path: Path,
             layer: str | None, progress: Callable[[int], None] | None = None,
             **options) -> list[str]:
    """Load one input; returns human-readable summary lines."""
    from twin.ingest.analyze import vacuum_analyze
    from twin.ingest.gtfs import is_gtfs, load_gtfs
    from twin.ingest.raster import load_raster
    from twin.ingest.readings import load_readings

    opts = {**DEFAULTS, **options}
    path, extent = Path(path), settings.plausible_extent
    if path.suffix.lower() in RASTER_SUFFIXES:
        line = load_raster(engine, path, settings.raster_dir, kind=opts["kind"],
                           crs=opts["crs"], scenario=opts["scenario"],
                           valid_time=opts["valid_time"], external_id=opts["raster_id"]).line()
        vacuum_analyze(engine, ["rasters"])
        return [line]
    if layer == "sensor_readings":
        return [load_readings(engine, path, progress=progress,
                              tz=settings.city.timezone).line()]
    if path.suffix.lower() == ".zip" and is_gtfs(path):
        mode = opts["mode"] if opts["mode"] != "append" else "upsert"
        with local_zone(settings.city.zone):
            return [s.line() for s in load_gtfs(engine, registry, path, extent=extent,
                                                mode=mode, strict=opts["strict"])]
    if layer is None:
        raise LoadError("name the target layer (--layer) for a vector file")
    with local_zone(settings.city.zone):
        return _vector_lines(engine, registry, layer, path, extent,
                             {**opts, "options": source_options(opts, settings)}, progress)


def local_crs(settings: Settings) -> str | None:
    """The city's cadastral zone (the city profile's ``crs.local``), where the settings
    carry a profile: its EPSG code, or its definition when EPSG has none."""
    city = getattr(settings, "city", None)
    if city is None or getattr(city, "local_crs", None) is None:
        return None
    code = getattr(city, "local_epsg", None)
    return f"EPSG:{code}" if code else city.local_crs.to_wkt()


def source_options(opts: dict, settings: Settings | None = None):
    """The reading options of ``twin load`` (encoding, mapping file, DGN levels)."""
    from twin.ingest.dgn_source import DgnOptions
    from twin.ingest.sources import SourceOptions

    dgn = DgnOptions(**{k: opts[k] for k in ("boundary_level", "label_level")
                        if opts.get(k) is not None})
    return SourceOptions(crs=opts.get("crs"), source_layer=opts.get("source_layer"),
                         encoding=opts.get("encoding"), mapping=opts.get("mapping_file"),
                         dgn=dgn, local_crs=local_crs(settings) if settings else None)


def _vector_lines(engine, registry, layer, path, extent, opts, progress) -> list[str]:
    from twin.ingest.area_check import DEFAULT_TOLERANCE
    from twin.ingest.vector import load_vector

    summary = load_vector(engine, registry, layer, path, extent=extent, mode=opts["mode"],
                          strict=opts["strict"], mapping=opts["mapping"],
                          id_column=opts["id_column"], progress=progress,
                          options=opts["options"],
                          area_tolerance=opts["area_tolerance"] or DEFAULT_TOLERANCE)
    lines = [summary.line()]
    lines += [f"  repaired {item}" for item in summary.repaired[:20]]
    lines += [f"  rejected {item}" for item in summary.rejected[:20]]
    lines += [f"  note: {note}" for note in summary.notes]
    if summary.ignored_columns:
        lines.append(f"  ignored columns: {', '.join(summary.ignored_columns)}")
    if summary.mapping:
        lines.append(f"  load run {summary.run_id} with mapping {summary.mapping['source']} "
                     f"(--mapping-from-run {summary.run_id} loads a file the same way)")
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
              skip: tuple[str, ...] = (),
              before_readings: Callable[[], None] | None = None) -> None:
    """Load the demo city's files with the ordinary loaders (replacing what is there);
    ``skip`` names files not to load (``twin demo --stream`` sends the readings by MQTT);
    ``before_readings`` runs once the places and stations are in, before the readings
    (``twin demo`` loads the alert rules there: they name streets, wards and stations)."""
    import time

    for name, layer, opts in DEMO_LOADS:
        if name == "readings.csv" and before_readings is not None:
            before_readings()
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
