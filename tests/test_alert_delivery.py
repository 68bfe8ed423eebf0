"""Alert delivery (issue 18): the dispatcher against a real PostGIS, a real Mosquitto
and a webhook receiver on loopback. Alerts are written straight into the outbox tables
(the alerts contract), so these tests do not depend on the rules engine."""

from __future__ import annotations

import json

import psycopg
import pytest

from tests.alert_delivery import (
    SECRET,
    SECRET_ENV,
    MqttWatch,
    Receiver,
    Running,
    add_rule,
    clean,
    deliveries,
    endpoint,
    open_alert,
    transition,
    wait_for,
)
from tests.conftest import TEST_DB, fresh_database
from tests.mqtt_broker import Mosquitto, free_port
from twin.db.engine import make_engine
from twin.db.schema import upgrade
from twin.server.db import libpq_url


@pytest.fixture(scope="module")
def dsn(settings, registry):
    url, drop = fresh_database(settings, TEST_DB + "_notify")
    engine = make_engine(url, pool_size=1)
    upgrade(engine, registry)
    engine.dispose()
    yield libpq_url(url)
    drop()


@pytest.fixture(autouse=True)
def fresh(dsn, monkeypatch):
    monkeypatch.setenv(SECRET_ENV, SECRET)
    clean(dsn)


@pytest.fixture(scope="module")
def broker(tmp_path_factory):
    mosquitto = Mosquitto(tmp_path_factory.mktemp("broker")).start()
    yield mosquitto
    mosquitto.stop()


@pytest.fixture()
def receiver():
    r = Receiver()
    yield r
    r.close()


def _retained_now(url: str, topic: str) -> list[bytes]:
    """What a new subscriber to ``topic`` gets retained (a marker bounds the wait)."""
    marker = "test/marker"
    watch = MqttWatch(url, [topic, marker])
    try:
        watch.client.publish(marker, b"x", qos=1)
        wait_for(lambda: watch.on(marker), "the marker")
        return [p for p, retained in watch.on(topic) if retained]
    finally:
        watch.close()


def test_an_alert_reaches_mqtt_and_a_signed_webhook_and_its_end_clears_the_retained(
        dsn, broker, receiver):
    add_rule(dsn, "rain-1h", {"webhooks": ["ops"], "mqtt": True, "languages": ["vi"]})
    watch = MqttWatch(broker.url, ["twin/alerts/#"])
    run = Running(dsn, {"ops": endpoint("ops", receiver.url)}, mqtt_url=broker.url)
    try:
        alert_id, event_id = open_alert(dsn, "rain-1h", "RG-01")
        hook = wait_for(lambda: receiver.seen("alert.opened"), "the webhook")[0]
        assert hook["valid"], hook["headers"]
        assert hook["headers"]["Idempotency-Key"] == f"alert_events:{event_id}"
        body = hook["json"]
        assert body["type"] == "alert.opened" and body["event"]["id"] == event_id
        assert body["alert"]["id"] == alert_id and body["alert"]["state"] == "open"
        assert body["alert"]["title"] == {"vi": "Mưa lớn tại RG-01"}  # the rule's languages
        assert body["alert"]["geometry"]["type"] == "Point"

        topic = f"twin/alerts/{alert_id}"
        state = wait_for(lambda: watch.on(topic), "the retained state")[0][0]
        assert json.loads(state)["state"] == "open"
        assert json.loads(state)["title"]["en"] == "Heavy rain at RG-01"
        event = wait_for(lambda: watch.on("twin/alerts/events"), "the event")[0][0]
        assert json.loads(event)["type"] == "alert.opened"
        assert _retained_now(broker.url, topic) == [state]

        transition(dsn, alert_id, "resolved")
        wait_for(lambda: receiver.seen("alert.resolved"), "the resolution's webhook")
        wait_for(lambda: (b"", False) in watch.on(topic) or (b"", True) in watch.on(topic),
                 "the cleared retained message")
        assert _retained_now(broker.url, topic) == []
        done = wait_for(lambda: [d for d in deliveries(dsn) if d["status"] != "pending"]
                        if len(deliveries(dsn, status="delivered")) == 4 else None,
                        "four deliveries")
        assert {(d["channel"], d["status"]) for d in done} == {("mqtt", "delivered"),
                                                              ("webhook", "delivered")}
    finally:
        run.stop()
        watch.close()


