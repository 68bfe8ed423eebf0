"""``twin layers``: what the city model holds."""

from __future__ import annotations

import click
from sqlalchemy import text

from twin.cli.context import AppContext, handle_errors


def layer_counts(engine, registry) -> dict[str, int]:
    names = [layer.table for layer in registry] + ["bus_route_stops", "sensor_readings",
                                                   "rasters"]
    with engine.connect() as conn:
        return {n: conn.execute(text(f"SELECT count(*) FROM {n}")).scalar() for n in names}


@click.command("layers")
@click.option("--counts/--no-counts", default=True, help="Count features in the database.")
@click.pass_obj
@handle_errors
def layers(app: AppContext, counts: bool) -> None:
    """List the layers declared in layers/*.yaml (and their feature counts)."""
    numbers = layer_counts(app.engine, app.registry) if counts else {}
    for layer in app.registry:
        private = [f.name for f in layer.fields.values() if f.private]
        line = f"{layer.name:<16} {layer.geometry:<16} {layer.storage_crs:<10}"
        if counts:
            line += f" {numbers.get(layer.table, 0):>9,}"
        if private:
            line += f"  private: {', '.join(private)}"
        click.echo(line)


def register(main: click.Group) -> None:
    main.add_command(layers)
