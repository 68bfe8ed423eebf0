"""The tile cache (issue 20, point 3): tiles are kept under their layer's version, so an
edit through the API, a statement in psql or a load is never served stale; the version
is the ETag; a cache that cannot be written (a full disk, a path that is not a
directory) costs nothing but speed; ``twin tiles seed`` fills the cache the routes read.

Each test runs its own server over the shared demo city with a cache directory of its
own, so files can be looked at.
"""

from __future__ import annotations

import contextlib
import subprocess
import time
import uuid
from pathlib import Path

import httpx
import mapbox_vector_tile
import pytest
from click.testing import CliRunner
from sqlalchemy import text

from tests.conftest import _free_port, served
from twin.server.auth.keys import create_key
from twin.server.tiles.metadata import tile_index

TILE = "/collections/{layer}/tiles/WebMercatorQuad/{z}/{y}/{x}"
MVT = "application/vnd.mapbox-vector-tile"


def served_dir(tmp_path: Path) -> Path:
    (tmp_path / "served").mkdir(exist_ok=True)
    return tmp_path / "served"


@contextlib.contextmanager
def cached_server(settings, registry, city_url, tmp_path, **more):
    from twin.server.app import create_app

    port = _free_port()
    app_settings = settings.model_copy(update={
        "port": port, "public_url": None, "data_dir": served_dir(tmp_path),
        "tile_cache": str(more.pop("tile_cache", tmp_path / "tiles")), **more})
    with served(create_app(app_settings, city_url, registry), port) as base, \
            httpx.Client(base_url=base, timeout=30) as client:
        yield client


@pytest.fixture(scope="module")
def road(city_engine) -> tuple[str, int, int, int]:
    """A named road, as (feature id, z, x, y) of a zoom-16 tile through its middle."""
    with city_engine.connect() as conn:
        fid, lon, lat = conn.execute(text(
            "SELECT external_id, ST_X(p), ST_Y(p) FROM (SELECT external_id, "
            "ST_LineInterpolatePoint(geom, 0.5) AS p FROM road_segments WHERE name IS NOT "
            "NULL ORDER BY id LIMIT 1) s")).one()
    x, y = tile_index(lon, lat, 16)
    return fid, 16, x, y


@pytest.fixture(scope="module")
def admin_key(city_engine) -> dict[str, str]:
    key, _ = create_key(city_engine, "tile cache test", "admin")
    return {"X-API-Key": key}


def names_in(response: httpx.Response) -> list[str]:
    """The road names in a tile, one per feature (a street is several segments)."""
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == MVT
    layer = mapbox_vector_tile.decode(response.content).get("road_segments", {})
    return [f["properties"].get("name") for f in layer.get("features", [])]


def counted(http: httpx.Client, result: str, tiles: str = "vector") -> float:
    """The tile cache counter for ``result`` of ``tiles`` (vector or map; every app of
    this process adds to it)."""
    for line in http.get("/metrics").text.splitlines():
        if line.startswith(f'twin_tile_cache_total{{result="{result}",tiles="{tiles}"}}'):
            return float(line.split()[-1])
    return 0.0


def cached_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.mvt"))


def test_a_tile_is_made_once_then_served_from_the_cache(settings, registry, city_url,
                                                        tmp_path, road):
    _, z, x, y = road
    url = TILE.format(layer="road_segments", z=z, x=x, y=y)
    with cached_server(settings, registry, city_url, tmp_path) as http:
        misses, hits = counted(http, "miss"), counted(http, "hit")
        first = http.get(url)
        (stored,) = cached_files(tmp_path / "tiles")
        assert stored.read_bytes() == first.content and first.content
        stamp = stored.stat().st_mtime_ns
        again = http.get(url)
        assert again.content == first.content and stored.stat().st_mtime_ns == stamp
        etag = first.headers["etag"]
        assert etag == again.headers["etag"] and etag.startswith('W/"road_segments.')
        not_modified = http.get(url, headers={"If-None-Match": etag})
        assert not_modified.status_code == 304 and not_modified.content == b""
        assert first.headers["cache-control"] == "public, no-cache"
        assert counted(http, "miss") == misses + 1 and counted(http, "hit") == hits + 2