def test_a_failing_endpoint_is_retried_with_backoff_then_dead_lettered(dsn, receiver):
    receiver.mode = "fail"
    add_rule(dsn, "pm25", {"webhooks": ["ops"], "mqtt": False})
    run = Running(dsn, {"ops": endpoint("ops", receiver.url, max_attempts=3,
                                        backoff_s=0.05)})
    try:
        _alert, event_id = open_alert(dsn, "pm25", "AQ-01", kind="threshold")
        dead = wait_for(lambda: deliveries(dsn, status="dead"), "the dead letter")[0]
    finally:
        run.stop()
    assert dead["attempts"] == 3 and dead["last_error"] == "answered HTTP 500"
    assert [r["headers"]["Idempotency-Key"] for r in receiver.seen()] == \
        [f"alert_events:{event_id}"] * 3
    assert all(r["valid"] for r in receiver.seen())
    with psycopg.connect(dsn) as conn:
        attempts = conn.execute("SELECT ok, http_status FROM delivery_attempts "
                                "WHERE delivery_id = %s ORDER BY id", (dead["id"],)).fetchall()
    assert attempts == [(False, 500)] * 3


def test_hanging_and_refusing_endpoints_are_dead_letters_and_hold_up_no_other(
        dsn, receiver):
    hanging = Receiver()
    hanging.mode, hanging.hang_s = "hang", 5
    refused = f"http://127.0.0.1:{free_port()}/hook"
    add_rule(dsn, "river", {"webhooks": ["hang", "refused", "ok"], "mqtt": False})
    quick = {"max_attempts": 2, "backoff_s": 0.05}
    run = Running(dsn, {"hang": endpoint("hang", hanging.url, timeout_s=0.3, **quick),
                        "refused": endpoint("refused", refused, **quick),
                        "ok": endpoint("ok", receiver.url, **quick)})
    try:
        open_alert(dsn, "river", "LB-01", kind="river_level")
        wait_for(lambda: len(deliveries(dsn, status="dead")) == 2, "two dead letters")
        wait_for(lambda: deliveries(dsn, status="delivered"), "the good endpoint")
    finally:
        run.stop()
        hanging.close()
    by_target = {d["target"]: d for d in deliveries(dsn)}
    assert by_target["hang"]["last_error"] == "no answer within 0.3 s"
    assert by_target["refused"]["last_error"] == "connection refused or unreachable"
    assert by_target["ok"]["status"] == "delivered" and by_target["ok"]["attempts"] == 1


def test_endpoints_without_a_secret_or_declaration_are_dead_letters_saying_why(
        dsn, receiver, monkeypatch):
    add_rule(dsn, "silent", {"webhooks": ["nosecret", "undeclared"], "mqtt": False})
    nosecret = endpoint("nosecret", receiver.url)
    nosecret = type(nosecret)(**{**nosecret.__dict__, "secret_env": "TWIN_TEST_UNSET_SECRET"})
    monkeypatch.delenv("TWIN_TEST_UNSET_SECRET", raising=False)
    run = Running(dsn, {"nosecret": nosecret})
    try:
        open_alert(dsn, "silent", "AQ-02", kind="silence")
        dead = wait_for(lambda: d if len(d := deliveries(dsn, status="dead")) == 2 else None,
                        "two dead letters")
    finally:
        run.stop()
    reasons = {d["target"]: d["last_error"] for d in dead}
    assert "TWIN_TEST_UNSET_SECRET" in reasons["nosecret"]
    assert "no webhook endpoint 'undeclared'" in reasons["undeclared"]
    assert receiver.seen() == []


