"""``twin import osm FILE``: OpenStreetMap into the city model (see twin.osm)."""

from __future__ import annotations

import time
from pathlib import Path

import click

from twin.cli.context import AppContext, handle_errors, progress_bar


@click.group("import")
def import_group() -> None:
    """Import other sources into the city model."""


def _progress(path: Path):
    """A bar of bytes read against the file's size, with objects per second; None when
    the output is not a terminal."""
    bar = progress_bar(path.stat().st_size if path.exists() else None, path.name)
    if bar is None:
        return None, None
    started = time.perf_counter()

    def update(position: int | None, objects: int) -> None:
        if position is not None:
            bar.n = min(position, bar.total or position)
        rate = objects / max(time.perf_counter() - started, 1e-3)
        bar.set_postfix_str(f"{objects:,} objects, {rate:,.0f} objects/s")   # redraws

    return bar, update


@import_group.command("osm")
@click.argument("path", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--clip", is_flag=True,
              help="Keep only what lies wholly inside the city's extent.")
@click.option("--strict", is_flag=True,
              help="Any refused object fails the import (nothing is written).")
@click.pass_obj
@handle_errors
def osm(app: AppContext, path: Path, clip: bool, strict: bool) -> None:
    """Import an OpenStreetMap file (.osm.pbf, .osm; .osc/.osc.gz change files after a
    first import) into every layer whose layer file has an osm: block, in one
    transaction."""
    from twin.osm.run import import_osm

    app.upgrade(quiet=True)
    bar, update = _progress(path)
    try:
        report = import_osm(app.engine, app.registry, app.settings, path, clip=clip,
                            strict=strict, progress=update)
    finally:
        if bar is not None:
            bar.close()
    for line in report.table():
        click.echo(line)
    for line in report.listing():
        click.echo(line)
    for note in report.notes:
        click.echo(f"note: {note}")
    click.echo(f"{report.objects:,} OSM objects read in {report.seconds:.1f} s "
               f"({report.mode}, one transaction)")


def register(main: click.Group) -> None:
    main.add_command(import_group)
