"""Ordinary kriging onto grids and points: global, or from the k nearest stations.

Both solve the textbook system in covariance form, ``C = sill - gamma`` with
``C(0) = sill``, which gives the same weights and variance as PyKrige's
semivariance form but is symmetric positive definite, so it factors by
Cholesky:

    m = 1'K^-1 z / 1'K^-1 1             (generalised least-squares mean)
    z*(x) = m + c(x)' K^-1 (z - m 1)    (one dot product per cell)
    s2(x) = sill - |L^-1 c|^2 + (1 - (L^-1 1)'(L^-1 c))^2 / 1'K^-1 1

with K = L L'. Global kriging precomputes ``K^-1 (z - m 1)`` once, so a
prediction is one covariance row times a vector; the variance needs
``C L^-T`` for a block of cells, one BLAS matrix product (L^-1 is formed
once; with a nugget K is well conditioned). Local kriging solves one
small system per distinct k-nearest set (see neighbourhood.py), shared by all
cells that have that set.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import scipy.linalg as sla
from scipy.spatial import cKDTree

from .neighbourhood import grid_sets
from .variogram import EPS, Variogram, correlation_sq

_BLOCK_PAIRS = 500_000  # cell-station pairs per block: 4 MB per float64 work array, near the caches


def _row_blocks(ny: int, per_row: int) -> list[slice]:
    rows = max(1, _BLOCK_PAIRS // max(per_row, 1))
    return [slice(r, min(r + rows, ny)) for r in range(0, ny, rows)]


def _map_blocks(fn, blocks: list[slice]) -> None:
    """Run ``fn(block)`` for every block on all cores (numpy and BLAS release the GIL)."""
    workers = min(len(blocks), os.cpu_count() or 1)
    if workers <= 1:
        for b in blocks:
            fn(b)
        return
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(fn, blocks))


def _covariance_matrix(vgm: Variogram, xy: np.ndarray) -> np.ndarray:
    d2 = ((xy[:, None, :] - xy[None, :, :]) ** 2).sum(axis=-1)
    return vgm.covariance_sq(d2)


def _cholesky(k: np.ndarray) -> np.ndarray:
    try:
        return np.linalg.cholesky(k)
    except np.linalg.LinAlgError as exc:
        raise ValueError(
            "kriging matrix is singular: stations at the same place, or a Gaussian "
            "variogram without nugget; add a nugget or merge co-located stations"
        ) from exc


@dataclass(frozen=True)
class GlobalKriging:
    """Ordinary kriging with every station in every prediction."""

    vgm: Variogram
    xy: np.ndarray
    linv_t: np.ndarray  # (L^-1)', with K = L L'
    q: np.ndarray  # L^-1 1
    qq: float  # 1' K^-1 1
    mean: float  # GLS mean m
    alpha: np.ndarray  # K^-1 (z - m 1)

    @classmethod
    def fit(cls, vgm: Variogram, xy: np.ndarray, z: np.ndarray) -> GlobalKriging:
        xy, z = np.asarray(xy, dtype=float), np.asarray(z, dtype=float)
        chol = _cholesky(_covariance_matrix(vgm, xy))
        q = sla.solve_triangular(chol, np.ones(len(z)), lower=True)
        uz = sla.solve_triangular(chol, z, lower=True)
        qq = float(q @ q)
        mean = float(q @ uz) / qq
        alpha = sla.solve_triangular(chol, uz - mean * q, lower=True, trans="T")
        linv_t = sla.solve_triangular(chol, np.eye(len(z)), lower=True).T.copy()
        return cls(vgm, xy, linv_t, q, qq, mean, alpha)

    def _finish(self, cov: np.ndarray, variance: bool) -> tuple[np.ndarray, np.ndarray | None]:
        """Prediction (and variance) from covariance rows ``cov`` (m, n); ``cov`` is overwritten."""
        pred = self.mean + _rowdot(cov, self.alpha)
        if not variance:
            return pred, None
        u = _rows_matmul(cov, self.linv_t)  # rows L^-1 c, BLAS at full speed
        s2 = self.vgm.sill - (u * u).sum(axis=1) + (1.0 - _rowdot(u, self.q)) ** 2 / self.qq
        return pred, np.maximum(s2, 0.0)

    def predict_points(
        self, pts: np.ndarray, variance: bool = True
    ) -> tuple[np.ndarray, np.ndarray | None]:
        pts = np.asarray(pts, dtype=float).reshape(-1, 2)
        d2 = ((pts[:, None, :] - self.xy[None, :, :]) ** 2).sum(axis=-1)
        return self._finish(self.vgm.covariance_sq(d2), variance)

    def predict_grid(
        self, x: np.ndarray, y: np.ndarray, variance: bool = True
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """Predict at cell centres ``x`` (columns) times ``y`` (rows); arrays shaped (ny, nx)."""
        x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
        n = len(self.alpha)
        if self.vgm.model == "gaussian" and not variance:
            return self._gaussian_grid(x, y), None
        dx2 = (x[:, None] - self.xy[None, :, 0]) ** 2
        dy2 = (y[:, None] - self.xy[None, :, 1]) ** 2
        fix = _coincident(x, y, self.xy)
        pred = np.empty((len(y), len(x)))
        var = np.empty((len(y), len(x))) if variance else None

        def block(rows: slice) -> None:
            cov = (dy2[rows, None, :] + dx2[None, :, :]).reshape(-1, n)
            correlation_sq(self.vgm.model, self.vgm.range, cov)
            cov *= self.vgm.psill
            _apply_fix(cov, fix, rows, len(x), self.vgm.nugget)
            p, v = self._finish(cov, variance)
            pred[rows] = p.reshape(-1, len(x))
            if var is not None:
                var[rows] = v.reshape(-1, len(x))

        per_row = len(x) * n // (4 if variance else 1)  # matrix products want taller blocks
        _map_blocks(block, _row_blocks(len(y), per_row))
        return pred, var

    def _gaussian_grid(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Gaussian covariance factors as exp(-a dx^2) exp(-a dy^2): a row of the grid is one
        matrix-vector product with the column factors, O(n) per cell instead of n exponentials.

        Row by row with ``_rowdot`` (not one matrix product), so that a dask
        chunk reproduces the in-memory grid bit for bit.
        """
        a = (7.0 / (4.0 * self.vgm.range)) ** 2
        ex = np.exp(-a * (x[:, None] - self.xy[None, :, 0]) ** 2)
        ey = np.exp(-a * (y[:, None] - self.xy[None, :, 1]) ** 2) * (self.vgm.psill * self.alpha)
        pred = np.empty((len(y), len(x)))
        for r in range(len(y)):
            pred[r] = _rowdot(ex, ey[r])
        pred += self.mean
        rows, cols, st = _coincident(x, y, self.xy)
        pred[rows, cols] += self.vgm.nugget * self.alpha[st]
        return pred


