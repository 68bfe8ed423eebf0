"""Map tiles of coverages in the tile cache (issue 20, point 3): a PNG tile of a surface
is kept under the version of the step it shows (its catalogue row and its file), so a
surface rebuilt for the same hour (late readings re-run the interpolation) is never
served stale; the version is the ETag; a cache that cannot be written serves tiles
uncached; ``twin tiles seed --collection`` fills the cache the route reads.

A series of this module's own (its own scenario) is stored through the real catalogue
code (``store_cube``/``store_surface``) into the shared demo city; each test runs its
own server with a cache directory of its own, so files can be looked at.
"""

from __future__ import annotations

import io
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from affine import Affine
from click.testing import CliRunner
from PIL import Image
from pyproj import Transformer
from sqlalchemy import text

from tests.test_tile_cache import TILE, cached_server, counted, names_in
from twin.rasters.catalogue import store_cube, store_surface
from twin.rasters.render import _rgba
from twin.server.tiles.metadata import tile_index
from twin.styles.ramps import classify, pm25_classes

T0 = datetime(2024, 3, 1, 0, tzinfo=UTC)
HOURS = [T0 + timedelta(hours=h) for h in range(3)]
NX, NY, RES = 60, 50, 100.0
LON, LAT = 105.85, 21.03
SCENARIO = "tile-cache-maps"
CID = "pm25_surface_tile_cache_maps"
MAP_TILE = "/collections/{cid}/map/tiles/WebMercatorQuad/{z}/{y}/{x}"
Z = 14


def _origin() -> tuple[float, float]:
    x, y = Transformer.from_crs("OGC:CRS84", "EPSG:3405", always_xy=True).transform(LON, LAT)
    return round(x - NX * RES / 2), round(y + NY * RES / 2)


TRANSFORM = Affine(RES, 0, _origin()[0], 0, -RES, _origin()[1])


def _gradient(hour: int) -> np.ndarray:
    """10..300 µg/m³ west to east: every PM2.5 class appears in a tile."""
    xx = np.mgrid[0:NY, 0:NX][1]
    return (10 + 290 * xx / (NX - 1) + hour).astype("float32")


def _surface(values: np.ndarray) -> xr.DataArray:
    return xr.DataArray(values, dims=("y", "x"),
                        attrs={"crs": "EPSG:3405", "transform": tuple(TRANSFORM)[:6]})


def _store(conn, values: np.ndarray, hour: int, raster_dir: Path) -> str:
    return store_surface(conn, _surface(values), kind="air_quality", variable="pm25",
                         valid_time=HOURS[hour], scenario=SCENARIO, raster_dir=raster_dir)


def _tile_url(z: int = Z) -> str:
    x, y = tile_index(LON, LAT, z)
    return MAP_TILE.format(cid=CID, z=z, x=x, y=y)


def _when(hour: int) -> dict[str, str]:
    return {"datetime": HOURS[hour].isoformat().replace("+00:00", "Z")}


def _colours(body: bytes) -> set[tuple[int, ...]]:
    """The colours of the tile's drawn (opaque) pixels."""
    rgba = np.asarray(Image.open(io.BytesIO(body)).convert("RGBA")).reshape(-1, 4)
    return {tuple(int(v) for v in px) for px in np.unique(rgba[rgba[:, 3] > 0], axis=0)}


def _colour_of(value: float) -> tuple[int, ...]:
    return _rgba(classify(value, pm25_classes()).colour)


def png_files(root: Path) -> list[Path]:
    return sorted(root.rglob("*.png"))


def _eventually(predicate, what: str):
    """Old versions are pruned by a background thread: poll until it has run."""
    for _ in range(200):
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(what)


