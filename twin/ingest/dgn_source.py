"""A DGN v7 cadastral sheet as a source for the ordinary loader (:mod:`twin.cadastre`).

The sheet's parcels become rows with ``map_sheet``, ``parcel_no``, ``land_use``, the
stated area (``dien_tich``, compared with the computed one by the loader) and an ``id``
``<sheet>-<parcel>`` (so that a sheet loaded again updates its parcels). Texts are
decoded once for the whole sheet (TCVN3, VNI, Windows-1258 or UTF-8; ``--encoding``
forces one). Coordinates are in the city's cadastral VN-2000 / TM-3 zone (the city
profile's ``crs.local``; Hà Nội: central meridian 105°00′, k = 0.9999, EPSG:5897) unless
``--crs`` names another.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import shapely

from twin.cadastre.errors import CadastreError
from twin.cadastre.sheet import Sheet, convert
from twin.ingest.errors import LoadError
from twin.ingest.legacy import decode_texts
from twin.ingest.readers import SourceData, parse_crs
from twin.ingest.vntext import NAMES
from twin.registry import Layer

DEFAULT_BOUNDARY_LEVEL = 10
PARCEL_FIELDS = ("map_sheet", "parcel_no")


@dataclass(frozen=True)
class DgnOptions:
    boundary_level: int = DEFAULT_BOUNDARY_LEVEL
    label_level: int | None = None


class _Decoder:
    """Decodes the sheet's texts with one encoding for the whole sheet."""

    def __init__(self, path: Path, forced: str | None):
        self.path, self.forced, self.encoding = path, forced, None

    def __call__(self, raws: list[bytes], names: list[str]) -> list[str]:
        values = [r.decode("latin-1") for r in raws]
        out, self.encoding, problems = decode_texts(values, names, "text",
                                                    forced=self.forced)
        if problems:
            raise LoadError(f"{self.path}: {len(problems)} text element(s) in another "
                            "encoding than the rest of the sheet, or in none (--encoding "
                            "forces one)", problems)
        return out


def read_dgn(path: Path, layer: Layer, *, options: DgnOptions | None = None,
             encoding: str | None = None, crs: str | None = None,
             local_crs: str | None = None) -> SourceData:
    """The parcels of a DGN sheet, as rows for ``layer`` (land_parcels); coordinates in
    ``crs``, else the city's cadastral zone ``local_crs`` (the city profile's
    ``crs.local``; one of the two is required)."""
    options = options or DgnOptions()
    if not layer.geometry.endswith("Polygon") or any(f not in layer.fields
                                                     for f in PARCEL_FIELDS):
        raise LoadError(f"{path}: a DGN sheet is read as cadastral parcels: load it into "
                        f"land_parcels, not {layer.name}")
    codes = set(layer.fields["land_use"].enum or ()) if "land_use" in layer.fields else set()
    decoder = _Decoder(Path(path), encoding)
    try:
        sheet = convert(Path(path), boundary_level=options.boundary_level, codes=codes,
                        decode=decoder, label_level=options.label_level)
    except CadastreError as exc:
        raise LoadError(str(exc), exc.problems) from None
    if not sheet.parcels:
        raise LoadError(f"{path}: none of its {sheet.polygons} parcel polygon(s) could be "
                        "read", sheet.rejected + sheet.notes)
    if not (crs or local_crs):
        raise LoadError(f"{path}: a DGN sheet names no CRS: give --crs, or set the city "
                        "profile's crs.local (its cadastral zone)")
    return _source(sheet, decoder.encoding, crs, local_crs)


def _source(sheet: Sheet, encoding: str | None, crs: str | None, local: str) -> SourceData:
    parcels = sheet.parcels
    columns = {"map_sheet": [sheet.sheet] * len(parcels),
               "parcel_no": [p.parcel_no for p in parcels],
               "land_use": [p.land_use for p in parcels],
               "dien_tich": [p.stated_area for p in parcels]}
    if sheet.sheet is not None:
        columns["id"] = [f"{sheet.sheet}-{p.parcel_no}" for p in parcels]
    labels = [f"parcel {p.parcel_no} (label element{'s' if len(p.elements) > 1 else ''} "
              f"{', '.join(map(str, p.elements))})" for p in parcels]
    notes = [f"{sheet.polygons} parcel polygon(s) built from the boundaries; "
             f"{len(parcels)} labelled"]
    if sheet.sheet is not None:
        notes.append(f"sheet {sheet.sheet} from the {sheet.sheet_from}")
    if encoding not in (None, "utf-8"):
        notes.append(f"texts read as {NAMES[encoding]} and converted to Unicode")
    notes.append(f"coordinates read as {crs or _name(local)}" + ("" if crs else
                 " (the city's cadastral VN-2000 / TM-3 zone; --crs names another)"))
    geoms = np.asarray([shapely.multipolygons([p.polygon]) for p in parcels], dtype=object)
    return SourceData(label=str(sheet.path), columns=columns, geometries=geoms,
                      crs=parse_crs(crs or local), row_labels=labels,
                      notes=notes + sheet.notes, rejected=list(sheet.rejected),
                      encoding=encoding)


def _name(crs: str) -> str:
    text = parse_crs(crs).to_string()
    return text if len(text) < 40 else parse_crs(crs).name
