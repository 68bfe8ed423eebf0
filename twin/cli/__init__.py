"""The ``twin`` command. One module per command group; each registers itself here."""

from __future__ import annotations

import click

from twin.cli.context import AppContext, handle_errors


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="twin")
@click.pass_context
def main(ctx: click.Context) -> None:
    """twin: Hanoi's city model in PostGIS, served through OGC APIs."""
    ctx.obj = AppContext()


def _register() -> None:
    from twin.cli import (
        alerts,
        db,
        demo,
        flood,
        harvest,
        importer,
        ingest,
        interpolate,
        keys,
        layers,
        load,
        notify,
        prune,
        report,
        rollups,
        serve,
        styles,
        tiles,
    )

    for module in (db, demo, keys, layers, load, serve, report, styles, rollups, ingest,
                   interpolate, flood, importer, tiles, alerts, harvest,
                   notify, prune):  # last: add to the alerts and db groups
        module.register(main)


_register()
__all__ = ["handle_errors", "main"]