def test_a_broker_outage_delays_mqtt_messages_and_loses_none(dsn, tmp_path):
    broker = Mosquitto(tmp_path / "outage").start()
    add_rule(dsn, "flood", {"mqtt": True})
    run = Running(dsn, {}, mqtt_url=broker.url)
    try:
        broker.stop()
        alerts = [open_alert(dsn, "flood", f"road-{i}", kind="flood_depth")[0]
                  for i in range(5)]
        wait_for(lambda: len([d for d in deliveries(dsn, channel="mqtt")
                              if d["attempts"] >= 1 and d["status"] == "pending"]) == 5,
                 "failed tries while the broker is away")
        broker.start()
        watch = MqttWatch(broker.url, ["twin/alerts/+"])
        try:
            wait_for(lambda: all(watch.on(f"twin/alerts/{a}") for a in alerts),
                     "every alert's retained state after the outage")
        finally:
            watch.close()
        wait_for(lambda: len(deliveries(dsn, status="delivered")) == 5, "all delivered")
    finally:
        run.stop()
        broker.stop()
    assert all(d["last_error"].startswith("MQTT: ") for d in deliveries(dsn))


def test_a_dispatcher_killed_mid_delivery_leaves_it_to_the_next(dsn, receiver):
    receiver.mode, receiver.hang_s = "hang", 3
    add_rule(dsn, "stuck", {"webhooks": ["ops"], "mqtt": False})
    hooks = {"ops": endpoint("ops", receiver.url, timeout_s=10)}
    first = Running(dsn, hooks, lease_s=1)
    _alert, event_id = open_alert(dsn, "stuck", "AQ-03", kind="stuck")
    wait_for(receiver.seen, "the first try")
    first.kill()  # mid-delivery: the receiver is still answering
    receiver.mode = "ok"
    second = Running(dsn, hooks, lease_s=1)
    try:
        done = wait_for(lambda: deliveries(dsn, status="delivered"), "the second try")[0]
    finally:
        second.stop()
    assert done["attempts"] == 2
    keys = {r["headers"]["Idempotency-Key"] for r in receiver.seen()}
    assert keys == {f"alert_events:{event_id}"}  # the receiver can tell it is one event


def test_two_dispatchers_share_the_work_and_deliver_each_event_once(dsn, receiver):
    add_rule(dsn, "rain-3h", {"webhooks": ["ops"], "mqtt": False})
    hooks = {"ops": endpoint("ops", receiver.url)}
    runs = [Running(dsn, hooks), Running(dsn, hooks)]
    try:
        events = [open_alert(dsn, "rain-3h", f"RG-{i:02d}")[1] for i in range(30)]
        wait_for(lambda: len(deliveries(dsn, status="delivered")) == 30, "30 deliveries")
    finally:
        for run in runs:
            run.stop()
    keys = sorted(r["headers"]["Idempotency-Key"] for r in receiver.seen())
    assert keys == sorted(f"alert_events:{e}" for e in events)


def test_an_endpoint_hanging_until_its_timeout_delays_no_other_delivery(dsn, receiver):
    hanging = Receiver()
    hanging.mode, hanging.hang_s = "hang", 60
    add_rule(dsn, "slow", {"webhooks": ["hang"], "mqtt": False})
    add_rule(dsn, "fast", {"webhooks": ["ok"], "mqtt": False})
    run = Running(dsn, {"hang": endpoint("hang", hanging.url, timeout_s=60),
                        "ok": endpoint("ok", receiver.url)})
    try:
        open_alert(dsn, "slow", "AQ-04")
        wait_for(hanging.seen, "the hanging POST")
        open_alert(dsn, "fast", "AQ-05")
        wait_for(lambda: deliveries(dsn, status="delivered"), "the other delivery")
        slow = deliveries(dsn, target="hang")[0]
        assert slow["status"] == "pending" and slow["attempts"] == 1  # still in flight
    finally:
        run.kill()
        hanging.close()
