"""``twin load --check``: read a file against a layer and change nothing.

Per source column: the field it maps to (by name, alias, ``--map`` or the mapping
file), the type read, the empty values; for enum fields every distinct value with its
count, the ones the layer refuses marked; numbers out of the field's range; values of
the wrong type. Then the CRS (read, given or guessed), the extent against the city's
plausible extent (with the swapped-axes hint), invalid and wrong-type geometries and
duplicate ids. :mod:`twin.ingest.check_report` renders it and writes the mapping
template.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import asdict, dataclass
from dataclasses import field as _field
from pathlib import Path

import numpy as np
import shapely

from twin.ingest import geometry as geo
from twin.ingest.area_check import DEFAULT_TOLERANCE, area_mismatches
from twin.ingest.errors import LoadError
from twin.ingest.fields import CONVERT, ID_COLUMNS, _blank, field_columns
from twin.ingest.readers import SourceData, parse_crs
from twin.ingest.sources import SourceOptions, open_source
from twin.registry import FieldSpec, Layer

LISTED = 50                      # examples kept per list
GUESSES = ("EPSG:4326", "EPSG:3405", "EPSG:32648")   # and the city's zone, second


@dataclass
class ColumnCheck:
    column: str
    field: str | None = None
    matched_by: str | None = None        # name, alias, --map, mapping
    type: str = "empty"
    nulls: int = 0
    values: dict[str, int] | None = None  # enum fields: every distinct value
    refused: list[str] = _field(default_factory=list)        # distinct values refused
    out_of_range: list[str] = _field(default_factory=list)   # "feature 3: 20 above ..."
    invalid: list[str] = _field(default_factory=list)        # wrong type


@dataclass
class CheckReport:
    file: str
    layer: str
    features: int
    columns: list[ColumnCheck] = _field(default_factory=list)
    missing_required: list[str] = _field(default_factory=list)
    unfilled_fields: list[str] = _field(default_factory=list)
    encoding: str | None = None
    crs: str | None = None
    crs_from: str = ""
    extent: list[float] | None = None
    plausible_extent: list[float] | None = None
    outside: list[str] = _field(default_factory=list)
    axes_swapped: bool = False
    invalid_geometries: list[str] = _field(default_factory=list)
    wrong_geometry_types: list[str] = _field(default_factory=list)
    missing_geometries: list[str] = _field(default_factory=list)
    id_column: str | None = None
    duplicate_ids: list[str] = _field(default_factory=list)
    area_mismatches: list[str] = _field(default_factory=list)
    rejected: list[str] = _field(default_factory=list)
    notes: list[str] = _field(default_factory=list)
    mapping: str | None = None
    template: str | None = None

    @property
    def ok(self) -> bool:
        """Whether the load would go through as the file stands."""
        return not (self.missing_required or self.outside or self.wrong_geometry_types
                    or self.duplicate_ids or any(c.refused or c.out_of_range or c.invalid
                                                 for c in self.columns))

    def as_dict(self) -> dict:
        return {**asdict(self), "ok": self.ok}


def _kind(values: list) -> str:
    present = [v for v in values if not _blank(v)]
    if not present:
        return "empty"
    if all(isinstance(v, (bool, np.bool_)) for v in present):
        return "boolean"
    if all(isinstance(v, (int, np.integer)) or (isinstance(v, float) and v.is_integer())
           for v in present):
        return "integer"
    if all(isinstance(v, (int, float, np.integer, np.floating)) for v in present):
        return "number"
    return "text"


def _value_key(value) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _allowed(spec: FieldSpec, value) -> bool:
    """Whether the field's enum and pattern take the (converted) value."""
    if spec.enum is not None and value not in spec.enum:
        return False
    return spec.pattern is None or not isinstance(value, str) or bool(
        re.search(spec.pattern, value))


def check_column(check: ColumnCheck, spec: FieldSpec, values: list, labels: list[str]) -> None:
    """Fill the value checks of a mapped column against its field."""
    counts: Counter = Counter()
    refused: dict[str, None] = {}
    for value, label in zip(values, labels, strict=True):
        if _blank(value):
            continue
        key = _value_key(value)
        counts[key] += 1
        try:
            out = CONVERT[spec.type](value)
        except (ValueError, TypeError):
            check.invalid.append(f"{label}: {key!r} is not a valid {spec.type.value}")
            continue
        if not _allowed(spec, out):
            refused[key] = None
        if spec.min is not None and isinstance(out, (int, float)) and out < spec.min:
            check.out_of_range.append(f"{label}: {key} is below the minimum {spec.min:g}")
        elif spec.max is not None and isinstance(out, (int, float)) and out > spec.max:
            check.out_of_range.append(f"{label}: {key} is above the maximum {spec.max:g}")
    if spec.enum is not None:
        check.values = dict(counts.most_common())
    check.refused = list(refused)


def _columns(report: CheckReport, layer: Layer, data: SourceData,
             overrides: dict[str, str]) -> dict[str, str]:
    how: dict[str, str] = {}
    fields = field_columns(layer, list(data.columns), overrides, how)
    by_column = {src: fld for fld, src in fields.items()}
    for name, values in data.columns.items():
        check = ColumnCheck(name, type=_kind(values), nulls=sum(map(_blank, values)))
        fld = by_column.get(name)
        if fld is not None:
            check.field = fld
            check.matched_by = "mapping" if fld in data.renamed else how.get(fld)
            if fld in data.renamed and data.renamed[fld] != name:
                check.column = f"{data.renamed[fld]} (as {name})"
            check_column(check, layer.fields[fld], values, data.row_labels)
        report.columns.append(check)
    report.missing_required = [n for n, s in layer.fields.items()
                               if s.required and n not in fields]
    report.unfilled_fields = [n for n in layer.fields if n not in fields]
    return fields


