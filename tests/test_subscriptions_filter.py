"""Subscriptions that keep a copy of "the features in my bbox / filter" exact (issue 19,
point 4): an update that moves a feature out of the subscriber's bbox or CQL2 filter is
delivered once as ``left`` (a tombstone-like change with the id), one that moves it back
in as ``created`` (a put), one that leaves it outside as nothing. Over real HTTP against
the session's server and its dispatcher, to a webhook receiver on loopback (signatures
verified with the subscription's secret), and over MQTT (Mosquitto) with a dispatcher
of the test's own."""

from __future__ import annotations

import json
import time

import pytest

from tests.alert_delivery import Running
from tests.test_subscriptions import (  # noqa: F401  (receiver: a fixture)
    CAMERAS,
    WAIT_S,
    Receiver,
    camera,
    code,
    keys,
    receiver,
)
from twin.catalogue.changes import Cursor
from twin.notify.webhook import verify

BBOX = [105.80, 21.00, 105.90, 21.10]
IN, OUT, FAR = 105.85, 105.95, 105.97


def actions(receiver: Receiver, fid: str) -> list[str]:  # noqa: F811
    """The actions delivered for ``fid``, in change order."""
    found = [f for f in receiver.features() if f["id"] == fid]
    return [f["change"]["action"] for f in sorted(found, key=lambda f: f["change"]["time"])]


def wait_actions(receiver: Receiver, fid: str, expected: list[str]) -> None:  # noqa: F811
    deadline = time.monotonic() + WAIT_S
    while actions(receiver, fid) != expected:
        assert len(actions(receiver, fid)) <= len(expected), actions(receiver, fid)
        assert time.monotonic() < deadline, (actions(receiver, fid), expected)
        time.sleep(0.1)


def fanned_past(http, headers: dict, sub_id: int, cursor: str) -> None:
    """Wait until the dispatcher has fanned out the changes committed after ``cursor``
    (the subscription's cursor reached the feed's end read now)."""
    r = http.get("/collections/cameras/changes", params={"cursor": cursor, "limit": 10000})
    assert r.status_code == 200, r.text
    written = Cursor.decode(r.json()["cursor"])
    deadline = time.monotonic() + WAIT_S
    while Cursor.decode(http.get(f"/subscriptions/{sub_id}", headers=headers)
                        .json()["cursor"]) < written:
        assert time.monotonic() < deadline, "the subscription's cursor did not move"
        time.sleep(0.1)


def put(http, headers: dict, fid: str, x: float, status: str) -> None:
    r = http.put(f"{CAMERAS}/{fid}", json=camera(fid, x, 21.05, status), headers=headers)
    assert r.status_code in (200, 204), r.text


def test_leaving_and_entering_the_bbox_and_the_filter(http, keys, receiver):  # noqa: F811
    transport, env = keys["transport"], keys["environment"]
    r = http.post("/subscriptions", headers=env, json={
        "layer": "cameras", "bbox": BBOX, "filter": "status = 'offline'",
        "webhook": receiver.url})
    assert r.status_code == 201, r.text
    sub, fid, stays_out = r.json(), code(), code()
    try:
        assert http.post(CAMERAS, json=camera(fid, IN, 21.05, "offline"),
                         headers=transport).status_code == 201
        wait_actions(receiver, fid, ["created"])
        put(http, transport, fid, OUT, "offline")           # leaves the bbox
        wait_actions(receiver, fid, ["created", "left"])
        left = next(f for f in receiver.features() if f["change"]["action"] == "left")
        assert left["geometry"] is None and left["properties"] is None
        cursor = http.get(f"/subscriptions/{sub['id']}", headers=env).json()["cursor"]
        put(http, transport, fid, FAR, "offline")           # moves, still outside
        fanned_past(http, env, sub["id"], cursor)
        put(http, transport, fid, IN, "offline")            # back in: a put
        wait_actions(receiver, fid, ["created", "left", "created"])
        back = [f for f in receiver.features() if f["id"] == fid][-1]
        assert back["geometry"]["coordinates"] == pytest.approx([IN, 21.05])
        assert back["properties"]["status"] == "offline"
        put(http, transport, fid, IN, "online")             # leaves the filter
        wait_actions(receiver, fid, ["created", "left", "created", "left"])
        # a feature never inside: created and moved outside, nothing at all
        assert http.post(CAMERAS, json=camera(stays_out, OUT, 21.05, "offline"),
                         headers=transport).status_code == 201
        cursor = http.get(f"/subscriptions/{sub['id']}", headers=env).json()["cursor"]
        put(http, transport, stays_out, FAR, "offline")
        fanned_past(http, env, sub["id"], cursor)
        assert http.delete(f"{CAMERAS}/{fid}", headers=transport).status_code == 204
        wait_actions(receiver, fid, ["created", "left", "created", "left", "deleted"])
        assert stays_out not in {f["id"] for f in receiver.features()}
        for headers, body in receiver.got:
            assert verify(sub["secret"], body, headers["X-Twin-Signature"])
            assert json.loads(body)["subscription"] == sub["id"]
    finally:
        for f in (fid, stays_out):
            http.delete(f"{CAMERAS}/{f}", headers=transport)
        http.delete(f"/subscriptions/{sub['id']}", headers=env)


