"""The interpolation core: neighbour sets, IDW, LOOCV, the (time, y, x) result, dask."""

from __future__ import annotations

import dask
import numpy as np
import pydantic
import pytest
import rasterio
from pyproj import CRS
from scipy.spatial import cKDTree
from shapely.geometry import Polygon
from xarray import testing as xr_testing

from twin.analysis.interpolate import (
    IDW,
    GlobalKriging,
    Grid,
    InterpolationParams,
    LocalKriging,
    Variogram,
    cv,
    fit_surface,
    interpolate,
    project,
)
from twin.analysis.interpolate.dask import interpolate_dask, predict_dask
from twin.analysis.interpolate.neighbourhood import grid_sets

EPSG = 32648  # WGS 84 / UTM 48N, the projected CRS used for Hà Nội surfaces
VGM = Variogram("exponential", 3.0, 6000.0, 0.3)


@pytest.fixture(scope="module")
def stations() -> tuple[np.ndarray, np.ndarray]:
    lon = np.random.default_rng(7).uniform(105.75, 105.92, 40)
    lat = np.random.default_rng(8).uniform(20.95, 21.09, 40)
    xy = project(lon, lat, EPSG)
    z = 35 + 0.002 * (xy[:, 0] - xy[:, 0].mean()) + np.random.default_rng(9).normal(0, 3, 40)
    return xy, z


@pytest.fixture(scope="module")
def grid(stations) -> Grid:
    xy = stations[0]
    lo, hi = xy.min(axis=0) - 500, xy.max(axis=0) + 500
    return Grid.from_bounds((lo[0], lo[1], hi[0], hi[1]), 250.0, EPSG)


@pytest.mark.parametrize("k", [1, 5, 12])
def test_grid_sets_equal_per_cell_queries(stations, k):
    xy = stations[0]
    x, y = (
        np.linspace(0, 1, 157) * 19_000 + xy[:, 0].min(),
        np.linspace(1, 0, 131) * 16_000 + xy[:, 1].min(),
    )
    tree = cKDTree(xy)
    labels, sets = grid_sets(tree, x, y, k)
    xx, yy = np.meshgrid(x, y)
    _, idx = tree.query(np.column_stack([xx.ravel(), yy.ravel()]), k=k)
    np.testing.assert_array_equal(sets[labels.ravel()], np.sort(np.reshape(idx, (-1, k)), axis=1))
    assert len(sets) == len(np.unique(sets, axis=0))


def test_grid_sets_with_dense_stations():
    """Hundreds of stations on a small grid: many candidates per block (the partition path)."""
    rng = np.random.default_rng(3)
    xy = rng.uniform(0, 3000, (400, 2))
    x, y = np.arange(120) * 25.0 + 12.5, (np.arange(100) * 25.0 + 12.5)[::-1]
    tree = cKDTree(xy)
    for k in (3, 16):
        labels, sets = grid_sets(tree, x, y, k)
        xx, yy = np.meshgrid(x, y)
        _, idx = tree.query(np.column_stack([xx.ravel(), yy.ravel()]), k=k)
        np.testing.assert_array_equal(sets[labels.ravel()], np.sort(idx, axis=1))


def _idw_reference(xy, z, pts, power, k, radius=None):
    d, idx = cKDTree(xy).query(pts, k=k)
    with np.errstate(divide="ignore", invalid="ignore"):
        w = d**-power
        if radius is not None:
            w[d > radius] = 0
        out = (w * z[idx]).sum(axis=1) / w.sum(axis=1)
    hit = d[:, 0] == 0
    out[hit] = z[idx[hit, 0]]
    return out


@pytest.mark.parametrize(("power", "radius"), [(2.0, None), (1.5, None), (3.0, 1650.0)])
def test_idw_grid_matches_float64_reference_and_is_exact(stations, grid, power, radius):
    xy, z = stations[0].copy(), stations[1]
    xy[3] = (grid.x[11], grid.y[17])
    pred, var = IDW.fit(xy, z, power, 8, radius).predict_grid(grid.x, grid.y)
    xx, yy = np.meshgrid(grid.x, grid.y)
    ref = _idw_reference(
        xy, z, np.column_stack([xx.ravel(), yy.ravel()]), power, 8, radius
    ).reshape(pred.shape)
    assert var is None
    np.testing.assert_array_equal(np.isnan(pred), np.isnan(ref))
    np.testing.assert_allclose(pred, ref, rtol=1e-5, equal_nan=True)
    assert pred[17, 11] == z[3]
    if radius is not None:
        assert np.isnan(pred).any() and not np.isnan(pred).all()


