"""Alert delivery over HTTP (issue 18): the SSE stream, CAP 1.2 (validated against the
OASIS schema) and its Atom feed, the admin listing of deliveries and the retry of a
dead letter, on the real app under uvicorn against its own database."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import httpx
import pytest
from lxml import etree

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
from tests.conftest import TEST_DB, _free_port, fresh_database, served
from tests.mqtt_broker import Mosquitto
from twin.db.engine import make_engine
from twin.db.schema import upgrade
from twin.server.db import libpq_url

XSD = Path(__file__).parent / "data" / "CAP-v1.2.xsd"
CAP = "{urn:oasis:names:tc:emergency:cap:1.2}"
ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture(scope="module")
def site_url(settings, registry):
    """The SQLAlchemy URL of a database of this module's own."""
    url, drop = fresh_database(settings, TEST_DB + "_notify_http")
    engine = make_engine(url, pool_size=1)
    upgrade(engine, registry)
    engine.dispose()
    yield url
    drop()


@pytest.fixture(scope="module")
def site(settings, registry, site_url, tmp_path_factory):
    """(base URL, libpq DSN, {role: API key}) of an app on that database."""
    from twin.server.app import create_app
    from twin.server.auth.keys import create_key

    engine = make_engine(site_url, pool_size=1)
    keys = {role: create_key(engine, "Sở Test", role)[0] for role in ("admin", "environment")}
    engine.dispose()
    port = _free_port()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TWIN_NOTIFY_DISPATCH", "false")  # the tests run their own
        mp.setenv("TWIN_NOTIFY_HEARTBEAT_S", "0.5")
        app = create_app(settings.model_copy(update={
            "port": port, "public_url": None, "data_dir": tmp_path_factory.mktemp("notify")}),
            site_url, registry)
    with served(app, port) as base:
        yield base, libpq_url(site_url), keys


@pytest.fixture(autouse=True)
def fresh(site, monkeypatch):
    monkeypatch.setenv(SECRET_ENV, SECRET)
    clean(site[1])


@pytest.fixture(scope="module")
def schema():
    return etree.XMLSchema(etree.parse(str(XSD)))


class Stream:
    """An SSE client in a thread: the frames (dicts of field -> value) and comments."""

    def __init__(self, base: str, headers: dict | None = None):
        self.frames: list[dict] = []
        self.comments: list[str] = []
        self.client = httpx.Client(base_url=base, timeout=httpx.Timeout(60, read=None))
        self.response = self.client.send(self.client.build_request(
            "GET", "/alerts/stream", headers=headers or {}), stream=True)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        frame: dict = {}
        try:
            for line in self.response.iter_lines():
                if line.startswith(":"):
                    self.comments.append(line[1:].strip())
                elif line == "":
                    if frame:
                        self.frames.append(frame)
                    frame = {}
                else:
                    name, _, value = line.partition(":")
                    frame[name] = value.removeprefix(" ")
        except httpx.HTTPError:
            pass

    def alerts(self) -> list[dict]:
        return [f for f in list(self.frames) if f.get("event") == "alert"]

    def ids(self) -> list[int]:
        return [int(f["id"]) for f in self.alerts()]

    def data(self) -> list[dict]:
        return [json.loads(f["data"]) for f in self.alerts()]

    def close(self):
        self.response.close()
        self.client.close()


