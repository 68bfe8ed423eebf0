"""``twin demo``: generate the synthetic Hanoi as ordinary files, load them with the
same loaders a user's data goes through, summarise, and serve."""

from __future__ import annotations

import time
from pathlib import Path

import click

from twin.cli.context import AppContext, handle_errors
from twin.cli.layers import layer_counts


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


def print_summary(app: AppContext) -> None:
    counts = layer_counts(app.engine, app.registry)
    click.echo("\nThe demo city holds:")
    for name, count in counts.items():
        click.echo(f"  {name:<26} {count:>10,}")
    from twin.alerts.summary import demo_lines

    with app.engine.connect() as conn:
        lines = list(demo_lines(conn.connection.driver_connection))
    click.echo("\nAlerts raised by config/alerts.yaml (twin alerts list --all):")
    for line in lines or ["none"]:
        click.echo(f"  {line}")


def load_alert_rules(app: AppContext) -> None:
    """The rules after the places and stations they name (streets, wards, gauges) and
    before the readings, so that the readings and the October storm's flood run raise
    their alerts as they are stored."""
    from twin.cli.alerts import load_rules

    load_rules(app)


def _has_rasters(app: AppContext, kind: str, scenario: str | None) -> bool:
    from sqlalchemy import text

    with app.engine.connect() as conn:
        return bool(conn.execute(text(
            "SELECT EXISTS (SELECT 1 FROM rasters WHERE kind = :k AND scenario IS NOT "
            "DISTINCT FROM :s)"), {"k": kind, "s": scenario}).scalar())


def demo_analyses(app: AppContext) -> None:
    """The analyses a planner opens the demo for, made once: hourly PM2.5, PM10 and NO₂
    surfaces for the 30 days, and the October storm as hourly flood depth grids and
    extents with the peak hour's exposure. A rerun finds them and skips them."""
    from twin.flood.demo import SCENARIO, run_demo_flood_event
    from twin.surfaces.demo import build_demo_surfaces

    def say(msg: str) -> None:
        click.echo(f"  {msg}")

    started = time.perf_counter()
    if _has_rasters(app, "air_quality", None):
        click.echo("air-quality surfaces already made")
    else:
        click.echo("interpolating hourly air-quality surfaces ...")
        build_demo_surfaces(app.engine, app.settings, progress=say)
    if _has_rasters(app, "flood_depth", SCENARIO):
        click.echo(f"flood event {SCENARIO} already modelled")
    else:
        click.echo(f"modelling the October storm ({SCENARIO}) ...")
        run_demo_flood_event(app.engine, app.settings, progress=say)
    click.echo(f"analyses done in {time.perf_counter() - started:.0f} s")


# The environment key is the agency of the demo's air-quality stations: readings are
# written (POST /readings) and corrected by the station's own agency only.
DEMO_AGENCIES = [("So Giao thong Van tai (transport)", "transport"),
                 ("Sở Tài nguyên và Môi trường Hà Nội", "environment"),
                 ("Van phong Dang ky dat dai (land office)", "land_office")]


def demo_keys(app: AppContext) -> None:
    """One API key per agency role, made once and kept in DATA_DIR/demo-keys.txt (0600),
    so that editing from QGIS or curl can be tried straight away."""
    from twin.server.auth.keys import create_key

    path = app.settings.data_dir / "demo-keys.txt"
    if not path.exists():
        lines = [f"{role}\t{create_key(app.engine, agency, role)[0]}"
                 for agency, role in DEMO_AGENCIES]
        path.write_text("\n".join(lines) + "\n")
        path.chmod(0o600)
    click.echo(f"\nDemo API keys (send as X-API-Key; in {path}):")
    for line in path.read_text().splitlines():
        role, key = line.split("\t")
        click.echo(f"  {role:<12} {key}")


@click.command("demo")
@click.option("--seed", default=20261124, show_default=True)
@click.option("--scale", default=1.0, show_default=True, help="Density of roads and parcels.")
@click.option("--out", type=click.Path(path_type=Path, file_okay=False),
              help="Where to write the input files (default: DATA_DIR/demo).")
@click.option("--serve/--no-serve", default=True, show_default=True,
              help="Serve the city when loaded.")
@click.option("--stream/--no-stream", default=False, show_default=True,
              help="Send the 30 days of readings over MQTT while serving (a subscriber and a "
                   "replay beside the server) instead of loading them with COPY.")
@click.pass_obj
@handle_errors
def demo(app: AppContext, seed: int, scale: float, out: Path | None, serve: bool,
         stream: bool) -> None:
    """Build, load and serve the synthetic demo Hanoi."""
    started = time.perf_counter()
    out = out or app.settings.data_dir / "demo"
    out.mkdir(parents=True, exist_ok=True)
    generate_inputs(out, seed, scale)
    app.upgrade()
    from twin.ingest.dispatch import load_demo

    load_demo(app.engine, app.registry, app.settings, out, echo=click.echo,
              skip=("readings.csv",) if stream else (),
              before_readings=lambda: load_alert_rules(app))
    if not stream:  # streamed readings make their surfaces as they arrive
        demo_analyses(app)
    print_summary(app)
    demo_keys(app)
    click.echo(f"\ndemo ready in {time.perf_counter() - started:.0f} s "
               f"(database: {app.url.split('@')[-1]})")
    if serve:
        serve_demo(app, out / "readings.csv" if stream else None)


def serve_demo(app: AppContext, stream: Path | None) -> None:
    """Serve; with ``stream``, the readings arrive over MQTT while the server runs."""
    from twin.cli.serve import serve_app

    live = None
    if stream is not None:
        from twin.demo.live import LiveDemo

        live = LiveDemo(app.settings.data_dir, app.url, stream)
        try:
            live.start(click.echo)
        except RuntimeError as exc:
            click.echo(f"warning: not streaming: {exc}", err=True)
            live = None
    try:
        serve_app(app)
    finally:
        if live is not None:
            live.stop()


def register(main: click.Group) -> None:
    main.add_command(demo)