def test_an_edit_is_never_served_stale(settings, registry, city_url, tmp_path, road,
                                       admin_key):
    fid, z, x, y = road
    url = TILE.format(layer="road_segments", z=z, x=x, y=y)
    item = f"/collections/road_segments/items/{fid}"
    with cached_server(settings, registry, city_url, tmp_path) as http:
        before = http.get(url)
        old_name = http.get(item).json()["properties"]["name"]
        assert old_name in names_in(before)
        new_name = f"Phố thử {uuid.uuid4().hex[:6]}"
        try:
            r = http.patch(item, json={"properties": {"name": new_name}},
                           headers={**admin_key, "Content-Type": "application/merge-patch+json"})
            assert r.status_code == 200, r.text
            after = http.get(url, headers={"If-None-Match": before.headers["etag"]})
            assert after.status_code == 200 and after.headers["etag"] != before.headers["etag"]
            assert names_in(after).count(new_name) == 1
            assert names_in(after).count(old_name) == names_in(before).count(old_name) - 1
        finally:
            http.patch(item, json={"properties": {"name": old_name}},
                       headers={**admin_key, "Content-Type": "application/merge-patch+json"})
        # the old version's tiles are pruned once the new version is stored (by a
        # background thread of the worker: waited for, not assumed done at once)
        restored = http.get(url)
        assert old_name in names_in(restored)

        def versions() -> set[str]:
            return {p.relative_to(tmp_path / "tiles").parts[1]
                    for p in cached_files(tmp_path / "tiles")}

        deadline = time.monotonic() + 30
        while len(versions()) > 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(versions()) == 1


def test_any_writer_moves_the_version(settings, registry, city_url, city_engine, tmp_path,
                                      road):
    """A statement outside twin (psql, another program) changes the layer as well."""
    fid, z, x, y = road
    url = TILE.format(layer="road_segments", z=z, x=x, y=y)
    with cached_server(settings, registry, city_url, tmp_path) as http:
        before = http.get(url)
        with city_engine.begin() as conn:
            conn.execute(text("UPDATE road_segments SET name = name || ' (psql)' "
                              "WHERE external_id = :id"), {"id": fid})
        try:
            after = http.get(url)
            assert after.headers["etag"] != before.headers["etag"]
            assert any(n and n.endswith(" (psql)") for n in names_in(after))
        finally:
            with city_engine.begin() as conn:
                conn.execute(text("UPDATE road_segments SET name = left(name, -7) "
                                  "WHERE external_id = :id"), {"id": fid})


def test_views_and_time_filters(settings, registry, city_url, tmp_path, road):
    """View layers change with the readings and are never cached; a datetime filter is
    part of the key (history layers serve the layer as it was)."""
    _, z, x, y = road
    with cached_server(settings, registry, city_url, tmp_path) as http:
        view = http.get(TILE.format(layer="latest_readings", z=12, x=x >> 4, y=y >> 4))
        assert view.status_code == 200 and not cached_files(tmp_path / "tiles")
        assert not view.headers["etag"].startswith('W/"latest_readings.')
        url = TILE.format(layer="road_segments", z=z, x=x, y=y)
        now = http.get(url)
        then = http.get(url, params={"datetime": "2000-01-01T00:00:00Z"})
        assert then.headers["etag"] != now.headers["etag"]
        assert len(cached_files(tmp_path / "tiles")) == 2


def test_max_age_for_a_cdn(settings, registry, city_url, tmp_path, road):
    _, z, x, y = road
    with cached_server(settings, registry, city_url, tmp_path, tile_max_age=600) as http:
        r = http.get(TILE.format(layer="road_segments", z=z, x=x, y=y))
        assert r.headers["cache-control"] == "public, max-age=600"


