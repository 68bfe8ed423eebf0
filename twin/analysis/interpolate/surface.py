"""From station values to surfaces: choose and fit the interpolator, cross-validate, grid, clip.

``fit_surface`` is the decision for one time step (which method, which
variogram, how good by LOOCV); ``interpolate`` runs it for every time step
and returns the (time, y, x) Dataset. Both are pure: stations come in as
projected coordinates and values, the boundary as a shapely geometry in the
grid's CRS.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import xarray as xr
from shapely.geometry.base import BaseGeometry

from . import cv, variogram
from .grid import Grid, to_dataset
from .idw import IDW
from .kriging import GlobalKriging, LocalKriging
from .params import InterpolationParams

Predictor = GlobalKriging | LocalKriging | IDW


@dataclass(frozen=True)
class Surface:
    """A fitted interpolator for one time step and its cross-validation."""

    predictor: Predictor
    method: str  # "idw" or "kriging"
    variogram: variogram.Variogram | None
    cv: cv.CVResult

    def describe(self) -> dict:
        return {
            "method": self.method,
            "variogram": self.variogram.as_dict() if self.variogram else None,
            "cv": self.cv.as_dict(),
        }


def _idw_surface(xy: np.ndarray, z: np.ndarray, params: InterpolationParams) -> Surface:
    p = params.idw
    resid = cv.loocv_idw(xy, z, p.power, p.k, p.radius)
    return Surface(
        IDW.fit(xy, z, p.power, p.k, p.radius), "idw", None, cv.metrics(resid[np.isfinite(resid)])
    )


def _kriging_loocv(vgm: variogram.Variogram, xy: np.ndarray, z: np.ndarray, k: int | None):
    if k is None or k >= len(z):
        return cv.loocv_global(vgm, xy, z)
    return cv.loocv_local(vgm, xy, z, k)


def _kriging_surface(
    xy: np.ndarray, z: np.ndarray, params: InterpolationParams, model: str
) -> Surface:
    """Kriging with a fitted ``model`` variogram.

    With ``weighting="auto"`` the variogram is fitted by each least-squares
    scheme and the one whose kriging cross-validates best is kept: on six
    noisy lag bins no single weighting wins every time (Cressie's is best
    about half the time on Gaussian random fields), and the variogram only
    matters through the predictions it gives.
    """
    vp, k = params.kriging.variogram, params.kriging.neighbours
    exp = variogram.experimental(xy, z, vp.nlags, vp.max_lag)
    schemes = variogram.WEIGHTINGS if vp.weighting == "auto" else (vp.weighting,)
    best = None
    for scheme in schemes:
        vgm = variogram.fit(exp, model, scheme, vp.nugget)
        result = cv.metrics(*_kriging_loocv(vgm, xy, z, k))
        if best is None or result.rmse < best[1].rmse:
            best = (vgm, result)
    vgm, result = best
    if k is None or k >= len(z):
        return Surface(GlobalKriging.fit(vgm, xy, z), "kriging", vgm, result)
    return Surface(LocalKriging.fit(vgm, xy, z, k), "kriging", vgm, result)


def fit_surface(xy: np.ndarray, z: np.ndarray, params: InterpolationParams) -> Surface:
    """Fit the method the parameters ask for; with ``auto`` the lowest LOOCV RMSE among
    IDW and kriging with each variogram model wins (IDW on ties: the simpler surface)."""
    xy, z = np.asarray(xy, dtype=float), np.asarray(z, dtype=float)
    if len(z) < params.min_stations:
        raise ValueError(
            f"{len(z)} stations with values; at least {params.min_stations} are needed"
        )
    if params.method == "idw":
        return _idw_surface(xy, z, params)
    if params.method == "kriging":
        return _kriging_surface(xy, z, params, params.kriging.variogram.model)
    candidates = [_idw_surface(xy, z, params)]
    candidates += [_kriging_surface(xy, z, params, m) for m in variogram.MODELS]
    return min(candidates, key=lambda s: s.cv.rmse)


def fit_steps(
    xy: np.ndarray, values: np.ndarray, params: InterpolationParams
) -> list[Surface | None]:
    """One fitted surface per row of ``values`` (time, station); None where too few stations."""
    out: list[Surface | None] = []
    for row in np.atleast_2d(np.asarray(values, dtype=float)):
        ok = np.isfinite(row)
        out.append(
            fit_surface(xy[ok], row[ok], params) if ok.sum() >= params.min_stations else None
        )
    return out


def interpolate(
    xy: np.ndarray,
    values: np.ndarray,
    grid: Grid,
    params: InterpolationParams,
    times: Sequence[np.datetime64] | np.ndarray,
    boundary: BaseGeometry | None = None,
) -> xr.Dataset:
    """Surfaces for ``values`` (time, station) at stations ``xy`` (station, 2) in the grid's CRS.

    Stations with NaN at a time step are left out of that step; a step with
    too few stations is all NaN. Cells outside ``boundary`` are NaN. The
    ``value`` attributes hold per-step ``cv_rmse``, ``cv_mae``, ``cv_bias``,
    ``cv_msse`` and a JSON ``interpolation`` description (method, variogram).
    """
    surfaces = fit_steps(xy, values, params)
    out = np.full((len(surfaces), grid.ny, grid.nx), np.nan)
    var = np.full_like(out, np.nan) if params.variance else None
    for t, surface in enumerate(surfaces):
        if surface is None:
            continue
        out[t], s2 = surface.predictor.predict_grid(grid.x, grid.y, variance=params.variance)
        if var is not None and s2 is not None:
            var[t] = s2
    if boundary is not None:
        outside = ~grid.inside(boundary)
        out[:, outside] = np.nan
        if var is not None:
            var[:, outside] = np.nan
    return to_dataset(grid, times, out, var, cv_attrs(surfaces))


def cv_attrs(surfaces: list[Surface | None]) -> dict:
    """Per-step cross-validation metrics and a JSON description, for the ``value`` attributes."""
    described = [s.describe() if s is not None else None for s in surfaces]

    def metric(name: str) -> list[float]:
        return [
            float("nan") if d is None or d["cv"][name] is None else d["cv"][name] for d in described
        ]

    return {
        "cv_rmse": metric("rmse"),
        "cv_mae": metric("mae"),
        "cv_bias": metric("bias"),
        "cv_msse": metric("msse"),
        "interpolation": json.dumps(described),
    }