def _crs(report: CheckReport, data: SourceData, crs: str | None, extent,
         local: str | None = None):
    if crs:
        report.crs, report.crs_from = crs, "given (--crs or the mapping)"
        return parse_crs(crs)
    if data.crs is not None:
        dgn = str(data.label).lower().endswith(".dgn")
        report.crs = data.crs.to_string()
        report.crs_from = ("the city's cadastral zone: a DGN sheet names none" if dgn
                           else "read from the file")
        return data.crs
    bounds = shapely.bounds(data.geometries)
    for guess in (GUESSES[0], *([local] if local else []), *GUESSES[1:]):  # local: the city's
        inside = _inside(bounds, parse_crs(guess), extent)
        if inside is not None and inside.all():
            report.crs = guess
            report.crs_from = ("guessed: the file names none; its coordinates fall inside "
                               "the city in it (the load reads it as EPSG:4326 unless --crs "
                               "or the mapping's crs says otherwise)")
            return parse_crs(guess)
    report.crs, report.crs_from = "EPSG:4326", "assumed: the file names none"
    return parse_crs("EPSG:4326")


def _inside(bounds: np.ndarray, crs, extent) -> np.ndarray | None:
    ok = ~np.isnan(bounds[:, 0])
    if not ok.any():
        return None
    corners = np.asarray(shapely.points(bounds[ok][:, :2]))
    lonlat = shapely.bounds(geo.to_crs(corners, crs, geo.CRS84))   # inf where PROJ cannot
    x0, y0, x1, y1 = extent
    return ((lonlat[:, 0] >= x0) & (lonlat[:, 0] <= x1) & (lonlat[:, 1] >= y0)
            & (lonlat[:, 1] <= y1))


def _geometry(report: CheckReport, layer: Layer, data: SourceData, source_crs, extent
              ) -> np.ndarray:
    geoms, labels = data.geometries, data.row_labels
    missing = np.array([g is None or g.is_empty for g in geoms], dtype=bool)
    report.missing_geometries = [labels[i] for i in np.flatnonzero(missing)][:LISTED]
    present = np.flatnonzero(~missing)
    valid = shapely.is_valid(geoms[present])
    report.invalid_geometries = [f"{labels[i]}: {shapely.is_valid_reason(geoms[i])}"
                                 for i in present[~valid]][:LISTED]
    try:
        geo.check_types(geoms, layer.geometry, labels)
    except LoadError as exc:
        report.wrong_geometry_types = exc.problems[:LISTED]
    in84 = geo.to_crs(geoms[present], source_crs, geo.CRS84)
    box = shapely.total_bounds(in84)
    report.extent = None if np.isnan(box).any() else [round(float(v), 6) for v in box]
    report.plausible_extent = [float(v) for v in extent]
    try:
        geo.check_extent(in84, extent, [labels[i] for i in present])
    except LoadError as exc:
        report.outside = exc.problems[:LISTED]
        report.axes_swapped = "swapped" in exc.args[0]
    return in84


def _ids(report: CheckReport, layer: Layer, data: SourceData, fields: dict[str, str],
         id_column: str | None) -> None:
    lower = {c.lower(): c for c in data.columns}
    name = id_column or (fields.get(layer.id_field) if layer.id_field else None) or next(
        (lower[c] for c in ID_COLUMNS if c in lower), None)
    report.id_column = name
    if name is not None and name in data.columns:
        keys = [_value_key(v) for v in data.columns[name] if not _blank(v)]
        what = "id"
    else:
        keys = [bytes(w).hex() for w in shapely.to_wkb(data.geometries)]
        what = "geometry (ids are made from it)"
    report.duplicate_ids = [f"{what} {k[:40]!r} appears {n} times"
                            for k, n in Counter(keys).items() if n > 1][:LISTED]


def check_file(layer: Layer, path: Path, *, extent, options: SourceOptions | None = None,
               overrides: dict[str, str] | None = None, id_column: str | None = None,
               area_tolerance: float = DEFAULT_TOLERANCE) -> CheckReport:
    """Read ``path`` for ``layer`` and report what a load would meet (nothing written).
    Files that cannot be read at all, and mappings that name unknown fields or values,
    raise LoadError as a load would."""
    options = options or SourceOptions()
    data = open_source(Path(path), layer, options)
    report = CheckReport(str(path), layer.name, len(data), encoding=data.encoding,
                         notes=list(data.notes), rejected=list(data.rejected),
                         mapping=options.mapping.source if options.mapping else None)
    fields = _columns(report, layer, data, overrides or {})
    if len(data) == 0:
        return report
    source_crs = _crs(report, data, options.effective_crs(), extent, options.local_crs)
    in84 = _geometry(report, layer, data, source_crs, extent)
    present = np.flatnonzero([g is not None and not g.is_empty for g in data.geometries])
    report.area_mismatches = area_mismatches(data, present, in84, area_tolerance)[:LISTED]
    _ids(report, layer, data, fields, id_column or (options.mapping.id_column
                                                   if options.mapping else None))
    return report