def test_the_stream_sends_each_event_resumes_after_last_event_id_and_beats(site):
    base, dsn, keys = site
    add_rule(dsn, "rain-1h", {"mqtt": False})
    anonymous, signed_in = Stream(base), Stream(base, {"X-API-Key": keys["environment"]})
    try:
        assert anonymous.response.headers["content-type"].startswith("text/event-stream")
        alert_id, first = open_alert(dsn, "rain-1h", "RG-01")
        second = transition(dsn, alert_id, "acknowledged", actor="env-user")
        third = transition(dsn, alert_id, "resolved")
        for stream in (anonymous, signed_in):
            wait_for(lambda s=stream: len(s.data()) == 3, "three events")
        assert anonymous.ids() == [first, second, third]
        messages = anonymous.data()
        assert [m["type"] for m in messages] == ["alert.opened", "alert.acknowledged",
                                                "alert.resolved"]
        assert messages[0]["alert"]["id"] == alert_id
        assert "actor" not in messages[1]["event"]          # not for anonymous readers
        assert "acknowledged_by" not in messages[1]["alert"]
        assert signed_in.data()[1]["event"]["actor"] == "env-user"
        wait_for(lambda: "heartbeat" in anonymous.comments, "a heartbeat")
    finally:
        anonymous.close()
        signed_in.close()
    resumed = Stream(base, {"Last-Event-ID": str(first)})
    try:
        wait_for(lambda: len(resumed.data()) == 2, "the events after Last-Event-ID")
        assert resumed.ids() == [second, third]
    finally:
        resumed.close()


def test_an_event_committed_after_a_higher_id_is_still_streamed(site):
    """Identity ids are handed out at insert, not at commit: the event of a transaction
    that commits after a later one was streamed still reaches the client."""
    import psycopg

    base, dsn, _keys = site
    add_rule(dsn, "rain-1h", {"mqtt": False})
    alert_id, _first = open_alert(dsn, "rain-1h", "RG-02")
    stream = Stream(base)
    try:
        wait_for(lambda: any("stream" in c for c in stream.comments), "the stream open")
        with psycopg.connect(dsn) as slow:
            late = slow.execute(
                "INSERT INTO alert_events (alert_id, at, transition, severity, value) "
                "VALUES (%s, now(), 'updated', 'severe', 50) RETURNING id",
                (alert_id,)).fetchone()[0]
            early = transition(dsn, alert_id, "acknowledged", actor="env-user")
            assert early > late
            wait_for(lambda: early in stream.ids(), "the committed later id")
        # the slow transaction commits now, its lower id after the higher one was sent
        wait_for(lambda: late in stream.ids(), "the event committed late")
        assert stream.ids() == [early, late]
    finally:
        stream.close()


def test_a_bad_last_event_id_is_a_400(site):
    r = httpx.get(site[0] + "/alerts/stream", headers={"Last-Event-ID": "yesterday"})
    assert r.status_code == 400
    assert set(r.json()) == {"code", "description"}


def _cap(base: str, alert_id: int, schema) -> etree._Element:
    r = httpx.get(f"{base}/alerts/{alert_id}/cap")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/cap+xml")
    doc = etree.fromstring(r.content)
    schema.assertValid(doc)
    return doc


def _polygons(doc) -> list[list[str]]:
    return [p.text.split() for p in doc.iter(f"{CAP}polygon")]


