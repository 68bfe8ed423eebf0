"""``twin load``: one command for vector files, GTFS feeds, readings and rasters."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import click

from twin.cli.context import AppContext, handle_errors, progress_bar

RASTER_SUFFIXES = (".tif", ".tiff")


def _mapping(values: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for item in values:
        src, sep, dst = item.partition("=")
        if not sep or not src or not dst:
            raise click.BadParameter(f"{item!r} is not SOURCE=FIELD", param_hint="--map")
        out[src] = dst
    return out


def run_load(app: AppContext, path: Path, layer: str | None, **opts) -> list[str]:
    """Dispatch on the kind of input; returns the summary lines."""
    from twin.ingest.gtfs import is_gtfs, load_gtfs
    from twin.ingest.raster import load_raster
    from twin.ingest.readings import load_readings
    from twin.ingest.vector import load_vector

    extent = app.settings.plausible_extent
    if path.suffix.lower() in RASTER_SUFFIXES:
        return [load_raster(app.engine, path, app.settings.raster_dir, kind=opts["kind"],
                            crs=opts["crs"], scenario=opts["scenario"],
                            valid_time=opts["valid_time"], external_id=opts["raster_id"]).line()]
    if layer == "sensor_readings":
        bar = progress_bar(path.stat().st_size, "readings")
        summary = load_readings(app.engine, path, progress=bar.update if bar else None)
        return [summary.line()]
    if path.suffix.lower() == ".zip" and is_gtfs(path):
        summaries = load_gtfs(app.engine, app.registry, path, extent=extent,
                              mode=opts["mode"] if opts["mode"] != "append" else "upsert",
                              strict=opts["strict"])
        return [s.line() for s in summaries]
    if layer is None:
        raise click.UsageError("--layer is required for vector files (see `twin layers`)")
    summary = load_vector(app.engine, app.registry, layer, path, extent=extent,
                          crs=opts["crs"], mode=opts["mode"], strict=opts["strict"],
                          source_layer=opts["source_layer"], mapping=opts["mapping"],
                          id_column=opts["id_column"])
    lines = [summary.line()]
    lines += [f"  repaired {item}" for item in summary.repaired[:20]]
    lines += [f"  rejected {item}" for item in summary.rejected[:20]]
    lines += [f"  note: {note}" for note in summary.notes]
    if summary.ignored_columns:
        lines.append(f"  ignored columns: {', '.join(summary.ignored_columns)}")
    return lines


@click.command("load")
@click.argument("path", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--layer", "-l", help="Target layer (or sensor_readings).")
@click.option("--crs", help="Source CRS, e.g. EPSG:5897 (VN-2000 / Hanoi TM-3); overrides the file's.")
@click.option("--mode", type=click.Choice(["append", "upsert", "replace"]), default="append",
              show_default=True)
@click.option("--strict", is_flag=True, help="Refuse invalid geometries instead of repairing them.")
@click.option("--source-layer", help="Layer inside a multi-layer file (GeoPackage).")
@click.option("--map", "mapping", multiple=True, metavar="SOURCE=FIELD",
              help="Map a source column to a layer field (repeatable).")
@click.option("--id-column", help="Source column holding the stable feature id.")
@click.option("--kind", default="dem", show_default=True, help="Raster kind (GeoTIFF input).")
@click.option("--scenario", help="Raster scenario (GeoTIFF input).")
@click.option("--valid-time", type=click.DateTime(), help="Raster valid time (GeoTIFF input).")
@click.option("--raster-id", help="Stable id of the raster (GeoTIFF input).")
@click.pass_obj
@handle_errors
def load(app: AppContext, path: Path, layer: str | None, mapping: tuple[str, ...],
         valid_time: datetime | None, **opts) -> None:
    """Load PATH (GeoJSON, GeoPackage, zipped Shapefile, CSV, GTFS zip, readings CSV or
    GeoTIFF) in one transaction: all of it or nothing."""
    app.upgrade(quiet=True)
    for line in run_load(app, path, layer, mapping=_mapping(mapping), valid_time=valid_time,
                         **opts):
        click.echo(line)


def register(main: click.Group) -> None:
    main.add_command(load)
