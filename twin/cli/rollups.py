"""``twin rollups``: the tables derived from the readings (latest values, rollups, AQI)."""

from __future__ import annotations

import click

from twin.cli.context import AppContext, handle_errors


@click.group("rollups")
def rollups() -> None:
    """Maintain the tables derived from sensor readings."""


def _cursor_run(app: AppContext, fn):
    """Run ``fn(cursor)`` in one transaction on the app's database."""
    with app.engine.begin() as conn:
        return fn(conn.connection.driver_connection.cursor())


@rollups.command()
@click.pass_obj
@handle_errors
def refresh(app: AppContext) -> None:
    """Recompute the month buckets that small streaming batches left pending."""
    from twin.ingest.derived import refresh_pending

    app.upgrade(quiet=True)
    tz = app.settings.city.timezone
    done = _cursor_run(app, lambda cur: refresh_pending(cur, tz=tz))
    click.echo(f"reading_rollups: {done} pending month bucket(s) recomputed")


@rollups.command()
@click.pass_obj
@handle_errors
def rebuild(app: AppContext) -> None:
    """Recompute latest values, rollups and AQI from all raw readings (one transaction)."""
    from twin.ingest.derived import rebuild as rebuild_all

    app.upgrade(quiet=True)
    tz = app.settings.city.timezone
    summary = _cursor_run(app, lambda cur: rebuild_all(cur, tz=tz))
    click.echo(summary.line())


@rollups.command("areas")
@click.option("--property", "prop", required=True, help="Observed property, e.g. pm25.")
@click.option("--from", "start", required=True, type=click.DateTime(["%Y-%m-%d"]),
              help="First local day, YYYY-MM-DD.")
@click.option("--to", "end", required=True, type=click.DateTime(["%Y-%m-%d"]),
              help="Last local day, YYYY-MM-DD (inclusive).")
@click.option("--grain", type=click.Choice(["hour", "day", "month"]), default="day",
              show_default=True)
@click.pass_obj
@handle_errors
def areas(app: AppContext, prop: str, start, end, grain: str) -> None:
    """Rollups per commune or ward of the administrative map in force on each day, as CSV
    (before 1 July 2025 the former wards, from then the new communes and wards)."""
    import csv
    import sys
    from datetime import datetime, time, timedelta
    from zoneinfo import ZoneInfo

    import psycopg

    from twin.reports.area_rollups import area_rollups
    from twin.server.db import libpq_url

    tz = app.settings.city.timezone
    begins = datetime.combine(start.date(), time.min, ZoneInfo(tz))
    ends = datetime.combine(end.date() + timedelta(days=1), time.min, ZoneInfo(tz))
    with psycopg.connect(libpq_url(app.url), autocommit=True) as conn:
        rows = area_rollups(conn, prop, begins, ends, grain, tz)
    out = csv.writer(sys.stdout, lineterminator="\n")
    out.writerow(["bucket", "day", "code", "name", "level", "stations", "readings", "mean",
                  "min", "max"])
    for r in rows:
        out.writerow([r.bucket.isoformat(), r.day.isoformat(), r.code, r.name, r.level,
                      r.stations, r.readings, f"{r.mean:.3f}", r.min, r.max])


def register(main: click.Group) -> None:
    main.add_command(rollups)
