"""``twin interpolate`` (hourly pollutant surfaces for a period) and ``twin surfaces
process-pending`` (the surfaces of hours whose readings arrived since)."""

from __future__ import annotations

from datetime import datetime

import click
from pydantic import ValidationError

from twin.cli.context import AppContext, handle_errors, progress_bar

# Request fields -> the option that sets them, so an error names what to fix.
_OPTION = {"pollutant": "--pollutant", "start": "--from", "end": "--to", "method": "--method",
           "model": "--model", "resolution": "--resolution", "bbox": "--bbox"}


def _when(_ctx, param, value: str) -> datetime:
    """An ISO 8601 time or date; without an offset it is UTC."""
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter("give an ISO 8601 time such as 2026-10-01T05:00Z or a date",
                                 param=param) from None


def _request(**fields):
    from twin.surfaces.region import parse_bbox
    from twin.surfaces.request import SurfaceRequest

    try:
        if fields.get("bbox") is not None:
            fields["bbox"] = parse_bbox(fields["bbox"])
        return SurfaceRequest(**fields)
    except ValidationError as exc:
        first = exc.errors()[0]
        name = str(first["loc"][0]) if first["loc"] else "end"
        raise click.BadParameter(first["msg"], param_hint=_OPTION.get(name, name)) from None
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--bbox") from None


@click.command("interpolate")
@click.option("--pollutant", required=True, type=click.Choice(["pm25", "pm10", "no2"]))
@click.option("--from", "start", required=True, callback=_when,
              help="First hour (ISO 8601; UTC unless an offset is given).")
@click.option("--to", "end", required=True, callback=_when, help="Last hour, inclusive.")
@click.option("--method", default="auto", show_default=True,
              type=click.Choice(["auto", "idw", "kriging"]),
              help="auto: the lowest leave-one-out RMSE among IDW and kriging per hour.")
@click.option("--model", default="spherical", show_default=True,
              type=click.Choice(["spherical", "exponential", "gaussian"]),
              help="Variogram model for --method kriging.")
@click.option("--resolution", type=float, default=None,
              help="Cell size in metres [default: the city's surface grid, 150].")
@click.option("--bbox", default=None, help="minlon,minlat,maxlon,maxlat (default: the city).")
@click.pass_obj
@handle_errors
def interpolate(app: AppContext, pollutant, start, end, method, model, resolution, bbox):
    """Interpolate hourly station means onto the city grid and store one COG per hour."""
    from twin.surfaces.request import DEFAULT_RESOLUTION
    from twin.surfaces.run import driver_connection, make_surfaces

    request = _request(pollutant=pollutant, start=start, end=end, method=method, model=model,
                       resolution=resolution or DEFAULT_RESOLUTION, bbox=bbox)
    app.upgrade(quiet=True)
    bar = progress_bar(request.hours, f"{pollutant} surfaces", unit="h")
    try:
        with driver_connection(app.engine) as conn:
            run = make_surfaces(conn, request, app.settings.raster_dir,
                                progress=bar.update if bar else None)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        if bar:
            bar.close()
    done = run.as_dict()
    rmse = done["loocv_rmse_mean"]
    click.echo(f"{pollutant}: {done['surfaces']} hourly surfaces stored "
               f"({done['skipped_hours']} hours with too few stations); methods "
               f"{done['methods'] or '-'}; mean LOOCV RMSE "
               f"{'-' if rmse is None else f'{rmse:.2f}'} µg/m³")


@click.group("surfaces")
def surfaces() -> None:
    """Air-quality surfaces made as readings arrive."""


@surfaces.command("process-pending")
@click.option("--limit", type=click.IntRange(1), default=10_000, show_default=True,
              help="At most this many queued hours.")
@click.pass_obj
@handle_errors
def process_pending(app: AppContext, limit: int) -> None:
    """Make the surfaces of the hours queued by ingests since their last surface."""
    from twin.surfaces.pending import process_pending as work
    from twin.surfaces.run import driver_connection

    app.upgrade(quiet=True)
    with driver_connection(app.engine) as conn:
        summary = work(conn, app.settings.raster_dir, limit=limit)
    click.echo(summary.line())


def register(main: click.Group) -> None:
    main.add_command(interpolate)
    main.add_command(surfaces)
