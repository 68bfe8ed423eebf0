"""Issue 19, point 4: subscriptions to a layer's changes, over real HTTP against the
session's server (its dispatcher running), delivered to a webhook receiver on loopback:
signed exactly as alert webhooks (verified with the subscription's secret), filtered by
bbox and CQL2, retried after a failure, listed in /admin/deliveries; who may subscribe,
see and delete a subscription; bad requests are 400 with an OGC exception."""

from __future__ import annotations

import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from tests.alert_delivery import Running
from tests.conftest import _free_port
from twin.notify.webhook import verify
from twin.server.auth.keys import create_key

CAMERAS = "/collections/cameras/items"
WAIT_S = 120  # a fail-safe for a stuck dispatcher, not a bound on delivery time


class Receiver:
    """A webhook receiver: records (headers, raw body); answers ``fail`` times 500 first."""

    def __init__(self):
        self.got: list[tuple[dict, bytes]] = []
        self.fail = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                status = 200
                if receiver.fail > 0:
                    receiver.fail -= 1
                    status = 500
                else:
                    receiver.got.append((dict(self.headers), body))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", _free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/hook"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def features(self) -> list[dict]:
        return [f for _h, body in self.got for f in json.loads(body)["features"]]

    def wait_for(self, ids: set[str], action: str | None = None) -> list[dict]:
        deadline = time.monotonic() + WAIT_S
        while not ids <= {f["id"] for f in self.features()
                          if action in (None, f["change"]["action"])}:
            assert time.monotonic() < deadline, f"not delivered: {ids}"
            time.sleep(0.1)
        return self.features()


@pytest.fixture()
def receiver():
    r = Receiver()
    yield r
    r.httpd.shutdown()
    r.httpd.server_close()


@pytest.fixture(scope="module")
def keys(city_engine) -> dict[str, dict]:
    return {role: {"X-API-Key": create_key(city_engine, f"Sở {role}", role)[0]}
            for role in ("transport", "environment", "admin")}


def camera(code: str, x: float, y: float, status: str) -> dict:
    return {"type": "Feature", "id": code, "geometry": {"type": "Point", "coordinates": [x, y]},
            "properties": {"code": code, "status": status}}


def code() -> str:
    return "T-SUB-" + uuid.uuid4().hex[:8]


def test_a_subscription_receives_signed_filtered_changes(http, keys, receiver):
    transport = keys["transport"]
    r = http.post("/subscriptions", headers=keys["environment"], json={
        "layer": "cameras", "bbox": [105.80, 21.00, 105.90, 21.10],
        "filter": "status = 'offline'", "webhook": receiver.url})
    assert r.status_code == 201, r.text
    sub = r.json()
    assert sub["channel"] == "webhook" and sub["layer"] == "cameras" and sub["secret"]
    inside, other, outside = code(), code(), code()
    try:
        for fid, x, status in ((inside, 105.85, "offline"), (other, 105.85, "online"),
                               (outside, 105.95, "offline")):
            r = http.post(CAMERAS, json=camera(fid, x, 21.05, status), headers=transport)
            assert r.status_code == 201, r.text
        assert http.delete(f"{CAMERAS}/{inside}", headers=transport).status_code == 204
        got = receiver.wait_for({inside}, "deleted")
        # the creation is sent unless the deletion committed before it was fanned out
        assert {f["id"] for f in got} == {inside}
        assert [f["change"]["action"] for f in got][-1] == "deleted"
        headers, body = receiver.got[0]
        assert verify(sub["secret"], body, headers["X-Twin-Signature"])
        assert not verify("another secret", body, headers["X-Twin-Signature"])
        assert headers["X-Twin-Event"] == "layer.changes"
        assert headers["Idempotency-Key"].startswith("layer_changes:")
        message = json.loads(body)
        assert message["subscription"] == sub["id"] and message["cursor"]
        # listed with the alerts' deliveries (recorded once the receiver has answered)
        deadline = time.monotonic() + WAIT_S
        while True:
            r = http.get("/admin/deliveries", headers=keys["admin"], params={"limit": 1000})
            assert r.status_code == 200, r.text
            listed = [d for d in r.json()["deliveries"] if d["stream"] == "layer_changes"
                      and d["target"] == f"subscription:{sub['id']}"]
            if listed and all(d["status"] == "delivered" for d in listed):
                break
            assert time.monotonic() < deadline, listed
            time.sleep(0.1)
        assert len(listed) == len(receiver.got)
    finally:
        for fid in (other, outside):
            http.delete(f"{CAMERAS}/{fid}", headers=transport)
        http.delete(f"/subscriptions/{sub['id']}", headers=keys["environment"])


