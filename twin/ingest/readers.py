"""Read vector sources into one neutral shape: columns, WKB geometries and a CRS.

GeoJSON, GeoPackage and (zipped) Shapefile go through GDAL (pyogrio); CSV is
read here so that errors can name the row.
"""

from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyogrio
import shapely
from pyogrio.errors import DataLayerError, DataSourceError
from pyproj import CRS
from pyproj.exceptions import CRSError

from twin.ingest.errors import LoadError, check_utf8
from twin.ingest.legacy import decode_columns, forced_encoding

WKT_COLUMNS = ("wkt", "geometry", "geom", "the_geom", "shape")
LON_COLUMNS = ("lon", "lng", "long", "longitude", "x", "kinh_do")
LAT_COLUMNS = ("lat", "latitude", "y", "vi_do")


@dataclass
class SourceData:
    """Features read from a file: ``columns[name][i]`` and ``geometries[i]`` (shapely)."""

    label: str
    columns: dict[str, list] = field(default_factory=dict)
    geometries: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=object))
    crs: CRS | None = None
    row_labels: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)      # carried into the load's report
    rejected: list[str] = field(default_factory=list)   # features the reader left out
    encoding: str | None = None                          # legacy text decoded from it
    renamed: dict[str, str] = field(default_factory=dict)  # field -> source column (mapping)

    def __len__(self) -> int:
        return len(self.geometries)


def parse_crs(value: str, what: str = "--crs") -> CRS:
    try:
        return CRS.from_user_input(value)
    except CRSError:
        raise LoadError(f"{what}: unknown CRS {value!r} (use an EPSG code such as "
                        "EPSG:4326, or the city's local zone: crs.local of the city "
                        "profile)") from None


def read_source(path: Path, source_layer: str | None = None,
                default_layer: str | None = None, encoding: str | None = None) -> SourceData:
    """Read any supported vector file. Shapefile attributes in a legacy Vietnamese
    encoding (TCVN3, VNI, Windows-1258) are detected and decoded; ``encoding`` forces one
    (Shapefile and CSV)."""
    path = Path(path)
    if not path.exists():
        raise LoadError(f"{path}: no such file")
    if path.stat().st_size == 0:
        raise LoadError(f"{path}: the file is empty")
    suffix = path.suffix.lower()
    forced = forced_encoding(encoding)
    if forced and suffix not in (".csv", ".txt", ".zip", ".shp"):
        raise LoadError(f"--encoding applies to Shapefiles, DGN sheets and CSV files; "
                        f"{suffix} text is UTF-8 by definition")
    if suffix in (".csv", ".txt"):
        return read_csv(path, forced)
    if suffix in (".geojson", ".json"):
        check_utf8(path, path.read_bytes())
        return read_gdal(path, str(path), None)
    if suffix == ".zip":
        member = _zipped_shapefile(path)
        return _legacy_text(read_gdal(path, member, source_layer, raw_text=True), forced,
                            _declared(path, member))
    if suffix == ".shp":
        return _legacy_text(read_gdal(path, str(path), source_layer, raw_text=True), forced,
                            _declared(path))
    if suffix in (".gpkg", ".fgb", ".gml", ".kml"):
        return read_gdal(path, str(path), source_layer or _pick_layer(path, default_layer))
    raise LoadError(f"{path}: unsupported file type {suffix!r} (GeoJSON, GeoPackage, "
                    "zipped Shapefile, CSV or a GTFS zip)")


def _declared(path: Path, member: str | None = None) -> str | None:
    """The code page a Shapefile's .cpg declares (``member``: the .shp inside a zip)."""
    try:
        if member is None:
            cpg = path.with_suffix(".cpg")
            return cpg.read_text("ascii", "replace").strip() if cpg.exists() else None
        wanted = member.rsplit("/", 1)[-1][: -len(".shp")].lower() + ".cpg"
        with zipfile.ZipFile(path) as archive:
            name = next((n for n in archive.namelist()
                         if n.rsplit("/", 1)[-1].lower() == wanted), None)
            return archive.read(name).decode("ascii", "replace").strip() if name else None
    except (OSError, zipfile.BadZipFile):
        return None


def _legacy_text(data: SourceData, forced: str | None, declared: str | None) -> SourceData:
    data.columns, data.encoding = decode_columns(data.columns, data.row_labels, data.label,
                                                 forced=forced, declared=declared)
    if data.encoding not in (None, "utf-8"):
        data.notes.append(f"text read as {data.encoding.upper()} and converted to Unicode")
    return data


def _zipped_shapefile(path: Path) -> str:
    try:
        with zipfile.ZipFile(path) as archive:
            shps = [n for n in archive.namelist() if n.lower().endswith(".shp")]
    except zipfile.BadZipFile:
        raise LoadError(f"{path}: not a valid zip archive (truncated?)") from None
    if len(shps) != 1:
        raise LoadError(f"{path}: expected exactly one .shp in the archive, found {len(shps)}")
    return f"/vsizip/{path.resolve()}/{shps[0]}"


