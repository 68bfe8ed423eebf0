"""Issue 19, point 3: change feeds. ``/collections/{id}/changes`` over real HTTP against
the demo city: another agency mirrors a layer exactly (a copy of the items, then the
feed replayed after edits through the API, a deletion and a bulk load), resumes from a
cursor, filters by bbox, sees deletions as tombstones; bad cursors and times are 400.
Every test creates its own features and deletes them."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import text

from twin.ingest.vector import load_vector
from twin.server.auth.keys import create_key

CAMERAS = "/collections/cameras/items"
FEED = "/collections/cameras/changes"
X, Y = 105.8521, 21.0285


@pytest.fixture(scope="module")
def transport(city_engine) -> dict[str, str]:
    key, _ = create_key(city_engine, "test changes", "transport")
    return {"X-API-Key": key}


def camera(code: str, x: float = X, y: float = Y, status: str = "online") -> dict:
    return {"type": "Feature", "id": code, "geometry": {"type": "Point", "coordinates": [x, y]},
            "properties": {"code": code, "status": status}}


def new_code() -> str:
    return "T-CH-" + uuid.uuid4().hex[:10]


def drain(http, cursor: str | None = None, **params) -> tuple[list[dict], str]:
    """Every change after ``cursor``, following ``next`` links; and the cursor to resume."""
    changes: list[dict] = []
    query = {**params, **({"cursor": cursor} if cursor else {})}
    url = FEED
    while True:
        r = http.get(url, params=query) if query else http.get(url)
        assert r.status_code == 200, r.text
        body = r.json()
        changes += body["features"]
        nxt = [link["href"] for link in body["links"] if link["rel"] == "next"]
        if not nxt:
            return changes, body["cursor"]
        url, query = nxt[0], {}


def items(http) -> dict[str, dict]:
    out, url, params = {}, CAMERAS, {"limit": 10000}
    while url:
        body = (http.get(url, params=params) if params else http.get(url)).json()
        out.update({f["id"]: {"geometry": f["geometry"], "properties": f["properties"]}
                    for f in body["features"]})
        url = next((link["href"] for link in body["links"] if link["rel"] == "next"), None)
        params = {}
    return out


def replay(copy: dict[str, dict], changes: list[dict]) -> None:
    for change in changes:
        if change["change"]["action"] == "deleted":
            copy.pop(change["id"], None)
        else:
            copy[change["id"]] = {"geometry": change["geometry"],
                                  "properties": change["properties"]}


def bulk_load(city_engine, registry, settings, tmp_path, features: list[dict]) -> None:
    """``twin load --mode upsert`` of ``features`` (its loader, one transaction)."""
    from twin.db.engine import make_engine

    path = tmp_path / "cameras.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {**f, "properties": {**f["properties"]}} for f in features]}), encoding="utf-8")
    engine = make_engine(city_engine.url.render_as_string(hide_password=False), pool_size=1)
    try:
        load_vector(engine, registry, "cameras", path, extent=settings.plausible_extent,
                    mode="upsert", id_column="code")
    finally:
        engine.dispose()


def test_a_mirror_replaying_the_feed_equals_the_source(http, transport, city_engine, registry,
                                                      settings,
                                                      tmp_path):
    _, start = drain(http)                 # where the mirror starts following
    mirror = items(http)                   # its initial copy
    kept, gone, loaded = new_code(), new_code(), [new_code(), new_code(), new_code()]
    try:
        for code in (kept, gone):
            r = http.post(CAMERAS, json=camera(code), headers=transport)
            assert r.status_code == 201, r.text
        patch = {"type": "Feature", "properties": {"status": "offline"}}
        r = http.patch(f"{CAMERAS}/{kept}", json=patch, headers=transport)
        assert r.status_code in (200, 204), r.text
        assert http.delete(f"{CAMERAS}/{gone}", headers=transport).status_code == 204
        # a bulk load: three new cameras, and the kept one moved
        bulk_load(city_engine, registry, settings, tmp_path,
                  [camera(c, X + 0.01 * i, Y) for i, c in enumerate(loaded)]
                  + [camera(kept, X + 0.05, Y + 0.01, status="offline")])
        changes, _ = drain(http, start, limit=2)   # small pages: the cursor carries on
        replay(mirror, changes)
        assert mirror == items(http)
        assert mirror[kept]["geometry"]["coordinates"] == pytest.approx([X + 0.05, Y + 0.01])
        assert gone not in mirror and all(c in mirror for c in loaded)
        assert {c["id"] for c in changes} == {kept, gone, *loaded}
        actions = [(c["id"], c["change"]["action"]) for c in changes]
        assert (gone, "deleted") in actions and (loaded[0], "created") in actions
    finally:
        for code in (kept, *loaded):
            http.delete(f"{CAMERAS}/{code}", headers=transport)


def test_a_cursor_resumes_where_the_last_page_ended(http, transport):
    _, start = drain(http)
    codes = [new_code() for _ in range(3)]
    try:
        for code in codes:
            assert http.post(CAMERAS, json=camera(code), headers=transport).status_code == 201
        whole, _ = drain(http, start, limit=100)
        first = http.get(FEED, params={"cursor": start, "limit": 1}).json()
        assert [f["id"] for f in first["features"]] == [codes[0]]
        assert any(link["rel"] == "next" for link in first["links"])
        rest, end = drain(http, first["cursor"], limit=1)
        assert [f["id"] for f in first["features"] + rest] == [f["id"] for f in whole] == codes
        # nothing new: an empty page that keeps the cursor, and no next link
        last = http.get(FEED, params={"cursor": end}).json()
        assert last["features"] == [] and last["cursor"] == end
        assert not any(link["rel"] == "next" for link in last["links"])
    finally:
        for code in codes:
            http.delete(f"{CAMERAS}/{code}", headers=transport)


def test_bbox_keeps_the_changes_inside_it(http, transport):
    _, start = drain(http)
    inside, outside = new_code(), new_code()
    try:
        assert http.post(CAMERAS, json=camera(inside, 105.70, 21.10),
                         headers=transport).status_code == 201
        assert http.post(CAMERAS, json=camera(outside, 105.90, 20.95),
                         headers=transport).status_code == 201
        found, _ = drain(http, start, bbox="105.69,21.09,105.71,21.11")
        assert [f["id"] for f in found] == [inside]
        assert http.delete(f"{CAMERAS}/{inside}", headers=transport).status_code == 204
        found, _ = drain(http, start, bbox="105.69,21.09,105.71,21.11")
        # the creation is skipped (the feature is gone); its deletion is there
        assert [(f["id"], f["change"]["action"]) for f in found] == [(inside, "deleted")]
    finally:
        for code in (inside, outside):
            http.delete(f"{CAMERAS}/{code}", headers=transport)


def test_a_deletion_is_a_tombstone(http, transport):
    _, start = drain(http)
    code = new_code()
    assert http.post(CAMERAS, json=camera(code), headers=transport).status_code == 201
    before = datetime.now(UTC)
    assert http.delete(f"{CAMERAS}/{code}", headers=transport).status_code == 204
    found, _ = drain(http, start)
    assert found == [{"type": "Feature", "id": code, "geometry": None, "properties": None,
                      "change": {"action": "deleted", "time": found[0]["change"]["time"]}}]
    assert datetime.fromisoformat(found[0]["change"]["time"]) >= before.replace(microsecond=0)
    # since a moment before the deletion: the tombstone again
    since, _ = drain(http, since=before.isoformat().replace("+00:00", "Z"))
    assert [(f["id"], f["change"]["action"]) for f in since] == [(code, "deleted")]


def test_the_feed_commits_in_commit_order(city_engine):
    """Log rows of one transaction share its commit's seq; seqs follow commit order."""
    with city_engine.connect() as conn:
        rows = conn.execute(text("SELECT seq, at FROM change_commits ORDER BY seq")).all()
    assert rows and [r.at for r in rows] == sorted(r.at for r in rows)


@pytest.mark.parametrize("params, words", [
    ({"cursor": "not-a-cursor"}, "cursor"),
    ({"cursor": "LTEuLTE"}, "cursor"),               # "-1.-1"
    ({"since": "yesterday"}, "since"),
    ({"since": "2026-01-01/2026-02-01"}, "since"),
    ({"since": "2026-01-01T00:00:00Z", "cursor": "MC4w"}, "either"),
    ({"bbox": "1,2,3"}, "bbox"),
    ({"limit": "0"}, "limit"),
    ({"colour": "red"}, "colour"),
])
def test_bad_parameters_are_400(http, params, words):
    r = http.get(FEED, params=params)
    assert r.status_code == 400, r.text
    body = r.json()
    assert set(body) >= {"code", "description"} and words in body["description"]


def test_unknown_and_derived_collections_are_404(http):
    assert http.get("/collections/nothing_here/changes").status_code == 404
    r = http.get("/collections/station_aqi/changes")
    assert r.status_code == 404 and "derived" in r.json()["description"]


def test_html_page(server):
    r = httpx.get(f"{server}{FEED}", params={"f": "html", "limit": 3})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert "<table>" in r.text