def test_a_failed_delivery_is_retried(http, keys, receiver):
    receiver.fail = 1
    r = http.post("/subscriptions", headers=keys["transport"],
                  json={"layer": "cameras", "webhook": receiver.url})
    assert r.status_code == 201, r.text
    sub, fid = r.json(), code()
    try:
        assert http.post(CAMERAS, json=camera(fid, 105.85, 21.05, "online"),
                         headers=keys["transport"]).status_code == 201
        receiver.wait_for({fid})
        assert receiver.fail == 0
        headers, body = receiver.got[0]
        assert verify(sub["secret"], body, headers["X-Twin-Signature"])
    finally:
        http.delete(f"{CAMERAS}/{fid}", headers=keys["transport"])
        http.delete(f"/subscriptions/{sub['id']}", headers=keys["transport"])


def test_owners_see_and_delete_their_subscriptions(http, keys):
    r = http.post("/subscriptions", headers=keys["transport"],
                  json={"layer": "cameras", "webhook": "http://127.0.0.1:9/hook"})
    assert r.status_code == 201, r.text
    sub = r.json()
    path = f"/subscriptions/{sub['id']}"
    assert "secret" not in http.get(path, headers=keys["transport"]).json()
    assert http.get(path, headers=keys["environment"]).status_code == 404
    assert http.get(path, headers=keys["admin"]).status_code == 200
    mine = http.get("/subscriptions", headers=keys["transport"]).json()["subscriptions"]
    theirs = http.get("/subscriptions", headers=keys["environment"]).json()["subscriptions"]
    assert sub["id"] in {s["id"] for s in mine} and sub["id"] not in {s["id"] for s in theirs}
    assert http.delete(path, headers=keys["environment"]).status_code == 404
    assert http.delete(path, headers=keys["transport"]).status_code == 204
    assert http.get(path, headers=keys["transport"]).status_code == 404


@pytest.mark.parametrize("body, status, words", [
    ({"layer": "cameras", "webhook": "ftp://x"}, 400, "webhook"),
    ({"layer": "cameras"}, 400, "channel"),
    ({"layer": "cameras", "webhook": "http://x/", "filter": "status = = 1"}, 400, "filter"),
    ({"layer": "cameras", "webhook": "http://x/", "filter": "nope = 1"}, 400, "nope"),
    ({"layer": "cameras", "webhook": "http://x/", "bbox": [1, 2, 3]}, 400, "bbox"),
    ({"layer": "cameras", "webhook": "http://x/", "colour": "red"}, 400, "colour"),
    ({"layer": "no_such_layer", "webhook": "http://x/"}, 404, "no_such_layer"),
    ([1, 2], 400, "object"),
])
def test_bad_subscriptions_are_refused_clearly(http, keys, body, status, words):
    r = http.post("/subscriptions", headers=keys["transport"], json=body)
    assert r.status_code == status, r.text
    assert set(r.json()) >= {"code", "description"} and words in r.json()["description"]


def test_anonymous_callers_cannot_subscribe(http):
    r = http.post("/subscriptions", json={"layer": "cameras", "webhook": "http://x/"})
    assert r.status_code == 401
    assert httpx.codes.is_error(http.get("/subscriptions").status_code)


# --- MQTT -----------------------------------------------------------------------------

def test_a_subscription_by_mqtt_gets_changes_on_its_topic(http, keys, city_url, registry,
                                                          tmp_path, monkeypatch):
    """A dispatcher with a broker (Mosquitto) publishes the changes on the topic the
    server assigned; the session server's own dispatcher has none and leaves them."""

    from tests.alert_delivery import MqttWatch
    from tests.mqtt_broker import Mosquitto
    from twin.notify.config import NotifySettings
    from twin.notify.dispatcher import Dispatcher
    from twin.server.db import libpq_url
    from twin.server.subscriptions.producer import SubscriptionProducer

    broker = Mosquitto(tmp_path / "broker").start()
    monkeypatch.setenv("TWIN_NOTIFY_MQTT_URL", broker.url)  # read per request
    r = http.post("/subscriptions", headers=keys["transport"],
                  json={"layer": "cameras", "mqtt": True})
    assert r.status_code == 201, r.text
    sub = r.json()
    assert sub["channel"] == "mqtt" and sub["target"].endswith(f"/cameras/{sub['id']}")
    watch = MqttWatch(broker.url, [sub["target"]])
    dispatcher = Dispatcher(libpq_url(city_url), NotifySettings(
        dispatch=False, poll_s=0.5, mqtt_url=broker.url, _env_file=None), {},
        producers=[SubscriptionProducer(registry)])
    running = Running(None, dispatcher=dispatcher)
    fid = code()
    try:
        assert http.post(CAMERAS, json=camera(fid, 105.85, 21.05, "online"),
                         headers=keys["transport"]).status_code == 201
        deadline = time.monotonic() + WAIT_S
        while not watch.on(sub["target"]):
            assert time.monotonic() < deadline, "nothing published"
            time.sleep(0.1)
        payload, retained = watch.on(sub["target"])[0]
        message = json.loads(payload)
        assert not retained and message["subscription"] == sub["id"]
        assert [f["id"] for f in message["features"]] == [fid]
    finally:
        running.stop()
        watch.close()
        broker.stop()
        http.delete(f"{CAMERAS}/{fid}", headers=keys["transport"])
        http.delete(f"/subscriptions/{sub['id']}", headers=keys["transport"])
