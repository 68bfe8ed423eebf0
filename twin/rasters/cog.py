"""The one COG profile of twin's rasters and their catalogue statistics.

Loaded DEMs (``twin.ingest.raster``) and stored analysis surfaces
(:mod:`twin.rasters.catalogue`) are written alike. Imports nothing from twin: the
loaders import it, never the other way.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import rasterio

KINDS = ("dem", "air_quality", "flood_depth", "rainfall", "other")


def write_cog(data: np.ndarray, crs, transform, dest: Path) -> None:
    """``data`` (one float32 band, NaN nodata) as a DEFLATE COG at ``dest``."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    profile = dict(driver="COG", width=data.shape[1], height=data.shape[0], count=1,
                   dtype="float32", crs=crs, transform=transform, nodata=np.nan,
                   compress="DEFLATE", predictor=3, blocksize=512, overview_resampling="average")
    with rasterio.open(dest, "w", **profile) as dst:
        dst.write(data, 1)


def statistics(data: np.ndarray) -> dict:
    """min, max, mean and std of the finite cells and their fraction; with no finite
    cell (a dry hour) every statistic is None and the fraction 0."""
    valid = data[np.isfinite(data)]
    if valid.size == 0:
        return {"min": None, "max": None, "mean": None, "std": None, "valid_fraction": 0.0}
    return {"min": float(valid.min()), "max": float(valid.max()), "mean": float(valid.mean()),
            "std": float(valid.std()), "valid_fraction": float(valid.size / data.size)}