def _brute_loocv(fit, xy, z):
    resid, var = np.empty(len(z)), np.empty(len(z))
    for i in range(len(z)):
        keep = np.arange(len(z)) != i
        p, v = fit(xy[keep], z[keep]).predict_points(xy[i : i + 1])
        resid[i], var[i] = z[i] - p[0], np.nan if v is None else v[0]
    return resid, var


def test_dubrule_closed_form_equals_brute_force(stations):
    xy, z = stations
    resid, var = cv.loocv_global(VGM, xy, z)
    b_resid, b_var = _brute_loocv(lambda a, b: GlobalKriging.fit(VGM, a, b), xy, z)
    np.testing.assert_allclose(resid, b_resid, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(var, b_var, rtol=1e-8)


def test_local_and_idw_loocv_equal_brute_force(stations):
    xy, z = stations
    resid, var = cv.loocv_local(VGM, xy, z, 10)
    b_resid, b_var = _brute_loocv(lambda a, b: LocalKriging.fit(VGM, a, b, 10), xy, z)
    np.testing.assert_allclose(resid, b_resid, rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(var, b_var, rtol=1e-9)
    i_resid = cv.loocv_idw(xy, z, 2.0, 6, None)
    np.testing.assert_allclose(
        i_resid, _brute_loocv(lambda a, b: IDW.fit(a, b, 2.0, 6), xy, z)[0], rtol=1e-12
    )


def test_auto_picks_lowest_loocv_rmse(stations):
    xy, z = stations
    chosen = fit_surface(xy, z, InterpolationParams(method="auto"))
    rmses = [fit_surface(xy, z, InterpolationParams(method="idw")).cv.rmse]
    for model in ("spherical", "exponential", "gaussian"):
        params = InterpolationParams(method="kriging", kriging={"variogram": {"model": model}})
        rmses.append(fit_surface(xy, z, params).cv.rmse)
    assert chosen.cv.rmse == min(rmses)
    assert chosen.cv.n == len(z)


def test_interpolate_dataset_crs_clip_and_cv(stations, grid, tmp_path):
    xy, z = stations
    values = np.stack([z, z + 5, z])
    values[1, :3] = np.nan
    values[2, 5:] = np.nan  # five stations left: below min_stations=6, the step stays empty
    x0, y0, x1, y1 = grid.bounds
    cx, cy, r = (x0 + x1) / 2, (y0 + y1) / 2, (x1 - x0) / 3
    ring = [(cx - r, cy - r), (cx + r, cy - r), (cx + r, cy + r), (cx - r, cy + r)]
    hole = [
        (cx - 1000, cy - 1000),
        (cx + 1000, cy - 1000),
        (cx + 1000, cy + 1000),
        (cx - 1000, cy + 1000),
    ]
    boundary = Polygon(ring, [hole])
    times = np.array(["2026-03-01T00", "2026-03-01T01", "2026-03-01T02"], dtype="datetime64[h]")
    params = InterpolationParams(method="kriging", min_stations=6)
    ds = interpolate(xy, values, grid, params, times, boundary)
    value = ds["value"]
    assert value.dims == ("time", "y", "x") and value.shape == (3, grid.ny, grid.nx)
    assert CRS.from_wkt(ds["spatial_ref"].attrs["crs_wkt"]).to_epsg() == EPSG
    assert value.attrs["crs"] == f"EPSG:{EPSG}" and value.attrs["grid_mapping"] == "spatial_ref"
    assert tuple(value.attrs["transform"]) == tuple(grid.transform)[:6]
    inside = grid.inside(boundary)
    assert not inside[grid.ny // 2, grid.nx // 2] and inside.sum() > 0
    assert np.isnan(value[0].values[~inside]).all() and np.isfinite(value[0].values[inside]).all()
    assert np.isnan(value[2]).all() and np.isnan(value.attrs["cv_rmse"][2])
    assert (ds["variance"][0].values[inside] >= 0).all()
    assert value.attrs["cv_rmse"][0] > 0 and value.attrs["cv_msse"][1] > 0
    path = tmp_path / "surface.tif"
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=grid.nx,
        height=grid.ny,
        count=1,
        dtype="float64",
        crs=value.attrs["crs"],
        transform=grid.transform,
        nodata=np.nan,
    ) as dst:
        dst.write(value[0].values, 1)
    with rasterio.open(path) as src:
        np.testing.assert_array_equal(src.read(1), value[0].values)
        assert src.crs.to_epsg() == EPSG
        assert src.xy(0, 0) == pytest.approx((grid.x[0], grid.y[0]))


@pytest.mark.parametrize(
    ("scheduler", "chunks"),
    [("synchronous", (23, 31)), ("threads", (64, 17)), ("threads", (7, 200))],
)
@pytest.mark.parametrize("kind", ["global", "local", "gaussian", "idw"])
def test_dask_path_equals_in_memory(stations, grid, kind, scheduler, chunks):
    xy, z = stations
    predictor = {
        "global": GlobalKriging.fit(VGM, xy, z),
        "local": LocalKriging.fit(VGM, xy, z, 12),
        "gaussian": GlobalKriging.fit(Variogram("gaussian", 2.0, 5000.0, 0.1), xy, z),
        "idw": IDW.fit(xy, z, 2.0, 10),
    }[kind]
    variance = kind != "gaussian"
    pred, var = predictor.predict_grid(grid.x, grid.y, variance=variance)
    lazy = predict_dask(predictor, grid, chunks=chunks, variance=variance)
    assert lazy["value"].chunks is not None
    with dask.config.set(scheduler=scheduler):
        done = lazy.compute()
    np.testing.assert_array_equal(done["value"].values, pred)
    if var is not None:
        np.testing.assert_array_equal(done["variance"].values, var)


def test_interpolate_dask_equals_in_memory(stations, grid):
    xy, z = stations
    values = np.stack([z, z * 1.1, np.full_like(z, np.nan)])
    values[1, ::4] = np.nan
    x0, y0, x1, y1 = grid.bounds
    boundary = Polygon([(x0, y0), (x1, y0), (x0 + 3000, y1)])
    times = np.array(["2026-03-01T00", "2026-03-01T01", "2026-03-01T02"], dtype="datetime64[h]")
    params = InterpolationParams(method="auto", kriging={"neighbours": 12})
    eager = interpolate(xy, values, grid, params, times, boundary)
    lazy = interpolate_dask(xy, values, grid, params, times, boundary, chunks=(20, 40))
    assert lazy["value"].chunks is not None
    with dask.config.set(scheduler="threads"):
        done = lazy.compute()
    xr_testing.assert_identical(done, eager)


@pytest.mark.parametrize(
    "bad",
    [
        {"idw": {"power": 0}},
        {"idw": {"k": 0}},
        {"idw": {"radius": -1}},
        {"resolution": 0.5},
        {"kriging": {"neighbours": 2}},
        {"kriging": {"variogram": {"model": "cubic"}}},
        {"method": "spline"},
        {"kriging": {"variogram": {"nugget": -1}}},
        {"extra": 1},
    ],
)
def test_parameters_are_bounded(bad):
    with pytest.raises(pydantic.ValidationError):
        InterpolationParams(**bad)


def test_bad_inputs_say_what_is_wrong(stations):
    xy, z = stations
    with pytest.raises(ValueError, match="psill"):
        Variogram("spherical", -1.0, 100.0, 0.0)
    with pytest.raises(ValueError, match="same place"):
        GlobalKriging.fit(VGM, np.vstack([xy, xy[:1]]), np.append(z, z[0]))
    with pytest.raises(ValueError, match="at least 5"):
        fit_surface(xy[:4], z[:4], InterpolationParams())
    with pytest.raises(ValueError, match="exceeds"):
        Grid(EPSG, 0.0, 0.0, 1.0, 20_000, 20_000)