@pytest.fixture(scope="module")
def series(city_engine, tmp_path_factory):
    """Three hourly PM2.5 surfaces of this module's scenario (gradients)."""
    raster_dir = tmp_path_factory.mktemp("map-tile-rasters")
    cube = xr.concat([_surface(_gradient(h)) for h in range(3)], dim="time")
    cube = cube.assign_coords(time=np.array([t.replace(tzinfo=None) for t in HOURS],
                                            dtype="datetime64[ns]"))
    with city_engine.begin() as conn:
        ids = store_cube(conn, cube, kind="air_quality", variable="pm25",
                         scenario=SCENARIO, raster_dir=raster_dir)
    yield {"dir": raster_dir, "ids": ids}
    with city_engine.begin() as conn:
        conn.execute(text("DELETE FROM rasters WHERE scenario = :s"), {"s": SCENARIO})


def test_a_map_tile_is_rendered_once_then_served_from_the_cache(settings, registry,
                                                                city_url, tmp_path, series):
    url = _tile_url()
    with cached_server(settings, registry, city_url, tmp_path) as http:
        misses, hits = counted(http, "miss", "map"), counted(http, "hit", "map")
        vector_hits = counted(http, "hit")
        first = http.get(url, params=_when(0))
        assert first.status_code == 200, first.text
        assert first.headers["content-type"] == "image/png"
        assert first.headers["content-date"].startswith("2024-03-01T00:00:00")
        (stored,) = png_files(tmp_path / "tiles")
        assert stored.read_bytes() == first.content
        assert stored.relative_to(tmp_path / "tiles").parts[:2] == (
            f"map-{CID}", series["ids"][0])
        assert len(_colours(first.content)) > 1   # the gradient crosses classes
        stamp = stored.stat().st_mtime_ns
        again = http.get(url, params=_when(0))
        assert again.content == first.content and stored.stat().st_mtime_ns == stamp
        etag = first.headers["etag"]
        assert etag == again.headers["etag"] and etag.startswith(f'W/"map-{CID}/')
        not_modified = http.get(url, params=_when(0), headers={"If-None-Match": etag})
        assert not_modified.status_code == 304 and not_modified.content == b""
        assert not_modified.headers["etag"] == etag
        assert first.headers["cache-control"] == "public, no-cache"
        assert counted(http, "miss", "map") == misses + 1
        assert counted(http, "hit", "map") == hits + 2
        assert counted(http, "hit") == vector_hits   # vector tiles are counted apart
        # another hour is another tile (and the same tile for any instant nearest it)
        other = http.get(url, params=_when(1))
        assert other.headers["etag"] != etag and len(png_files(tmp_path / "tiles")) == 2
        near = http.get(url, params={"datetime": "2024-03-01T01:10:00Z"})
        assert near.headers["etag"] == other.headers["etag"]
        assert near.content == other.content


def test_a_rebuilt_hour_is_never_served_stale(settings, registry, city_url, city_engine,
                                              tmp_path, series):
    """Late readings re-run the interpolation of an hour: the same external id, a new
    row time and a new file. The next request misses and shows the new surface; the
    old version's tiles are pruned, the other hours' and the vector tiles' are not."""
    url = _tile_url()
    road = TILE.format(layer="road_segments", z=12, **dict(zip(
        "xy", tile_index(LON, LAT, 12), strict=True)))
    with cached_server(settings, registry, city_url, tmp_path) as http:
        assert http.get(road).status_code == 200
        before = http.get(url, params=_when(1))
        kept = http.get(url, params=_when(0))
        assert len(_colours(before.content)) > 1
        with city_engine.begin() as conn:
            _store(conn, np.full((NY, NX), 200.0, "float32"), 1, series["dir"])
        after = http.get(url, params=_when(1), headers={"If-None-Match": before.headers["etag"]})
        assert after.status_code == 200, after.text
        assert after.headers["etag"] != before.headers["etag"]
        assert _colours(after.content) == {_colour_of(200.0)}
        assert http.get(url, params=_when(1)).content == after.content   # now a hit
        step_dir = tmp_path / "tiles" / f"map-{CID}" / series["ids"][1]
        _eventually(lambda: len(list(step_dir.iterdir())) == 1, "old version not pruned")
        assert [p.read_bytes() for p in png_files(step_dir)] == [after.content]
        hour0 = png_files(tmp_path / "tiles" / f"map-{CID}" / series["ids"][0])
        assert [p.read_bytes() for p in hour0] == [kept.content]
        assert list((tmp_path / "tiles" / "road_segments").rglob("*.mvt"))
        # and rebuilt once more, within the same second
        with city_engine.begin() as conn:
            _store(conn, np.full((NY, NX), 60.0, "float32"), 1, series["dir"])
        third = http.get(url, params=_when(1), headers={"If-None-Match": after.headers["etag"]})
        assert third.status_code == 200 and _colours(third.content) == {_colour_of(60.0)}


