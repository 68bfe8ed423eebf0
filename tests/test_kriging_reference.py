"""Ordinary kriging checked against PyKrige and GSTools on the same stations and variogram.

"Agree to 1e-6 relative" is read as |ours - theirs| <= 1e-6 * max|theirs|
per field: predictions relative to the field's magnitude, variances relative
to the largest variance (a cell next to a station has a variance near zero,
where any relative comparison is noise from cancellation, in both codes).

Parameter mapping (see twin/analysis/interpolate/variogram.py): PyKrige takes
``{"psill", "range", "nugget"}`` as is (its *list* form is [sill, range,
nugget]); GSTools takes ``var=psill``, ``nugget`` and len_scale = range
(spherical), range / 3 (exponential), 4 range / 7 with ``rescale=1``
(Gaussian), and ``exact=True`` so that, like PyKrige's ``exact_values``, the
nugget is not smoothed away at the stations.
"""

from __future__ import annotations

import gstools as gs
import numpy as np
import pytest
from pykrige.ok import OrdinaryKriging

from twin.analysis.interpolate import (
    GlobalKriging,
    InterpolationParams,
    LocalKriging,
    Variogram,
    cv,
    fit_surface,
    variogram,
)

VARIOGRAMS = [
    Variogram("spherical", 2.0, 9000.0, 0.2),
    Variogram("exponential", 1.5, 12000.0, 0.1),
    Variogram("gaussian", 1.0, 7000.0, 0.05),
]


def _gstools_model(vgm: Variogram) -> gs.CovModel:
    if vgm.model == "spherical":
        return gs.Spherical(dim=2, var=vgm.psill, len_scale=vgm.range, nugget=vgm.nugget)
    if vgm.model == "exponential":
        return gs.Exponential(dim=2, var=vgm.psill, len_scale=vgm.range / 3.0, nugget=vgm.nugget)
    return gs.Gaussian(
        dim=2, var=vgm.psill, len_scale=4.0 * vgm.range / 7.0, rescale=1.0, nugget=vgm.nugget
    )


@pytest.fixture(scope="module")
def stations() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(42)
    xy = rng.uniform(0, 20_000, (80, 2))
    z = 30 + 10 * np.sin(xy[:, 0] / 5000) + rng.normal(0, 2, 80)
    return xy, z


@pytest.fixture(scope="module")
def axes(stations) -> tuple[np.ndarray, np.ndarray]:
    x = np.arange(60) * 350.0 + 175.0
    y = (np.arange(50) * 400.0 + 200.0)[::-1].copy()
    stations[0][0] = (x[10], y[20])  # one station on a cell centre: exactness at stations
    return x, y


def _close(ours: np.ndarray, ref: np.ndarray) -> None:
    np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-6 * np.abs(ref).max())


@pytest.mark.parametrize("vgm", VARIOGRAMS, ids=lambda v: v.model)
@pytest.mark.parametrize("backend", ["vectorized", "C"])
def test_global_matches_pykrige(stations, axes, vgm, backend):
    xy, z = stations
    x, y = axes
    ok = OrdinaryKriging(
        xy[:, 0], xy[:, 1], z, variogram_model=vgm.model, variogram_parameters=vgm.as_pykrige()
    )
    ref, ref_var = ok.execute("grid", x, y, backend=backend)
    pred, var = GlobalKriging.fit(vgm, xy, z).predict_grid(x, y)
    _close(pred, ref.data)
    _close(var, ref_var.data)
    assert pred[20, 10] == pytest.approx(z[0], abs=1e-9) and var[20, 10] == pytest.approx(
        0, abs=1e-9
    )


@pytest.mark.parametrize("vgm", VARIOGRAMS, ids=lambda v: v.model)
def test_predictions_only_path_matches(stations, axes, vgm):
    """Without variance (for the Gaussian: the separable product) predictions are the same."""
    xy, z = stations
    x, y = axes
    model = GlobalKriging.fit(vgm, xy, z)
    _close(model.predict_grid(x, y, variance=False)[0], model.predict_grid(x, y)[0])


