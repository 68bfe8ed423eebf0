"""Semivariogram models, the experimental variogram and its weighted least-squares fit.

Conventions follow PyKrige so that parameters can be exchanged one to one.
Mind PyKrige's two spellings: a *list* ``variogram_parameters`` is
``[sill, range, nugget]`` with the full sill (PyKrige subtracts the nugget),
a *dict* may give ``{"psill", "range", "nugget"}``; its fitted
``variogram_model_parameters`` are ``[psill, range, nugget]``. ``range`` is the
*effective* range, the distance where the model reaches about
95 % of the sill (exponential, Gaussian) or the sill itself (spherical).

- spherical: rho(d) = 1 - 1.5 d/r + 0.5 (d/r)^3 below r, 0 beyond;
  GSTools ``gs.Spherical(var=psill, len_scale=r, nugget=nugget)``.
- exponential: rho(d) = exp(-3 d / r);
  GSTools ``gs.Exponential(var=psill, len_scale=r / 3, nugget=nugget)``.
- gaussian: rho(d) = exp(-(7 d / 4 r)^2);
  GSTools ``gs.Gaussian(var=psill, len_scale=4 r / 7, rescale=1, nugget=nugget)``
  (GSTools' default rescale sqrt(pi)/2 would change the curve).

The semivariance is ``gamma(d) = nugget + psill * (1 - rho(d))`` for ``d > eps``
and exactly 0 at ``d <= eps``: a prediction at a station reproduces its value
(PyKrige's ``exact_values=True``, GSTools' ``exact=True``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy.optimize import least_squares
from scipy.spatial.distance import pdist

ModelName = Literal["spherical", "exponential", "gaussian"]
MODELS: tuple[ModelName, ...] = ("spherical", "exponential", "gaussian")
Weighting = Literal["cressie", "npairs", "none"]
WEIGHTINGS: tuple[Weighting, ...] = ("cressie", "npairs", "none")
EPS = 1e-10  # distances at or below this count as "at the station" (PyKrige's eps)


def correlation_sq(model: ModelName, rng: float, d2: np.ndarray) -> np.ndarray:
    """rho evaluated from *squared* distances, in place on ``d2`` (a float array).

    Working on squared distances saves the square root for the Gaussian model
    and lets grid code build ``d2`` as a cheap outer sum; in place because this
    runs on blocks of millions of cell-station pairs.
    """
    if model == "gaussian":
        d2 *= -((7.0 / (4.0 * rng)) ** 2)
        return np.exp(d2, out=d2)
    if model == "exponential":
        np.sqrt(d2, out=d2)
        d2 *= -3.0 / rng
        return np.exp(d2, out=d2)
    # spherical: rho = 1 - h (1.5 - 0.5 h^2), h = min(d, r) / r (so rho = 0 beyond the range)
    np.minimum(d2, rng * rng, out=d2)
    h = np.sqrt(d2)
    d2 *= -0.5 / (rng * rng)
    d2 += 1.5
    h *= d2
    h *= 1.0 / rng
    return np.subtract(1.0, h, out=d2)


@dataclass(frozen=True)
class Variogram:
    """A fitted (or given) semivariogram model in PyKrige's parameterisation."""

    model: ModelName
    psill: float
    range: float
    nugget: float

    def __post_init__(self) -> None:
        if self.model not in MODELS:
            raise ValueError(f"unknown variogram model {self.model!r}; use one of {MODELS}")
        if not (self.psill >= 0 and self.range > 0 and self.nugget >= 0):
            raise ValueError("variogram needs psill >= 0, range > 0 and nugget >= 0")
        if self.sill <= 0:
            raise ValueError("variogram sill (psill + nugget) must be positive")

    @property
    def sill(self) -> float:
        return self.psill + self.nugget

    def gamma(self, d: np.ndarray) -> np.ndarray:
        """Semivariance at distances ``d`` (0 at d <= EPS)."""
        d = np.asarray(d, dtype=float)
        g = self.nugget + self.psill * (1.0 - correlation_sq(self.model, self.range, d * d))
        return np.where(d <= EPS, 0.0, g)

    def covariance_sq(self, d2: np.ndarray, copy: bool = True) -> np.ndarray:
        """Covariance ``sill - gamma`` from squared distances (``sill`` at a station).

        ``copy=False`` overwrites a float64 ``d2``, for large work arrays.
        """
        d2 = np.array(d2, dtype=float) if copy else d2
        at_station = d2 <= EPS * EPS
        c = correlation_sq(self.model, self.range, d2)
        c *= self.psill
        c[at_station] = self.sill
        return c

    def as_pykrige(self) -> dict[str, float]:
        """``variogram_parameters`` for PyKrige, as the unambiguous dict form."""
        return {"psill": self.psill, "range": self.range, "nugget": self.nugget}

    def as_dict(self) -> dict[str, float | str]:
        return {
            "model": self.model,
            "psill": self.psill,
            "range": self.range,
            "nugget": self.nugget,
        }


