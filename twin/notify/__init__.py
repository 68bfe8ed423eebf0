"""Notification delivery from an outbox: MQTT, signed webhooks, with retries and dead
letters (issue 18, alerts; the core in :mod:`twin.notify.outbox` is generic so that
layer-change subscriptions reuse it).

- :mod:`twin.notify.config`: the dispatcher's settings and the webhook endpoints;
- :mod:`twin.notify.outbox`: claim due deliveries, record attempts, back off, dead-letter;
- :mod:`twin.notify.fanout`: alert events (``alert_events``) become deliveries;
- :mod:`twin.notify.webhook`, :mod:`twin.notify.mqtt`: the two channels;
- :mod:`twin.notify.dispatcher`: the loop (server lifespan or ``twin alerts dispatch``);
- :mod:`twin.notify.cap`: an alert as OASIS CAP 1.2.
"""
