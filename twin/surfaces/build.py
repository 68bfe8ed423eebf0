"""Hourly means -> interpolated surfaces -> COGs in the raster catalogue.

:func:`compute` is the analysis (``twin.analysis.interpolate.interpolate`` on the
hourly means, a day of hours at a time so memory stays flat over a month);
:func:`store` writes each hour through ``twin.rasters.catalogue.store_surface`` with
its cross-validation in the row's ``stats.attributes``: method, variogram, number of
stations and LOOCV RMSE/MAE/bias (MSSE for kriging). An hour with fewer stations than
``min_stations`` gets no surface: an empty raster would claim a measurement.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path

import numpy as np
import psycopg
import xarray as xr

from twin.analysis.interpolate import InterpolationParams, interpolate
from twin.rasters.catalogue import store_surface

from .distributed import map_in_order, on_cluster
from .region import Region
from .source import HourlyMeans
from .store import PsycopgCatalogue

KIND = "air_quality"
CHUNK_HOURS = 24
_METRICS = ("rmse", "mae", "bias", "msse")


@dataclass(frozen=True)
class HourSurface:
    """One hour's surface and what the catalogue row says about it."""

    hour: np.datetime64
    data: xr.DataArray        # (y, x) with crs/transform and the per-hour attributes
    stations: int

    @property
    def method(self) -> str:
        return self.data.attrs["method"]

    @property
    def rmse(self) -> float:
        return self.data.attrs["cv_rmse"]


@dataclass
class RunSummary:
    """What a run stored, for the CLI, the process and the demo."""

    variable: str
    ids: list[str] = field(default_factory=list)
    hours: list[str] = field(default_factory=list)
    methods: dict[str, int] = field(default_factory=dict)
    rmse: list[float] = field(default_factory=list)
    skipped: int = 0          # hours with too few stations

    def add(self, surface: HourSurface, ident: str) -> None:
        self.ids.append(ident)
        self.hours.append(np.datetime_as_string(surface.hour, unit="s") + "Z")
        self.methods[surface.method] = self.methods.get(surface.method, 0) + 1
        self.rmse.append(surface.rmse)

    def as_dict(self) -> dict:
        rmse = np.array(self.rmse, dtype=float)
        return {"pollutant": self.variable, "surfaces": len(self.ids), "hours": self.hours,
                "skipped_hours": self.skipped, "methods": self.methods,
                "loocv_rmse_mean": float(rmse.mean()) if rmse.size else None,
                "loocv_rmse_median": float(np.median(rmse)) if rmse.size else None}


def _hour_attrs(ds: xr.Dataset, t: int, stations: int) -> dict:
    """The scalar attributes of hour ``t``: cross-validation and the fitted method."""
    value = ds["value"]
    described = json.loads(value.attrs["interpolation"])[t]
    attrs = {"crs": value.attrs["crs"], "transform": value.attrs["transform"],
             "method": described["method"], "stations": stations,
             "interpolation": json.dumps(described)}
    for name in _METRICS:
        attrs[f"cv_{name}"] = float(value.attrs[f"cv_{name}"][t])
    if described["variogram"]:
        attrs["variogram_model"] = described["variogram"]["model"]
    return attrs


def _interpolate_chunk(args: tuple) -> xr.Dataset:
    """``interpolate`` on one chunk of hours (a module function: it runs in workers)."""
    return interpolate(*args)


def _datasets(means: HourlyMeans, region: Region, params: InterpolationParams,
              spans: list[tuple[int, int]], workers: int) -> Iterator[xr.Dataset]:
    """The chunks' Datasets in order: on the dask cluster for a long run when one is
    named (:mod:`.distributed`), else over ``workers`` processes when more than one (a
    month of hours is CPU-bound work that numpy does not spread over cores itself)."""
    jobs = ((means.xy, means.values[a:b], region.grid, params, means.hours[a:b],
             region.boundary) for a, b in spans)
    if len(spans) > 1 and on_cluster(len(means.hours)):
        yield from map_in_order(_interpolate_chunk, jobs)
        return
    if workers <= 1 or len(spans) <= 1:
        yield from map(_interpolate_chunk, jobs)
        return
    with ProcessPoolExecutor(workers, mp_context=get_context("spawn")) as pool:
        yield from pool.map(_interpolate_chunk, jobs)


def compute(means: HourlyMeans, region: Region, params: InterpolationParams,
            workers: int = 1) -> Iterator[HourSurface | None]:
    """One item per hour of ``means``, in order: its surface, or None (too few stations)."""
    counts = means.valid_stations()
    spans = [(a, min(a + CHUNK_HOURS, len(means.hours)))
             for a in range(0, len(means.hours), CHUNK_HOURS)]
    for (start, stop), ds in zip(spans, _datasets(means, region, params, spans, workers),
                                 strict=True):
        for t in range(stop - start):
            n = int(counts[start + t])
            if n < params.min_stations:
                yield None
                continue
            step = ds["value"].isel(time=t, drop=True)
            yield HourSurface(means.hours[start + t], step.assign_attrs(_hour_attrs(ds, t, n)), n)


def store(conn: psycopg.Connection, means: HourlyMeans, region: Region,
          params: InterpolationParams, raster_dir: Path,
          progress: Callable[[int], None] | None = None, workers: int = 1,
          scenario: str | None = None) -> RunSummary:
    """Compute and store every hour of ``means`` in the caller's transaction on ``conn``
    (COGs are written here, as the workers compute the next hours), in the published
    series, or in ``scenario``'s (a user's own run)."""
    summary, catalogue = RunSummary(means.variable), PsycopgCatalogue(conn)
    for surface in compute(means, region, params, workers):
        if surface is None:
            summary.skipped += 1
        else:
            ident = store_surface(catalogue, surface.data, kind=KIND, variable=means.variable,
                                  valid_time=surface.hour, raster_dir=raster_dir,
                                  scenario=scenario)
            summary.add(surface, ident)
        if progress is not None:
            progress(1)
    return summary
