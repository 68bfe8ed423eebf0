"""``twin load``: one command for vector files, GTFS feeds, readings and rasters."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import click

from twin.cli.context import AppContext, handle_errors, progress_bar


def _mapping(values: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for item in values:
        src, sep, dst = item.partition("=")
        if not sep or not src or not dst:
            raise click.BadParameter(f"{item!r} is not SOURCE=FIELD", param_hint="--map")
        out[src] = dst
    return out


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
    from twin.ingest.dispatch import load_any

    app.upgrade(quiet=True)
    if layer == "sensor_readings":  # COPY streams the file: progress in bytes
        bar = progress_bar(path.stat().st_size if path.exists() else 0, path.name)
    else:
        bar = progress_bar(None, path.name, unit=" features")
    for line in load_any(app.engine, app.registry, app.settings, path, layer,
                         progress=bar.update if bar else None, mapping=_mapping(mapping),
                         valid_time=valid_time, **opts):
        click.echo(line)


def register(main: click.Group) -> None:
    main.add_command(load)
