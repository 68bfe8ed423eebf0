"""``twin demo``: generate the synthetic Hanoi as ordinary files, load them with the
same loaders a user's data goes through, summarise, and serve."""

from __future__ import annotations

import time
from pathlib import Path

import click

from twin.cli.context import AppContext, handle_errors
from twin.cli.layers import layer_counts
from twin.cli.load import run_load

# (file, layer, options) in dependency order: signs link to roads, readings to stations.
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
DEFAULTS = dict(crs=None, mode="replace", strict=False, source_layer=None, mapping={},
                id_column=None, kind="dem", scenario=None, valid_time=None, raster_id=None)


def generate_inputs(out: Path, seed: int, scale: float) -> None:
    from twin.demo.generate import generate

    stamp = out / ".complete"
    wanted = f"seed={seed} scale={scale}"
    if stamp.exists() and stamp.read_text() == wanted:
        click.echo(f"demo inputs already in {out}")
        return
    click.echo(f"writing demo inputs to {out} ...")
    generate(out, seed=seed, scale=scale, progress=lambda msg: click.echo(f"  {msg}"))
    stamp.write_text(wanted)


def load_inputs(app: AppContext, out: Path) -> None:
    for name, layer, opts in DEMO_LOADS:
        started = time.perf_counter()
        lines = run_load(app, out / name, layer, **{**DEFAULTS, **opts})
        click.echo(f"{lines[0]}  [{time.perf_counter() - started:.1f} s]")
        for line in lines[1:]:
            click.echo(f"  {line}" if not line.startswith("  ") else line)


def print_summary(app: AppContext) -> None:
    counts = layer_counts(app.engine, app.registry)
    click.echo("\nThe demo city holds:")
    for name, count in counts.items():
        click.echo(f"  {name:<18} {count:>10,}")


@click.command("demo")
@click.option("--seed", default=20261124, show_default=True)
@click.option("--scale", default=1.0, show_default=True, help="Density of roads and parcels.")
@click.option("--out", type=click.Path(path_type=Path, file_okay=False),
              help="Where to write the input files (default: DATA_DIR/demo).")
@click.option("--serve/--no-serve", default=True, show_default=True,
              help="Serve the city when loaded.")
@click.pass_obj
@handle_errors
def demo(app: AppContext, seed: int, scale: float, out: Path | None, serve: bool) -> None:
    """Build, load and serve the synthetic demo Hanoi."""
    started = time.perf_counter()
    out = out or app.settings.data_dir / "demo"
    out.mkdir(parents=True, exist_ok=True)
    generate_inputs(out, seed, scale)
    app.upgrade()
    load_inputs(app, out)
    print_summary(app)
    click.echo(f"\ndemo ready in {time.perf_counter() - started:.0f} s "
               f"(database: {app.url.split('@')[-1]})")
    if serve:
        from twin.cli.serve import serve_app

        serve_app(app)


def register(main: click.Group) -> None:
    main.add_command(demo)
