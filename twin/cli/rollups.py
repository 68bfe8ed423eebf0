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


def register(main: click.Group) -> None:
    main.add_command(rollups)
