"""Issue 19, point 5: a harvest source owns only the features it harvested. A full
compare (a stock pygeoapi, no change feed) removes those of its features the remote
dropped and nothing else; a change feed's tombstone (another twin) removes a feature
only if this source put it there; a remote feature whose id the mirror holds from
elsewhere is left alone and reported. Locally created features (an editor over HTTP,
``twin load``) and a second source's features survive, and the counts of each run's
``load_runs`` report are right. Real servers on loopback: the session's twin, the
mirror twin of test_harvest, a stock pygeoapi serving two GeoJSON collections."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import text

from tests.conftest import _free_port
from tests.pygeoapi_remote import geojson_file, pygeoapi_config, pygeoapi_server
from tests.test_changes import bulk_load, camera, new_code
from tests.test_harvest import (  # noqa: F401 (fixtures)
    CAMERAS,
    _clear,
    items,
    mirror,
    run,
    transport,
)
from twin.server.auth.keys import create_key


@pytest.fixture(scope="module")
def agencies(tmp_path_factory):
    """(base URL, file of cams_a, file of cams_b): a stock pygeoapi with two GeoJSON
    collections of cameras, harvested into the mirror's cameras as two sources."""
    workdir = tmp_path_factory.mktemp("agencies")
    files = workdir / "a.geojson", workdir / "b.geojson"
    for path in files:
        geojson_file(path, [camera(new_code())])
    config = pygeoapi_config(_free_port(), {
        name: {"name": "GeoJSON", "data": str(path), "id_field": "id"}
        for name, path in zip(("cams_a", "cams_b"), files, strict=True)})
    with pygeoapi_server(config, workdir, "/collections/cams_a") as base:
        yield base, *files


def cams(codes, status: str = "online", first: int = 0) -> list[dict]:
    """Cameras ``codes``, the n-th (from ``first``) at its own place."""
    return [camera(c, 105.85 + 0.001 * n, 21.03, status=status)
            for n, c in enumerate(codes, first)]


def _report(engine, run_id: int) -> tuple:
    with engine.connect() as conn:
        return conn.execute(text(
            "SELECT mode, loaded, report -> 'deleted', report -> 'harvest' "
            "FROM load_runs WHERE id = :id"), {"id": run_id}).one()


def _owned(engine, source: str, collection: str) -> set[str]:
    with engine.connect() as conn:
        return set(conn.execute(text(
            "SELECT h.external_id FROM harvest_features h JOIN harvest_sources s "
            "ON s.id = h.source_id WHERE s.url = :url AND s.collection = :c"),
            {"url": source, "c": collection}).scalars())


def _edit_locally(engine, base: str, feature: dict) -> None:
    key, _ = create_key(engine, "mirror editor", "transport")
    r = httpx.post(base + CAMERAS, json=feature, headers={"X-API-Key": key})
    assert r.status_code == 201, r.text


def test_a_full_compare_removes_only_what_this_source_harvested(
        agencies, mirror, registry, settings, tmp_path):  # noqa: F811
    engine, base = mirror
    _clear(engine, "cameras")
    remote, file_a, file_b = agencies
    a, b = [new_code() for _ in range(4)], [new_code() for _ in range(2)]
    by_editor, by_load = new_code(), new_code()
    geojson_file(file_a, cams(a))
    geojson_file(file_b, cams(b))
    assert run(engine, registry, settings, remote, "cams_b").written == 2  # a 2nd source
    first = run(engine, registry, settings, remote, "cams_a")
    assert (first.mode, first.received, first.written, first.deleted) == ("compare", 4, 4, 0)
    _edit_locally(engine, base, camera(by_editor))
    bulk_load(engine, registry, settings, tmp_path, [camera(by_load, 105.9, 21.04)])
    others = {by_editor, by_load, *b}
    # the remote drops a[0], changes a[1], and serves an id the mirror holds locally
    geojson_file(file_a, cams(a[1:2], "offline", 1) + cams(a[2:], first=2)
                 + [camera(by_editor, status="maintenance")])
    again = run(engine, registry, settings, remote, "cams_a")
    assert (again.received, again.written, again.deleted, again.conflicts) == (4, 1, 1, 1)
    got = items(base)
    assert a[0] not in got and got[a[1]]["properties"]["status"] == "offline"
    assert others <= set(got) and got[by_editor]["properties"]["status"] == "online"
    mode, loaded, deleted, harvest = _report(engine, again.run_id)
    assert (mode, loaded, deleted) == ("harvest-compare", 1, 1)
    assert {k: harvest[k] for k in ("received", "written", "deleted", "conflicts",
                                    "conflict_ids")} == {
        "received": 4, "written": 1, "deleted": 1, "conflicts": 1,
        "conflict_ids": [by_editor]}
    assert _owned(engine, remote, "cams_a") == set(a[1:])
    # the remote's features all change ids (stock pygeoapi answers 500 on an empty
    # GeoJSON file): its three go, the new one comes, nothing else is touched
    fresh = new_code()
    geojson_file(file_a, cams([fresh], first=9))
    renewed = run(engine, registry, settings, remote, "cams_a")
    assert (renewed.received, renewed.written, renewed.deleted) == (1, 1, 3)
    got = items(base)
    assert not set(a) & set(got) and others | {fresh} <= set(got)
    assert _report(engine, renewed.run_id)[3]["deleted"] == 3
    assert _owned(engine, remote, "cams_a") == {fresh}
    assert _owned(engine, remote, "cams_b") == set(b)