def test_cap_messages_are_valid_cap_1_2_in_two_languages_with_areas(site, schema):
    base, dsn, _keys = site
    add_rule(dsn, "river", {"mqtt": False})
    station, _ = open_alert(dsn, "river", "LB-01", kind="river_level", severity="severe")
    ward, _ = open_alert(dsn, "river", "ward-1", kind="flood_depth", geom=(
        "POLYGON((105.84 21.02, 105.86 21.02, 105.86 21.04, 105.84 21.04, 105.84 21.02))"))
    road, _ = open_alert(dsn, "river", "road-1", kind="flood_depth",
                         geom="LINESTRING(105.84 21.02, 105.85 21.03)")

    doc = _cap(base, station, schema)
    assert doc.findtext(f"{CAP}msgType") == "Alert"
    assert doc.findtext(f"{CAP}status") == "Actual" and doc.findtext(f"{CAP}scope") == "Public"
    infos = doc.findall(f"{CAP}info")
    assert [i.findtext(f"{CAP}language") for i in infos] == ["vi-VN", "en-US"]
    assert [i.findtext(f"{CAP}headline") for i in infos] == ["Mưa lớn tại LB-01",
                                                             "Heavy rain at LB-01"]
    assert {i.findtext(f"{CAP}severity") for i in infos} == {"Severe"}
    assert {i.findtext(f"{CAP}category") for i in infos} == {"Met"}
    assert doc.findtext(f".//{CAP}circle").startswith("21.02450,105.84120 ")
    for doc_ in (doc, _cap(base, ward, schema), _cap(base, road, schema)):
        rings = _polygons(doc_)
        assert rings and all(r[0] == r[-1] and len(r) >= 4 for r in rings)
        lat, lon = map(float, rings[0][0].split(","))
        assert 20.9 < lat < 21.1 and 105.7 < lon < 105.9  # lat,lon order

    first = doc.findtext(f"{CAP}identifier")
    transition(dsn, station, "resolved", severity="severe")
    cancel = _cap(base, station, schema)
    assert cancel.findtext(f"{CAP}msgType") == "Cancel"
    assert cancel.findtext(f"{CAP}identifier") != first
    assert cancel.findtext(f"{CAP}references").split(",")[1] == first
    assert {i.findtext(f"{CAP}urgency") for i in cancel.findall(f"{CAP}info")} == {"Past"}

    feed = httpx.get(base + "/alerts/cap")
    assert feed.status_code == 200
    assert feed.headers["content-type"].startswith("application/atom+xml")
    atom = etree.fromstring(feed.content)
    entries = atom.findall(f"{ATOM}entry")
    assert sorted(e.findtext(f"{ATOM}id").rsplit("/", 2)[1] for e in entries) == \
        sorted([str(ward), str(road)])  # the resolved one has left
    for entry in entries:
        schema.assertValid(entry.find(f"{ATOM}content")[0])

    assert httpx.get(f"{base}/alerts/999999/cap").status_code == 404
    bad = httpx.get(f"{base}/alerts/abc/cap")
    assert bad.status_code == 400 and set(bad.json()) == {"code", "description"}


def test_admins_list_deliveries_and_retry_a_dead_letter(site):
    base, dsn, keys = site
    receiver = Receiver()
    receiver.mode = "fail"
    add_rule(dsn, "pm25", {"webhooks": ["ops"], "mqtt": False})
    run = Running(dsn, {"ops": endpoint("ops", receiver.url, max_attempts=2,
                                        backoff_s=0.05)})
    admin = {"X-API-Key": keys["admin"]}
    try:
        open_alert(dsn, "pm25", "AQ-01", kind="threshold")
        dead = wait_for(lambda: deliveries(dsn, status="dead"), "the dead letter")[0]
        r = httpx.get(base + "/admin/deliveries", params={"status": "dead"}, headers=admin)
        assert r.status_code == 200, r.text
        listed = r.json()
        assert listed["numberMatched"] == 1 and listed["deliveries"][0]["id"] == dead["id"]
        assert listed["deliveries"][0]["last_error"] == "answered HTTP 500"
        assert httpx.get(base + "/admin/deliveries", params={"channel": "mqtt"},
                         headers=admin).json()["numberReturned"] == 0
        assert httpx.get(base + "/admin/deliveries").status_code == 401
        env = {"X-API-Key": keys["environment"]}
        assert httpx.get(base + "/admin/deliveries", headers=env).status_code == 403
        for params in ({"status": "lost"}, {"channel": "fax"}, {"limit": "0"},
                       {"limit": "x"}, {"colour": "red"}):
            bad = httpx.get(base + "/admin/deliveries", params=params, headers=admin)
            assert bad.status_code == 400, params
            assert set(bad.json()) == {"code", "description"}

        retry = f"{base}/admin/deliveries/{dead['id']}/retry"
        assert httpx.post(retry).status_code == 401
        assert httpx.post(retry, headers=env).status_code == 403
        receiver.mode = "ok"
        r = httpx.post(retry, headers=admin)
        assert r.status_code == 202 and r.json()["status"] == "pending"
        wait_for(lambda: deliveries(dsn, status="delivered"), "the retried delivery")
        assert httpx.post(retry, headers=admin).status_code == 409
        assert httpx.post(f"{base}/admin/deliveries/99999/retry",
                          headers=admin).status_code == 404
        assert httpx.post(f"{base}/admin/deliveries/x/retry", headers=admin).status_code == 400
    finally:
        run.stop()
        receiver.close()
    assert receiver.seen("alert.opened")[-1]["valid"]


