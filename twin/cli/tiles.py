"""``twin tiles``: the cache of vector tiles (see :mod:`twin.tilecache`)."""

from __future__ import annotations

import click

from twin.cli.context import AppContext, handle_errors, progress_bar


@click.group("tiles")
def tiles() -> None:
    """Fill or empty the tile cache (TWIN_TILE_CACHE, default <data dir>/tiles)."""


def _bbox(text: str | None):
    if text is None:
        return None
    try:
        box = tuple(float(v) for v in text.split(","))
    except ValueError:
        box = ()
    if len(box) != 4 or box[0] >= box[2] or box[1] >= box[3]:
        raise click.BadParameter("four numbers west,south,east,north in CRS84",
                                 param_hint="--bbox")
    return box


@tiles.command()
@click.option("--layer", "name", required=True, help="The layer (collection) to seed.")
@click.option("--zooms", required=True, help="Zoom or range of zooms, e.g. 10-14.")
@click.option("--bbox", default=None, help="west,south,east,north in CRS84 (default: "
              "the layer's extent).")
@click.pass_obj
@handle_errors
def seed(app: AppContext, name: str, zooms: str, bbox: str | None) -> None:
    """Make and store the tiles of a layer at some zooms, as the tile route would."""
    import psycopg

    from twin.server.db import libpq_url
    from twin.server.tiles import seed as seeding
    from twin.server.tiles.sql import LayerTiles
    from twin.tilecache import open_store

    if name not in app.registry.names():
        raise click.BadParameter(f"no layer {name!r}", param_hint="--layer")
    layer = app.registry.get(name)
    if layer.is_view:
        raise click.BadParameter(f"{name} is a view of the readings; its tiles are never "
                                 "cached", param_hint="--layer")
    made = LayerTiles(layer)
    store = open_store(app.settings.tile_cache, app.settings.data_dir)
    if not store.enabled:
        raise click.ClickException("the tile cache is off (TWIN_TILE_CACHE=off)")
    levels = seeding.parse_zooms(zooms, layer, made.rules.minzoom, made.rules.maxzoom)
    with psycopg.connect(libpq_url(app.url), autocommit=True) as conn:
        box = _bbox(bbox) or seeding.layer_bbox(conn, layer)
        total = seeding.count_tiles(box, levels)
        bar = progress_bar(total, f"seeding {name}", unit="tile")
        summary = seeding.seed(conn, made, store, levels, box,
                               bar.update if bar is not None else (lambda _n: None))
        if bar is not None:
            bar.close()
    click.echo(f"{name} (version {summary.version}): {summary.tiles:,} tiles at zooms "
               f"{levels.start}-{levels.stop - 1}, {summary.stored:,} stored "
               f"({summary.bytes / 1e6:.1f} MB), {summary.empty:,} empty, "
               f"{summary.failed:,} not stored")
    if summary.failed:
        raise click.ClickException(f"{summary.failed:,} tiles could not be stored in "
                                   f"{app.settings.tile_cache or app.settings.data_dir / 'tiles'}")


def register(main: click.Group) -> None:
    main.add_command(tiles)