def test_the_file_decides_even_before_the_row_commits(settings, registry, city_url,
                                                      city_engine, tmp_path, series):
    """``store_surface`` renames the new file into place before its transaction
    commits, and a rolled-back re-store keeps the new pixels under the old row: the
    tile follows the file the route renders from, never a tile cached before."""
    url = _tile_url()
    with cached_server(settings, registry, city_url, tmp_path) as http:
        before = http.get(url, params=_when(2))
        assert len(_colours(before.content)) > 1
        with city_engine.connect() as conn:
            tx = conn.begin()
            _store(conn, np.full((NY, NX), 30.0, "float32"), 2, series["dir"])
            pending = http.get(url, params=_when(2))   # row not committed yet
            tx.rollback()
        assert pending.headers["etag"] != before.headers["etag"]
        assert _colours(pending.content) == {_colour_of(30.0)}
        rolled_back = http.get(url, params=_when(2))
        assert rolled_back.content == pending.content
        with city_engine.begin() as conn:   # put the gradient back for the other tests
            _store(conn, _gradient(2), 2, series["dir"])
        restored = http.get(url, params=_when(2))
        assert restored.headers["etag"] not in (before.headers["etag"],
                                                pending.headers["etag"])
        assert restored.content == before.content


@pytest.fixture()
def read_only_dir(tmp_path):
    """A read-only tmpfs (root ignores permission bits; skipped where mounting is not
    allowed)."""
    target = tmp_path / "read-only"
    target.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=64k", "tmpfs",
                              str(target)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip("cannot mount a tmpfs here (needs root)")
    yield target
    subprocess.run(["umount", "-l", str(target)], check=False)


def test_a_read_only_cache_serves_uncached(settings, registry, city_url, tmp_path, series,
                                           read_only_dir):
    url = _tile_url()
    with cached_server(settings, registry, city_url, tmp_path, tile_cache=read_only_dir) \
            as http:
        uncached = counted(http, "uncached", "map")
        first, second = http.get(url, params=_when(0)), http.get(url, params=_when(0))
        assert first.status_code == second.status_code == 200
        assert first.content == second.content and len(_colours(first.content)) > 1
        assert first.headers["etag"] == second.headers["etag"]
        assert counted(http, "uncached", "map") == uncached + 2
        assert not png_files(read_only_dir)


def test_a_cache_path_that_is_a_file_serves_uncached(settings, registry, city_url,
                                                     tmp_path, series):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("x")
    with cached_server(settings, registry, city_url, tmp_path, tile_cache=blocker) as http:
        uncached = counted(http, "uncached", "map")
        r = http.get(_tile_url(), params=_when(0))
        assert r.status_code == 200 and len(_colours(r.content)) > 1
        assert counted(http, "uncached", "map") == uncached + 1


