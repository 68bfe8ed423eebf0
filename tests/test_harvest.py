"""Issue 19, point 5: ``twin harvest``. Real servers on loopback: the session's twin (the
demo city) is the remote; a second twin over a second database is the mirror, served
too. One harvests the other: an initial copy, then an edit, a deletion and a bulk load
on the source each reach the mirror (the items compared exactly, over HTTP); a stock
pygeoapi (its own process, a GeoJSON file) is harvested with a mapping file by a full
compare; a proxy that breaks on page 2 (a malformed page, a dropped connection) leaves
the mirror as it was, and the next run catches up; harvested features are read-only on
the mirror (409)."""

from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from click.testing import CliRunner
from sqlalchemy import text

from tests.conftest import _free_port, fresh_database, served
from tests.pygeoapi_remote import geojson_file, pygeoapi_config, pygeoapi_server
from tests.test_changes import bulk_load, camera, new_code
from twin.db.engine import make_engine
from twin.db.schema import upgrade
from twin.harvest.remote import Remote
from twin.harvest.run import HarvestError, harvest
from twin.server.auth.keys import create_key

CAMERAS = "/collections/cameras/items"


@pytest.fixture(scope="module")
def mirror(settings, registry, tmp_path_factory):
    """(engine, base URL) of a second twin over its own empty database."""
    from twin.server.app import create_app

    url, drop = fresh_database(settings, "twin_test_harvest_mirror")
    engine = make_engine(url, pool_size=2)
    upgrade(engine, registry)
    port = _free_port()
    app_settings = settings.model_copy(update={
        "port": port, "public_url": None, "count_budget_ms": 5000,
        "data_dir": tmp_path_factory.mktemp("mirror")})
    with served(create_app(app_settings, url, registry), port) as base:
        yield engine, base
    engine.dispose()
    drop()


@pytest.fixture(scope="module")
def transport(city_engine) -> dict[str, str]:
    key, _ = create_key(city_engine, "test harvest", "transport")
    return {"X-API-Key": key}


def items(base: str, collection: str = "cameras") -> dict[str, dict]:
    out, url, params = {}, f"{base}/collections/{collection}/items", {"limit": 10000}
    with httpx.Client(timeout=60) as client:
        while url:
            r = client.get(url, params=params)
            assert r.status_code == 200, r.text
            body = r.json()
            out.update({f["id"]: {"geometry": f["geometry"], "properties": f["properties"]}
                        for f in body["features"]})
            url = next((link["href"] for link in body["links"] if link["rel"] == "next"),
                       None)
            params = {}
    return out


def test_a_pruned_feed_is_met_with_a_full_compare(server, http, transport, mirror,
                                                  registry, settings, city_engine):
    """The source pruned the changes after the mirror's cursor (its feed answers 410):
    the next run copies again (a full compare, removing what the source deleted
    meanwhile) and follows the feed from a new position."""
    engine, base = mirror
    _clear(engine, "cameras")
    run(engine, registry, settings, server)
    kept, gone = new_code(), new_code()
    try:
        for code in (kept, gone):
            assert http.post(CAMERAS, json=camera(code), headers=transport).status_code == 201
        run(engine, registry, settings, server)
        assert {kept, gone} <= set(items(base))
        assert http.delete(f"{CAMERAS}/{gone}", headers=transport).status_code == 204
        with city_engine.begin() as conn:   # as `twin db prune` leaves it on the source
            conn.execute(text(
                "INSERT INTO change_pruned (layer, seq, id, at) SELECT 'cameras', c.seq, "
                "max(l.id), c.at FROM change_log l JOIN change_commits c USING (xid) "
                "WHERE l.layer = 'cameras' GROUP BY c.seq, c.at ORDER BY c.seq DESC "
                "LIMIT 1"))
        with engine.connect() as conn:
            cursor = conn.execute(text("SELECT cursor FROM harvest_sources")).scalar_one()
        gone_feed = httpx.get(f"{server}/collections/cameras/changes", params={"cursor": cursor})
        assert gone_feed.status_code == 410, gone_feed.text
        again = run(engine, registry, settings, server)
        assert again.mode == "changes" and again.deleted == 1 and again.received > 2
        assert gone not in items(base) and items(base) == items(server)
    finally:
        with city_engine.begin() as conn:
            conn.execute(text("DELETE FROM change_pruned WHERE layer = 'cameras'"))
        http.delete(f"{CAMERAS}/{kept}", headers=transport)


