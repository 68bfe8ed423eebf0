"""Issue 13 (follow-up of finding 11): an agency edits only its own sensor stations.

``layers/sensor_stations.yaml`` declares ``access.edit_scope: agency``: an environment
key of one agency may not change, take over or delete another agency's station (whose
readings it could then write), nor create a station in another agency's name; admin may.
"""

from __future__ import annotations

import pytest
from sqlalchemy import text

from twin.server.auth.keys import create_key

pytestmark = pytest.mark.api_language("en")  # its assertions quote English descriptions

OURS, THEIRS = "Sở Tài nguyên và Môi trường Hà Nội", "Công ty TNHH MTV Thoát nước Hà Nội"


@pytest.fixture(scope="module")
def stations(city_engine):
    with city_engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT external_id, agency FROM sensor_stations WHERE agency IN (:a, :b) "
            "ORDER BY external_id"), {"a": OURS, "b": THEIRS}).all()
    ours = next(code for code, agency in rows if agency == OURS)
    theirs = next(code for code, agency in rows if agency == THEIRS)
    return ours, theirs


@pytest.fixture(scope="module")
def keys(city_engine):
    return {"ours": create_key(city_engine, OURS, "environment")[0],
            "admin": create_key(city_engine, OURS, "admin")[0]}


def _agency(city_engine, code):
    with city_engine.connect() as conn:
        return conn.execute(text("SELECT agency FROM sensor_stations WHERE external_id = :c"),
                            {"c": code}).scalar()


def _patch(http, code, props, key):
    return http.patch(f"/collections/sensor_stations/items/{code}",
                      json={"type": "Feature", "properties": props},
                      headers={"X-API-Key": key,
                               "Content-Type": "application/merge-patch+json"})


def test_another_agencys_station_cannot_be_taken_or_changed(http, keys, stations,
                                                            city_engine):
    _ours, theirs = stations
    r = _patch(http, theirs, {"agency": OURS}, keys["ours"])
    assert r.status_code == 403 and THEIRS in r.json()["description"]
    r = _patch(http, theirs, {"name": "renamed"}, keys["ours"])
    assert r.status_code == 403
    r = http.delete(f"/collections/sensor_stations/items/{theirs}",
                    headers={"X-API-Key": keys["ours"]})
    assert r.status_code == 403
    assert _agency(city_engine, theirs) == THEIRS


def test_own_station_may_change_but_not_be_given_away(http, keys, stations, city_engine):
    ours, _theirs = stations
    r = _patch(http, ours, {"name": "Trạm đổi tên"}, keys["ours"])
    assert r.status_code == 200, r.text
    r = _patch(http, ours, {"agency": THEIRS}, keys["ours"])
    assert r.status_code == 403 and _agency(city_engine, ours) == OURS


def test_new_stations_are_the_editors_and_admin_may_do_anything(http, keys, stations,
                                                                city_engine):
    feature = {"type": "Feature", "id": "AQ-SCOPE-01",
               "geometry": {"type": "Point", "coordinates": [105.85, 21.03]},
               "properties": {"code": "AQ-SCOPE-01", "name": "Trạm thử", "kind": "air",
                              "properties": ["pm25"], "agency": THEIRS}}
    r = http.post("/collections/sensor_stations/items", json=feature,
                  headers={"X-API-Key": keys["ours"]})
    assert r.status_code == 403
    del feature["properties"]["agency"]
    r = http.post("/collections/sensor_stations/items", json=feature,
                  headers={"X-API-Key": keys["ours"]})
    assert r.status_code == 201, r.text
    assert _agency(city_engine, "AQ-SCOPE-01") == OURS
    _ours, theirs = stations
    r = _patch(http, theirs, {"name": "sửa bởi quản trị"}, keys["admin"])
    assert r.status_code == 200, r.text
