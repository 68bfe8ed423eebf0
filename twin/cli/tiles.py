"""``twin tiles``: the cache of vector tiles and of coverages' map tiles (see
:mod:`twin.tilecache`)."""

from __future__ import annotations

import contextlib

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
@click.option("--layer", "name", default=None, help="The layer (collection) whose vector "
              "tiles to seed.")
@click.option("--collection", "coverage", default=None, help="A coverage collection "
              "(pm25_surface, dem, flood_depth...) whose map tiles (PNG) to seed.")
@click.option("--datetime", "when", default=None, help="With --collection: the time step "
              "(the nearest is taken, as by the map tile route; default the latest).")
@click.option("--zooms", required=True, help="Zoom or range of zooms, e.g. 10-14.")
@click.option("--bbox", default=None, help="west,south,east,north in CRS84 (default: "
              "the layer's or collection's extent).")
@click.pass_obj
@handle_errors
def seed(app: AppContext, name: str | None, coverage: str | None, when: str | None,
         zooms: str, bbox: str | None) -> None:
    """Make and store the tiles of a layer (or the map tiles of a coverage collection) at
    some zooms, as the tile route would."""
    from twin.errors import TwinInputError
    from twin.tilecache import open_store

    if (name is None) == (coverage is None):
        raise click.UsageError("give one of --layer (vector tiles) or --collection "
                               "(map tiles)")
    if when is not None and coverage is None:
        raise click.BadParameter("only with --collection", param_hint="--datetime")
    store = open_store(app.settings.tile_cache, app.settings.data_dir,
                       endpoint=app.settings.tile_s3_endpoint)
    if not store.enabled:
        raise click.ClickException("the tile cache is off (TWIN_TILE_CACHE=off)")
    try:
        summary, levels = (_seed_layer(app, store, name, zooms, bbox) if name else
                           _seed_maps(app, store, coverage, when, zooms, bbox))
    except TwinInputError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{summary.layer} (version {summary.version}): {summary.tiles:,} tiles at "
               f"zooms {levels.start}-{levels.stop - 1}, {summary.stored:,} stored "
               f"({summary.bytes / 1e6:.1f} MB), {summary.empty:,} empty, "
               f"{summary.failed:,} not stored")
    if summary.failed:
        raise click.ClickException(f"{summary.failed:,} tiles could not be stored in "
                                   f"{app.settings.tile_cache or app.settings.data_dir / 'tiles'}")


def _seed_layer(app: AppContext, store, name: str, zooms: str, bbox: str | None):
    import psycopg

    from twin.server.db import libpq_url
    from twin.server.tiles import seed as seeding
    from twin.server.tiles.sql import LayerTiles

    if name not in app.registry.names():
        raise click.BadParameter(f"no layer {name!r}", param_hint="--layer")
    layer = app.registry.get(name)
    if layer.is_view:
        raise click.BadParameter(f"{name} is a view of the readings; its tiles are never "
                                 "cached", param_hint="--layer")
    made = LayerTiles(layer)
    levels = seeding.parse_zooms(zooms, name, made.rules.minzoom, made.rules.maxzoom)
    with psycopg.connect(libpq_url(app.url), autocommit=True) as conn:
        box = _bbox(bbox) or seeding.layer_bbox(conn, layer)
        with _progress(seeding.count_tiles(box, levels), name) as advance:
            return seeding.seed(conn, made, store, levels, box, advance), levels


def _seed_maps(app: AppContext, store, name: str, when: str | None, zooms: str,
               bbox: str | None):
    import psycopg

    from twin.server.coverages import seed as map_seeding
    from twin.server.db import libpq_url
    from twin.server.tiles import seed as seeding
    from twin.server.tiles.tms import MAX_ZOOM

    levels = seeding.parse_zooms(zooms, name, 0, MAX_ZOOM)
    box = _bbox(bbox)
    with psycopg.connect(libpq_url(app.url), autocommit=True) as conn:
        series = map_seeding.coverage_series(conn, set(app.registry.names())).get(name)
        if series is None:
            raise click.BadParameter(f"no coverage collection {name!r}",
                                     param_hint="--collection")
        step = map_seeding.pick_step(series, when)
        box = box or series.bbox
        label = f"{name} {step.valid_time.isoformat()}" if step.valid_time else name
        with _progress(seeding.count_tiles(box, levels), label) as advance:
            return map_seeding.seed_maps(conn, series, step, store, levels, box,
                                         advance), levels


@contextlib.contextmanager
def _progress(total: int, what: str):
    """The progress bar's update (a terminal only), closed afterwards."""
    bar = progress_bar(total, f"seeding {what}", unit="tile")
    try:
        yield bar.update if bar is not None else (lambda _n: None)
    finally:
        if bar is not None:
            bar.close()


def register(main: click.Group) -> None:
    main.add_command(tiles)
