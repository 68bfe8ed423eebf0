"""Interpolation parameters as validated models: bounds, defaults and documentation in one place.

The same models describe the OGC API - Processes inputs of the ``interpolate``
process (``model_json_schema()``), so a request is validated exactly as a
library call is.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from .variogram import ModelName, Weighting


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class IDWParams(_Params):
    power: float = Field(2.0, gt=0, le=10, description="distance exponent: weight = 1 / d^power")
    k: int = Field(12, ge=1, le=256, description="number of nearest stations used per cell")
    radius: float | None = Field(
        None,
        gt=0,
        description="search radius in metres; cells with no station inside it are empty",
    )


class VariogramParams(_Params):
    model: ModelName = Field(
        "spherical", description="variogram model (ignored when method is auto)"
    )
    nlags: int = Field(
        6, ge=3, le=100, description="number of equal-width lag bins (PyKrige's default 6)"
    )
    max_lag: float | None = Field(
        None,
        gt=0,
        description="longest lag binned, metres; default the longest pair distance (PyKrige)",
    )
    weighting: Weighting | Literal["auto"] = Field(
        "auto",
        description=(
            "least-squares weights: cressie = N_h / gamma(h)^2, npairs = N_h, "
            "none = PyKrige's own fit; "
            "auto fits all three and keeps the one with the lowest LOOCV RMSE"
        ),
    )
    nugget: float | None = Field(None, ge=0, description="fixed nugget; fitted when absent")


class KrigingParams(_Params):
    variogram: VariogramParams = Field(default_factory=VariogramParams)
    neighbours: int | None = Field(
        None,
        ge=3,
        le=256,
        description="krige from the k nearest stations only; all stations when absent",
    )


class InterpolationParams(_Params):
    method: Literal["idw", "kriging", "auto"] = Field(
        "auto", description="auto picks IDW or kriging with the best variogram model by LOOCV RMSE"
    )
    resolution: float = Field(100.0, ge=1, le=10_000, description="cell size in metres")
    idw: IDWParams = Field(default_factory=IDWParams)
    kriging: KrigingParams = Field(default_factory=KrigingParams)
    variance: bool = Field(True, description="compute the kriging variance of every cell")
    min_stations: int = Field(
        5, ge=3, le=1000, description="time steps with fewer valid stations are left empty"
    )
