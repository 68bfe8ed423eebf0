"""Cadastral attributes of the parcels, in the VN-2000 columns a land office exports:
map sheet (tờ bản đồ), parcel number (số thửa), land use, address and holder."""

from __future__ import annotations

from datetime import date

import numpy as np
import shapely

from twin.demo.admin import Admin
from twin.demo.frame import REFERENCE_DATE, VN2000_TM3_482, random_dates, to_crs
from twin.demo.geography import Geography
from twin.demo.names import (
    DISTRICTS,
    FAMILY_NAMES,
    FEMALE_GIVEN,
    FEMALE_MIDDLE,
    INSTITUTIONS,
    MALE_GIVEN,
    MALE_MIDDLE,
)
from twin.demo.parcels import Parcels

SHEET_SIZE = 500.0   # metres: one cadastral map sheet
PERSONAL = {"ODT", "ONT", "CLN", "LUC", "BHK", "NTS"}


def sheets_and_numbers(centroids: np.ndarray, extent_vn: shapely.Polygon
                       ) -> tuple[np.ndarray, np.ndarray]:
    """Map sheets numbered row by row from the north-west; parcels numbered within a sheet
    from north to south, west to east."""
    x0, _, x1, y1 = extent_vn.bounds
    ncols = int(np.ceil((x1 - x0) / SHEET_SIZE))
    row = np.floor((y1 - centroids[:, 1]) / SHEET_SIZE).astype(int)
    col = np.floor((centroids[:, 0] - x0) / SHEET_SIZE).astype(int)
    sheet = row * ncols + col + 1
    order = np.lexsort((centroids[:, 0], -np.round(centroids[:, 1] / 20), sheet))
    sorted_sheet = sheet[order]
    start = np.r_[0, np.flatnonzero(np.diff(sorted_sheet)) + 1]
    first = np.repeat(start, np.diff(np.r_[start, len(order)]))
    number = np.empty(len(order), dtype=int)
    number[order] = np.arange(len(order)) - first + 1
    return sheet, number


def person_names(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Vietnamese full names and whether each person is male."""
    fam, w = zip(*FAMILY_NAMES, strict=False)
    family = np.asarray(fam, dtype=object)[rng.choice(len(fam), n, p=np.asarray(w) / sum(w))]
    male = rng.random(n) < 0.55
    def pick(options: tuple[str, ...]) -> np.ndarray:
        return np.asarray(options, dtype=object)[rng.integers(0, len(options), n)]
    middle = np.where(male, pick(MALE_MIDDLE), pick(FEMALE_MIDDLE))
    given = np.where(male, pick(MALE_GIVEN), pick(FEMALE_GIVEN))
    full = [f"{f} {m} {g}" for f, m, g in zip(family, middle, given, strict=False)]
    return np.array(full, dtype=object), male


def citizen_ids(rng: np.random.Generator, male: np.ndarray) -> np.ndarray:
    """12-digit citizen ID numbers: province 001 (Hà Nội), sex/century, birth year, serial."""
    year = rng.integers(1940, 2004, len(male))
    digit = np.where(year >= 2000, 2, 0) + np.where(male, 0, 1)
    serial = rng.integers(0, 1_000_000, len(male))
    return np.array([f"001{d}{y % 100:02d}{s:06d}"
                     for d, y, s in zip(digit, year, serial, strict=False)], dtype=object)


def _holders(use: np.ndarray, ward: np.ndarray, district: np.ndarray, admin: Admin,
             rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    n = len(use)
    names, male = person_names(rng, n)
    ids = citizen_ids(rng, male)
    org = ~np.isin(use, list(PERSONAL)) & ~((use == "TMD") & (rng.random(n) < 0.5))
    for k in np.flatnonzero(org):
        templates = INSTITUTIONS.get(use[k], INSTITUTIONS["TSC"])
        w = admin.wards[ward[k]].name.removeprefix("Phường ")
        d = DISTRICTS[district[k]].name
        names[k] = templates[rng.integers(len(templates))].format(w=w, d=d)
        ids[k] = f"01{rng.integers(0, 100_000_000):08d}"   # a tax code
    return names, ids


def _addresses(parcels: Parcels, street_names: np.ndarray, district: np.ndarray,
               rng: np.random.Generator) -> np.ndarray:
    street = street_names[parcels.street_edge]
    number = rng.integers(1, 320, len(street))
    alley = rng.integers(1, 60, len(street))
    out = []
    for s, num, al, front, d in zip(street, number, alley, parcels.frontage, district,
                                    strict=False):
        place = f"{num} {s}" if front or str(s).startswith(("Ngõ", "Ngách")) \
            else f"{num} Ngõ {al} {s}"
        out.append(f"{place}, {DISTRICTS[d].name}")
    return np.asarray(out, dtype=object)


def parcel_table(parcels: Parcels, street_names: np.ndarray, geo: Geography, admin: Admin,
                 rng: np.random.Generator) -> tuple[np.ndarray, dict[str, np.ndarray], np.ndarray]:
    """(geometries in EPSG:5897, columns, external ids), sorted by sheet and number."""
    cent = shapely.get_coordinates(shapely.centroid(parcels.geoms))
    district = np.maximum(admin.district_index(cent[:, 0], cent[:, 1]), 0)
    ward = np.maximum(admin.ward_index(cent[:, 0], cent[:, 1]), 0)
    geoms = to_crs(parcels.geoms, VN2000_TM3_482)
    extent_vn = to_crs(np.array([geo.extent], dtype=object), VN2000_TM3_482)[0]
    sheet, number = sheets_and_numbers(shapely.get_coordinates(shapely.centroid(geoms)),
                                       extent_vn)
    owners, id_numbers = _holders(parcels.use, ward, district, admin, rng)
    cols = {
        "to_ban_do": sheet.astype(np.int32), "so_thua": number.astype(np.int32),
        "loai_dat": parcels.use.astype(object),
        "address": _addresses(parcels, street_names, district, rng),
        "owner_name": owners, "owner_id_number": id_numbers,
        "registered_on": random_dates(rng, len(sheet), date(1994, 1, 1), REFERENCE_DATE, 1.4),
    }
    order = np.lexsort((number, sheet))
    ids = np.array([f"parcel-{s:04d}-{n:04d}"
                    for s, n in zip(sheet[order], number[order], strict=False)], dtype=object)
    return geoms[order], {k: v[order] for k, v in cols.items()}, ids
