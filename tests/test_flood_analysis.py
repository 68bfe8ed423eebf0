"""Analytic and reference checks of twin.analysis.flood: filling, connectivity,
ponding with volume accounting, vectorisation, exposure, DEM reading and cubes."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
import rasterio
import shapely
from pydantic import ValidationError
from rasterio.transform import from_origin
from scipy import ndimage

from twin.analysis.flood import (
    CLASSES,
    FloodScenario,
    PondingModel,
    Rainfall,
    classify,
    depth_cube,
    exposure,
    fill_depressions,
    flood_depth,
    flood_from_levels,
    read_dem,
    vectorise,
)
from twin.analysis.flood.cube import classify_cube, vectorise_chunked
from twin.analysis.flood.vectorise import area_by_class

CELL = 10.0
T = from_origin(500_000.0, 2_330_000.0, CELL, CELL)


def reference_fill(dem: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Brute-force fill: morphological reconstruction by erosion from the outlets,
    iterated to a fixed point (Soille's definition of a depressionless DEM)."""
    z = np.where(valid, dem, -np.inf)
    outlet = valid & ~ndimage.binary_erosion(np.pad(valid, 1), np.ones((3, 3)))[1:-1, 1:-1]
    marker = np.where(outlet | ~valid, z, np.inf)
    while True:
        er = ndimage.grey_erosion(np.pad(marker, 1, constant_values=-np.inf),
                                  footprint=np.ones((3, 3)))[1:-1, 1:-1]
        new = np.minimum(marker, np.maximum(z, er))
        if np.array_equal(new, marker):
            return np.where(valid, marker, dem)
        marker = new


def idw(gx, gy, levels, xs, ys, power=2.0):
    """A plain IDW over all gauges, for the tests only."""
    X, Y = np.meshgrid(xs, ys)
    d2 = (X[..., None] - gx) ** 2 + (Y[..., None] - gy) ** 2
    w = 1.0 / np.maximum(d2, 1e-12) ** (power / 2)
    return (w * levels).sum(-1) / w.sum(-1)


# --- filling ---------------------------------------------------------------------------

@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fill_equals_brute_force(seed, dtype):
    rng = np.random.default_rng(seed)
    dem = ndimage.uniform_filter(rng.random((40, 57)), 3).astype(dtype) * 10
    valid = np.ones(dem.shape, bool)
    if seed % 2:
        valid[10:14, 20:30] = False           # a nodata hole acts as an outlet
        dem[~valid] = -9999
    filled = fill_depressions(dem, nodata=-9999)
    assert filled.dtype == dtype
    np.testing.assert_array_equal(filled, reference_fill(dem, valid))


def test_fill_equals_skimage_reconstruction():
    morphology = pytest.importorskip("skimage.morphology")
    dem = np.random.default_rng(7).random((60, 60))
    seed = dem.copy()
    seed[1:-1, 1:-1] = dem.max()
    expected = morphology.reconstruction(seed, dem, method="erosion", footprint=np.ones((3, 3)))
    np.testing.assert_array_equal(fill_depressions(dem), expected)


def test_fill_epsilon_leaves_a_downhill_path_everywhere():
    dem = ndimage.uniform_filter(np.random.default_rng(3).random((50, 50)), 5).astype(np.float64)
    flat, eps = fill_depressions(dem), fill_depressions(dem, epsilon=True)
    assert (eps >= flat).all() and (eps - flat).max() < 1e-9
    inner = eps[1:-1, 1:-1]
    lowest = ndimage.grey_erosion(eps, footprint=np.array([[1, 1, 1], [1, 0, 1], [1, 1, 1]]))
    assert (lowest[1:-1, 1:-1] < inner).all()


def test_fill_bowl_is_filled_to_its_rim():
    y, x = np.mgrid[-10:11, -10:11]
    dem = (x**2 + y**2).astype(float)
    dem[:6, 10] = 30.0                         # a channel through the rim, sill at 30 m
    filled = fill_depressions(dem)
    np.testing.assert_array_equal(filled, np.where(dem < 30.0, 30.0, dem))


# --- fluvial: level + connectivity -----------------------------------------------------