def run(mirror_engine, registry, settings, url, collection="cameras", layer="cameras",
        **kw):
    return harvest(mirror_engine, registry, url, collection, layer,
                   extent=settings.plausible_extent, **kw)


def _clear(engine, layer: str) -> None:
    with engine.begin() as conn:
        conn.execute(text(f"DELETE FROM {layer}"))
        conn.execute(text("DELETE FROM harvest_sources"))


def test_a_twin_mirrors_another_through_its_change_feed(server, http, transport, mirror,
                                                        registry, settings, city_engine,
                                                        tmp_path):
    engine, base = mirror
    _clear(engine, "cameras")
    first = run(engine, registry, settings, server)
    assert first.mode == "changes" and first.written == first.received > 0
    assert items(base) == items(server)
    kept, gone, loaded = new_code(), new_code(), [new_code(), new_code()]
    try:
        for code in (kept, gone):
            assert http.post(CAMERAS, json=camera(code), headers=transport).status_code == 201
        assert run(engine, registry, settings, server).written == 2
        assert items(base) == items(server)
        # an edit
        r = http.patch(f"{CAMERAS}/{kept}", json={"properties": {"status": "offline"}},
                       headers=transport)
        assert r.status_code in (200, 204), r.text
        edit = run(engine, registry, settings, server)
        assert (edit.received, edit.written, edit.deleted) == (1, 1, 0)
        assert items(base)[kept]["properties"]["status"] == "offline"
        # a deletion
        assert http.delete(f"{CAMERAS}/{gone}", headers=transport).status_code == 204
        deletion = run(engine, registry, settings, server)
        assert (deletion.received, deletion.deleted) == (0, 1)
        assert gone not in items(base) and items(base) == items(server)
        # a bulk load (twin load --mode upsert on the source)
        bulk_load(city_engine, registry, settings, tmp_path,
                  [camera(c, 105.86 + 0.01 * i, 21.03) for i, c in enumerate(loaded)]
                  + [camera(kept, 105.9, 21.04, status="maintenance")])
        bulk = run(engine, registry, settings, server)
        assert bulk.written == 3
        assert items(base) == items(server)
        # nothing new: nothing written
        assert run(engine, registry, settings, server).received == 0
        _provenance_is_kept(engine, server, kept, bulk.run_id)
    finally:
        for code in (kept, *loaded):
            http.delete(f"{CAMERAS}/{code}", headers=transport)


def _provenance_is_kept(engine, remote: str, fid: str, run_id: int) -> None:
    with engine.connect() as conn:
        row = conn.execute(text(
            "SELECT s.url, s.collection, h.remote_id, h.run_id, r.source, r.mode, "
            "r.report -> 'harvest' ->> 'url' FROM harvest_features h "
            "JOIN harvest_sources s ON s.id = h.source_id "
            "JOIN load_runs r ON r.id = h.run_id WHERE h.layer = 'cameras' "
            "AND h.external_id = :fid"), {"fid": fid}).one()
    assert row == (remote, "cameras", fid, run_id, f"{remote}/collections/cameras/items",
                   "harvest-changes", remote)


def test_harvested_features_are_read_only_on_the_mirror(server, mirror, registry, settings):
    engine, base = mirror
    _clear(engine, "cameras")
    run(engine, registry, settings, server)
    fid = next(iter(items(base)))
    key, _ = create_key(engine, "mirror editor", "transport")
    with httpx.Client(base_url=base, headers={"X-API-Key": key}) as client:
        r = client.patch(f"{CAMERAS}/{fid}", json={"properties": {"status": "offline"}})
        assert r.status_code == 409, r.text
        assert "harvested" in r.json()["description"] and server in r.json()["description"]
        assert client.delete(f"{CAMERAS}/{fid}").status_code == 409
        # --editable: the same source's features may be edited
        run(engine, registry, settings, server, editable=True)
        r = client.patch(f"{CAMERAS}/{fid}", json={"properties": {"status": "offline"}})
        assert r.status_code in (200, 204), r.text


# --- a remote that breaks mid-harvest -------------------------------------------------