# Rows per matrix product: every product has the same shape. On 250,000 x 200 rows
# (shared 2-core machine) 1,024-row slabs cost 1.35x one product, 256-row slabs 1.9x.
SLAB = 1024


def _rows_matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a @ b`` computed in slabs of exactly SLAB rows (the last one padded), so every
    row goes through the same BLAS kernel tiles whatever the number of rows: a dask
    chunk reproduces the in-memory grid bit for bit."""
    m = len(a)
    out = np.empty((m, b.shape[1]))
    slab = np.zeros((SLAB, a.shape[1]))
    for start in range(0, m, SLAB):
        stop = min(start + SLAB, m)
        if stop - start == SLAB:
            out[start:stop] = a[start:stop] @ b
        else:
            slab[: stop - start] = a[start:stop]
            slab[stop - start:] = 0.0
            out[start:stop] = (slab @ b)[: stop - start]
    return out


def _rowdot(a: np.ndarray, v: np.ndarray) -> np.ndarray:
    """``a @ v`` summed in the same order for every row whatever the number of rows.

    BLAS matrix-vector kernels treat the last rows of a block differently, so
    the same cell could round differently in a dask chunk of another width. A
    reduction along each row does not (numpy 2.5's einsum no longer guarantees it
    either): each row is summed on its own, by the same pairwise loop.
    """
    return (a * v).sum(axis=1)


def _coincident(
    x: np.ndarray, y: np.ndarray, xy: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(row, column, station) of every cell centre within EPS of a station.

    There the covariance jumps from psill to the sill (the nugget); finding the
    few such cells from the 1-D axes avoids a test on every cell-station pair.
    """
    out = [], [], []
    for i, (sx, sy) in enumerate(xy):
        cols = np.nonzero(np.abs(x - sx) <= EPS)[0]
        rows = np.nonzero(np.abs(y - sy) <= EPS)[0]
        for r in rows:
            for c in cols:
                if (x[c] - sx) ** 2 + (y[r] - sy) ** 2 <= EPS * EPS:
                    out[0].append(r), out[1].append(c), out[2].append(i)
    return tuple(np.asarray(a, dtype=np.intp) for a in out)


def _apply_fix(cov: np.ndarray, fix: tuple, rows: slice, nx: int, nugget: float) -> None:
    r, c, st = fix
    inside = (r >= rows.start) & (r < rows.stop)
    cov[(r[inside] - rows.start) * nx + c[inside], st[inside]] += nugget


