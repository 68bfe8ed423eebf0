"""Readings cannot displace the truth (issue 13, finding 11), against real PostGIS, the
real app over HTTP and a real Mosquitto:

- times out of the window (1900, a day ahead) are refused per reading and create no
  partition; a batch spanning many months creates at most three new partitions;
- an environment key writes readings only of its own agency's stations (403 when the
  whole request is another agency's, per-reading refusals otherwise); a station without
  an agency is written by admins only; MQTT agency topics are checked the same way;
- a duplicate never replaces a stored reading; the station's agency (or an admin)
  corrects it, audited, and rollups and latest values follow; another agency may not.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import text

from tests.city import EXTENT
from tests.files import write_csv
from tests.mqtt_broker import MOSQUITTO, Mosquitto
from tests.test_mqtt import Running, publish, wait_until
from twin.ingest.errors import LoadError
from twin.ingest.observations import parse_items, utcnow
from twin.ingest.policy import agency_slug
from twin.ingest.readings import load_readings
from twin.ingest.stream import NotYours, write_batch
from twin.ingest.vector import load_vector
from twin.server.auth.keys import create_key
from twin.server.db import libpq_url

pytestmark = pytest.mark.api_language("en")  # its assertions quote English descriptions

AGENCY_A, AGENCY_B = "Sở Thử nghiệm A", "Trung tâm Thử nghiệm B"


def rows(engine, query: str, **params) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(query), params)]


def partitions(engine) -> int:
    return rows(engine, "SELECT count(*) FROM pg_inherits WHERE inhparent = "
                "'sensor_readings'::regclass")[0][0]


def stored(engine, code: str, prop: str, at: list[datetime]) -> list[tuple]:
    return rows(engine, "SELECT r.observed_at, r.value, r.quality FROM sensor_readings r JOIN "
                "sensor_stations s ON s.id = r.station_id WHERE s.external_id = :c AND "
                "r.property = :p AND r.observed_at = ANY(:t) ORDER BY 1", c=code, p=prop, t=at)


def iso(t: datetime) -> str:
    return t.isoformat()


# --- the demo city over HTTP: two agencies' stations -------------------------------------

@pytest.fixture(scope="module")
def city(city_engine) -> dict:
    """An air station and a water-level gauge of the demo, run by different agencies,
    and a key per agency (and an admin's, and one of an agency that runs nothing)."""
    (air, air_agency), = rows(city_engine, "SELECT external_id, agency FROM sensor_stations "
                              "WHERE kind = 'air' ORDER BY external_id LIMIT 1")
    (gauge, gauge_agency), = rows(city_engine, "SELECT external_id, agency FROM "
                                  "sensor_stations WHERE kind = 'water_level' AND agency <> "
                                  ":a ORDER BY external_id LIMIT 1", a=air_agency)
    made = {name: create_key(city_engine, agency, role) for name, agency, role
            in [("air", air_agency, "environment"), ("gauge", gauge_agency, "environment"),
                ("nobody", "Công ty không có trạm", "environment"),
                ("transport", gauge_agency, "transport"), ("admin", "test admin", "admin")]}
    return {"air": air, "gauge": gauge, "gauge_agency": gauge_agency,
            "gauge_key": made["gauge"][1].prefix,
            "keys": {name: {"X-API-Key": key} for name, (key, _) in made.items()}}


_DAYS_USED: set[int] = set()


def fresh_hour(year: int = 2026, month: int = 5) -> datetime:
    """An hour on a day no other test of this module uses, in a month of the past that
    has a partition or gets one from this test. The day is unique, not only the hour: a
    test checks its day's rollup, which another test's readings of the same gauge on
    that day would change (seen once: a max of 99.0 from the foreign-agency test). Hours
    00-16 UTC are on the same day in the city's zone (UTC+7), where day rollups are cut."""
    free = [d for d in range(1, 28) if d not in _DAYS_USED]
    day = free[uuid.uuid4().int % len(free)]
    _DAYS_USED.add(day)
    return datetime(year, month, day, uuid.uuid4().int % 17, tzinfo=UTC)


def level(code: str, t: datetime, value: float) -> dict:
    return {"station": code, "property": "water_level_m", "time": iso(t), "value": value}


def test_times_out_of_the_window_are_refused_and_make_no_partition(http, city, city_engine):
    now = datetime.now(UTC)
    ok = (now - timedelta(hours=3)).replace(microsecond=123)
    body = [level(city["gauge"], datetime(1900, 1, 1, tzinfo=UTC), 1.0),
            level(city["gauge"], now + timedelta(days=1), 1.0),
            level(city["gauge"], now + timedelta(minutes=30), 1.0),
            level(city["gauge"], ok, 1.5)]
    before = partitions(city_engine)
    r = http.post("/readings", json=body, headers=city["keys"]["gauge"])
    assert r.status_code == 201, r.text
    out = r.json()
    assert (out["received"], out["inserted"], out["dead_lettered"]) == (4, 1, 3)
    reasons = {d["index"]: d["reason"] for d in out["dead_letters"]}
    assert "out of range: more than 3650 days old" in reasons[0]
    assert "more than 5 minutes ahead of the server's clock" in reasons[1]
    assert "more than 5 minutes ahead" in reasons[2]
    assert partitions(city_engine) == before
    assert rows(city_engine, "SELECT count(*) FROM sensor_readings WHERE observed_at < "
                "'1901-01-01' OR observed_at > now() + interval '5 minutes'") == [(0,)]
    kept = rows(city_engine, "SELECT reason FROM ingest_dead_letters WHERE payload LIKE :p",
                p=f"%{iso(now + timedelta(days=1))}%")
    assert kept and "ahead" in kept[0][0]
    # the one good reading: stored, and corrected away again (it would be the latest)
    fix = http.post("/readings/corrections", headers=city["keys"]["gauge"], json={
        "station": city["gauge"], "property": "water_level_m", "time": iso(ok),
        "delete": True, "reason": "test reading"})
    assert fix.status_code == 200, fix.text


def test_a_reading_older_than_the_setting_is_refused(city):
    """TWIN_READINGS_MAX_AGE_DAYS bounds the past for streams (here: 30 days)."""
    from twin.ingest.policy import Window

    window = Window.of(30, 5)
    now = utcnow()
    parsed = parse_items([level(city["gauge"], now - timedelta(days=31), 1.0),
                          level(city["gauge"], now - timedelta(days=29), 1.0)], now,
                         window=window)
    assert len(parsed.readings) == 1
    assert "more than 30 days old" in parsed.dead[0].reason
    assert "TWIN_READINGS_MAX_AGE_DAYS" in parsed.dead[0].reason


def test_a_batch_spanning_many_months_creates_at_most_three(http, city, city_engine):
    year = datetime.now(UTC).year - 7  # inside the window; no test or demo data there
    assert rows(city_engine, "SELECT count(*) FROM pg_class WHERE relname LIKE "
                f"'sensor_readings_{year}_%'") == [(0,)]
    body = [level(city["gauge"], datetime(year, m, 15, 6, tzinfo=UTC), float(m))
            for m in range(1, 13)]
    before = partitions(city_engine)
    r = http.post("/readings", json=body, headers=city["keys"]["gauge"])
    assert r.status_code == 201, r.text
    out = r.json()
    assert (out["inserted"], out["dead_lettered"]) == (3, 9)
    assert [d["index"] for d in out["dead_letters"]] == list(range(3, 12))
    assert all("more than 3 new monthly partitions" in d["reason"] and "later batch"
               in d["reason"] for d in out["dead_letters"])
    assert partitions(city_engine) == before + 3
    # sent again: the three stored are duplicates, the next three months go in
    again = http.post("/readings", json=body, headers=city["keys"]["gauge"]).json()
    assert (again["inserted"], again["duplicates"], again["dead_lettered"]) == (3, 3, 6)
    assert partitions(city_engine) == before + 6


def test_an_agency_may_not_write_another_agencys_gauge(http, city, city_engine):
    t = fresh_hour()
    foreign = [level(city["gauge"], t, 99.0), level(city["gauge"], t + timedelta(minutes=5),
                                                    99.0)]
    r = http.post("/readings", json=foreign, headers=city["keys"]["air"])
    assert r.status_code == 403, r.text
    doc = r.json()
    assert set(doc) == {"code", "description"} and doc["code"] == "Forbidden"
    assert city["gauge"] in doc["description"] and city["gauge_agency"] in doc["description"]
    assert "nothing was stored" in doc["description"]
    assert stored(city_engine, city["gauge"], "water_level_m", [t]) == []
    assert rows(city_engine, "SELECT count(*) FROM ingest_dead_letters WHERE payload LIKE :p",
                p=f"%{iso(t)}%") == [(0,)]
    # SensorThings too
    obs = {"Datastream": {"@iot.id": f"{city['gauge']}:water_level_m"},
           "phenomenonTime": iso(t), "result": 99.0}
    assert http.post("/sta/v1.1/Observations", json=obs,
                     headers=city["keys"]["air"]).status_code == 403
    # an agency that runs no station may write none
    assert http.post("/readings", json=foreign, headers=city["keys"]["nobody"]).status_code \
        == 403
    # mixed: its own reading is stored, the other agency's is refused with the reason
    own = {"station": city["air"], "property": "pm25", "time": iso(t), "value": 12.0}
    mixed = http.post("/readings", json=[own, foreign[0]], headers=city["keys"]["air"])
    assert mixed.status_code == 201, mixed.text
    out = mixed.json()
    assert (out["inserted"], out["dead_lettered"]) == (1, 1)
    assert out["dead_letters"][0]["index"] == 1
    assert f"station {city['gauge']!r} belongs to" in out["dead_letters"][0]["reason"]
    assert stored(city_engine, city["gauge"], "water_level_m", [t]) == []
    # the gauge's own agency, and an admin, may
    assert http.post("/readings", json=foreign[:1], headers=city["keys"]["gauge"]) \
        .json()["inserted"] == 1
    assert http.post("/readings", json=foreign[1:], headers=city["keys"]["admin"]) \
        .json()["inserted"] == 1


def test_a_duplicate_never_replaces_the_stored_reading(http, city, city_engine):
    t = fresh_hour()
    headers = city["keys"]["gauge"]
    assert http.post("/readings", json=[level(city["gauge"], t, 2.0)],
                     headers=headers).json()["inserted"] == 1
    forged = http.post("/readings", json=[level(city["gauge"], t, 9.0)], headers=headers)
    assert forged.status_code == 200 and forged.json()["duplicates"] == 1
    assert stored(city_engine, city["gauge"], "water_level_m", [t]) == [(t, 2.0, "good")]


# --- corrections -------------------------------------------------------------------------

def rollup(engine, code: str, grain: str, bucket: datetime) -> tuple | None:
    got = rows(engine, "SELECT n, mean, max FROM reading_rollups r JOIN sensor_stations s ON "
               "s.id = r.station_id WHERE s.external_id = :c AND r.property = 'water_level_m' "
               "AND r.grain = :g AND r.bucket = :b", c=code, g=grain, b=bucket)
    return got[0] if got else None


def audit(engine, code: str, t: datetime) -> list[tuple]:
    return rows(engine, "SELECT actor, agency, action, before, after, reason FROM "
                "reading_corrections WHERE station = :c AND observed_at = :t ORDER BY id",
                c=code, t=t)


def test_the_owner_corrects_a_reading_audited_and_rollups_follow(http, city, city_engine):
    hour, headers, gauge = fresh_hour(), city["keys"]["gauge"], city["gauge"]
    times = [hour + timedelta(minutes=m) for m in (5, 10, 15)]
    body = [level(gauge, t, v) for t, v in zip(times, (1.0, 2.0, 30.0), strict=True)]
    assert http.post("/readings", json=body, headers=headers).json()["inserted"] == 3
    assert rollup(city_engine, gauge, "hour", hour) == (3, 11.0, 30.0)
    r = http.post("/readings/corrections", headers={**headers, "X-Request-Id": "fix-1"},
                  json={"station": gauge, "property": "water_level_m", "time": iso(times[2]),
                        "value": 3.0, "reason": "spike: sensor fouled by debris"})
    assert r.status_code == 200, r.text
    done = r.json()
    assert done["corrected"] == 1
    assert done["corrections"][0]["before"] == {"value": 30.0, "unit": None, "quality": "good"}
    assert done["corrections"][0]["after"] == {"value": 3.0, "unit": None, "quality": "good"}
    assert stored(city_engine, gauge, "water_level_m", times)[2] == (times[2], 3.0, "good")
    assert rollup(city_engine, gauge, "hour", hour) == (3, 2.0, 3.0)
    day = rows(city_engine, "SELECT date_trunc('day', CAST(:t AS timestamptz), "
               "'Asia/Ho_Chi_Minh')", t=hour)[0][0]
    assert rollup(city_engine, gauge, "day", day)[2] == 3.0
    (actor, agency, action, before, after, reason), = audit(city_engine, gauge, times[2])
    assert (agency, action, reason) == (city["gauge_agency"], "update",
                                        "spike: sensor fouled by debris")
    assert actor == city["gauge_key"]   # the key's prefix names it
    assert before["value"] == 30.0 and after["value"] == 3.0
    # marked bad: out of the statistics; deleted: gone, audited too
    for change in ({"quality": "bad"}, {"delete": True}):
        r = http.post("/readings/corrections", headers=headers, json={
            "station": gauge, "property": "water_level_m", "time": iso(times[1]),
            "reason": "checked against the staff gauge", **change})
        assert r.status_code == 200, r.text
        assert rollup(city_engine, gauge, "hour", hour) == (2, 2.0, 3.0)
    assert stored(city_engine, gauge, "water_level_m", [times[1]]) == []
    assert [a[2] for a in audit(city_engine, gauge, times[1])] == ["update", "delete"]


def test_a_correction_moves_the_latest_value_back(http, city, city_engine):
    gauge, headers = city["gauge"], city["keys"]["gauge"]

    def latest():
        return rows(city_engine, "SELECT l.observed_at, l.value FROM station_latest l JOIN "
                    "sensor_stations s ON s.id = l.station_id WHERE s.external_id = :c AND "
                    "l.property = 'water_level_m'", c=gauge)

    previous = latest()
    t = (datetime.now(UTC) - timedelta(hours=2)).replace(microsecond=0)
    assert http.post("/readings", json=[level(gauge, t, 7.25)], headers=headers).status_code \
        == 201
    assert latest() == [(t, 7.25)]
    fix = {"station": gauge, "property": "water_level_m", "time": iso(t),
           "reason": "gauge under maintenance"}
    assert http.post("/readings/corrections", json={**fix, "quality": "bad"},
                     headers=headers).status_code == 200
    assert latest() == previous
    assert http.post("/readings/corrections", json={**fix, "delete": True},
                     headers=headers).status_code == 200
    assert latest() == previous


def test_another_agency_may_not_correct(http, city, city_engine):
    t = fresh_hour()
    gauge = city["gauge"]
    http.post("/readings", json=[level(gauge, t, 4.0)], headers=city["keys"]["gauge"])
    fix = {"station": gauge, "property": "water_level_m", "time": iso(t), "value": 0.0,
           "reason": "trust me"}
    r = http.post("/readings/corrections", json=fix, headers=city["keys"]["air"])
    assert r.status_code == 403, r.text
    assert r.json()["code"] == "Forbidden" and gauge in r.json()["description"]
    assert stored(city_engine, gauge, "water_level_m", [t]) == [(t, 4.0, "good")]
    assert audit(city_engine, gauge, t) == []
    # an admin may
    assert http.post("/readings/corrections", json=fix, headers=city["keys"]["admin"]) \
        .status_code == 200
    assert stored(city_engine, gauge, "water_level_m", [t]) == [(t, 0.0, "good")]


@pytest.mark.parametrize("change, status, words", [
    ({"value": 1.0, "reason": ""}, 400, "reason"),
    ({"value": "high", "reason": "x"}, 400, "must be a number"),
    ({"value": None, "quality": "good", "reason": "x"}, 400, "quality 'missing'"),
    ({"delete": True, "value": 1.0, "reason": "x"}, 400, "no value"),
    ({"reason": "x"}, 400, "new value"),
    ({"value": 1.0, "reason": "x", "colour": "red"}, 400, "unknown field"),
    ({"value": 1.0, "reason": "x", "time": "2026-05-01T00:00:01Z"}, 404, "no reading"),
    ({"value": 1.0, "reason": "x", "station": "NO-SUCH"}, 404, "unknown station"),
])
def test_bad_corrections(http, city, city_engine, change, status, words):
    t = fresh_hour()
    http.post("/readings", json=[level(city["gauge"], t, 4.0)], headers=city["keys"]["gauge"])
    body = {"station": city["gauge"], "property": "water_level_m", "time": iso(t), **change}
    r = http.post("/readings/corrections", json=[body], headers=city["keys"]["gauge"])
    assert r.status_code == status, r.text
    assert set(r.json()) == {"code", "description"} and words in r.json()["description"]
    assert stored(city_engine, city["gauge"], "water_level_m", [t]) == [(t, 4.0, "good")]


def test_corrections_need_credentials_and_the_role(http, city):
    body = {"station": city["gauge"], "property": "water_level_m", "value": 1,
            "time": "2026-05-01T00:00:00Z", "reason": "x"}
    assert http.post("/readings/corrections", json=body).status_code == 401
    # the gauge's agency, but a role that may not edit stations
    r = http.post("/readings/corrections", json=body, headers=city["keys"]["transport"])
    assert r.status_code == 403 and "environment" in r.json()["description"]


# --- the write path: stations without an agency, MQTT agency topics ----------------------

@pytest.fixture(scope="module")
def stations(engine, registry, tmp_path_factory):
    path = write_csv(tmp_path_factory.mktemp("sec") / "stations.csv",
                     ["code", "name", "kind", "agency", "properties", "lon", "lat"],
                     [["SEC-AIR-1", "A", "air", AGENCY_A, "pm25", 105.83, 21.03],
                      ["SEC-WL-1", "B", "water_level", AGENCY_B, "water_level_m", 105.84, 21.04],
                      ["SEC-NONE-1", "C", "rain", "", "rain_mm", 105.85, 21.05]])
    load_vector(engine, registry, "sensor_stations", path, extent=EXTENT, mode="upsert")
    return engine


def test_a_station_without_an_agency_is_written_by_admins_only(stations):
    from twin.ingest.policy import EVERY_STATION, Scope

    t = fresh_hour(2026, 4)
    items = [{"station": "SEC-NONE-1", "property": "rain_mm", "time": iso(t), "value": 1.0}]
    with psycopg.connect(libpq_url(stations.url.render_as_string(False)),
                         autocommit=True) as conn:
        with pytest.raises(NotYours, match="has no agency: only an admin"):
            write_batch(conn, parse_items(items, utcnow()), "http", Scope(agency=AGENCY_A))
        assert write_batch(conn, parse_items(items, utcnow()), "http",
                           EVERY_STATION).inserted == 1


def test_the_bulk_loader_refuses_readings_ahead_of_the_clock(stations, tmp_path):
    ahead = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    path = write_csv(tmp_path / "r.csv", ["station_code", "observed_at", "property", "value"],
                     [["SEC-WL-1", "2001-05-01T00:00:00Z", "water_level_m", 1.0],
                      ["SEC-WL-1", ahead, "water_level_m", 2.0]])
    with pytest.raises(LoadError, match="1 more than 5 minutes ahead"):
        load_readings(stations, path)
    assert rows(stations, "SELECT count(*) FROM sensor_readings WHERE observed_at = "
                "'2001-05-01T00:00:00Z'") == [(0,)]
    # no age limit for an operator's archive
    path.write_text(path.read_text().splitlines()[0] + "\n"
                    "SEC-WL-1,1990-05-01T00:00:00Z,water_level_m,1.0\n")
    assert load_readings(stations, path).inserted == 1


@pytest.mark.skipif(not Path(MOSQUITTO).exists(), reason="mosquitto not installed")
def test_mqtt_agency_topics_are_checked_against_the_station(stations, tmp_path):
    broker = Mosquitto(tmp_path / "mosquitto").start()
    try:
        prefix = f"test/{uuid.uuid4().hex[:8]}/readings"
        t = fresh_hour(2026, 3)
        reading = json.dumps({"time": iso(t), "value": 1.5}).encode()
        running = Running(stations, broker, prefix, agency_topics=True)
        try:
            publish(broker, [
                (f"{prefix}/{agency_slug(AGENCY_A)}/SEC-AIR-1/pm25", reading),
                (f"{prefix}/{AGENCY_B}/SEC-WL-1/water_level_m", reading),      # the name
                (f"{prefix}/{agency_slug(AGENCY_A)}/SEC-WL-1/water_level_m", reading),
                (f"{prefix}/{agency_slug(AGENCY_A)}/SEC-NONE-1/rain_mm", reading)])
            wait_until(lambda: running.subscriber.stats.messages >= 4, "4 messages")
        finally:
            running.stop()
    finally:
        broker.stop()
    stats = running.subscriber.stats
    assert (stats.inserted, stats.dead_lettered) == (2, 2)
    assert stored(stations, "SEC-AIR-1", "pm25", [t]) == [(t, 1.5, "good")]
    assert stored(stations, "SEC-WL-1", "water_level_m", [t]) == [(t, 1.5, "good")]
    letters = dict(rows(stations, "SELECT topic, reason FROM ingest_dead_letters WHERE topic "
                        "LIKE :p", p=f"{prefix}/%"))
    assert "does not run station 'SEC-WL-1'" in letters[
        f"{prefix}/{agency_slug(AGENCY_A)}/SEC-WL-1/water_level_m"]
    assert "does not run station 'SEC-NONE-1'" in letters[
        f"{prefix}/{agency_slug(AGENCY_A)}/SEC-NONE-1/rain_mm"]
