"""The same interpolators, run tile by tile over a dask-backed grid.

A fitted predictor is a small picklable object (stations, factorised
kriging system), so each (y, x) chunk of the target grid is just
``predictor.predict_grid(x_chunk, y_chunk)``: ``xarray.map_blocks`` ships the
predictor to the workers of whatever scheduler is active (threads, processes
or a distributed cluster) and no chunk needs another's data. A chunk computes
each cell with the same arithmetic as the in-memory path, so results are equal
bit for bit.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import xarray as xr
from shapely.geometry.base import BaseGeometry

from .grid import Grid, to_dataset
from .params import InterpolationParams
from .surface import Predictor, cv_attrs, fit_steps


def _template(grid: Grid, chunks: tuple[int, int], variance: bool) -> xr.Dataset:
    import dask.array as da

    shape = (1, grid.ny, grid.nx)
    lazy = da.zeros(shape, chunks=(1, *chunks), dtype=float)
    ds = to_dataset(grid, [np.datetime64("1970-01-01")], lazy, lazy if variance else None)
    return ds.isel(time=0, drop=True)


def _predict_chunk(chunk: xr.Dataset, predictor: Predictor, variance: bool) -> xr.Dataset:
    pred, s2 = predictor.predict_grid(chunk["x"].values, chunk["y"].values, variance=variance)
    out = chunk.copy()
    out["value"] = (("y", "x"), pred, chunk["value"].attrs)
    if variance:
        out["variance"] = (
            ("y", "x"),
            s2 if s2 is not None else np.full_like(pred, np.nan),
            chunk["variance"].attrs,
        )
    return out


def predict_dask(
    predictor: Predictor, grid: Grid, chunks: tuple[int, int] = (512, 512), variance: bool = True
) -> xr.Dataset:
    """A lazy (y, x) Dataset of ``value`` (and ``variance``), computed chunk by chunk."""
    template = _template(grid, chunks, variance)
    return xr.map_blocks(_predict_chunk, template, args=(predictor, variance), template=template)


def interpolate_dask(
    xy: np.ndarray,
    values: np.ndarray,
    grid: Grid,
    params: InterpolationParams,
    times: Sequence[np.datetime64] | np.ndarray,
    boundary: BaseGeometry | None = None,
    chunks: tuple[int, int] = (512, 512),
) -> xr.Dataset:
    """``surface.interpolate`` with the gridding left lazy: same Dataset, computed per chunk.

    Fitting (variogram, cross-validation) needs only the stations and runs
    now; each time step's grid is a ``predict_dask`` graph.
    """
    import dask.array as da

    surfaces = fit_steps(xy, values, params)
    empty = da.full((grid.ny, grid.nx), np.nan, chunks=chunks)
    value, var = [], []
    for surface in surfaces:
        if surface is None:
            value.append(empty)
            var.append(empty)
            continue
        step = predict_dask(surface.predictor, grid, chunks, params.variance)
        value.append(step["value"].data)
        var.append(step["variance"].data if params.variance else empty)
    ds = to_dataset(
        grid,
        times,
        da.stack(value),
        da.stack(var) if params.variance else None,
        cv_attrs(surfaces),
    )
    if boundary is not None:
        inside = xr.DataArray(grid.inside(boundary), dims=("y", "x"))
        for name in ds.data_vars:
            ds[name] = ds[name].where(inside)
    return ds