def test_max_age_off_and_the_empty_tile(settings, registry, city_url, tmp_path, series):
    url = _tile_url()
    x, y = tile_index(LON, LAT, Z)
    far = MAP_TILE.format(cid=CID, z=Z, x=x + 50, y=y)
    with cached_server(settings, registry, city_url, tmp_path, tile_max_age=600) as http:
        r = http.get(url)
        assert r.status_code == 200 and r.headers["cache-control"] == "public, max-age=600"
        empty = http.get(far)
        assert empty.status_code == 200 and empty.headers["cache-control"] == \
            "public, max-age=600"
        assert len(png_files(tmp_path / "tiles")) == 1   # the empty tile is not stored
    with cached_server(settings, registry, city_url, tmp_path, tile_cache="off") as http:
        bypass = counted(http, "bypass", "map")
        r = http.get(url, params=_when(0))
        assert r.status_code == 200 and r.headers["etag"].startswith('W/"')
        assert not r.headers["etag"].startswith(f'W/"map-{CID}')
        assert counted(http, "bypass", "map") == bypass + 1


def test_seed_fills_what_the_map_tile_route_serves(settings, registry, city_url, tmp_path,
                                                   series, monkeypatch):
    from twin.cli import main

    cache = tmp_path / "tiles"
    monkeypatch.setenv("TWIN_DATABASE_URL", city_url)
    monkeypatch.setenv("TWIN_TILE_CACHE", str(cache))
    monkeypatch.setenv("TWIN_DATA_DIR", str(tmp_path / "data"))
    result = CliRunner().invoke(main, ["tiles", "seed", "--collection", CID, "--zooms",
                                       "13-14", "--datetime", "2024-03-01T00:10:00Z"])
    assert result.exit_code == 0, result.output
    files = png_files(cache)
    assert files and f"{len(files):,} stored" in result.output
    assert {p.relative_to(cache).parts[1] for p in files} == {series["ids"][0]}
    seeded = {p: p.stat().st_mtime_ns for p in files}
    with cached_server(settings, registry, city_url, tmp_path, tile_cache=cache) as http:
        hits = counted(http, "hit", "map")
        for z in (13, 14):
            r = http.get(_tile_url(z), params=_when(0))
            assert r.status_code == 200 and r.content in {p.read_bytes() for p in files}
        assert counted(http, "hit", "map") == hits + 2
    assert {p: p.stat().st_mtime_ns for p in png_files(cache)} == seeded
    latest = CliRunner().invoke(main, ["tiles", "seed", "--collection", CID, "--zooms", "12"])
    assert latest.exit_code == 0, latest.output
    assert {p.relative_to(cache).parts[1] for p in png_files(cache)} == {
        series["ids"][0], series["ids"][2]}   # no --datetime: the latest hour
    for bad in (["--collection", "nope_surface"], ["--collection", CID, "--datetime", "2001"],
                ["--collection", CID, "--datetime", "yesterday"],
                ["--collection", CID, "--layer", "road_segments"],
                ["--layer", "road_segments", "--datetime", "2024-03-01T00:00:00Z"], []):
        out = CliRunner().invoke(main, ["tiles", "seed", "--zooms", "12", *bad])
        # a clean message and exit status (a ClickException), not an exception
        assert out.exit_code != 0 and isinstance(out.exception, SystemExit), (bad, out)
        assert "Traceback" not in out.output


def test_vector_tiles_still_cached_as_before(settings, registry, city_url, tmp_path):
    """The map tiles' namespace and suffix leave vector tiles' paths and ETags as they
    were: ``layer/version/tms/z/x/y-all.mvt``, ``W/"layer.version.all"``."""
    x, y = tile_index(LON, LAT, 12)
    with cached_server(settings, registry, city_url, tmp_path) as http:
        r = http.get(TILE.format(layer="road_segments", z=12, x=x, y=y))
        names_in(r)
        (stored,) = sorted((tmp_path / "tiles").rglob("*.mvt"))
        parts = stored.relative_to(tmp_path / "tiles").parts
        assert parts[0] == "road_segments" and parts[2:] == (
            "WebMercatorQuad", "12", str(x), f"{y}-all.mvt")
        assert r.headers["etag"] == f'W/"road_segments.{parts[1]}.all"'