@dataclass(frozen=True)
class Experimental:
    """Binned experimental semivariogram: mean lag, mean semivariance and pair count per bin."""

    lags: np.ndarray
    gamma: np.ndarray
    counts: np.ndarray


def experimental(
    xy: np.ndarray, z: np.ndarray, nlags: int = 6, max_lag: float | None = None
) -> Experimental:
    """Matheron's estimator in ``nlags`` equal bins from the shortest pair distance to ``max_lag``.

    The defaults are PyKrige's (6 bins, up to the longest pair distance), so
    that our fit and PyKrige's see the same points; empty bins are dropped.
    """
    d = pdist(np.asarray(xy, dtype=float))
    g = 0.5 * pdist(np.asarray(z, dtype=float)[:, None], metric="sqeuclidean")
    if d.size == 0:
        raise ValueError("an experimental variogram needs at least two stations")
    dmin, dmax = float(d.min()), float(d.max())
    top = dmax if max_lag is None else min(float(max_lag), dmax)
    edges = dmin + (top - dmin) / nlags * np.arange(nlags + 1)
    edges[-1] = top + 0.001 if max_lag is None else top
    which = np.digitize(d, edges) - 1
    keep = (which >= 0) & (which < nlags)
    counts = np.bincount(which[keep], minlength=nlags)
    lag_sum = np.bincount(which[keep], weights=d[keep], minlength=nlags)
    gam_sum = np.bincount(which[keep], weights=g[keep], minlength=nlags)
    full = counts > 0
    return Experimental(lag_sum[full] / counts[full], gam_sum[full] / counts[full], counts[full])


def _residuals(
    params: np.ndarray, model: ModelName, exp: Experimental, weighting: Weighting
) -> np.ndarray:
    psill, rng, nugget = params
    fitted = nugget + psill * (1.0 - correlation_sq(model, rng, exp.lags * exp.lags))
    if weighting == "cressie":
        return np.sqrt(exp.counts) * (exp.gamma / np.maximum(fitted, 1e-300) - 1.0)
    if weighting == "npairs":
        return np.sqrt(exp.counts) * (fitted - exp.gamma)
    return fitted - exp.gamma


def fit(
    exp: Experimental,
    model: ModelName,
    weighting: Weighting = "cressie",
    nugget: float | None = None,
) -> Variogram:
    """Fit ``[psill, range, nugget]`` to the experimental variogram.

    ``cressie`` (default) minimises sum N_h (gamma_h / gamma(h) - 1)^2 (Cressie
    1985): bins with many pairs and small semivariance -- the short lags that
    drive kriging weights -- count most. ``npairs`` weights squared residuals by
    N_h. ``none`` reproduces PyKrige's own fit exactly (unweighted, soft-L1
    loss, PyKrige's start values and bounds), for comparisons. A given
    ``nugget`` is held fixed.
    """
    if exp.lags.size < 3:
        raise ValueError("fitting a variogram needs at least three non-empty lag bins")
    gmax, lmax = float(exp.gamma.max()), float(exp.lags.max())
    x0 = np.array([gmax - float(exp.gamma.min()), 0.25 * lmax, float(exp.gamma.min())])
    lo = np.array([0.0, 0.0 if weighting == "none" else 1e-6 * lmax, 0.0])
    hi = np.array([10.0 * gmax, lmax, gmax])
    if nugget is not None:
        x0[2], lo[2], hi[2] = (
            nugget,
            nugget - 1e-12 * max(gmax, 1.0),
            nugget + 1e-12 * max(gmax, 1.0),
        )
    x0 = np.clip(x0, lo, hi)
    loss = "soft_l1" if weighting == "none" else "linear"
    res = least_squares(_residuals, x0, bounds=(lo, hi), loss=loss, args=(model, exp, weighting))
    psill, rng, nug = (float(v) for v in res.x)
    rng = max(rng, 1e-6 * lmax)
    if psill + nug <= 0:
        psill = max(gmax, 1e-12)
    return Variogram(model, psill, rng, float(nugget) if nugget is not None else nug)