def test_a_cache_that_cannot_be_written_serves_uncached(settings, registry, city_url,
                                                        tmp_path, road):
    """The cache path is a file, so no tile can be stored: every tile is still right."""
    _, z, x, y = road
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("x")
    url = TILE.format(layer="road_segments", z=z, x=x, y=y)
    with cached_server(settings, registry, city_url, tmp_path, tile_cache=blocker) as http:
        uncached = counted(http, "uncached")
        first, second = http.get(url), http.get(url)
        assert first.status_code == second.status_code == 200
        assert first.content == second.content and first.content
        assert counted(http, "uncached") == uncached + 2


@pytest.fixture()
def tiny_disk(tmp_path):
    """A 64 kB tmpfs: a cache that fills up (skipped where mounting is not allowed)."""
    target = tmp_path / "tiny"
    target.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(target)],
                             capture_output=True)
    if mounted.returncode != 0:
        pytest.skip("cannot mount a tmpfs here (needs root)")
    yield target
    subprocess.run(["umount", "-l", str(target)], check=False)


def test_a_full_cache_serves_uncached(settings, registry, city_url, tmp_path, tiny_disk,
                                      road):
    _, z, x, y = road
    with cached_server(settings, registry, city_url, tmp_path, tile_cache=tiny_disk) as http:
        uncached = counted(http, "uncached")
        bodies = {}
        for dx in range(-3, 4):
            for dy in range(-3, 4):
                r = http.get(TILE.format(layer="road_segments", z=z - 2, x=(x >> 2) + dx,
                                         y=(y >> 2) + dy))
                assert r.status_code == 200
                bodies[(dx, dy)] = r.content
        assert counted(http, "uncached") > uncached   # the disk filled
        for (dx, dy), body in bodies.items():   # and what is served is still right
            again = http.get(TILE.format(layer="road_segments", z=z - 2, x=(x >> 2) + dx,
                                         y=(y >> 2) + dy))
            assert again.content == body


def test_seed_fills_what_the_route_serves(settings, registry, city_url, tmp_path,
                                          monkeypatch):
    from twin.cli import main

    cache = tmp_path / "tiles"
    monkeypatch.setenv("TWIN_DATABASE_URL", city_url)
    monkeypatch.setenv("TWIN_TILE_CACHE", str(cache))
    monkeypatch.setenv("TWIN_DATA_DIR", str(tmp_path / "data"))
    lon0, lat0, lon1, lat1 = 105.84, 21.02, 105.86, 21.04
    result = CliRunner().invoke(main, ["tiles", "seed", "--layer", "road_segments",
                                       "--zooms", "14-15",
                                       "--bbox", f"{lon0},{lat0},{lon1},{lat1}"])
    assert result.exit_code == 0, result.output
    files = cached_files(cache)
    assert files and f"{len(files):,} stored" in result.output
    seeded = {p: p.stat().st_mtime_ns for p in files}
    tx, ty = tile_index((lon0 + lon1) / 2, (lat0 + lat1) / 2, 15)
    with cached_server(settings, registry, city_url, tmp_path, tile_cache=cache) as http:
        hits = counted(http, "hit")
        r = http.get(TILE.format(layer="road_segments", z=15, x=tx, y=ty))
        assert r.status_code == 200
        assert counted(http, "hit") == hits + 1
    assert {p: p.stat().st_mtime_ns for p in cached_files(cache)} == seeded
    for bad in (["--zooms", "3-30"], ["--zooms", "x"], ["--bbox", "1,2,3"]):
        args = ["tiles", "seed", "--layer", "road_segments", "--zooms", "14", *bad]
        out = CliRunner().invoke(main, args)
        assert out.exit_code != 0 and "Traceback" not in out.output
    out = CliRunner().invoke(main, ["tiles", "seed", "--layer", "latest_readings",
                                    "--zooms", "12"])
    assert out.exit_code != 0 and "never cached" in out.output
