"""``twin harvest``: pull a remote OGC API – Features collection into a local layer."""

from __future__ import annotations

import re
import threading
from pathlib import Path

import click

from twin.cli.context import AppContext, handle_errors

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def duration(text: str) -> float:
    """``90``, ``10s``, ``15m``, ``1h``, ``1d`` in seconds."""
    found = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*", text or "")
    if not found or float(found[1]) <= 0:
        raise click.BadParameter(f"{text!r} is not a duration such as 10s, 15m or 1h",
                                 param_hint="--every")
    return float(found[1]) * UNITS[found[2] or "s"]


def _header(values: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for item in values:
        name, sep, value = item.partition(":")
        if not sep or not name.strip():
            raise click.BadParameter(f"{item!r} is not NAME: VALUE", param_hint="--header")
        out[name.strip()] = value.strip()
    return out


@click.command("harvest")
@click.argument("url")
@click.option("--collection", "-c", required=True, help="The remote collection id.")
@click.option("--layer", "-l", help="The local layer [the mapping's layer, else the "
              "collection id].")
@click.option("--mapping", "mapping_path", type=click.Path(path_type=Path, dir_okay=False),
              help="A mapping file, as for twin load --mapping.")
@click.option("--every", help="Run again every interval (10s, 15m, 1h) until interrupted; "
              "a failed run is retried at the next.")
@click.option("--editable/--read-only", default=None,
              help="Whether harvested features may be edited locally [read-only].")
@click.option("--subscribe", "callback", metavar="URL",
              help="With --every, against another twin: subscribe to the collection's "
              "changes with a webhook to URL (http://HOST:PORT/..., where this command "
              "listens) and run as soon as a signed delivery arrives.")
@click.option("--updated", metavar="PROPERTY",
              help="The remote's update-time property: a remote without a change feed is "
              "then followed by update time (datetime=<last seen>/.., or a CQL2 filter), "
              "remembered for later runs ('' forgets it).")
@click.option("--full", is_flag=True,
              help="A full compare now (removes what the remote deleted).")
@click.option("--full-every", type=click.IntRange(min=1), default=24, show_default=True,
              help="By update time: every Nth run is a full compare, which sees deletions.")
@click.option("--header", multiple=True, metavar="NAME: VALUE",
              help="An HTTP header sent to the remote, e.g. 'X-API-Key: ...' (repeatable).")
@click.pass_obj
@handle_errors
def harvest(app: AppContext, url: str, collection: str, layer: str | None,
            mapping_path: Path | None, every: str | None, editable: bool | None,
            callback: str | None, updated: str | None, full: bool, full_every: int,
            header: tuple[str, ...]) -> None:
    """Harvest URL's COLLECTION into a local layer: another twin incrementally through
    its change feed, a server that filters by an update-time property (--updated) by
    update time, any other OGC API - Features server by a full compare. Only features
    this source harvested are ever removed. Each run is one transaction: a remote that
    fails leaves the layer as it was."""
    from twin.harvest.remote import Remote, RemoteError
    from twin.harvest.run import HarvestError
    from twin.harvest.run import every as loop
    from twin.harvest.run import harvest as run_once
    from twin.harvest.trigger import Trigger
    from twin.ingest.mapping import read_mapping

    mapping = read_mapping(mapping_path) if mapping_path else None
    target = layer or (mapping.layer if mapping else None) or collection
    interval = duration(every) if every else None
    if callback and interval is None:
        raise click.UsageError("--subscribe goes with --every (the schedule runs too)")
    app.upgrade(quiet=True)

    full_due = [full]  # --full: the first successful run only, not every scheduled one

    def run() -> None:
        remote = Remote(url, collection, headers=_header(header))
        try:
            result = run_once(app.engine, app.registry, url, collection, target,
                              mapping=mapping, extent=app.settings.plausible_extent,
                              editable=editable, remote=remote, updated=updated,
                              full=full_due[0], full_every=full_every)
        finally:
            remote.close()
        full_due[0] = False
        click.echo(result.line(target))

    if interval is None:
        run()
        return

    def scheduled() -> None:
        try:
            run()
        except HarvestError as exc:
            click.echo(f"error: {exc}", err=True)

    wake, trigger = threading.Event(), None
    if callback:
        try:
            trigger = Trigger(Remote(url, collection, headers=_header(header)), callback,
                              wake)
            trigger.start()
        except (RemoteError, OSError) as exc:
            raise click.ClickException(str(exc)) from None
        click.echo(f"subscribed to {url} {collection}: deliveries to {callback}")
    try:
        loop(interval, scheduled, wake=wake)
    except KeyboardInterrupt:
        click.echo("stopped")
    finally:
        if trigger:
            trigger.stop()
            trigger.remote.close()


def register(main: click.Group) -> None:
    main.add_command(harvest)