@dataclass(frozen=True)
class _SetSystems:
    """Factored kriging systems for distinct neighbour sets, stacked along the first axis."""

    sets: np.ndarray  # (S, k) station indices
    sx: np.ndarray  # (S, k) their x
    sy: np.ndarray  # (S, k) their y
    linv: np.ndarray  # (S, k, k) L^-1
    q: np.ndarray  # (S, k) L^-1 1
    qq: np.ndarray  # (S,)
    mean: np.ndarray  # (S,)
    alpha: np.ndarray  # (S, k)


def _solve_sets(vgm: Variogram, xy: np.ndarray, z: np.ndarray, sets: np.ndarray) -> _SetSystems:
    pts = xy[sets]  # (S, k, 2)
    d2 = ((pts[:, :, None, :] - pts[:, None, :, :]) ** 2).sum(axis=-1)
    chol = _cholesky(vgm.covariance_sq(d2))
    eye = np.broadcast_to(np.eye(sets.shape[1]), chol.shape)
    linv = np.linalg.solve(chol, eye)
    q = linv.sum(axis=2)
    uz = np.einsum("sij,sj->si", linv, z[sets])
    qq = np.einsum("si,si->s", q, q)
    mean = np.einsum("si,si->s", q, uz) / qq
    alpha = np.einsum("sji,sj->si", linv, uz - mean[:, None] * q)
    return _SetSystems(sets, xy[sets, 0], xy[sets, 1], linv, q, qq, mean, alpha)


def _predict_with_sets(
    vgm: Variogram,
    xy: np.ndarray,
    sys: _SetSystems,
    pts: np.ndarray,
    labels: np.ndarray,
    variance: bool,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Prediction at ``pts`` (m, 2), each with the neighbour set ``labels`` (m,)."""
    d2 = np.square(sys.sx[labels] - pts[:, :1])
    d2 += np.square(sys.sy[labels] - pts[:, 1:])
    cov = vgm.covariance_sq(d2, copy=False)
    pred = sys.mean[labels] + np.einsum("mk,mk->m", cov, sys.alpha[labels])
    if not variance:
        return pred, None
    u = np.einsum("mij,mj->mi", sys.linv[labels], cov)
    qu = np.einsum("mi,mi->m", sys.q[labels], u)
    s2 = vgm.sill - np.einsum("mi,mi->m", u, u) + (1.0 - qu) ** 2 / sys.qq[labels]
    return pred, np.maximum(s2, 0.0)


@dataclass(frozen=True)
class LocalKriging:
    """Ordinary kriging from the k stations nearest each cell (PyKrige's ``n_closest_points``)."""

    vgm: Variogram
    xy: np.ndarray
    z: np.ndarray
    k: int
    tree: cKDTree

    @classmethod
    def fit(cls, vgm: Variogram, xy: np.ndarray, z: np.ndarray, k: int) -> LocalKriging:
        xy, z = np.asarray(xy, dtype=float), np.asarray(z, dtype=float)
        if k > len(z):
            raise ValueError(
                f"neighbourhood of {k} stations but only {len(z)} stations have values"
            )
        return cls(vgm, xy, z, int(k), cKDTree(xy))

    def predict_points(
        self, pts: np.ndarray, variance: bool = True
    ) -> tuple[np.ndarray, np.ndarray | None]:
        pts = np.asarray(pts, dtype=float).reshape(-1, 2)
        _, idx = self.tree.query(pts, k=self.k, workers=-1)
        idx = np.sort(np.asarray(idx).reshape(len(pts), self.k), axis=1)
        sets, labels = np.unique(idx, axis=0, return_inverse=True)
        sys = _solve_sets(self.vgm, self.xy, self.z, sets)
        return _predict_with_sets(self.vgm, self.xy, sys, pts, labels.ravel(), variance)

    def predict_grid(
        self, x: np.ndarray, y: np.ndarray, variance: bool = True
    ) -> tuple[np.ndarray, np.ndarray | None]:
        x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
        labels, sets = grid_sets(self.tree, x, y, self.k)
        sys = _solve_sets(self.vgm, self.xy, self.z, sets)
        pred = np.empty((len(y), len(x)))
        var = np.empty((len(y), len(x))) if variance else None

        def block(rows: slice) -> None:
            yy, xx = np.meshgrid(y[rows], x, indexing="ij")
            pts = np.column_stack([xx.ravel(), yy.ravel()])
            p, v = _predict_with_sets(self.vgm, self.xy, sys, pts, labels[rows].ravel(), variance)
            pred[rows] = p.reshape(-1, len(x))
            if var is not None:
                var[rows] = v.reshape(-1, len(x))

        _map_blocks(block, _row_blocks(len(y), len(x) * self.k * (self.k if variance else 2)))
        return pred, var
