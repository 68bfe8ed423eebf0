"""Leave-one-out cross-validation of every interpolator.

Each station is predicted from all the others with the same parameters and,
for kriging, the same variogram (fitted once on all stations: refitting per
fold would cost n fits and is not what PyKrige or GSTools report either).
Global kriging uses Dubrule's (1983) closed form: with A the bordered
kriging matrix [[K, 1], [1', 0]] and b = A^-1 [z; 0],

    z_i - z*_(-i) = b_i / (A^-1)_ii,      s2_(-i) = 1 / (A^-1)_ii,

one inversion instead of n solves.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
from scipy.spatial import cKDTree

from .idw import _weighted
from .kriging import _covariance_matrix, _predict_with_sets, _solve_sets
from .variogram import Variogram


@dataclass(frozen=True)
class CVResult:
    """LOOCV summary: residuals are observed minus predicted."""

    n: int
    rmse: float
    mae: float
    bias: float
    msse: (
        float | None
    )  # mean standardised squared error, e^2 / s2 (kriging only; ~1 when s2 is honest)

    def as_dict(self) -> dict[str, float | int | None]:
        return asdict(self)


def metrics(residuals: np.ndarray, variance: np.ndarray | None = None) -> CVResult:
    e = np.asarray(residuals, dtype=float)
    msse = None
    if variance is not None:
        v = np.asarray(variance, dtype=float)
        msse = float(np.mean(e * e / v)) if np.all(v > 0) else math.inf
    return CVResult(
        len(e), float(np.sqrt(np.mean(e * e))), float(np.mean(np.abs(e))), float(np.mean(e)), msse
    )


def _others(xy: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k nearest *other* stations of each station, (n, k)."""
    n = len(xy)
    _, idx = cKDTree(xy).query(xy, k=min(k + 1, n))
    idx = np.asarray(idx).reshape(n, -1)
    keep = idx != np.arange(n)[:, None]
    keep[keep.sum(axis=1) > k, -1] = False  # self not among them (a tie): drop the farthest
    return idx[keep].reshape(n, k)


def loocv_idw(
    xy: np.ndarray, z: np.ndarray, power: float, k: int, radius: float | None
) -> np.ndarray:
    """LOOCV residuals of IDW; NaN where no other station lies within the radius."""
    xy, z = np.asarray(xy, dtype=float), np.asarray(z, dtype=float)
    idx = _others(xy, min(k, len(z) - 1))
    d2 = ((xy[idx] - xy[:, None, :]) ** 2).sum(axis=-1)
    return z - _weighted(d2, z[idx], power, radius, z[idx])


def loocv_global(vgm: Variogram, xy: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """LOOCV residuals and kriging variances of global ordinary kriging (Dubrule's closed form)."""
    xy, z = np.asarray(xy, dtype=float), np.asarray(z, dtype=float)
    n = len(z)
    a = np.ones((n + 1, n + 1))
    a[:n, :n] = _covariance_matrix(vgm, xy)
    a[n, n] = 0.0
    ainv = np.linalg.inv(a)
    b = ainv[:, :n] @ z
    diag = np.diag(ainv)[:n]
    return b[:n] / diag, 1.0 / diag


def loocv_local(
    vgm: Variogram, xy: np.ndarray, z: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """LOOCV residuals and variances of kriging from the k nearest other stations."""
    xy, z = np.asarray(xy, dtype=float), np.asarray(z, dtype=float)
    sets = np.sort(_others(xy, min(k, len(z) - 1)), axis=1)
    systems = _solve_sets(vgm, xy, z, sets)
    pred, var = _predict_with_sets(vgm, xy, systems, xy, np.arange(len(z)), True)
    return z - pred, var
