"""``twin ingest``: streaming ingest of sensor readings.

``twin ingest mqtt`` subscribes to a broker and stores readings as they come;
``twin ingest replay`` publishes the demo readings to a broker, for trying the former.
"""

from __future__ import annotations

import logging
import socket
from pathlib import Path

import click

from twin.cli.context import AppContext, handle_errors


def _broker(value: str):
    from twin.ingest.mqtt import Broker

    try:
        return Broker.parse(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--broker") from None


def _group(_ctx, _param, value: str | None) -> str | None:
    from twin.ingest.mqtt_topics import check_group

    if value is not None:
        try:
            check_group(value)
        except ValueError as exc:
            raise click.BadParameter(str(exc)) from None
    return value


@click.group("ingest")
def ingest() -> None:
    """Stream sensor readings in (MQTT), or replay the demo's readings to a broker."""


@ingest.command("mqtt")
@click.option("--broker", default="mqtt://127.0.0.1:1883", show_default=True,
              help="mqtt://[user:password@]host[:port] or mqtts://... (TLS).")
@click.option("--topic", "topics", multiple=True, default=("twin/readings/#",),
              show_default=True, help="Topic filter (repeatable): <prefix>/<station>[/<property>].")
@click.option("--client-id", help="Fixed id: the broker keeps this subscriber's session and "
              "queue. Default twin-ingest; in a group twin-ingest-<group>-<host name>: give "
              "each member on one host its own.")
@click.option("--group", callback=_group,
              help="Join the MQTT 5 shared subscription $share/GROUP/<topic>: the broker "
                   "splits the stream among the members of the group.")
@click.option("--batch", "batch_messages", default=10000, show_default=True,
              type=click.IntRange(1, 16000), help="Write after this many messages...")
@click.option("--batch-ms", default=1000, show_default=True, type=click.IntRange(1, 60000),
              help="...or this many milliseconds after the first one.")
@click.option("--report-s", default=60.0, show_default=True, help="Seconds between progress lines.")
@click.option("--agency-topics", is_flag=True,
              help="Topics are <prefix>/<agency>/<station>[/<property>]: a reading whose "
                   "agency level does not name its station's agency is a dead letter.")
@click.pass_obj
@handle_errors
def mqtt_command(app: AppContext, broker: str, topics: tuple[str, ...], client_id: str | None,
                 group: str | None, batch_messages: int, batch_ms: int, report_s: float,
                 agency_topics: bool) -> None:
    """Subscribe to a broker and store readings (QoS 1, acknowledged once stored)."""
    from twin.ingest.mqtt import MqttOptions, Subscriber
    from twin.ingest.policy import Window
    from twin.server.db import libpq_url

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    window = Window.of(app.settings.readings_max_age_days,
                       app.settings.readings_max_ahead_minutes, app.settings.city.timezone)
    if client_id is None:
        client_id = f"twin-ingest-{group}-{socket.gethostname()}" if group else "twin-ingest"
    options = MqttOptions(_broker(broker), tuple(topics), client_id, batch_messages, batch_ms,
                          surfaces_dir=app.settings.raster_dir, agency_topics=agency_topics,
                          window=window, group=group)
    app.upgrade(quiet=True)
    subscriber = Subscriber(libpq_url(app.url), options)
    _report_every(subscriber, report_s)
    click.echo(f"storing readings from {broker} ({', '.join(options.subscriptions)}) as "
               f"{client_id}; Ctrl-C to stop")
    stats = subscriber.run()
    click.echo(stats.line())


def _report_every(subscriber, seconds: float) -> None:
    """A progress line every ``seconds`` on a daemon thread, until the subscriber stops."""
    import threading

    def report():
        while not subscriber.stopping.wait(seconds):
            click.echo(subscriber.stats.line())

    if seconds > 0:
        threading.Thread(target=report, daemon=True, name="twin-ingest-report").start()


@ingest.command("replay")
@click.argument("path", required=False, type=click.Path(path_type=Path, dir_okay=False))
@click.option("--broker", default="mqtt://127.0.0.1:1883", show_default=True)
@click.option("--speed", default=0.0, show_default=True, type=click.FloatRange(0),
              help="0: as fast as the broker takes them; else a time multiplier (3600 = an "
                   "hour a second).")
@click.option("--prefix", default="twin/readings", show_default=True, help="Topic prefix.")
@click.option("--limit", type=click.IntRange(1), help="Only the earliest N readings.")
@click.option("--window", "window_min", default=0, show_default=True,
              type=click.IntRange(0, 1440),
              help="Minutes of a station's readings per message (0: one message per time).")
@click.pass_obj
@handle_errors
def replay_command(app: AppContext, path: Path | None, broker: str, speed: float, prefix: str,
                   limit: int | None, window_min: int) -> None:
    """Publish a readings CSV (default: the demo's) to per-station topics, QoS 1."""
    from twin.demo.replay import read_moments, replay

    path = path or app.settings.data_dir / "demo" / "readings.csv"
    if not path.exists():
        raise click.BadParameter(f"{path} does not exist (run `twin demo` first, or name a "
                                 "readings CSV)", param_hint="PATH")
    target = _broker(broker)
    moments = read_moments(path, limit, window_min)
    click.echo(f"replaying {sum(len(m.readings) for m in moments):,} readings of {path.name} "
               f"to {broker} ({prefix}/<station>)")
    try:
        stats = replay(moments, target, speed=speed, prefix=prefix)
    except ConnectionError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(stats.line())


def register(main: click.Group) -> None:
    main.add_command(ingest)
