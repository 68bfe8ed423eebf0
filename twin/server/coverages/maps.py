"""Map grids: the output grid of a ``/map`` request and of a WebMercatorQuad tile, and
the tileset documents (OGC API – Tiles, map tiles as PNG)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from affine import Affine
from rasterio.transform import from_bounds
from rasterio.warp import transform_bounds
from starlette.datastructures import QueryParams

from twin.server.coverages.params import CRS84, positive_int
from twin.server.errors import InvalidParameter
from twin.server.params.crs import raster_crs
from twin.server.params.extent import check_bbox
from twin.server.params.values import parse_bbox

WORLD = 20037508.342789244  # half the WebMercatorQuad extent, metres
TILE = 256
TMS = "WebMercatorQuad"
TMS_URI = "http://www.opengis.net/def/tilematrixset/OGC/1.0/WebMercatorQuad"


@dataclass
class MapGrid:
    crs: str
    bounds: tuple[float, float, float, float]
    width: int
    height: int

    @property
    def transform(self) -> Affine:
        return from_bounds(*self.bounds, self.width, self.height)


def map_grid(params: QueryParams, crs84_bbox: tuple, max_side: int) -> MapGrid:
    """The grid of a map: ``crs`` (default CRS84), ``bbox`` in ``bbox-crs`` (default
    CRS84; default the collection's extent), ``width``/``height`` (default 1024 on the
    longer side, the other from the bbox's aspect)."""
    crs = raster_crs(params["crs"], "crs") if "crs" in params else CRS84
    bbox_crs = raster_crs(params["bbox-crs"], "bbox-crs") if "bbox-crs" in params else CRS84
    bbox = check_bbox(parse_bbox(params["bbox"]), bbox_crs, xy=True) if "bbox" in params \
        else tuple(crs84_bbox)
    if bbox_crs != crs:
        try:
            bbox = transform_bounds(bbox_crs, crs, *bbox, densify_pts=21)
        except Exception:
            raise InvalidParameter("bbox: cannot be expressed in the map's crs") from None
    if not all(math.isfinite(v) for v in bbox) or bbox[2] <= bbox[0] or bbox[3] <= bbox[1]:
        raise InvalidParameter("bbox: empty or not finite in the map's crs")
    width = positive_int(params["width"], "width", max_side) if "width" in params else None
    height = positive_int(params["height"], "height", max_side) if "height" in params else None
    aspect = (bbox[2] - bbox[0]) / (bbox[3] - bbox[1])
    if width is None and height is None:
        width, height = (1024, round(1024 / aspect)) if aspect >= 1 else \
            (round(1024 * aspect), 1024)
    width = width or round(height * aspect)
    height = height or round(width / aspect)
    width, height = max(1, width), max(1, height)
    if width > max_side or height > max_side:
        raise InvalidParameter(f"width/height: {width}×{height} is larger than the limit "
                               f"{max_side}×{max_side}; ask for a smaller image")
    return MapGrid(crs, tuple(bbox), width, height)


def tile_grid(z: int, x: int, y: int) -> MapGrid:
    """The 256 × 256 EPSG:3857 grid of a WebMercatorQuad tile."""
    size = 2 * WORLD / 2 ** z
    minx, maxy = -WORLD + x * size, WORLD - y * size
    return MapGrid("EPSG:3857", (minx, maxy - size, minx + size, maxy), TILE, TILE)


def tile_lonlat(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    """CRS84 bounds of a tile (for a cheap overlap test before any file is opened)."""
    n = 2 ** z

    def lat(row: int) -> float:
        return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * row / n))))
    return x / n * 360 - 180, lat(y + 1), (x + 1) / n * 360 - 180, lat(y)


def overlaps(a: tuple, b: tuple) -> bool:
    return a[0] <= b[2] and b[0] <= a[2] and a[1] <= b[3] and b[1] <= a[3]


def tilesets_doc(base: str, cid: str, title: str, bbox: tuple) -> dict:
    """``/map/tiles``: the one tileset, WebMercatorQuad, PNG."""
    return {"tilesets": [tileset_doc(base, cid, title, bbox)]}


def tileset_doc(base: str, cid: str, title: str, bbox: tuple) -> dict:
    href = f"{base}/collections/{cid}/map/tiles/{TMS}"
    return {
        "title": f"{title}: map tiles", "dataType": "map", "crs":
            "http://www.opengis.net/def/crs/EPSG/0/3857",
        "tileMatrixSetURI": TMS_URI,
        "boundingBox": {"lowerLeft": list(bbox[:2]), "upperRight": list(bbox[2:]),
                        "crs": "http://www.opengis.net/def/crs/OGC/1.3/CRS84"},
        "links": [
            {"rel": "self", "type": "application/json", "href": href},
            {"rel": "http://www.opengis.net/def/rel/ogc/1.0/tiling-scheme",
             "type": "application/json", "href": f"{base}/tileMatrixSets/{TMS}"},
            {"rel": "item", "type": "image/png", "templated": True,
             "href": href + "/{tileMatrix}/{tileRow}/{tileCol}"},
        ],
    }
