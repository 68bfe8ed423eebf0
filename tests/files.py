"""Writers for small real input files used by the loader tests."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pyogrio.raw
import rasterio
import shapely
from rasterio.transform import from_origin

HOAN_KIEM = (105.8523, 21.0287)


def feature(geometry, **props) -> dict:
    return {"type": "Feature", "properties": props, "geometry": geometry}


def write_geojson(path: Path, features: list[dict]) -> Path:
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features},
                               ensure_ascii=False), encoding="utf-8")
    return path


def road(i: int, x0=105.84, y0=21.02, **extra) -> dict:
    x, y = x0 + (i % 100) * 0.001, y0 + (i // 100) * 0.001
    coords = [[x, y], [x + 0.0008, y + 0.0005]]
    props = {"id": f"r{i}", "name": f"Phố {i}", "road_class": "residential", **extra}
    return feature({"type": "LineString", "coordinates": coords}, **props)


def write_gdal(path: Path, geoms, columns: dict[str, list], crs: str, driver: str,
               layer: str | None = None, geometry_type: str = "Unknown") -> Path:
    wkb = shapely.to_wkb(np.asarray(geoms, dtype=object))
    fields = list(columns)
    values = [np.asarray(columns[f], dtype=object) for f in fields]
    pyogrio.raw.write(path, wkb, fields=fields, field_data=values, crs=crs, driver=driver,
                      layer=layer, geometry_type=geometry_type, encoding="UTF-8")
    return path


def zip_shapefile(shp: Path, dest: Path) -> Path:
    with zipfile.ZipFile(dest, "w") as archive:
        for part in shp.parent.glob(shp.stem + ".*"):
            archive.write(part, part.name)
    return dest


def write_csv(path: Path, header: list[str], rows: list[list]) -> Path:
    import csv

    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def write_tiff(path: Path, data: np.ndarray, crs: str, origin: tuple[float, float],
               res: float, nodata: float | None = -9999) -> Path:
    profile = dict(driver="GTiff", width=data.shape[1], height=data.shape[0], count=1,
                   dtype=data.dtype, crs=crs, transform=from_origin(*origin, res, res),
                   nodata=nodata)
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data, 1)
    return path
