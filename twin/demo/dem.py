"""A 10 m digital elevation model in WGS 84 / UTM 48N.

City terrain 5-20 m sloping gently to the south-east; the Red River bed at 2-4 m,
its flood plain at 6-8 m between dykes with a crest at about 13.6 m; lakes 3-5 m;
the Tô Lịch incised about 2 m into a shallow valley. The same function gives the
ground height at any point, so stations and the raster agree.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import rasterio
import shapely
from rasterio.transform import from_origin

from twin.demo.frame import UTM48N
from twin.demo.geography import TO_LICH_HALF_WIDTH, Geography
from twin.demo.shapes import fractal_noise

PIXEL = 10.0
NODATA = -9999.0
DYKE_CREST = 13.6
COARSE = 100.0    # smooth distance fields are computed on this grid and interpolated


def _smoothstep(t: np.ndarray) -> np.ndarray:
    t = np.clip(t, 0.0, 1.0)
    return t * t * (3 - 2 * t)


class Terrain:
    def __init__(self, geo: Geography, rng: np.random.Generator):
        self.geo = geo
        x0, y0, x1, y1 = geo.bounds
        self.centre = np.array([(x0 + x1) / 2, (y0 + y1) / 2])
        self.noise = fractal_noise(rng, geo.bounds, (4000.0, 1200.0, 300.0), (1.4, 0.6, 0.1))
        self.plain_noise = fractal_noise(rng, geo.bounds, (900.0, 250.0), (0.35, 0.15))
        n = 6
        self.mounds = np.column_stack([rng.uniform(x0, x1, n), rng.uniform(y0, y1, n),
                                       rng.uniform(250, 600, n), rng.uniform(3, 8, n)])
        self.river_line = geo.river.line
        self.to_lich_line = shapely.LineString(geo.to_lich)
        for g in (self.river_line, self.to_lich_line):
            shapely.prepare(g)

    def base(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        gx, gy = (x - self.centre[0]) / 10000, (y - self.centre[1]) / 10000
        z = 9.0 + 2.2 * (0.6 * gy - 0.5 * gx) + self.noise(x, y)
        for mx, my, sigma, h in self.mounds:
            z += h * np.exp(-((x - mx) ** 2 + (y - my) ** 2) / (2 * sigma ** 2))
        return np.clip(z, 5.0, 20.0)

    def river_frame(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(distance along the river centre line, signed offset; east positive)."""
        pts = shapely.points(x, y)
        s = shapely.line_locate_point(self.river_line, pts)
        q = shapely.get_coordinates(shapely.line_interpolate_point(self.river_line, s))
        ahead = shapely.get_coordinates(shapely.line_interpolate_point(self.river_line, s + 5))
        behind = shapely.get_coordinates(shapely.line_interpolate_point(self.river_line, s - 5))
        t = ahead - behind
        off = np.column_stack([x, y]) - q
        side = np.sign(t[:, 0] * off[:, 1] - t[:, 1] * off[:, 0])   # left of southward = east
        return s, side * np.linalg.norm(off, axis=1)

    def river(self, z: np.ndarray, s: np.ndarray, d: np.ndarray, noise: np.ndarray
              ) -> np.ndarray:
        """Channel, flood plain and dykes, from the river frame (s, d) and plain noise."""
        half, west, east = self.geo.river.widths_at(s)
        plain = np.where(d < 0, west, east)
        dd = np.abs(d)
        bed = 2.0 + 2.5 * (dd / half) ** 2
        fp = 6.0 + 2.0 * np.clip((dd - half) / plain, 0, 1) + noise
        fp = 4.5 + (fp - 4.5) * _smoothstep((dd - half) / 30.0)
        out = np.where(dd < half, bed, np.where(dd < half + plain, fp, z))
        crest = DYKE_CREST + 0.25 * noise
        ridge = crest - np.maximum(np.abs(dd - half - plain) - 5.0, 0) / 2.5
        return np.maximum(out, ridge)

    def to_lich(self, z: np.ndarray, dist: np.ndarray) -> np.ndarray:
        valley = 0.8 * np.exp(-(dist / 350.0) ** 2)
        cut = 2.2 * (1 - _smoothstep((dist - TO_LICH_HALF_WIDTH) / 10.0))
        return z - valley - cut

    def lakes(self, z: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        z = z.copy()
        for _, lake in self.geo.lakes:
            x0, y0, x1, y1 = lake.buffer(30).bounds
            m = np.flatnonzero((x >= x0) & (x <= x1) & (y >= y0) & (y <= y1))
            if not len(m):
                continue
            pts = shapely.points(x[m], y[m])
            dist = shapely.distance(lake.exterior, pts)
            inside = shapely.contains_xy(lake, x[m], y[m])
            wet = 3.0 + 2.0 * (1 - _smoothstep(dist / 120.0))
            shore = 5.0 + (z[m] - 5.0) * _smoothstep(dist / 25.0)
            z[m] = np.where(inside, wet, np.minimum(z[m], shore))
        return z

    def at(self, x, y) -> np.ndarray:
        """Ground elevation (m) at points."""
        x, y = np.atleast_1d(np.asarray(x, float)), np.atleast_1d(np.asarray(y, float))
        z = self.base(x, y)
        z = self.to_lich(z, shapely.distance(self.to_lich_line, shapely.points(x, y)))
        s, d = self.river_frame(x, y)
        return self.lakes(self.river(z, s, d, self.plain_noise(x, y)), x, y)


def _bilinear(values: np.ndarray, fx: np.ndarray, fy: np.ndarray) -> np.ndarray:
    """Sample a coarse (ny, nx) grid at fractional indices."""
    ny, nx = values.shape
    i = np.clip(np.floor(fx).astype(int), 0, nx - 2)
    j = np.clip(np.floor(fy).astype(int), 0, ny - 2)
    tx, ty = np.clip(fx - i, 0, 1), np.clip(fy - j, 0, 1)
    top = values[j, i] * (1 - tx) + values[j, i + 1] * tx
    bottom = values[j + 1, i] * (1 - tx) + values[j + 1, i + 1] * tx
    return top * (1 - ty) + bottom * ty


def _window(x: np.ndarray, y: np.ndarray, bounds, margin: float) -> np.ndarray:
    x0, y0, x1, y1 = bounds
    return np.flatnonzero((x >= x0 - margin) & (x <= x1 + margin) &
                          (y >= y0 - margin) & (y <= y1 + margin))


def _coarse(fn, x: np.ndarray, y: np.ndarray, step: float = COARSE) -> list[np.ndarray]:
    """Evaluate ``fn(x, y) -> arrays`` on a coarse grid and interpolate to the points."""
    bx0, by0 = x.min(), y.min()
    gx, gy = np.meshgrid(np.arange(bx0, x.max() + 2 * step, step),
                         np.arange(by0, y.max() + 2 * step, step))
    fx, fy = (x - bx0) / step, (y - by0) / step
    return [_bilinear(v.reshape(gx.shape), fx, fy) for v in fn(gx.ravel(), gy.ravel())]


def _river_on_grid(t: Terrain, z: np.ndarray, x: np.ndarray, y: np.ndarray) -> None:
    plain = shapely.intersection(t.geo.river.between_dykes, t.geo.extent.buffer(500))
    m = _window(x, y, plain.bounds, 300.0)
    s, d, noise = _coarse(lambda a, b: [*t.river_frame(a, b), t.plain_noise(a, b)], x[m], y[m])
    z[m] = t.river(z[m], s, d, noise)


def _to_lich_on_grid(t: Terrain, z: np.ndarray, x: np.ndarray, y: np.ndarray) -> None:
    m = _window(x, y, t.to_lich_line.bounds, 1200.0)
    (dist,) = _coarse(lambda a, b: [shapely.distance(t.to_lich_line, shapely.points(a, b))],
                      x[m], y[m])
    near = dist < 120.0
    dist[near] = shapely.distance(t.to_lich_line, shapely.points(x[m][near], y[m][near]))
    z[m] = t.to_lich(z[m], dist)


def dem_grid(t: Terrain) -> tuple[np.ndarray, rasterio.Affine]:
    """(elevation rows north to south, geotransform) covering the extent at 10 m."""
    x0, y0, x1, y1 = t.geo.bounds
    x0, y0 = np.floor(x0 / PIXEL) * PIXEL, np.floor(y0 / PIXEL) * PIXEL
    x1, y1 = np.ceil(x1 / PIXEL) * PIXEL, np.ceil(y1 / PIXEL) * PIXEL
    width, height = round((x1 - x0) / PIXEL), round((y1 - y0) / PIXEL)
    gx, gy = np.meshgrid(x0 + PIXEL / 2 + PIXEL * np.arange(width),
                         y1 - PIXEL / 2 - PIXEL * np.arange(height))
    x, y = gx.ravel(), gy.ravel()
    (z,) = _coarse(lambda a, b: [t.base(a, b)], x, y, step=50.0)   # smooth: interpolate
    _to_lich_on_grid(t, z, x, y)
    _river_on_grid(t, z, x, y)
    z = t.lakes(z, x, y)
    return z.reshape(height, width).astype(np.float32), from_origin(x0, y1, PIXEL, PIXEL)


def write_dem(path: Path, terrain: Terrain) -> Path:
    z, transform = dem_grid(terrain)
    profile = {"driver": "GTiff", "width": z.shape[1], "height": z.shape[0], "count": 1,
               "dtype": "float32", "crs": UTM48N, "transform": transform, "nodata": NODATA,
               "compress": "deflate", "predictor": 3, "tiled": False}
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(z, 1)
        dst.update_tags(AREA_OR_POINT="Area", DESCRIPTION="Synthetic DEM of inner Hanoi (m)")
    return path
