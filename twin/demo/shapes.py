"""Small geometric building blocks: smooth curves, ribbons, blobs and value noise."""

from __future__ import annotations

import numpy as np
import shapely


def catmull_rom(points: np.ndarray, step: float, closed: bool = False
                ) -> tuple[np.ndarray, np.ndarray]:
    """A centripetal Catmull-Rom curve through ``points`` sampled about every ``step``.

    Returns the (n, 2) samples and, per sample, the index of the control leg it lies on.
    """
    p = np.asarray(points, dtype=float)
    if closed:
        ext = np.vstack([p[-1], p, p[0], p[1]])
    else:
        ext = np.vstack([2 * p[0] - p[1], p, 2 * p[-1] - p[-2]])
    nseg = len(p) - 1 + int(closed)
    out, legs = [], []
    for k in range(nseg):
        pts = _cr_segment(ext[k:k + 4], step)
        out.append(pts)
        legs.append(np.full(len(pts), k))
    out.append(ext[nseg + 1][None, :])
    legs.append(np.array([nseg - 1]))
    return np.vstack(out), np.concatenate(legs)


def _cr_segment(ctrl: np.ndarray, step: float) -> np.ndarray:
    p0, p1, p2, p3 = ctrl
    t0 = 0.0
    t1 = t0 + max(np.linalg.norm(p1 - p0), 1e-6) ** 0.5
    t2 = t1 + max(np.linalg.norm(p2 - p1), 1e-6) ** 0.5
    t3 = t2 + max(np.linalg.norm(p3 - p2), 1e-6) ** 0.5
    n = max(2, int(np.ceil(np.linalg.norm(p2 - p1) / step)))
    t = np.linspace(t1, t2, n, endpoint=False)[:, None]
    a1 = (t1 - t) / (t1 - t0) * p0 + (t - t0) / (t1 - t0) * p1
    a2 = (t2 - t) / (t2 - t1) * p1 + (t - t1) / (t2 - t1) * p2
    a3 = (t3 - t) / (t3 - t2) * p2 + (t - t2) / (t3 - t2) * p3
    b1 = (t2 - t) / (t2 - t0) * a1 + (t - t0) / (t2 - t0) * a2
    b2 = (t3 - t) / (t3 - t1) * a2 + (t - t1) / (t3 - t1) * a3
    return (t2 - t) / (t2 - t1) * b1 + (t - t1) / (t2 - t1) * b2


def vertex_normals(line: np.ndarray) -> np.ndarray:
    """Unit left normals at each vertex of a polyline (averaged over adjacent segments)."""
    d = np.diff(line, axis=0)
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    tang = np.vstack([d[:1], d[:-1] + d[1:], d[-1:]])
    tang /= np.linalg.norm(tang, axis=1, keepdims=True)
    return np.column_stack([-tang[:, 1], tang[:, 0]])


def offset_line(line: np.ndarray, offset: np.ndarray | float) -> np.ndarray:
    """The polyline moved ``offset`` metres to its left (negative: right)."""
    off = np.broadcast_to(np.asarray(offset, dtype=float), (len(line),))
    return line + vertex_normals(line) * off[:, None]


def ribbon(line: np.ndarray, left: np.ndarray | float, right: np.ndarray | float
           ) -> shapely.Polygon:
    """The band between ``left`` metres left of the line and ``right`` metres right of it."""
    a = offset_line(line, left)
    b = offset_line(line, -np.broadcast_to(np.asarray(right, dtype=float), (len(line),)))
    poly = shapely.Polygon(np.vstack([a, b[::-1]]))
    return poly if poly.is_valid else shapely.make_valid(poly).buffer(0)


def blob(centre: np.ndarray, area: float, rng: np.random.Generator, aspect: float = 1.0,
         angle_deg: float = 0.0, wobble: float = 0.12, n: int = 128) -> shapely.Polygon:
    """A smooth irregular lake-like polygon of about ``area`` m²."""
    th = np.linspace(0, 2 * np.pi, n, endpoint=False)
    r = np.ones_like(th)
    for k, amp in ((2, wobble), (3, wobble * 0.7), (5, wobble * 0.35), (7, wobble * 0.2)):
        r += amp * rng.uniform(0.5, 1.0) * np.cos(k * th + rng.uniform(0, 2 * np.pi))
    x, y = r * np.cos(th) * aspect, r * np.sin(th) / aspect
    a = np.radians(angle_deg)
    xr, yr = x * np.cos(a) - y * np.sin(a), x * np.sin(a) + y * np.cos(a)
    poly = shapely.Polygon(np.column_stack([xr, yr]))
    k = np.sqrt(area / poly.area)
    return shapely.Polygon(np.column_stack([centre[0] + xr * k, centre[1] + yr * k]))


class ValueNoise:
    """Smooth 2-D value noise (about unit variance) with a given wavelength in metres."""

    def __init__(self, rng: np.random.Generator, bounds: tuple[float, float, float, float],
                 wavelength: float):
        x0, y0, x1, y1 = bounds
        self.origin = (x0 - wavelength, y0 - wavelength)
        self.wavelength = wavelength
        nx = int(np.ceil((x1 - x0) / wavelength)) + 4
        ny = int(np.ceil((y1 - y0) / wavelength)) + 4
        self.grid = rng.standard_normal((ny, nx)) * 1.6

    def __call__(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        fx = (np.asarray(x) - self.origin[0]) / self.wavelength
        fy = (np.asarray(y) - self.origin[1]) / self.wavelength
        ny, nx = self.grid.shape
        i = np.clip(np.floor(fx).astype(int), 0, nx - 2)
        j = np.clip(np.floor(fy).astype(int), 0, ny - 2)
        tx, ty = np.clip(fx - i, 0, 1), np.clip(fy - j, 0, 1)
        sx, sy = tx * tx * (3 - 2 * tx), ty * ty * (3 - 2 * ty)
        g = self.grid
        top = g[j, i] * (1 - sx) + g[j, i + 1] * sx
        bot = g[j + 1, i] * (1 - sx) + g[j + 1, i + 1] * sx
        return top * (1 - sy) + bot * sy


def fractal_noise(rng: np.random.Generator, bounds, wavelengths: tuple[float, ...],
                  amplitudes: tuple[float, ...]):
    """Sum of value-noise octaves; returns a callable f(x, y)."""
    octaves = [(ValueNoise(rng, bounds, w), a)
               for w, a in zip(wavelengths, amplitudes, strict=False)]

    def f(x, y):
        return sum(a * n(x, y) for n, a in octaves)

    return f
