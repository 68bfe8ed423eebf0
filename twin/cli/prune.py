"""``twin db prune``: apply the retention of the change log and of the notify outbox's
deliveries now (:mod:`twin.db.retention`; the dispatchers also do it every
``TWIN_PRUNE_EVERY_S``) and print what was removed. Registered into the ``db`` group."""

from __future__ import annotations

import json

import click

from twin.cli.context import AppContext, handle_errors


@click.command("prune")
@click.option("--changes-days", type=click.IntRange(0, 36500), default=None,
              help="Keep this many days of changes (default TWIN_CHANGES_KEEP_DAYS, 90; "
                   "0 = keep all).")
@click.option("--deliveries-days", type=click.IntRange(0, 36500), default=None,
              help="Keep delivered and dead deliveries this many days (default "
                   "TWIN_DELIVERIES_KEEP_DAYS, 30; 0 = keep all). Pending ones always stay.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
@handle_errors
def prune(app: AppContext, changes_days: int | None, deliveries_days: int | None,
          as_json: bool) -> None:
    """Remove changes and settled deliveries older than their retention, in batches."""
    from dataclasses import asdict

    import psycopg

    from twin.db.retention import prune as run
    from twin.server.db import libpq_url

    app.upgrade(quiet=True)
    settings = app.settings
    with psycopg.connect(libpq_url(app.url), autocommit=True,
                         application_name="twin-prune") as conn:
        pruned = run(conn, changes_days=settings.changes_keep_days if changes_days is None
                     else changes_days,
                     deliveries_days=settings.deliveries_keep_days if deliveries_days is None
                     else deliveries_days)
    if as_json:
        click.echo(json.dumps(asdict(pruned)))
    else:
        click.echo(f"removed {pruned.summary()}")


def register(main: click.Group) -> None:
    group = main.commands["db"]
    assert isinstance(group, click.Group)
    group.add_command(prune)