def _pick_layer(path: Path, wanted: str | None) -> str | None:
    try:
        names = [row[0] for row in pyogrio.list_layers(path)]
    except (DataSourceError, DataLayerError) as exc:
        raise LoadError(f"{path}: cannot open: {_gdal_message(exc)}") from None
    if len(names) <= 1:
        return None
    if wanted in names:
        return wanted
    raise LoadError(f"{path}: holds several layers ({', '.join(names)}); name one with "
                    "--source-layer")


def _gdal_message(exc: Exception) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text.replace("\n", " ")[:300]


def read_gdal(path: Path, source: str, layer: str | None, raw_text: bool = False) -> SourceData:
    """Read through GDAL; ``raw_text``: text as its bytes (through latin-1), undecoded."""
    try:
        meta, fids, wkb, values = pyogrio.raw.read(
            source, layer=layer, return_fids=True, datetime_as_string=True,
            encoding="latin1" if raw_text else None)
    except (DataSourceError, DataLayerError, RuntimeError) as exc:
        raise LoadError(f"{path}: cannot read (truncated or not a valid file?): "
                        f"{_gdal_message(exc)}") from None
    except UnicodeDecodeError as exc:
        raise LoadError(f"{path}: text that is not valid in its declared encoding: {exc}") from None
    crs = None
    if meta.get("crs"):
        crs = parse_crs(meta["crs"], f"{path}: declared CRS")
    names = list(meta["fields"])
    columns = {name: list(values[i]) for i, name in enumerate(names)}
    geoms = shapely.from_wkb(wkb, on_invalid="ignore") if wkb is not None else None
    if geoms is None:
        raise LoadError(f"{path}: has no geometry column")
    labels = [str(f) for f in fids] if fids is not None else [str(i) for i in range(len(geoms))]
    return SourceData(label=str(path), columns=columns, geometries=np.asarray(geoms),
                      crs=crs, row_labels=[f"feature {lab}" for lab in labels])


def read_csv(path: Path, encoding: str | None = None) -> SourceData:
    data = path.read_bytes()
    if encoding:
        text = _decode_forced(path, data, encoding)
    else:
        check_utf8(path, data)
        text = data.decode("utf-8-sig")
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [h.strip() for h in next(reader)]
        rows = list(reader)
    except StopIteration:
        raise LoadError(f"{path}: the file is empty") from None
    except csv.Error as exc:
        raise LoadError(f"{path}: malformed CSV: {exc}") from None
    rows = [r for r in rows if any(cell.strip() for cell in r)]
    bad = [f"row {i + 2}: {len(r)} values, header has {len(header)}"
           for i, r in enumerate(rows) if len(r) != len(header)]
    if bad:
        raise LoadError(f"{path}: rows with the wrong number of values (truncated?)", bad)
    lower = {h.lower(): i for i, h in enumerate(header)}
    geoms, used = _csv_geometries(path, header, lower, rows)
    columns = {h: [r[i] for r in rows] for i, h in enumerate(header) if i not in used}
    return SourceData(label=str(path), columns=columns, geometries=geoms, crs=None,
                      row_labels=[f"row {i + 2}" for i in range(len(rows))])


def _decode_forced(path: Path, data: bytes, encoding: str) -> str:
    from twin.ingest.vnencodings import decode

    try:
        return decode(data.removeprefix(b"\xef\xbb\xbf"), encoding)
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise LoadError(f"{path}: byte 0x{data[exc.start]:02x} at line {line} is not "
                        f"{encoding} (--encoding)") from None


def _csv_geometries(path, header, lower, rows) -> tuple[np.ndarray, set[int]]:
    wkt = next((lower[c] for c in WKT_COLUMNS if c in lower), None)
    if wkt is not None:
        values = [r[wkt].strip() or None for r in rows]
        geoms = shapely.from_wkt(values, on_invalid="ignore")
        bad = [f"row {i + 2}: cannot parse WKT {v[:60]!r}" for i, (v, g)
               in enumerate(zip(values, geoms, strict=False)) if v and g is None]
        if bad:
            raise LoadError(f"{path}: bad WKT in column {header[wkt]!r}", bad)
        return np.asarray(geoms), {wkt}
    lon = next((lower[c] for c in LON_COLUMNS if c in lower), None)
    lat = next((lower[c] for c in LAT_COLUMNS if c in lower), None)
    if lon is None or lat is None:
        raise LoadError(f"{path}: no geometry: expected a WKT column ({', '.join(WKT_COLUMNS)}) "
                        f"or lon/lat columns ({'/'.join(LON_COLUMNS)}, {'/'.join(LAT_COLUMNS)})")
    xs, ys, bad = np.full(len(rows), np.nan), np.full(len(rows), np.nan), []
    for i, r in enumerate(rows):
        try:
            xs[i], ys[i] = float(r[lon]), float(r[lat])
        except ValueError:
            bad.append(f"row {i + 2}: lon/lat {r[lon]!r}, {r[lat]!r} are not numbers")
    if bad:
        raise LoadError(f"{path}: bad coordinates", bad)
    return np.asarray(shapely.points(xs, ys)), {lon, lat}
