"""``twin alerts dispatch``: deliver alert notifications (MQTT, webhooks) from the
outbox until stopped; any number may run beside the server's workers (see
:mod:`twin.notify.dispatcher`). Registered into the ``alerts`` group when another
module made it, else as that group's first command."""

from __future__ import annotations

import click

from twin.cli.context import AppContext, handle_errors


@click.command("dispatch")
@click.option("--broker", default=None, help="mqtt://[user:password@]host[:port] for alert "
              "messages (default: TWIN_NOTIFY_MQTT_URL; neither = no MQTT deliveries).")
@click.option("--poll", "poll_s", type=click.FloatRange(0.05, 600), default=None,
              help="Seconds between polls without a notification (default 5).")
@click.pass_obj
@handle_errors
def dispatch(app: AppContext, broker: str | None, poll_s: float | None) -> None:
    """Deliver alert events to MQTT and webhooks until SIGINT/SIGTERM."""
    import asyncio
    import signal

    from twin.notify.config import NotifySettings
    from twin.notify.dispatcher import Dispatcher
    from twin.server.db import libpq_url

    app.upgrade(quiet=True)
    overrides = {k: v for k, v in (("mqtt_url", broker), ("poll_s", poll_s)) if v is not None}
    settings = NotifySettings(**overrides)
    from twin.server.subscriptions.producer import SubscriptionProducer

    # layer-change subscriptions share the outbox: this dispatcher delivers them too
    dispatcher = Dispatcher(libpq_url(app.url), settings,
                            producers=[SubscriptionProducer(app.registry)])

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        click.echo(f"delivering alerts (webhooks: {', '.join(dispatcher.endpoints) or 'none'}"
                   f"; MQTT: {settings.mqtt_url or 'off'}); Ctrl-C stops")
        await dispatcher.run(stop)

    asyncio.run(run())
    click.echo(f"stopped; {dispatcher.delivered} deliveries made")


def register(main: click.Group) -> None:
    group = main.commands.get("alerts")
    if not isinstance(group, click.Group):
        @click.group("alerts")
        def group() -> None:
            """Alert rules, alerts and their delivery."""
        main.add_command(group)
    group.add_command(dispatch)
