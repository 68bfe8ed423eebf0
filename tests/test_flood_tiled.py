"""The tiled flood algorithms (issue 20 point 4): the tiled priority-flood and the tiled
connectivity equal the in-memory ones bit for bit, in this process and on a real
``dask.distributed`` LocalCluster of two worker processes (nannies, so a killed
worker comes back); a COG larger than a tile is read window by window and the result
written as a COG; a worker killed mid-job and a cluster restarted mid-job; the
hourly river surfaces of a run as one task per hour.
"""

from __future__ import annotations

import os
import signal

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin

from tests.dask_graphs import count_graphs
from twin.analysis.flood.connect import connected
from twin.analysis.flood.fill import fill_depressions
from twin.analysis.flood.tiled_connect import tiled_connected
from twin.analysis.flood.tiled_fill import tiled_fill
from twin.analysis.flood.tiled_layout import Layout
from twin.flood.distributed import (
    TiledFloodError,
    connected_array,
    dask_client,
    fill_array,
    fill_cog,
    fill_dem,
    hours_on_cluster,
    river_hours,
)
from twin.flood.readings import Gauges
from twin.flood.rivers import RiverModel

TILES = [1, 2, 5, 16, (7, 13), 30, 1000]


def same(a: np.ndarray, b: np.ndarray) -> bool:
    """Equal bit for bit (NaN where NaN), same dtype."""
    return a.dtype == b.dtype and a.shape == b.shape and \
        np.array_equal(a.view(np.uint8), b.view(np.uint8))