def test_bowl_floods_exactly_below_level_with_its_volume():
    a, level = 1e-4, 4.0                       # z = a r², r in metres: a 200 m radius lake
    n = 101
    xs = (np.arange(n) - n // 2) * CELL
    X, Y = np.meshgrid(xs, xs)
    dem = a * (X**2 + Y**2)
    river = np.zeros_like(dem, bool)
    river[n // 2, n // 2] = True
    depth = flood_depth(dem, level, river)
    np.testing.assert_array_equal(depth > 0, dem < level)
    volume = depth.astype(float).sum() * CELL * CELL
    assert volume == pytest.approx(((level - dem) * (dem < level)).sum() * CELL * CELL, rel=1e-6)
    assert volume == pytest.approx(np.pi * level**2 / (2 * a), rel=0.01)   # the paraboloid


def test_hollow_behind_levee_stays_dry_connected_basin_floods():
    dem = np.full((20, 30), 8.0)
    dem[:, :5] = 1.0                           # river channel
    dem[:, 5] = 12.0                           # levee crest above the river level
    dem[2:8, 8:14] = 2.0                       # closed hollow behind the levee
    dem[12:18, 8:14] = 2.0                     # basin reached through a gap in the levee
    dem[14, 5:8] = 3.0
    river = np.zeros(dem.shape, bool)
    river[:, 0] = True
    depth = flood_depth(dem, 6.0, river)
    assert (depth[:, :5] == 5.0).all()
    assert (depth[2:8, 8:14] == 0).all()
    assert (depth[12:18, 8:14] == 4.0).all() and (depth[14, 5:8] == 3.0).all()


def test_tilted_plane_floods_up_to_the_contour():
    slope, level = 0.05, 3.0
    xs = (np.arange(200) + 0.5) * CELL
    dem = np.tile(slope * xs, (30, 1))
    river = np.zeros(dem.shape, bool)
    river[:, 0] = True
    depth = flood_depth(dem, level, river)
    np.testing.assert_array_equal((depth > 0)[0], xs < level / slope)
    np.testing.assert_allclose(depth[0][xs < level / slope], (level - dem[0])[xs < level / slope],
                               rtol=1e-6)


def test_flood_from_levels_uses_the_surface_function_and_sources():
    dem = np.full((30, 40), 10.0)
    dem[:, :4] = 2.0
    dem[10:20, 20:30] = 3.0                   # closed hollow: dry whatever the level
    river = np.zeros(dem.shape, bool)
    river[:, :4] = True
    x0, y0 = T.c, T.f
    gauges = [(x0 + 15, y0 - 15, 5.0), (x0 + 15, y0 - 285, 5.0)]
    depth = flood_from_levels(dem, T, gauges, river, idw)
    np.testing.assert_allclose(depth[:, :4], 3.0, rtol=1e-6)
    assert (depth[:, 4:] == 0).all()
    with pytest.raises(ValueError):
        flood_from_levels(dem, T, [], river, idw)


def test_coarse_surface_is_bilinear_between_exact_samples():
    from twin.analysis.flood.connect import surface
    xs, ys = np.arange(53) * 10.0, np.arange(41) * -10.0

    def plane(gx, gy, lv, x, y):
        return 2.0 + 0.01 * x[None, :] - 0.02 * y[:, None]

    g = np.zeros((1, 3))
    exact = surface(plane, g, xs, ys, 1)
    np.testing.assert_allclose(surface(plane, g, xs, ys, 7), exact, atol=1e-5)
    coarse = surface(idw, np.array([[100.0, -100.0, 5.0], [400.0, -300.0, 7.0]]), xs, ys, 6)
    assert coarse.shape == exact.shape and coarse.min() >= 5.0 and coarse.max() <= 7.0


# --- pluvial: fill, spill, merge -------------------------------------------------------

def two_depressions() -> np.ndarray:
    """Depression A (3x3 at 1 m, spill 4 m into B), depression B (3x3 at 2 m, its rim
    at 6 m, outlet notch at 6 m to the edge); plateau at 8 m elsewhere."""
    dem = np.full((7, 11), 8.0)
    dem[2:5, 1:4] = 1.0        # A
    dem[3, 4] = 4.0            # saddle A -> B
    dem[2:5, 5:8] = 2.0        # B
    dem[1:6, 4] = np.where(np.arange(1, 6) == 3, 4.0, 8.0)
    dem[3, 8:11] = 6.0         # B's outlet channel to the east edge
    return dem


def test_full_depression_spills_into_its_neighbour():
    dem = two_depressions()
    model = PondingModel(dem, CELL * CELL)
    runoff = np.zeros(dem.shape)
    cap_a = 9 * 3.0 * 100                       # 3x3 cells x 3 m to the saddle at 4 m
    runoff[3, 2] = (cap_a + 900.0) / 100        # A gets its capacity + 900 m³
    depth, ponded, outflow = model.pond(runoff)
    assert depth[2:5, 1:4] == pytest.approx(np.full((3, 3), 3.0))        # A at its spill
    assert depth[2:5, 5:8] == pytest.approx(np.full((3, 3), 1.0))        # 900 m³ over 9 cells
    assert ponded == pytest.approx(cap_a + 900.0) and outflow == pytest.approx(0.0)


def test_full_neighbours_merge_into_one_lake_and_overflow_leaves():
    dem = two_depressions()
    model = PondingModel(dem, CELL * CELL)
    runoff = np.zeros(dem.shape)
    runoff[3, 2] = 100.0                        # 10,000 m³ into A
    depth, ponded, outflow = model.pond(runoff)
    # both fill to B's outlet at 6 m: A 9 cells x 5 m, saddle 2 m, B 9 x 4 m
    lake = (9 * 5 + 2 + 9 * 4) * 100.0
    assert ponded == pytest.approx(lake)
    assert outflow == pytest.approx(10_000.0 - lake)
    assert depth[3, 2] == pytest.approx(5.0) and depth[3, 6] == pytest.approx(4.0)
    assert depth[3, 4] == pytest.approx(2.0)


def test_huge_rain_fills_every_depression_like_priority_flood():
    dem = ndimage.uniform_filter(np.random.default_rng(11).random((60, 70)), 4) * 20
    depth, _, _ = PondingModel(dem, 1.0).pond(1000.0)
    np.testing.assert_allclose(depth, fill_depressions(dem) - dem, atol=1e-5)


@pytest.mark.parametrize("seed", range(4))
def test_rainfall_model_conserves_water(seed):
    rng = np.random.default_rng(seed)
    dem = ndimage.uniform_filter(rng.random((80, 90)), 5) * 30
    dem[rng.random(dem.shape) < 0.01] = np.nan              # nodata cells drain too
    model = PondingModel(dem, CELL * CELL)
    steps = model.run(rng.uniform(0, 60, 24).tolist(), drainage_mm_h=20.0)
    for s in steps:
        assert s.rain_m3 == pytest.approx(s.drained_m3 + s.ponded_m3 + s.outflow_m3, rel=1e-12)
        assert s.depth.astype(float).sum() * CELL * CELL == pytest.approx(s.ponded_m3, rel=1e-5)
    assert all(b.ponded_m3 >= a.ponded_m3 - 1e-6 for a, b in itertools.pairwise(steps))


# --- vectorise -------------------------------------------------------------------------

def test_polygon_area_per_class_equals_cells_times_cell_area():
    rng = np.random.default_rng(5)
    depth = ndimage.uniform_filter(rng.random((80, 100)), 7) * 4 - 1.2
    depth = np.clip(depth, 0, None).astype(np.float32)
    cls = classify(depth)
    exact = vectorise(depth, T, tolerance_cells=0)
    by_class = area_by_class(exact)
    for k, (name, _, _) in enumerate(CLASSES, start=1):
        assert by_class[name] == (cls == k).sum() * CELL * CELL
        geom_area = sum(e.geometry.area for e in exact if e.depth_class == name)
        assert geom_area == pytest.approx((cls == k).sum() * CELL * CELL)
    simplified = vectorise(depth, T)
    assert all(e.geometry.is_valid for e in simplified)
    assert area_by_class(simplified) == by_class
    total = sum(by_class.values())
    assert sum(e.geometry.area for e in simplified) == pytest.approx(total, rel=0.05)
    assert max(e.depth_max_m for e in exact) == pytest.approx(float(depth.max()))


def test_shallow_cells_are_dry_and_class_edges():
    depth = np.array([[0.0, 0.04, 0.05, 0.2, 0.21, 0.5, 0.9, 1.0, 1.5, np.nan]], np.float32)
    assert classify(depth).tolist() == [[0, 0, 1, 1, 2, 2, 3, 3, 4, 0]]


# --- exposure --------------------------------------------------------------------------

def test_exposure_counts_and_kilometres_by_hand():
    depth = np.zeros((20, 20), np.float32)
    depth[5:10, :] = 0.5                       # a 50 m band of water, rows 5-9
    x0, y0 = T.c, T.f
    band_top, band_bottom = y0 - 50, y0 - 100
    roads = pd.DataFrame({
        "id": ["r1", "r2", "r3"], "road_class": ["primary", "primary", "residential"],
        "geometry": [
            shapely.LineString([(x0 + 15, y0), (x0 + 15, y0 - 200)]),              # crosses: 50 m
            shapely.LineString([(x0, band_top - 20), (x0 + 200, band_top - 20)]),  # in: 200 m
            shapely.LineString([(x0, y0 - 150), (x0 + 100, y0 - 150)])],           # dry
    })

    def pt(dx, dy):
        return shapely.Point(x0 + dx, y0 - dy)

    stops = pd.DataFrame({"id": ["s1", "s2"], "geometry": [pt(5, 75), pt(5, 5)]})
    signs = pd.DataFrame({"id": ["g1"], "geometry": [pt(105, 95)]})
    stations = pd.DataFrame({"id": ["w1"], "geometry": [pt(105, 120)]})
    parcels = pd.DataFrame({
        "id": ["p1", "p2", "p3"], "land_use": ["ODT", "ODT", "TMD"],
        "geometry": [
            shapely.box(x0, band_bottom - 20, x0 + 40, band_top),             # 40x70, 40x50 wet
            shapely.box(x0 + 60, y0 - 40, x0 + 100, y0),                      # dry
            shapely.box(x0 + 150, band_bottom, x0 + 153, band_bottom + 3)],   # < 1 cell, wet
    })
    route_stops = pd.DataFrame({"route_id": ["A", "A", "B"], "stop_id": ["s1", "s2", "s2"]})
    ex = exposure(depth, T, roads, stops, signs, parcels, stations, route_stops)
    assert ex.km_by_class.to_dict() == pytest.approx({"primary": 0.25})
    assert set(ex.roads["id"]) == {"r1", "r2"}
    flooded = ex.roads.set_index("id")["flooded_m"].to_dict()
    assert flooded == pytest.approx({"r1": 50.0, "r2": 200.0})
    assert ex.stops["id"].tolist() == ["s1"] and ex.routes.to_dict("records") == [
        {"route_id": "A", "stops_lost": 1}]
    assert ex.signs["id"].tolist() == ["g1"] and ex.stations.empty
    parcel_m2 = ex.parcels.set_index("id")["flooded_m2"].to_dict()
    assert parcel_m2 == pytest.approx({"p1": 2000.0, "p3": 9.0})
    assert ex.parcels_by_land_use.loc["ODT", "parcels"] == 1
    assert ex.parcels_by_land_use.loc["ODT", "area_m2"] == pytest.approx(2800.0)
    assert ex.summary()["road_km_flooded"] == pytest.approx(0.25)


# --- DEM reading, cubes, parameters --------------------------------------------------

def test_read_dem_warps_geographic_dem_to_utm_with_nodata(tmp_path):
    z = np.linspace(5, 20, 120 * 100, dtype=np.float32).reshape(120, 100)
    z[:10, :10] = -9999
    path = tmp_path / "dem4326.tif"
    profile = {"driver": "GTiff", "width": 100, "height": 120, "count": 1, "dtype": "float32",
               "crs": "EPSG:4326", "transform": from_origin(105.80, 21.05, 0.0001, 0.0001),
               "nodata": -9999}
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(z, 1)
    grid = read_dem(path)
    assert grid.crs.to_epsg() == 32648
    assert 9.0 < grid.resolution < 12.0
    assert np.isnan(grid.z).any() and np.nanmin(grid.z) >= 5.0 and np.nanmax(grid.z) <= 20.0
    same = read_dem(path, dst_crs="EPSG:3405", resolution=20.0)
    assert same.resolution == 20.0 and same.crs.to_epsg() == 3405
    assert grid.to_dataarray().dims == ("y", "x")


def test_cube_and_chunked_steps_match_in_memory():
    pytest.importorskip("dask")
    rng = np.random.default_rng(2)
    depths = np.clip(ndimage.uniform_filter(rng.random((3, 64, 64)), (1, 5, 5)) * 3 - 1, 0, None)
    times = np.array(["2026-10-10T00", "2026-10-10T01", "2026-10-10T02"], dtype="datetime64[h]")
    cube = depth_cube(depths, times, T, "EPSG:32648")
    assert cube.dims == ("time", "y", "x") and cube.attrs["crs"] == "EPSG:32648"
    assert cube.x[0] == T.c + CELL / 2 and cube.y[0] == T.f - CELL / 2
    lazy = cube.chunk({"time": 1, "y": 32, "x": 32})
    np.testing.assert_array_equal(classify_cube(lazy).compute().values, classify(cube.values))
    parts = vectorise_chunked(lazy.isel(time=1), T, scheduler="synchronous")
    assert area_by_class(parts) == area_by_class(vectorise(cube.values[1], T))


def test_scenario_parameters_are_bounded():
    r = Rainfall(total_mm=350, duration_h=48)
    assert len(r.per_step()) == 48 and sum(r.per_step()) == pytest.approx(350)
    assert Rainfall(hyetograph_mm=[10, 20]).per_step() == [10, 20]
    with pytest.raises(ValidationError):
        Rainfall(total_mm=-1)
    with pytest.raises(ValidationError):
        Rainfall(hyetograph_mm=[10, 600])
    with pytest.raises(ValidationError):
        FloodScenario(name="nothing")
    assert FloodScenario(name="2008 event", river={"stage_m": 11.5}).river.stage_m == 11.5
