"""Interpolated surfaces from point stations: IDW and ordinary kriging with LOOCV.

Pure numpy/scipy/xarray; coordinates are projected (metres). Entry points:
``interpolate`` (stations x time steps -> (time, y, x) Dataset), ``fit_surface``
(one step: method choice, variogram, cross-validation) and, for grids that
outgrow one machine, ``dask.predict_dask``.
"""

from .cv import CVResult
from .grid import Grid, project
from .idw import IDW
from .kriging import GlobalKriging, LocalKriging
from .params import IDWParams, InterpolationParams, KrigingParams, VariogramParams
from .surface import Surface, fit_surface, interpolate
from .variogram import Variogram

__all__ = [
    "IDW",
    "CVResult",
    "GlobalKriging",
    "Grid",
    "IDWParams",
    "InterpolationParams",
    "KrigingParams",
    "LocalKriging",
    "Surface",
    "Variogram",
    "VariogramParams",
    "fit_surface",
    "interpolate",
    "project",
]