def fractal(shape, seed: int, holes: float = 0.0) -> np.ndarray:
    """Rough terrain: octaves of smoothed noise, rounded to cm (ties, hence flats)."""
    rng = np.random.default_rng(seed)
    z = np.zeros(shape)
    for k in range(1, 5):
        step = 2 ** k
        coarse = rng.random((shape[0] // step + 2, shape[1] // step + 2))
        z += np.kron(coarse, np.ones((step, step)))[:shape[0], :shape[1]] * step
    z = np.round(z, 2).astype(np.float32)
    z[rng.random(shape) < holes] = np.nan
    return z


def four_tile_bowl() -> np.ndarray:
    """A 60 x 60 bowl centred on the corner of four 30-cell tiles, floor 1 m, rim 9 m,
    one notch at 4 m in the top-left tile leading to the western border."""
    yy, xx = np.mgrid[0:60, 0:60]
    r = np.hypot(yy - 29.5, xx - 29.5)
    z = np.where(r < 20, 1.0, 9.0).astype(np.float32)
    z[(r >= 20) & (r < 22)] = 9.0
    z[22:24, 0:10] = 4.0                 # the notch, cut through the rim to the border
    z[22:24, 10:12] = 4.0
    return z


def corner_channel() -> np.ndarray:
    """A basin in the top-left tile drains only along a diagonal channel through the
    corner shared by four 20-cell tiles (cells (19, 19) and (20, 20)) to the SE edge."""
    z = np.full((40, 40), 10.0, np.float32)
    z[5:15, 5:15] = 1.0                  # the basin
    for i in range(14, 40):
        z[i, i] = 2.0                    # the channel, 8-connected only
    return z


@pytest.mark.parametrize("tile", TILES)
def test_tiled_fill_equals_fill_on_random_dems(tile):
    rng = np.random.default_rng(7)
    for seed in range(6):
        shape = tuple(int(s) for s in rng.integers(1, 70, 2))
        for dem in (fractal(shape, seed), fractal(shape, seed, holes=0.05),
                    rng.integers(0, 6, shape).astype(np.float64)):
            assert same(tiled_fill(dem, tile), fill_depressions(dem)), (seed, shape)


def test_constructed_dems_across_tile_edges():
    bowl = four_tile_bowl()
    filled = tiled_fill(bowl, 30)
    assert same(filled, fill_depressions(bowl))
    assert (filled[np.hypot(*np.mgrid[0:60, 0:60] - 29.5) < 20] == 4.0).all()

    channel = corner_channel()
    for tile in (20, (20, 10), 7):
        filled = tiled_fill(channel, tile)
        assert same(filled, fill_depressions(channel))
    assert (tiled_fill(channel, 20)[5:15, 5:15] == 2.0).all()

    flats = np.full((50, 50), 7.0, np.float32)   # one flat across every edge, its rim
    flats[1:-1, 1:-1] = 5.0                       # at 7, a lower flat spilling at 5
    flats[20:30, 20:30] = 3.0
    flats[0, 33] = 5.0
    assert same(tiled_fill(flats, 16), fill_depressions(flats))
    assert (tiled_fill(flats, 16)[1:-1, 1:-1] == 5.0).all()


def test_nodata_on_tile_edges_corners_and_values():
    dem = fractal((61, 47), 3)
    dem[16, :] = np.nan                  # a hole along a tile row edge
    dem[:, 31] = np.nan                  # and along a column edge
    dem[31:33, 15:17] = np.nan           # at a tile corner
    dem[40, 40] = np.inf
    for tile in (16, (16, 32), 11):
        assert same(tiled_fill(dem, tile), fill_depressions(dem))
    coded = np.where(np.isfinite(dem), dem, np.float32(-9999))
    out = tiled_fill(coded, 16, nodata=-9999)
    assert same(out, fill_depressions(coded, nodata=-9999))
    assert (out[16, :] == -9999).all()


def test_layout_takes_the_remainder():
    lay = Layout.of((61, 47), 16)
    assert [w for w in lay.windows() if w[0] == 48][-1] == (48, 61, 32, 47)
    assert len(lay.windows()) == 4 * 3
    with pytest.raises(ValueError):
        Layout.of((10, 10), 0)


@pytest.mark.parametrize("tile", TILES)
def test_tiled_connectivity_equals_connected(tile):
    rng = np.random.default_rng(11)
    for _ in range(8):
        shape = tuple(int(s) for s in rng.integers(1, 70, 2))
        wet = rng.random(shape) < rng.uniform(0.3, 0.7)
        sources = rng.random(shape) < 0.01
        assert np.array_equal(tiled_connected(wet, sources, tile), connected(wet, sources))
    diagonal = np.eye(40, dtype=bool)    # wet only along the diagonal, through corners
    src = np.zeros((40, 40), bool)
    src[39, 39] = True
    assert tiled_connected(diagonal, src, 10).sum() == 40
    assert not tiled_connected(diagonal, np.zeros_like(src), 10).any()


# -- on the cluster -----------------------------------------------------------------

@pytest.fixture(scope="module")
def client():
    with dask_client(n_workers=2, processes=True, memory_limit="1GiB") as c:
        yield c


def write_dem(path, dem: np.ndarray, nodata=None):
    with rasterio.open(path, "w", driver="GTiff", width=dem.shape[1], height=dem.shape[0],
                       count=1, dtype=dem.dtype, nodata=nodata, crs="EPSG:32648",
                       transform=from_origin(580000, 2330000, 5, 5), tiled=True,
                       blockxsize=64, blockysize=64) as dst:
        dst.write(dem, 1)


def test_cog_window_by_window_on_the_cluster(client, tmp_path):
    dem = fractal((300, 260), 5, holes=0.01)
    dem = np.where(np.isfinite(dem), dem, np.float32(-9999))
    src, dest = tmp_path / "dem.tif", tmp_path / "filled.tif"
    write_dem(src, dem, nodata=-9999)
    stages: list[tuple[str, int, int]] = []
    fill_cog(src, dest, tile=64, client=client, progress=lambda *a: stages.append(a))
    assert stages[-1] == ("fill", 25, 25) and ("graph", 25, 25) in stages
    with rasterio.open(dest) as ds:
        assert ds.tags(ns="IMAGE_STRUCTURE").get("LAYOUT") == "COG"
        assert ds.nodata == -9999 and ds.dtypes == ("float32",)
        assert ds.transform == from_origin(580000, 2330000, 5, 5)
        out = ds.read(1)
    assert same(out, fill_depressions(dem, nodata=-9999))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dem.tif", "filled.tif"]


def test_arrays_on_the_cluster(client):
    dem = four_tile_bowl()
    assert same(fill_array(dem, 30, client=client), fill_depressions(dem))
    dem = fractal((130, 170), 9, holes=0.02)
    assert same(fill_array(dem, 33, client=client), fill_depressions(dem))
    rng = np.random.default_rng(4)
    wet, src = rng.random((130, 170)) < 0.6, rng.random((130, 170)) < 0.003
    assert np.array_equal(connected_array(wet, src, 25, client=client), connected(wet, src))


def test_worker_killed_mid_job_still_exact(client, tmp_path):
    dem = fractal((256, 256), 13)
    src, dest = tmp_path / "dem.tif", tmp_path / "filled.tif"
    write_dem(src, dem)
    pids = list(client.run(os.getpid).values())
    killed = []

    def kill_one(stage, done, total):
        if stage == "fill" and not killed:
            os.kill(pids[0], signal.SIGKILL)     # mid-job: tiles still queued and running
            killed.append(done)

    fill_cog(src, dest, tile=24, client=client, progress=kill_one)
    assert killed and killed[0] < 121
    with rasterio.open(dest) as ds:
        assert same(ds.read(1), fill_depressions(dem))
    client.wait_for_workers(2, timeout=120)


def test_restart_mid_job_fails_cleanly_and_reruns(client, tmp_path):
    dem = fractal((200, 200), 17)
    src, dest = tmp_path / "dem.tif", tmp_path / "filled.tif"
    write_dem(src, dem)

    def restart(stage, done, total):
        if stage == "graph" and done == 1:
            client.restart()

    with pytest.raises(TiledFloodError, match="nothing was written"):
        fill_cog(src, dest, tile=40, client=client, progress=restart)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dem.tif"]
    fill_cog(src, dest, tile=40, client=client)
    with rasterio.open(dest) as ds:
        assert same(ds.read(1), fill_depressions(dem))


def test_missing_source_is_a_clean_error(client, tmp_path):
    with pytest.raises(rasterio.errors.RasterioIOError):
        fill_cog(tmp_path / "none.tif", tmp_path / "out.tif", tile=32, client=client)
    dem = fractal((100, 100), 2)
    src = tmp_path / "dem.tif"
    write_dem(src, dem)

    def vanish(stage, done, total):
        if stage == "graph" and done == 1:
            src.unlink()

    with pytest.raises(TiledFloodError):
        fill_cog(src, tmp_path / "out.tif", tile=20, client=client, progress=vanish)
    assert not (tmp_path / "out.tif").exists()


LEVELS = np.array([[2.0, 2.0], [5.0, 4.5], [7.0, np.nan], [np.nan, np.nan], [9.0, 8.0]])


def river_model() -> RiverModel:
    """Two gauges on one channel, and a hollow behind higher ground that stays dry."""
    yy, xx = np.mgrid[0:90, 0:120]
    dem = (4.0 + np.abs(yy - 45) * 0.15 + 0.01 * xx).astype(np.float32)
    dem[44:47, :] = 1.0                                  # the channel
    dem[20:25, 60:70] = 2.0                              # a hollow behind higher ground
    transform = from_origin(580000, 2330000, 10, 10)
    gx = 580000 + np.array([105.0, 1105.0])
    gy = 2330000 - np.array([455.0, 455.0])
    gauges = Gauges(np.array([1, 2]), ["G1", "G2"], gx, gy, np.array([2.0, 2.0]))
    return RiverModel(dem, transform, gauges)


def test_river_model_connects_on_the_named_cluster(client, monkeypatch):
    """Above TWIN_FLOOD_TILED_CELLS, with a named cluster, the gauge floods' connectivity
    runs tiled there (tiles of 32 cells: the channel and the flood cross tile edges);
    the depths are the in-memory ones bit for bit."""
    monkeypatch.delenv("TWIN_DASK_SCHEDULER", raising=False)
    expected = [river_model().depth(lv) for lv in LEVELS]
    graphs = count_graphs(client)
    monkeypatch.setenv("TWIN_DASK_SCHEDULER", client.scheduler.address)
    monkeypatch.setenv("TWIN_FLOOD_TILE", "32")
    monkeypatch.setenv("TWIN_FLOOD_TILED_CELLS", str(90 * 120))
    got = [river_model().depth(lv) for lv in LEVELS]
    assert graphs() > 0
    assert all(same(a, b) for a, b in zip(got, expected, strict=True))
    assert expected[4].max() > 0 and not expected[3].any()


def test_river_hours_as_tasks(client, monkeypatch):
    """The hourly river surfaces of a run, one task per hour, equal the in-process ones;
    only a named cluster and a large run send them there."""
    model, levels = river_model(), LEVELS
    hours = river_hours(model, levels, client=client)
    for k, lv in enumerate(levels):
        assert same(hours[k], model.depth(lv)), k
    assert hours[4].max() > 0 and not hours[3].any()
    monkeypatch.delenv("TWIN_DASK_SCHEDULER", raising=False)
    assert not hours_on_cluster(10**9, 72)
    monkeypatch.setenv("TWIN_DASK_SCHEDULER", "tcp://127.0.0.1:8786")
    monkeypatch.setenv("TWIN_FLOOD_TILED_CELLS", "1000000")
    assert hours_on_cluster(100_000, 12) and not hours_on_cluster(100_000, 6)


def test_model_fill_switches_to_the_named_cluster(client, monkeypatch):
    """The flood model's fill: in memory below TWIN_FLOOD_TILED_CELLS, on the cluster
    TWIN_DASK_SCHEDULER names above it; the same bits either way."""
    dem = fractal((120, 90), 21, holes=0.01)
    monkeypatch.setenv("TWIN_DASK_SCHEDULER", client.scheduler.address)
    monkeypatch.setenv("TWIN_FLOOD_TILE", "32")

    graphs = count_graphs(client)
    monkeypatch.setenv("TWIN_FLOOD_TILED_CELLS", str(dem.size + 1))
    assert same(fill_dem(dem), fill_depressions(dem))
    assert graphs() == 0
    monkeypatch.setenv("TWIN_FLOOD_TILED_CELLS", str(dem.size))
    assert same(fill_dem(dem), fill_depressions(dem))
    assert graphs() > 0
