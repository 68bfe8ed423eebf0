"""Issue 17, point 4: an edit cannot create a feature whose id is not a path segment as
it is (clients build ``/items/{id}`` from it without percent-encoding)."""

from __future__ import annotations

import pytest

from twin.server.auth.keys import create_key

pytestmark = pytest.mark.api_language("en")  # its assertions quote English descriptions


@pytest.fixture(scope="module")
def transport(city_engine):
    return {"X-API-Key": create_key(city_engine, "Sở Giao thông Vận tải", "transport")[0]}


@pytest.mark.parametrize("fid", ["a/b", "a?b", "a#b", "a%2Fb", "a b"])
def test_unsafe_ids_are_refused(http, transport, fid):
    feature = {"type": "Feature", "id": fid,
               "geometry": {"type": "Point", "coordinates": [105.85, 21.03]},
               "properties": {"code": fid, "kind": "monitoring"}}
    r = http.post("/collections/cameras/items", json=feature, headers=transport)
    assert r.status_code == 400, r.text
    assert "may not contain" in r.json()["description"]
