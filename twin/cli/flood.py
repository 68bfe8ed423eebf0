"""``twin flood``: flood scenarios, recorded events and their exposure."""

from __future__ import annotations

import json
from pathlib import Path

import click

from twin.cli.context import AppContext, handle_errors


@click.group("flood")
def flood() -> None:
    """Flood depth grids and extents from rain, river stages and gauges."""


def _dem_option(func):
    return click.option("--dem", type=click.Path(exists=True, dir_okay=False, path_type=Path),
                        default=None, help="GeoTIFF DEM (default: the catalogued 'dem').")(func)


def _grid_options(func):
    func = click.option("--resolution", "resolution_m", type=float, default=None,
                        help="Model cell size in metres (default: the DEM's own).")(func)
    return click.option("--min-depth", "min_depth_m", type=float, default=0.05,
                        show_default=True, help="Shallower cells count as dry (m).")(func)


def _report(summary: dict) -> None:
    t = summary["timings_s"]
    click.echo(f"{summary['scenario']}: {summary['steps']} hourly grids "
               f"({summary['grid']['shape'][1]}x{summary['grid']['shape'][0]} cells of "
               f"{summary['grid']['resolution_m']:g} m), {summary['extents']} extents; peak "
               f"{summary['peak_wet_km2']:.2f} km² at {summary['peak_time']}, max depth "
               f"{summary['max_depth_m']:.2f} m; coverage /collections/{summary['coverage']}; "
               f"{t['total_s']:.1f} s")


def _audit(command: str, values: dict):
    """Who runs this command, for the audit row of a published scenario it replaces."""
    import getpass

    from twin.flood.archive import Audit

    return Audit(actor=f"cli:{getpass.getuser()}", process_id=f"twin flood {command}",
                 method="cli", inputs=values)


def _run_and_report(app: AppContext, model, command: str, dem: Path | None,
                    options: dict) -> None:
    """Parse the options as ``model``, run, store and print the summary; input errors
    are the command's errors."""
    from twin.flood.request import FloodInputError, parse
    from twin.flood.runner import run_flood

    values = {k: v for k, v in options.items() if v is not None}
    try:
        req = parse(model, values, app.settings.city.timezone)
        summary = run_flood(app.engine, app.settings.raster_dir, req, dem, click.echo,
                            _audit(command, values))
    except FloodInputError as exc:
        raise click.ClickException(str(exc)) from None
    _report(summary)


@flood.command()
@click.option("--name", required=True, help="Scenario name, e.g. yagi.")
@click.option("--rain-mm", type=float, default=0.0, show_default=True,
              help="Rain over --hours, spread evenly (mm).")
@click.option("--hours", type=int, default=48, show_default=True, help="Rain duration (h).")
@click.option("--drainage-mm-h", type=float, default=50.0, show_default=True,
              help="What the drains take (mm/h).")
@click.option("--stage-m", type=float, default=None,
              help="Main river's water level (m, DEM datum).")
@click.option("--from", "start", default=None, help="First hour (default: this hour, UTC); "
              "a date or a date-time, local when without an offset.")
@click.option("--to", "end", default=None, help="End of the run (default: --from + --hours).")
@_grid_options
@_dem_option
@click.pass_obj
@handle_errors
def scenario(app: AppContext, dem: Path | None, **options) -> None:
    """Run a "what if" scenario and store its grids and extents."""
    from twin.flood.request import ScenarioRequest

    _run_and_report(app, ScenarioRequest, "scenario", dem, options)


@flood.command()
@click.option("--from", "start", required=True, help="First day (local) or date-time.")
@click.option("--to", "end", required=True, help="Last day, inclusive, or end date-time.")
@click.option("--name", default=None, help="Scenario name (default: event-<from>).")
@click.option("--drainage-mm-h", type=float, default=50.0, show_default=True,
              help="What the drains take (mm/h).")
@_grid_options
@_dem_option
@click.pass_obj
@handle_errors
def event(app: AppContext, dem: Path | None, **options) -> None:
    """Run the gauge and rain models on the recorded readings of a period."""
    from twin.flood.request import EventRequest

    _run_and_report(app, EventRequest, "event", dem, options)


@flood.command()
@click.option("--scenario", required=True, help="Scenario or event name.")
@click.option("--time", "when", required=True, help="Valid time (date-time; local when "
              "without an offset).")
@click.option("--threshold", "threshold_m", type=float, default=None,
              help="Depth (m) above which roads, points and parcels count as flooded "
              "(default: 0.15 roads, 0.10 others).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the features and summary as GeoJSON here.")
@click.pass_obj
@handle_errors
def exposure(app: AppContext, scenario: str, when: str, threshold_m: float | None,
             output: Path | None) -> None:
    """What a scenario floods at a time: roads, stops, routes, signs, parcels, stations."""
    from twin.flood.exposure import ExposureRequest, compute
    from twin.flood.request import FloodInputError

    try:
        req = ExposureRequest.of(scenario, when, threshold_m, app.settings.city.timezone)
        with app.engine.connect() as conn:
            result = compute(conn, req)
    except (FloodInputError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    if output:
        output.write_text(json.dumps(result, ensure_ascii=False), encoding="utf-8")
        click.echo(f"wrote {output} ({len(result['features'])} features)")
    click.echo(json.dumps(result["summary"], ensure_ascii=False, indent=2))


@flood.command()
@click.argument("name")
@click.option("--archive", "archive_id", type=int, default=None,
              help="Archive id to restore (default: the latest; see 'twin flood versions').")
@click.pass_obj
@handle_errors
def restore(app: AppContext, name: str, archive_id: int | None) -> None:
    """Put back the version of published scenario NAME that a later run replaced (the
    version it replaces is archived in turn, so a restore can be undone)."""
    from twin.flood.archive import RestoreError
    from twin.flood.archive import restore as restore_run

    try:
        done = restore_run(app.engine, name, _audit("restore", {"name": name,
                                                                "archive": archive_id}),
                           archive_id)
    except RestoreError as exc:
        raise click.ClickException(str(exc)) from None
    got, gone = done["restored"], done["replaced"]
    click.echo(f"{name}: restored archive {done['restored_archive']} "
               f"({got['flood_extents']} extents, {got['rasters']} grids); the version it "
               f"replaced ({gone['flood_extents']} extents, {gone['rasters']} grids) is "
               f"archive {done['replaced_archive']}")


@flood.command()
@click.argument("name")
@click.pass_obj
@handle_errors
def versions(app: AppContext, name: str) -> None:
    """List the archived versions of published scenario NAME."""
    from sqlalchemy import text

    with app.engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT id, at, actor, reason, counts, restored_at FROM scenario_archive "
            "WHERE kind = 'flood_depth' AND scenario = :s ORDER BY at DESC"), {"s": name}).all()
    if not rows:
        click.echo(f"{name}: no archived versions")
    for aid, at, actor, reason, counts, restored in rows:
        state = f", restored {restored:%Y-%m-%d %H:%M}" if restored else ""
        click.echo(f"{aid:>5}  {at:%Y-%m-%d %H:%M:%S}  {reason:<8} by {actor}: "
                   f"{counts.get('flood_extents', 0)} extents, {counts.get('rasters', 0)} "
                   f"grids{state}")


def register(main: click.Group) -> None:
    main.add_command(flood)
