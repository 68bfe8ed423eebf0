"""Helpers of the alert delivery tests: a webhook receiver on loopback that checks
signatures and can be told to fail or hang, an MQTT watcher, a dispatcher running in its
own thread (and event loop), and alerts written straight into the outbox tables as the
alerts contract (migration 0011) defines them."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import paho.mqtt.client as mqtt
import psycopg

from twin.notify.config import Endpoint, NotifySettings
from twin.notify.dispatcher import Dispatcher
from twin.notify.webhook import verify

SECRET = "s3cret-for-tests"
SECRET_ENV = "TWIN_TEST_WEBHOOK_SECRET"
WAIT_S = 60.0  # how long a test waits for something to arrive before failing


def wait_for(condition, what: str, timeout: float = WAIT_S):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"waited {timeout:g} s for {what}")


class Receiver:
    """A webhook endpoint: ``mode`` is ``ok``, ``fail`` (HTTP 500) or ``hang``."""

    def __init__(self):
        self.mode = "ok"
        self.hang_s = 30.0
        self.requests: list[dict] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                mode = receiver.mode
                with receiver.lock:
                    receiver.requests.append({
                        "headers": dict(self.headers), "body": body, "mode": mode,
                        "valid": verify(SECRET, body, self.headers.get("X-Twin-Signature", "")),
                        "json": json.loads(body)})
                if mode == "hang":
                    time.sleep(receiver.hang_s)
                status = 500 if mode == "fail" else 204
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/hook"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def seen(self, event_type: str | None = None) -> list[dict]:
        with self.lock:
            return [r for r in self.requests
                    if event_type is None or r["headers"].get("X-Twin-Event") == event_type]

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def endpoint(name: str, url: str, **kw) -> Endpoint:
    return Endpoint(name=name, url=url, secret_env=SECRET_ENV, agency="Sở Test", **kw)


class MqttWatch:
    """Messages received on ``topics`` (topic, payload bytes, retain flag)."""

    def __init__(self, url: str, topics: list[str]):
        host, port = url.removeprefix("mqtt://").split(":")
        self.messages: list[tuple[str, bytes, bool]] = []
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
        self.client.on_message = lambda _c, _u, m: self.messages.append(
            (m.topic, m.payload, bool(m.retain)))
        subscribed = threading.Event()
        self.client.on_subscribe = lambda *_a: subscribed.set()
        self.client.on_connect = lambda c, *_a: c.subscribe([(t, 1) for t in topics])
        self.client.connect(host, int(port))
        self.client.loop_start()
        assert subscribed.wait(30), "MQTT subscription"

    def on(self, topic: str) -> list[tuple[bytes, bool]]:
        return [(p, r) for t, p, r in list(self.messages) if t == topic]

    def close(self):
        self.client.disconnect()
        self.client.loop_stop()


class Running:
    """A dispatcher in a thread of its own: ``stop()`` asks it to finish, ``kill()``
    cancels it wherever it is (a process killed mid-delivery)."""

    def __init__(self, dsn: str | None, endpoints: dict[str, Endpoint] | None = None, *,
                 dispatcher: Dispatcher | None = None, **settings):
        """A dispatcher of ``dsn`` with ``endpoints`` and test settings, or the one given."""
        base = {"dispatch": False, "poll_s": 0.5, "mqtt_retry_max_s": 1.0}
        self.dispatcher = dispatcher or Dispatcher(
            dsn, NotifySettings(**{**base, **settings}, _env_file=None), endpoints or {})
        self.loop = asyncio.new_event_loop()
        ready = threading.Event()

        def run():
            asyncio.set_event_loop(self.loop)
            self.stop_event = asyncio.Event()
            self.task = self.loop.create_task(self.dispatcher.run(self.stop_event))
            ready.set()
            try:
                self.loop.run_until_complete(self.task)
            except asyncio.CancelledError:
                pass
            finally:
                self.loop.close()

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()
        ready.wait(10)

    def stop(self):
        self.loop.call_soon_threadsafe(self.stop_event.set)
        self.thread.join(30)

    def kill(self):
        self.loop.call_soon_threadsafe(self.task.cancel)
        self.thread.join(30)


def add_rule(dsn: str, rule_id: str, notify: dict) -> None:
    with psycopg.connect(dsn) as conn:
        conn.execute("INSERT INTO alert_rules (id, spec, source) VALUES (%s, %s, 'config') "
                     "ON CONFLICT (id) DO UPDATE SET spec = EXCLUDED.spec",
                     (rule_id, json.dumps({"id": rule_id, "notify": notify,
                                           "ack_roles": ["environment"]})))


def open_alert(dsn: str, rule_id: str, subject: str, *, kind: str = "rain",
               geom: str = "POINT(105.8412 21.0245)", severity: str = "moderate",
               value: float = 42.0) -> tuple[int, int]:
    """A new open alert and its ``opened`` event, in one transaction: (alert, event)."""
    with psycopg.connect(dsn) as conn:
        alert_id = conn.execute(
            "INSERT INTO alerts (rule_id, subject, subject_kind, kind, severity, state, value, "
            "unit, title, description, geom, opened_at, updated_at) VALUES (%s, %s, 'station', "
            "%s, %s, 'open', %s, 'mm', %s, %s, ST_GeomFromText(%s, 4326), now(), now()) "
            "RETURNING id",
            (rule_id, subject, kind, severity, value,
             json.dumps({"vi": f"Mưa lớn tại {subject}", "en": f"Heavy rain at {subject}"}),
             json.dumps({"vi": "Lượng mưa 1 giờ vượt 40 mm", "en": "1-hour rain above 40 mm"}),
             geom)).fetchone()[0]
        event_id = conn.execute(
            "INSERT INTO alert_events (alert_id, at, transition, severity, value) "
            "VALUES (%s, now(), 'opened', %s, %s) RETURNING id",
            (alert_id, severity, value)).fetchone()[0]
    return alert_id, event_id


def transition(dsn: str, alert_id: int, to: str, *, severity: str = "moderate",
               value: float | None = None, actor: str | None = None) -> int:
    """Move an alert (``updated``, ``acknowledged``, ``resolved``) with its event."""
    state = {"updated": None, "acknowledged": "acknowledged", "resolved": "resolved"}[to]
    with psycopg.connect(dsn) as conn:
        conn.execute(
            "UPDATE alerts SET severity = %s, value = coalesce(%s, value), updated_at = now(), "
            "state = coalesce(%s, state), "
            "resolved_at = CASE WHEN %s = 'resolved' THEN now() END, "
            "acknowledged_at = CASE WHEN %s = 'acknowledged' THEN now() "
            "ELSE acknowledged_at END, acknowledged_by = coalesce(%s, acknowledged_by) "
            "WHERE id = %s", (severity, value, state, to, to, actor, alert_id))
        return conn.execute(
            "INSERT INTO alert_events (alert_id, at, transition, severity, value, actor) "
            "VALUES (%s, now(), %s, %s, %s, %s) RETURNING id",
            (alert_id, to, severity, value, actor)).fetchone()[0]


def deliveries(dsn: str, **where) -> list[dict]:
    clauses = " AND ".join(f"{k} = %({k})s" for k in where) or "true"
    with psycopg.connect(dsn) as conn:
        cur = conn.execute("SELECT id, event_id, channel, target, status, attempts, "
                           f"last_error FROM deliveries WHERE {clauses} ORDER BY id", where)
        names = [c.name for c in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def clean(dsn: str) -> None:
    """Empty the alert and delivery tables (ids restart, the fan-out mark too)."""
    with psycopg.connect(dsn) as conn:
        conn.execute("TRUNCATE delivery_attempts, deliveries, notify_fanned, alert_events, "
                     "alerts, alert_rules RESTART IDENTITY CASCADE")
        conn.execute("UPDATE notify_cursors SET last_id = 0")
