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
@click.option("--crs", help="Source CRS, e.g. the city profile's local zone (crs.local in "
              "config/city.yaml); overrides the file's.")
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
@click.option("--check", is_flag=True,
              help="Read the file against the layer and report; change nothing, write a "
                   "mapping template.")
@click.option("--json", "as_json", is_flag=True, help="--check: the report as JSON.")
@click.option("--template", type=click.Path(path_type=Path, dir_okay=False),
              help="--check: where to write the mapping template [FILE.mapping.yaml].")
@click.option("--mapping", "mapping_path", type=click.Path(path_type=Path, dir_okay=False),
              help="A mapping file: column renames, value maps, units, constants, defaults.")
@click.option("--mapping-from-run", type=int, metavar="ID",
              help="Use the mapping stored with load run ID (load_runs).")
@click.option("--encoding", help="Text encoding of a Shapefile, DGN or CSV: utf-8, tcvn3 "
              "(ABC), vni, cp1258 (default: detected).")
@click.option("--boundary-level", type=click.IntRange(0, 63),
              help="DGN: the level of the parcel boundary lines [10].")
@click.option("--label-level", type=click.IntRange(0, 63),
              help="DGN: read parcel labels on this level only [every level].")
@click.option("--area-tolerance", type=click.FloatRange(0, 100), default=5.0,
              show_default=True,
              help="Percent by which a stated parcel area may differ from the computed one.")
@click.pass_obj
@handle_errors
def load(app: AppContext, path: Path, layer: str | None, mapping: tuple[str, ...],
         valid_time: datetime | None, check: bool, as_json: bool, template: Path | None,
         mapping_path: Path | None, mapping_from_run: int | None, area_tolerance: float,
         **opts) -> None:
    """Load PATH (GeoJSON, GeoPackage, zipped Shapefile, CSV, MicroStation DGN v7
    cadastral sheet, GTFS zip, readings CSV or GeoTIFF) in one transaction: all of it or
    nothing. With --check, report what a load would meet and change nothing."""
    from twin.ingest.dispatch import load_any

    file_mapping = _file_mapping(app, mapping_path, mapping_from_run)
    layer = layer or (file_mapping.layer if file_mapping else None)
    opts.update(mapping_file=file_mapping, area_tolerance=area_tolerance / 100)
    if check:
        _check(app, path, layer, _mapping(mapping), as_json, template, opts)
        return
    app.upgrade(quiet=True)
    if layer == "sensor_readings":  # COPY streams the file: progress in bytes
        bar = progress_bar(path.stat().st_size if path.exists() else 0, path.name)
    else:
        bar = progress_bar(None, path.name, unit=" features")
    for line in load_any(app.engine, app.registry, app.settings, path, layer,
                         progress=bar.update if bar else None, mapping=_mapping(mapping),
                         valid_time=valid_time, **opts):
        click.echo(line)


def _file_mapping(app: AppContext, path: Path | None, run_id: int | None):
    if path is not None and run_id is not None:
        raise click.UsageError("give --mapping or --mapping-from-run, not both")
    if path is not None:
        from twin.ingest.mapping import read_mapping

        return read_mapping(path)
    if run_id is not None:
        from twin.ingest.runs import mapping_of_run

        return mapping_of_run(app.engine, run_id)
    return None


def _check(app: AppContext, path: Path, layer: str | None, overrides: dict[str, str],
           as_json: bool, template: Path | None, opts: dict) -> None:
    """``--check``: the report, and the mapping template (never over an existing file)."""
    import json

    from twin.ingest.check import check_file
    from twin.ingest.check_report import render, write_template
    from twin.ingest.dispatch import source_options

    if not layer:
        raise click.UsageError("--check needs the target layer (--layer)")
    target = app.registry.get(layer)
    report = check_file(target, path, extent=app.settings.plausible_extent,
                        options=source_options(opts, app.settings), overrides=overrides,
                        id_column=opts.get("id_column"),
                        area_tolerance=opts["area_tolerance"])
    write_template(report, target, opts["mapping_file"],
                   template or path.with_name(f"{path.stem}.mapping.yaml"))
    if as_json:
        click.echo(json.dumps(report.as_dict(), ensure_ascii=False, indent=2, default=str))
    else:
        for line in render(report):
            click.echo(line)


def register(main: click.Group) -> None:
    main.add_command(load)
