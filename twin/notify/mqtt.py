"""Alert messages on MQTT.

For each alert event: the alert's current state, retained, on ``<prefix>/<alert id>``
(an empty retained payload once resolved, which clears it from the broker), then the
event on ``<prefix>/events`` (not retained). QoS 1: a delivery is done only when the
broker has acknowledged both (PUBACK); while the broker is away nothing is published,
the delivery stays pending and is retried (never dead-lettered), and every waiting
delivery is made due as soon as the connection is back.

The retained message is the alert as it is when delivered, not as it was at the event,
so a retry that arrives after a later event cannot bring back an older state.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

import paho.mqtt.client as mqtt

from twin.ingest.mqtt import Broker
from twin.notify.outbox import Claimed, Outcome

log = logging.getLogger("twin.notify.mqtt")
PUBACK_WAIT_S = 10.0


class Publisher:
    def __init__(self, url: str, prefix: str, retry_max_s: float,
                 on_connect: Callable[[], None] | None = None):
        self.broker = Broker.parse(url)
        self.prefix = prefix.rstrip("/")
        self.retry_max_s = retry_max_s
        self._on_connect = on_connect
        client_id = f"twin-notify-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self.client = self.broker.client(client_id, manual_ack=False)
        self.client.reconnect_delay_set(1, max(1, int(retry_max_s)))
        self.client.on_connect = self._connected

    def _connected(self, _client, _userdata, _flags, reason_code, _properties=None):
        if not reason_code.is_failure and self._on_connect:
            self._on_connect()

    def start(self) -> None:
        self.client.connect_async(self.broker.host, self.broker.port, keepalive=30)
        self.client.loop_start()

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def topic(self, alert_id: int) -> str:
        return f"{self.prefix}/{alert_id}"

    async def _publish(self, topic: str, payload: bytes, retain: bool) -> None:
        if not self.client.is_connected():
            raise ConnectionError("not connected to the broker")
        info = self.client.publish(topic, payload, qos=1, retain=retain)
        if info.rc != mqtt.MQTT_ERR_SUCCESS:
            raise ConnectionError(f"publish refused ({mqtt.error_string(info.rc)})")
        await asyncio.to_thread(info.wait_for_publish, PUBACK_WAIT_S)
        if not info.is_published():
            raise TimeoutError(f"no PUBACK within {PUBACK_WAIT_S:g} s")

    async def publish(self, topic: str, payload: bytes) -> None:
        """One message, QoS 1, not retained (other producers' deliveries)."""
        await self._publish(topic, payload, retain=False)

    async def send(self, delivery: Claimed, current: dict | None) -> Outcome:
        """Publish the retained state (``current``: the alert now) and the event."""
        started = datetime.now(UTC)
        alert_id = delivery.payload["alert"]["id"]
        live = current is not None and current.get("state") != "resolved"
        state = json.dumps(current, ensure_ascii=False).encode() if live else b""
        try:
            await self._publish(self.topic(alert_id), state, retain=True)
            await self._publish(f"{self.prefix}/events",
                                json.dumps(delivery.payload, ensure_ascii=False).encode(),
                                retain=False)
        except (ConnectionError, TimeoutError, RuntimeError, ValueError, OSError) as exc:
            retry = min(self.retry_max_s, 0.5 * 2 ** min(delivery.attempts, 10))
            return Outcome(False, started, datetime.now(UTC), error=f"MQTT: {exc}",
                           retry_in=retry)
        return Outcome(True, started, datetime.now(UTC))
