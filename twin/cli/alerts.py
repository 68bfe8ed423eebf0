"""``twin alerts``: load the declared rules, evaluate them, list the alerts."""

from __future__ import annotations

from datetime import UTC, datetime

import click

from twin.cli.context import AppContext, handle_errors


@click.group("alerts")
def alerts() -> None:
    """Alert rules and the alerts they raise."""


@alerts.group("rules")
def rules() -> None:
    """The rules of config/alerts.yaml."""


def _pg(app: AppContext):
    return app.engine.connect()


def load_rules(app: AppContext) -> None:
    """Check config/alerts.yaml's rules and store them (one transaction); a refused rule
    is an error naming the rule and field, and nothing is stored."""
    from twin.alerts import loader
    from twin.alerts.rules import RuleError

    path = loader.rules_path(app.settings.city_profile)
    try:
        with _pg(app) as conn:
            done = loader.load_file(conn.connection.driver_connection, path,
                                    loader.gauge_levels(app.settings.city))
    except RuleError as exc:
        raise click.ClickException(f"{path}: {exc}") from None
    click.echo(f"alert rules: {len(done)} from {path}")


@rules.command("load")
@click.pass_obj
@handle_errors
def load(app: AppContext) -> None:
    """Check config/alerts.yaml's rules and store them (one transaction)."""
    app.upgrade(quiet=True)
    load_rules(app)


@alerts.command()
@click.option("--since", type=click.DateTime(["%Y-%m-%d", "%Y-%m-%dT%H:%M"]), default=None,
              help="Re-read the stored series from this UTC time (default: each rule's "
                   "own state, from the beginning).")
@click.pass_obj
@handle_errors
def evaluate(app: AppContext, since: datetime | None) -> None:
    """Evaluate every enabled rule once (stations, then flood runs and air-quality
    surfaces), then the silence timer."""
    from twin.alerts import engine
    from twin.alerts.flood import evaluate_flood
    from twin.alerts.surface import evaluate_areas

    app.upgrade(quiet=True)
    lo = since.replace(tzinfo=UTC) if since else engine.EPOCH
    with _pg(app) as conn:
        pg = conn.connection.driver_connection
        summary = engine.evaluate(pg, None, lo)
        flood = evaluate_flood(pg)
        areas = evaluate_areas(pg, None, lo)
        timer = engine.tick(pg)
    click.echo(summary.line())
    click.echo(f"flood depth: {flood.line()}")
    click.echo(f"AQI over areas: {areas.line()}")
    if timer is not None:
        click.echo(f"silence timer: {timer.count('opened')} opened")


@alerts.command("list")
@click.option("--all", "everything", is_flag=True, help="Resolved alerts too.")
@click.pass_obj
@handle_errors
def list_alerts(app: AppContext, everything: bool) -> None:
    """The live alerts (or all), oldest first."""
    from twin.alerts.summary import alert_lines

    with _pg(app) as conn:
        for line in alert_lines(conn.connection.driver_connection, everything):
            click.echo(line)


def register(main: click.Group) -> None:
    main.add_command(alerts)