def _station_and_rule(settings, registry, dsn: str, url: str, folder: Path) -> None:
    """A PM2.5 station of the keys' agency, loaded by the real loader, and a stuck rule
    on it stored by the rules engine's loader."""
    import psycopg

    from twin.alerts import loader
    from twin.alerts.rules import parse_rule
    from twin.ingest.vector import load_vector

    csv = folder / "stations.csv"
    csv.write_text("code,name,kind,agency,properties,lon,lat,elevation_m,installed_on\n"
                   "E2E-AQ,Trạm thử,air,Sở Test,pm25,105.8412,21.0245,10,2020-01-01\n",
                   encoding="utf-8")
    engine = make_engine(url, pool_size=1)
    load_vector(engine, registry, "sensor_stations", csv, extent=settings.plausible_extent)
    engine.dispose()
    rule = parse_rule({"id": "e2e-stuck", "subject": {"stations": {"ids": ["E2E-AQ"]}},
                       "condition": {"kind": "stuck", "property": "pm25", "times": 3},
                       "severity": "minor", "ack_roles": ["environment"],
                       "notify": {"webhooks": ["ops"], "mqtt": True}}, webhooks={"ops"})
    with psycopg.connect(dsn) as conn, conn.transaction(), conn.cursor() as cur:
        loader.check(cur, rule)
        loader.store(cur, rule, "config")


def test_a_reading_posted_opens_an_alert_that_reaches_sse_mqtt_and_the_webhook(
        site, site_url, settings, registry, tmp_path):
    """End to end with the rules engine: POST /readings -> the stuck rule opens an alert
    -> the dispatcher delivers it over MQTT and the webhook, and the stream sends it."""
    from datetime import UTC, datetime, timedelta

    base, dsn, keys = site
    _station_and_rule(settings, registry, dsn, site_url, tmp_path)
    broker = Mosquitto(tmp_path / "broker").start()
    receiver = Receiver()
    watch = MqttWatch(broker.url, ["twin/alerts/#"])
    run = Running(dsn, {"ops": endpoint("ops", receiver.url)}, mqtt_url=broker.url)
    stream = Stream(base)
    try:
        now = datetime.now(UTC).replace(microsecond=0)
        readings = [{"station": "E2E-AQ", "property": "pm25", "value": 61.5,
                     "time": (now - timedelta(minutes=m)).isoformat()} for m in (12, 11, 10)]
        r = httpx.post(base + "/readings", json=readings,
                       headers={"X-API-Key": keys["environment"]})
        assert r.status_code in (200, 201, 202), r.text
        opened = wait_for(lambda: [m for m in stream.data() if m["type"] == "alert.opened"],
                          "the alert on the stream")[0]
        assert opened["alert"]["rule"] == "e2e-stuck" and opened["alert"]["kind"] == "stuck"
        hook = wait_for(lambda: receiver.seen("alert.opened"), "the webhook")[0]
        assert hook["valid"] and hook["json"]["alert"]["id"] == opened["alert"]["id"]
        retained = wait_for(lambda: watch.on(f"twin/alerts/{opened['alert']['id']}"),
                            "the retained MQTT state")[0][0]
        assert json.loads(retained)["rule"] == "e2e-stuck"
    finally:
        stream.close()
        run.stop()
        watch.close()
        receiver.close()
        broker.stop()