def test_a_tombstone_removes_only_a_feature_this_source_harvested(
        server, http, transport, agencies, mirror, registry, settings):  # noqa: F811
    engine, base = mirror
    _clear(engine, "cameras")
    remote, _, file_b = agencies
    assert run(engine, registry, settings, server).mode == "changes"
    theirs, local, mine = new_code(), new_code(), new_code()
    geojson_file(file_b, cams([theirs]))
    run(engine, registry, settings, remote, "cams_b")       # a second source's feature
    _edit_locally(engine, base, camera(local))             # a feature made on the mirror
    try:
        # the source twin creates the same ids, and one of its own
        for code in (theirs, local, mine):
            assert http.post(CAMERAS, json=camera(code, status="offline"),
                             headers=transport).status_code == 201
        created = run(engine, registry, settings, server)
        assert (created.received, created.written, created.conflicts) == (3, 1, 2)
        got = items(base)
        assert got[mine]["properties"]["status"] == "offline"
        assert got[theirs]["properties"]["status"] == got[local]["properties"][
            "status"] == "online"
        # ... and deletes all three: only its own goes on the mirror
        for code in (theirs, local, mine):
            assert http.delete(f"{CAMERAS}/{code}", headers=transport).status_code == 204
        deleted = run(engine, registry, settings, server)
        assert (deleted.received, deleted.deleted) == (0, 1)
        got = items(base)
        assert mine not in got and {theirs, local} <= set(got)
        mode, _, _, harvest = _report(engine, deleted.run_id)
        assert (mode, harvest["deleted"], harvest["written"]) == ("harvest-changes", 1, 0)
        assert _owned(engine, remote, "cams_b") == {theirs}
    finally:
        for code in (theirs, local, mine):
            http.delete(f"{CAMERAS}/{code}", headers=transport)


def test_harvested_features_are_read_only_per_source(agencies, mirror, registry,  # noqa: F811
                                                     settings):
    """PUT, PATCH and DELETE of a read-only source's feature are a 409 OGC exception
    naming the source; a locally created feature and an --editable source's feature
    are edited as usual; a caller without credentials gets 401 before anything else."""
    engine, base = mirror
    _clear(engine, "cameras")
    remote, file_a, file_b = agencies
    ro, rw, local = new_code(), new_code(), new_code()
    geojson_file(file_a, cams([ro]))
    geojson_file(file_b, cams([rw], first=1))
    run(engine, registry, settings, remote, "cams_a")
    run(engine, registry, settings, remote, "cams_b", editable=True)
    _edit_locally(engine, base, camera(local, 105.86, 21.03))
    key, _ = create_key(engine, "mirror editor", "transport")
    with httpx.Client(base_url=base, headers={"X-API-Key": key}) as client:
        for method, body in (("PUT", camera(ro, status="offline")),
                             ("PATCH", {"properties": {"status": "offline"}}),
                             ("DELETE", None)):
            r = client.request(method, f"{CAMERAS}/{ro}", json=body)
            assert r.status_code == 409, (method, r.text)
            doc = r.json()
            assert doc["code"] and "read-only" in doc["description"]
            assert remote in doc["description"] and "cams_a" in doc["description"]
        for fid in (rw, local):
            r = client.patch(f"{CAMERAS}/{fid}", json={"properties": {"status": "offline"}})
            assert r.status_code in (200, 204), r.text
        assert httpx.patch(f"{base}{CAMERAS}/{ro}", json={
            "properties": {"status": "offline"}}).status_code == 401
    assert items(base)[ro]["properties"]["status"] == "online"