def test_without_a_filter_nothing_leaves(http, keys, receiver):  # noqa: F811
    """A subscription to the whole layer gets every update as an update."""
    transport = keys["transport"]
    r = http.post("/subscriptions", headers=transport,
                  json={"layer": "cameras", "webhook": receiver.url})
    assert r.status_code == 201, r.text
    sub, fid = r.json(), code()
    try:
        assert http.post(CAMERAS, json=camera(fid, IN, 21.05, "offline"),
                         headers=transport).status_code == 201
        wait_actions(receiver, fid, ["created"])
        put(http, transport, fid, OUT, "online")
        wait_actions(receiver, fid, ["created", "updated"])
    finally:
        http.delete(f"{CAMERAS}/{fid}", headers=transport)
        http.delete(f"/subscriptions/{sub['id']}", headers=transport)


def test_leaving_the_bbox_by_mqtt(http, keys, city_url, registry, tmp_path,  # noqa: F811
                                  monkeypatch):
    """The same ``left`` on the subscription's MQTT topic (Mosquitto), published by a
    dispatcher with a broker."""
    from tests.alert_delivery import MqttWatch
    from tests.mqtt_broker import Mosquitto
    from twin.notify.config import NotifySettings
    from twin.notify.dispatcher import Dispatcher
    from twin.server.db import libpq_url
    from twin.server.subscriptions.producer import SubscriptionProducer

    broker = Mosquitto(tmp_path / "broker").start()
    monkeypatch.setenv("TWIN_NOTIFY_MQTT_URL", broker.url)
    transport = keys["transport"]
    r = http.post("/subscriptions", headers=transport,
                  json={"layer": "cameras", "bbox": BBOX, "mqtt": True})
    assert r.status_code == 201, r.text
    sub = r.json()
    watch = MqttWatch(broker.url, [sub["target"]])
    dispatcher = Dispatcher(libpq_url(city_url), NotifySettings(
        dispatch=False, poll_s=0.5, mqtt_url=broker.url, _env_file=None), {},
        producers=[SubscriptionProducer(registry)], prune_every_s=0)
    running = Running(None, dispatcher=dispatcher)
    fid = code()

    def published() -> list[tuple[str, str]]:
        return [(f["id"], f["change"]["action"]) for payload, _retained in watch.on(
            sub["target"]) for f in json.loads(payload)["features"]]

    def wait(expected):
        deadline = time.monotonic() + WAIT_S
        while published() != expected:
            assert time.monotonic() < deadline, published()
            time.sleep(0.1)

    try:
        assert http.post(CAMERAS, json=camera(fid, IN, 21.05, "online"),
                         headers=transport).status_code == 201
        wait([(fid, "created")])
        put(http, transport, fid, OUT, "online")
        wait([(fid, "created"), (fid, "left")])
    finally:
        running.stop()
        watch.close()
        broker.stop()
        http.delete(f"{CAMERAS}/{fid}", headers=transport)
        http.delete(f"/subscriptions/{sub['id']}", headers=transport)


def test_the_replaced_version_is_kept_only_while_a_filter_needs_it(http, keys,  # noqa: F811
                                                                  city_url):
    """An update's log row carries the old version while a subscription with a bbox or a
    filter follows the layer, and not once it is gone (a full rewrite of a layer nobody
    filters costs what it did before)."""
    import psycopg

    from twin.server.db import libpq_url

    transport, fid = keys["transport"], code()

    def last_old(db):
        return db.execute("SELECT old FROM change_log WHERE external_id = %s AND action = "
                          "'updated' ORDER BY id DESC LIMIT 1", (fid,)).fetchone()[0]

    with psycopg.connect(libpq_url(city_url), autocommit=True) as db:
        r = http.post("/subscriptions", headers=transport, json={
            "layer": "cameras", "bbox": BBOX, "webhook": "http://127.0.0.1:9/hook"})
        assert r.status_code == 201, r.text
        sub = r.json()
        try:
            assert http.post(CAMERAS, json=camera(fid, IN, 21.05, "online"),
                             headers=transport).status_code == 201
            put(http, transport, fid, OUT, "online")
            old = last_old(db)
            assert old["external_id"] == fid and old["status"] == "online"
            assert old["geom"]["coordinates"] == pytest.approx([IN, 21.05])
            assert http.delete(f"/subscriptions/{sub['id']}",
                               headers=transport).status_code == 204
            others = db.execute("SELECT count(*) FROM subscriptions WHERE layer_table = "
                                "'cameras' AND (bbox IS NOT NULL OR filter IS NOT NULL)"
                                ).fetchone()[0]
            put(http, transport, fid, IN, "offline")
            if not others:
                assert last_old(db) is None
        finally:
            http.delete(f"{CAMERAS}/{fid}", headers=transport)
            http.delete(f"/subscriptions/{sub['id']}", headers=transport)