class Proxy:
    """Forwards GETs to ``target``; when ``breaking`` is set, request ``at`` and later
    (page 2 of a run) get ``breaking``: "malformed" (a truncated page), "close" (the connection
    dropped without an answer) or "slow" (no answer before the harvester's timeout)."""

    def __init__(self, target: str):
        self.target, self.breaking, self.count, self.at = target, None, 0, 2
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                proxy.count += 1
                if proxy.breaking == "slow" and proxy.count >= proxy.at:
                    time.sleep(3)  # past the harvester's timeout (1 s in the test)
                    self.close_connection = True
                    return
                if proxy.breaking and proxy.count >= proxy.at:
                    if proxy.breaking == "close":
                        self.close_connection = True
                        self.connection.shutdown(socket.SHUT_RDWR)
                        return
                    body = b'{"type":"FeatureCollection","features":[{"type":"Feat'
                    self.send_response(200)
                else:
                    r = httpx.get(proxy.target + self.path, timeout=60)
                    body = r.content.replace(proxy.target.encode(), proxy.base.encode())
                    self.send_response(r.status_code)
                self.send_header("Content-Type", "application/geo+json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", _free_port()), Handler)
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def _snapshot(engine) -> list[tuple]:
    with engine.connect() as conn:
        return conn.execute(text("SELECT external_id, status, ST_AsText(geom), updated_at "
                                 "FROM cameras ORDER BY external_id")).all()


@pytest.mark.parametrize("breaking", ["malformed", "close", "slow"])
def test_a_remote_breaking_mid_harvest_leaves_the_layer_as_it_was(
        server, http, transport, mirror, registry, settings, breaking):
    engine, base = mirror
    _clear(engine, "cameras")
    proxy = Proxy(server)
    codes = [new_code() for _ in range(3)]
    try:
        # the initial copy breaks on page 2 (request 1 reads the feed's position)
        proxy.breaking, proxy.count, proxy.at = breaking, 0, 3
        with pytest.raises(HarvestError, match="unchanged"):
            run(engine, registry, settings, proxy.base, remote=Remote(
                proxy.base, "cameras", page_size=5, timeout_s=1))
        assert _snapshot(engine) == []
        proxy.breaking = None
        run(engine, registry, settings, proxy.base, remote=Remote(proxy.base, "cameras",
                                                                  page_size=50))
        before = _snapshot(engine)
        for code in codes:
            assert http.post(CAMERAS, json=camera(code), headers=transport).status_code == 201
        # the change feed breaks on page 2: nothing written, the cursor kept
        proxy.breaking, proxy.count, proxy.at = breaking, 0, 2
        with pytest.raises(HarvestError, match="unchanged"):
            run(engine, registry, settings, proxy.base,
                remote=Remote(proxy.base, "cameras", page_size=1, timeout_s=1))
        assert _snapshot(engine) == before
        with engine.connect() as conn:
            assert conn.execute(text("SELECT last_error FROM harvest_sources")).scalar()
        # the next run catches up
        proxy.breaking = None
        again = run(engine, registry, settings, proxy.base,
                    remote=Remote(proxy.base, "cameras", page_size=1))
        assert again.written == 3 and items(base) == items(server)
    finally:
        proxy.stop()
        for code in codes:
            http.delete(f"{CAMERAS}/{code}", headers=transport)


def test_a_remote_that_is_down_is_a_clear_error(mirror, registry, settings):
    engine, _ = mirror
    down = f"http://127.0.0.1:{_free_port()}"
    with pytest.raises(HarvestError, match="unreachable"):
        run(engine, registry, settings, down)


# --- a stock pygeoapi -----------------------------------------------------------------

PARKING = [
    {"type": "Feature", "id": f"PG-{n}", "geometry": {"type": "Point",
                                                      "coordinates": [105.80 + n / 100, 21.02]},
     "properties": {"ten": f"Bãi xe {n}", "loai": "ngầm" if n % 2 else "lòng đường",
                    "suc_chua": 10 * n}} for n in range(1, 8)]
MAPPING = """\
layer: parking_sites
columns: {ten: name, loai: kind, suc_chua: capacity}
values:
  kind: {ngầm: garage, lòng đường: on_street}
constants: {operator: Sở Xây dựng}
"""