@pytest.mark.parametrize("vgm", VARIOGRAMS, ids=lambda v: v.model)
def test_local_matches_pykrige_n_closest(stations, axes, vgm):
    xy, z = stations
    x, y = axes
    ok = OrdinaryKriging(
        xy[:, 0], xy[:, 1], z, variogram_model=vgm.model, variogram_parameters=vgm.as_pykrige()
    )
    ref, ref_var = ok.execute("grid", x, y, backend="C", n_closest_points=16)
    pred, var = LocalKriging.fit(vgm, xy, z, 16).predict_grid(x, y)
    _close(pred, ref.data)
    _close(var, ref_var.data)
    pts = np.column_stack([x[:7], y[:7]])
    ref_p, ref_pv = ok.execute("points", pts[:, 0], pts[:, 1], backend="C", n_closest_points=16)
    p, pv = LocalKriging.fit(vgm, xy, z, 16).predict_points(pts)
    _close(p, ref_p.data)
    _close(pv, ref_pv.data)


@pytest.mark.parametrize("vgm", VARIOGRAMS, ids=lambda v: v.model)
def test_global_matches_gstools(stations, axes, vgm):
    xy, z = stations
    x, y = axes
    krige = gs.krige.Ordinary(
        _gstools_model(vgm), cond_pos=(xy[:, 0], xy[:, 1]), cond_val=z, exact=True
    )
    ref, ref_var = krige((x, y), mesh_type="structured", return_var=True)
    pred, var = GlobalKriging.fit(vgm, xy, z).predict_grid(x, y)
    _close(pred, ref.T)
    _close(var, ref_var.T)


def test_experimental_variogram_and_unweighted_fit_reproduce_pykrige(stations):
    xy, z = stations
    for model in variogram.MODELS:
        ok = OrdinaryKriging(xy[:, 0], xy[:, 1], z, variogram_model=model)
        exp = variogram.experimental(xy, z)
        np.testing.assert_allclose(exp.lags, ok.lags, rtol=1e-12)
        np.testing.assert_allclose(exp.gamma, ok.semivariance, rtol=1e-12)
        fitted = variogram.fit(exp, model, weighting="none")
        np.testing.assert_allclose(
            [fitted.psill, fitted.range, fitted.nugget],
            ok.variogram_model_parameters,
            rtol=1e-6,
            atol=1e-9,
        )


def _pykrige_loocv(xy: np.ndarray, z: np.ndarray, model: str, params: list[float]) -> np.ndarray:
    """PyKrige's LOOCV with its variogram fitted once on all stations, as ours."""
    resid = np.empty(len(z))
    psill, rng, nugget = params
    for i in range(len(z)):
        keep = np.arange(len(z)) != i
        ok = OrdinaryKriging(
            xy[keep, 0],
            xy[keep, 1],
            z[keep],
            variogram_model=model,
            variogram_parameters={"psill": psill, "range": rng, "nugget": nugget},
        )
        resid[i] = z[i] - ok.execute("points", xy[i : i + 1, 0], xy[i : i + 1, 1])[0][0]
    return resid


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
@pytest.mark.parametrize("model", ["spherical", "exponential", "gaussian"])
def test_loocv_on_gaussian_random_field_no_worse_than_pykrige(model, seed):
    """A GSTools field with known structure sampled at 60 stations: our fitted variogram's
    LOOCV RMSE is at most PyKrige's with its own fit of the same model."""
    field = gs.SRF(
        gs.Exponential(dim=2, var=4.0, len_scale=4000.0, nugget=0.2), mean=40.0, seed=seed
    )
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 20_000, (60, 2))
    z = field((xy[:, 0], xy[:, 1]), seed=seed)
    ok = OrdinaryKriging(xy[:, 0], xy[:, 1], z, variogram_model=model)
    theirs = cv.metrics(_pykrige_loocv(xy, z, model, list(ok.variogram_model_parameters)))
    params = InterpolationParams(method="kriging", kriging={"variogram": {"model": model}})
    surface = fit_surface(xy, z, params)
    assert surface.cv.rmse <= theirs.rmse * (1 + 1e-6), (surface.cv, theirs, surface.variogram)
    assert 0.5 < surface.cv.msse < 2.0  # the kriging variance is of the right size
