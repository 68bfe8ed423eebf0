"""The streaming write path (parse -> rows + dead letters -> one transaction through the
CSV loader's merge) against real PostGIS, and the HTTP batch endpoints over real HTTP
against the demo city: both JSON shapes, SensorThings observations, access control, bad
bodies and idempotency."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta, timezone

import psycopg
import pytest
from sqlalchemy import text

from tests.city import EXTENT, TZ
from tests.files import write_csv
from twin.ingest.errors import LoadError
from twin.ingest.observations import (
    Parsed,
    Refused,
    parse_items,
    parse_observations,
    parse_payload,
    readings_of,
)
from twin.ingest.policy import Window
from twin.ingest.stream import ensure_partitions, write_batch
from twin.ingest.vector import load_vector
from twin.server.auth.keys import create_key
from twin.server.db import libpq_url

pytestmark = pytest.mark.api_language("en")  # its assertions quote English descriptions

NOW = datetime.now(UTC)
T0 = datetime(2026, 10, 5, 8, 0, tzinfo=UTC)
AIR = "SI-AIR-1"      # observes pm25 and pm10
GAUGE = "SI-WL-1"     # observes water_level_m


def rows(engine, sql: str, **params) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(sql), params)]


@pytest.fixture(scope="module")
def stations(engine, registry, tmp_path_factory):
    path = write_csv(tmp_path_factory.mktemp("stations") / "stations.csv",
                     ["code", "name", "kind", "properties", "lon", "lat"],
                     [[AIR, "Hoàn Kiếm", "air", "pm25;pm10", 105.85, 21.03],
                      [GAUGE, "Long Biên", "water_level", "water_level_m", 105.86, 21.04]])
    load_vector(engine, registry, "sensor_stations", path, extent=EXTENT, mode="upsert")
    return engine


@pytest.fixture()
def conn(stations):
    with psycopg.connect(libpq_url(stations.url.render_as_string(False)),
                         autocommit=True) as c:
        yield c


def reading(t: datetime = T0, station: str = AIR, prop: str = "pm25", value=30.5, **extra):
    return {"station": station, "property": prop, "time": t.isoformat(), "value": value,
            **extra}


def write(conn, items: list, topic: str = "/readings"):
    return write_batch(conn, parse_items(items, NOW, topic=topic), "http")


def stored(engine, station: str = AIR) -> list[tuple]:
    return rows(engine, "SELECT r.observed_at, r.property, r.value, r.unit, r.quality, "
                "r.tableoid::regclass::text FROM sensor_readings r JOIN sensor_stations s "
                "ON s.id = r.station_id WHERE s.external_id = :code ORDER BY 1, 2",
                code=station)


def clear(engine) -> None:
    with engine.begin() as c:
        c.execute(text("DELETE FROM sensor_readings WHERE station_id IN (SELECT id FROM "
                       "sensor_stations WHERE external_id IN (:a, :b))"), {"a": AIR, "b": GAUGE})
        c.execute(text("DELETE FROM ingest_dead_letters"))


# --- the write path ---------------------------------------------------------------------

def test_batch_is_stored_once_duplicates_and_late_rows_in_their_month(stations, conn):
    clear(stations)
    batch = [reading(T0 + timedelta(minutes=10 * k), value=20.0 + k) for k in range(6)]
    batch += [reading(T0, prop="pm10", value=41.0, unit="µg/m³", quality="suspect"),
              reading(T0, value=20.0),                                   # repeated in batch
              reading(datetime(2026, 8, 31, 23, 59, tzinfo=UTC), value=9.0),  # late
              reading(T0 + timedelta(minutes=5), prop="pm10", value=None)]  # missing value
    first = write(conn, list(reversed(batch)))  # out of order
    assert (first.received, first.inserted, first.duplicates, first.dead) == (10, 9, 1, [])
    again = write(conn, batch)
    assert (again.inserted, again.duplicates) == (0, 10)
    got = stored(stations)
    assert len(got) == 9
    assert got[0][1:] == ("pm25", 9.0, None, "good", "sensor_readings_2026_08")
    assert {r[5] for r in got[1:]} == {"sensor_readings_2026_10"}
    assert ("pm10", 41.0, "µg/m³", "suspect") in [r[1:5] for r in got]
    assert ("pm10", None, None, "missing") in [r[1:5] for r in got]


def test_copy_text_keeps_units_values_and_times_exact(stations, conn):
    """The batch's COPY text is built by hand: units with COPY's special characters,
    awkward floats and times with other offsets and microseconds come back unchanged."""
    clear(stations)
    units = ["a\tb", "back\\slash", "line\nbreak", "cr\rhere", "\\N", "µg/m³"]
    values = [0.1 + 0.2, 1e-300, -2.5e17, 123456789.123456789, 7, 1 / 3]
    times = [T0 + timedelta(minutes=k, microseconds=k) for k in range(len(units))]
    local = timezone(timedelta(hours=7, minutes=30))
    batch = [reading(t.astimezone(local), value=v, unit=u)
             for t, v, u in zip(times, values, units, strict=False)]
    assert write(conn, batch).inserted == len(batch)
    got = [(r[0], r[2], r[3]) for r in stored(stations)]
    assert got == [(t, float(v), u) for t, v, u in zip(times, values, units, strict=False)]


def test_naive_times_are_hanoi_local_time(stations, conn):
    """A time without an offset is the city's local time: the zone of the window the
    server builds from the city profile (UTC+7 here)."""
    clear(stations)
    items = [{"station": AIR, "property": "pm25", "time": "2026-10-05T15:00:00", "value": 1.0}]
    write_batch(conn, parse_items(items, NOW, window=Window(tz=TZ)), "http", tz=TZ)
    assert stored(stations)[0][0] == T0


BAD = [
    (reading(station="NOPE-1"), "unknown station 'NOPE-1'"),
    (reading(prop="no2"), "does not observe 'no2'"),
    (reading(value=float("nan")), "not a finite number"),
    (reading(value=float("inf")), "not a finite number"),
    (reading(value="12.5"), "must be a number or null, got a string"),
    (reading(value=True), "got a boolean"),
    (reading(t=datetime(1899, 12, 31, tzinfo=UTC)), "out of range"),
    (reading(t=NOW + timedelta(days=3)), "out of range"),
    ({**reading(), "time": "yesterday"}, "not an ISO 8601 date-time"),
    ({**reading(), "time": 1790000000}, "must be an ISO 8601 string"),
    ({**reading(), "time": "2026-10-01T00:00Z/2026-10-01T01:00Z"}, "is an interval"),
    (reading(quality="great"), "not one of good, suspect, bad, missing"),
    (reading(value=None, quality="good"), "must have quality 'missing'"),
    ({k: v for k, v in reading().items() if k != "value"}, "value is missing"),
    ({k: v for k, v in reading().items() if k != "station"}, "station is missing"),
    (reading(vale=3), "unknown field(s) vale"),
    (reading(prop="PM 2.5"), "not a valid property name"),
    (reading(unit=7), "unit 7 must be a string"),
    ([1, 2], "must be a JSON object, got an array"),
]


def test_every_refused_reading_is_a_dead_letter_with_its_reason(stations, conn):
    clear(stations)
    items = [reading(T0 - timedelta(hours=1))] + [item for item, _ in BAD]
    result = write(conn, items, topic="/readings")
    assert (result.received, result.inserted, result.duplicates) == (len(items), 1, 0)
    summary = result.summary()
    assert summary["dead_lettered"] == len(BAD)
    for letter, (item, words) in zip(summary["dead_letters"], BAD, strict=False):
        assert words in letter["reason"], (item, letter)
    assert [d["index"] for d in summary["dead_letters"]] == list(range(1, len(items)))
    kept = rows(stations, "SELECT source, topic, payload, reason FROM ingest_dead_letters "
                "ORDER BY id")
    assert len(kept) == len(BAD)
    assert {k[0] for k in kept} == {"http"} and {k[1] for k in kept} == {"/readings"}
    payloads = {reason: payload for _s, _t, payload, reason in kept}
    assert json.loads(next(p for r, p in payloads.items() if "NOPE-1" in r)) == BAD[0][0]
    assert '"value": NaN' in next(p for r, p in payloads.items() if "nan is" in r)


def test_a_batch_of_dead_letters_only_is_stored(stations, conn):
    clear(stations)
    result = write(conn, [reading(station="NOPE-2")])
    assert (result.inserted, len(result.dead)) == (0, 1)
    assert rows(stations, "SELECT count(*) FROM ingest_dead_letters")[0][0] == 1


def test_mqtt_payloads(stations, conn):
    clear(stations)
    topic = f"twin/readings/{AIR}/pm25"
    good = json.dumps([{"time": T0.isoformat(), "value": 3}, {"time": "x", "value": 4}])
    parsed = Parsed()
    parsed.extend(parse_payload(good.encode(), topic, AIR, "pm25", NOW))
    parsed.extend(parse_payload(b"not json", topic, AIR, "pm25", NOW))
    parsed.extend(parse_payload(b'{"value": 1, "time": "\xff\xfe"}', topic, AIR, "pm25", NOW))
    parsed.extend(parse_payload(b'"\\u0000"', topic, AIR, "pm25", NOW))
    parsed.extend(parse_payload(json.dumps({"time": T0.isoformat(), "value": 5,
                                            "station": GAUGE}).encode(), topic, AIR, "pm25",
                                NOW))
    result = write_batch(conn, parsed, "mqtt")
    assert (result.received, result.inserted) == (6, 1)
    kept = rows(stations, "SELECT source, topic, payload, reason FROM ingest_dead_letters "
                "ORDER BY id")
    assert [k[0] for k in kept] == ["mqtt"] * 5 and {k[1] for k in kept} == {topic}
    reasons = " | ".join(k[3] for k in kept)
    for words in ("not an ISO 8601", "not JSON", "not UTF-8", "must be a reading object",
                  "differs from the topic's 'SI-AIR-1'"):
        assert words in reasons
    assert "\\xff\\xfe" in kept[2][2]  # bytes that are not UTF-8, escaped
    assert kept[3][2] == '"\\u0000"'


def test_request_shapes():
    assert readings_of({"readings": [1]}) == [1]
    for doc in ({"station": "x"}, {"readings": 1}, "text", 3):
        with pytest.raises(Refused):
            readings_of(doc)
    with pytest.raises(Refused):
        parse_observations(12, NOW)


def test_sensorthings_observations(stations, conn):
    clear(stations)
    stream = {"@iot.id": f"{AIR}:pm25", "unitOfMeasurement": {"symbol": "µg/m³"}}
    doc = [
        {"Datastream": {"@iot.id": f"{AIR}:pm10"}, "phenomenonTime": T0.isoformat(),
         "result": 40.5, "resultQuality": "suspect"},
        {"Datastream": stream, "components": ["phenomenonTime", "result", "FeatureOfInterest/id"],
         "dataArray": [[(T0 + timedelta(minutes=10 * k)).isoformat(), 10 + k, 1]
                       for k in range(3)] + [["bad", 1, 1], [T0.isoformat()]]},
        {"Datastream": {"@iot.id": "no-colon"}, "phenomenonTime": T0.isoformat(), "result": 1},
        {"Datastream": {"@iot.id": f"{GAUGE}:water_level_m"}, "result": 2.5},
    ]
    result = write_batch(conn, parse_observations(doc, NOW, "/sta"), "http")
    assert (result.received, result.inserted) == (8, 4)
    assert [(d.index, d.reason.split(" ")[0]) for d in result.dead] == [
        (4, "time"), (5, "a"), (6, "Datastream"), (7, "phenomenonTime")]
    got = stored(stations)
    assert got[0][:5] == (T0, "pm10", 40.5, None, "suspect")
    assert [r[3] for r in got if r[1] == "pm25"] == ["µg/m³"] * 3


def test_partitions_are_created_ahead(stations, conn):
    ensure_partitions(conn)
    month = NOW.replace(day=1)
    for _ in range(3):
        name = f"sensor_readings_{month:%Y_%m}"
        assert rows(stations, "SELECT to_regclass(:n) IS NOT NULL", n=name)[0][0], name
        month = (month + timedelta(days=32)).replace(day=1)
    clear(stations)
    result = write(conn, [reading(NOW - timedelta(minutes=1))])
    assert result.inserted == 1
    assert stored(stations)[0][5] == f"sensor_readings_{NOW:%Y_%m}"


def test_nothing_is_stored_when_the_transaction_fails(stations, conn):
    clear(stations)
    parsed = parse_items([reading(), reading(station="NOPE-3")], NOW)
    parsed.readings[0].quality = "excellent"  # slips past the parser: the database refuses
    with pytest.raises(LoadError, match="quality flag"):
        write_batch(conn, parsed, "http")
    assert stored(stations) == []
    assert rows(stations, "SELECT count(*) FROM ingest_dead_letters")[0][0] == 0


# --- HTTP -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def city_station(city_engine) -> tuple[str, list[str]]:
    code, props = rows(city_engine, "SELECT external_id, properties FROM sensor_stations "
                       "WHERE kind = 'air' ORDER BY external_id LIMIT 1")[0]
    return code, props


@pytest.fixture(scope="module")
def keys(city_engine, city_station) -> dict[str, dict[str, str]]:
    """Keys per role; the environment key is of the agency that runs ``city_station``
    (readings are written by the station's own agency only)."""
    agency = station_agency(city_engine, city_station[0])
    out = {"anonymous": {}}
    for role in ("environment", "transport", "admin"):
        name = agency if role == "environment" else f"test {role}"
        out[role] = {"X-API-Key": create_key(city_engine, name, role)[0]}
    return out


def station_agency(engine, code: str) -> str:
    return rows(engine, "SELECT agency FROM sensor_stations WHERE external_id = :c", c=code)[0][0]


def fresh_times(n: int) -> list[str]:
    """Times no other test uses: a random minute in September 2026 (not demo data)."""
    base = datetime(2026, 9, 1, tzinfo=UTC) + timedelta(
        minutes=uuid.uuid4().int % (20 * 24 * 60))
    return [(base + timedelta(seconds=k)).isoformat() for k in range(n)]


def test_post_readings_both_shapes_and_idempotent(http, keys, city_station, city_engine):
    code, props = city_station
    times = fresh_times(4)
    items = [{"station": code, "property": props[0], "time": t, "value": 12.5 + k,
              "unit": "µg/m³"} for k, t in enumerate(times)]
    first = http.post("/readings", json=items[:2], headers=keys["environment"])
    assert first.status_code == 201, first.text
    assert first.json() == {"received": 2, "inserted": 2, "duplicates": 0, "dead_lettered": 0,
                            "dead_letters": []}
    second = http.post("/readings", json={"readings": items}, headers=keys["environment"])
    assert second.status_code == 201
    assert (second.json()["inserted"], second.json()["duplicates"]) == (2, 2)
    again = http.post("/readings", json={"readings": items}, headers=keys["admin"])
    assert again.status_code == 200
    assert (again.json()["inserted"], again.json()["duplicates"]) == (0, 4)
    n = rows(city_engine, "SELECT count(*) FROM sensor_readings r JOIN sensor_stations s ON "
             "s.id = r.station_id WHERE s.external_id = :c AND r.observed_at = ANY(:t)",
             c=code, t=[datetime.fromisoformat(t) for t in times])[0][0]
    assert n == 4


def test_post_readings_reports_dead_letters(http, keys, city_station, city_engine):
    code, props = city_station
    t = fresh_times(1)[0]
    body = [{"station": code, "property": props[0], "time": t, "value": 1},
            {"station": "NO-SUCH", "property": "pm25", "time": t, "value": 1},
            {"station": code, "property": props[0], "time": t, "value": "high"}]
    response = http.post("/readings", content=json.dumps(body),
                         headers={**keys["environment"], "Content-Type": "application/json"})
    assert response.status_code == 201
    out = response.json()
    assert (out["received"], out["inserted"], out["dead_lettered"]) == (3, 1, 2)
    assert [d["index"] for d in out["dead_letters"]] == [1, 2]
    assert "unknown station 'NO-SUCH'" in out["dead_letters"][0]["reason"]
    kept = rows(city_engine, "SELECT source, topic FROM ingest_dead_letters WHERE payload "
                "LIKE '%NO-SUCH%' AND payload LIKE :t", t=f"%{t}%")
    assert kept == [("http", "/readings")]


def test_post_observations(http, keys, city_station):
    code, props = city_station
    t = fresh_times(3)
    one = {"Datastream": {"@iot.id": f"{code}:{props[0]}"}, "phenomenonTime": t[0],
           "result": 7.5}
    response = http.post("/sta/v1.1/Observations", json=one, headers=keys["environment"])
    assert response.status_code == 201 and response.json()["inserted"] == 1
    block = [{"Datastream": {"@iot.id": f"{code}:{props[1]}"},
              "components": ["phenomenonTime", "result", "resultQuality"],
              "dataArray": [[t[1], 3.0, "good"], [t[2], None, "missing"], [t[2], 1, "?"]]}]
    out = http.post("/sta/v1.1/Observations", json=block, headers=keys["environment"]).json()
    assert (out["received"], out["inserted"], out["dead_lettered"]) == (3, 2, 1)
    assert out["dead_letters"][0]["index"] == 2


@pytest.mark.parametrize("path", ["/readings", "/sta/v1.1/Observations"])
def test_posting_needs_the_environment_role(http, keys, path):
    anonymous = http.post(path, json=[])
    assert anonymous.status_code == 401
    assert anonymous.json()["code"] == "AuthenticationRequired"
    wrong = http.post(path, json=[], headers=keys["transport"])
    assert wrong.status_code == 403 and "environment" in wrong.json()["description"]
    ok = http.post(path, json=[], headers=keys["environment"])
    assert ok.status_code == 200 and ok.json()["received"] == 0


def test_environment_token_may_post(http, oidc, city_station, city_engine):
    from tests.test_auth import bearer, token

    code, props = city_station
    body = [{"station": code, "property": props[0], "time": fresh_times(1)[0], "value": 2}]
    response = http.post("/readings", json=body, headers=bearer(token(
        oidc, roles=["environment"], agency=station_agency(city_engine, code))))
    assert response.status_code == 201


@pytest.mark.parametrize("body, status, words", [
    (b"", 400, "no body"),
    (b"[1, 2", 400, "not valid JSON"),
    (b"\xff\xfe", 400, "UTF-8"),
    (b'{"station": "x"}', 400, "JSON array of readings"),
    (b'"readings"', 400, "JSON array of readings"),
    (b"[" * 100000 + b"]" * 100000, 400, "not valid JSON"),
])
def test_bad_bodies(http, keys, body, status, words):
    response = http.post("/readings", content=body,
                         headers={**keys["environment"], "Content-Type": "application/json"})
    assert response.status_code == status, response.text
    assert response.json()["code"] == "InvalidParameterValue"
    assert words in response.json()["description"]


def test_too_large_and_wrong_media_type(http, keys, city_station):
    code, props = city_station
    item = {"station": code, "property": props[0], "time": "2026-09-01T00:00:00Z", "value": 1}
    many = http.post("/readings", json=[item] * 100_001, headers=keys["environment"])
    assert many.status_code == 413 and many.json()["code"] == "RequestTooLarge"
    huge = http.post("/readings", content=b"[" + b" " * (11 * 2**20) + b"]",
                     headers={**keys["environment"], "Content-Type": "application/json"})
    assert huge.status_code == 413
    csv = http.post("/readings", content=b"a,b", headers={**keys["environment"],
                                                          "Content-Type": "text/csv"})
    assert csv.status_code == 415