def _pygeoapi_config(tmp_path, port: int) -> dict:
    data = tmp_path / "parking.geojson"
    geojson_file(data, PARKING)
    return pygeoapi_config(port, {"parking": {"name": "GeoJSON", "data": str(data),
                                              "id_field": "id"}})


@pytest.fixture()
def pygeoapi(tmp_path):
    """A stock pygeoapi over a GeoJSON file; at most 3 features a page, so a harvest
    follows its next links."""
    config = _pygeoapi_config(tmp_path, _free_port())
    with pygeoapi_server(config, tmp_path, "/collections/parking") as base:
        yield base, tmp_path / "parking.geojson"


def test_a_stock_pygeoapi_is_harvested_by_a_full_compare_with_a_mapping(
        pygeoapi, mirror, registry, settings, tmp_path):
    from twin.cli import main

    engine, base = mirror
    _clear(engine, "parking_sites")
    remote, data = pygeoapi
    mapping = tmp_path / "parking.mapping.yaml"
    mapping.write_text(MAPPING, encoding="utf-8")
    env = {"TWIN_DATABASE_URL": engine.url.render_as_string(hide_password=False)}
    cli = CliRunner()
    args = ["harvest", remote, "--collection", "parking", "--mapping", str(mapping)]
    result = cli.invoke(main, args, env=env)
    assert result.exit_code == 0, result.output
    assert "by compare" in result.output and "7 received, 7 written" in result.output
    got = items(base, "parking_sites")
    assert set(got) == {f["id"] for f in PARKING}
    assert got["PG-1"]["properties"].items() >= {"name": "Bãi xe 1", "kind": "garage",
                                                 "capacity": 10,
                                                 "operator": "Sở Xây dựng"}.items()
    assert got["PG-2"]["properties"]["kind"] == "on_street"
    # one feature changed, one removed at the remote: only those are touched
    changed = [dict(f, properties=dict(f["properties"])) for f in PARKING[1:]]
    changed[0]["properties"]["suc_chua"] = 99
    data.write_text(json.dumps({"type": "FeatureCollection", "features": changed},
                               ensure_ascii=False), encoding="utf-8")
    result = cli.invoke(main, args, env=env)
    assert result.exit_code == 0, result.output
    assert "6 received, 1 written, 1 removed" in result.output
    got = items(base, "parking_sites")
    assert "PG-1" not in got and got["PG-2"]["properties"]["capacity"] == 99


# --- subscription-triggered harvesting ------------------------------------------------

def test_a_subscription_triggers_the_harvest(server, http, transport, mirror, registry,
                                             settings):
    """The harvester subscribes to the source's changes with a webhook to itself; a
    signed delivery runs the harvest at once (the schedule alone would wait 10 min)."""
    from twin.harvest.run import every
    from twin.harvest.trigger import Trigger

    engine, base = mirror
    _clear(engine, "cameras")
    run(engine, registry, settings, server)
    stop, wake = threading.Event(), threading.Event()
    remote = Remote(server, "cameras", headers=transport)
    trigger = Trigger(remote, f"http://127.0.0.1:{_free_port()}/hook", wake)
    trigger.start()
    scheduled = threading.Event()

    def harvest_now():
        try:
            return run(engine, registry, settings, server)
        finally:
            scheduled.set()

    loop = threading.Thread(target=every, args=(600, harvest_now, stop, wake), daemon=True)
    loop.start()
    # the schedule runs once at start: the edit comes after that run, so only a
    # delivery can bring it before the next turn (10 min)
    assert scheduled.wait(120), "the scheduled run did not finish"
    fid = new_code()
    try:
        assert http.post(CAMERAS, json=camera(fid), headers=transport).status_code == 201
        deadline = time.monotonic() + 120  # a fail-safe, not a bound on the lag
        while fid not in items(base):
            assert time.monotonic() < deadline, "the delivery did not trigger a harvest"
            time.sleep(0.1)
        assert trigger.received >= 1
    finally:
        stop.set()
        wake.set()
        loop.join(timeout=60)
        subscription = trigger.subscription
        trigger.stop()
        assert http.get(subscription, headers=transport).status_code == 404
        remote.close()
        http.delete(f"{CAMERAS}/{fid}", headers=transport)
