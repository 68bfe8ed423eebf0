"""The administrative map of 1 July 2025: districts abolished, communes and wards formed
by merging adjacent former wards.

Since 1 July 2025 Hà Nội has no districts; its 126 commune-level units (51 wards, 75
communes) lie directly under the city. The demo's inner city becomes wards only. Each
former district's wards are grown into the new units from seeds far apart, a ward joining
the smallest neighbouring group, so every new ward is a union of adjacent former wards.
The names follow the reform's (Phường Hoàn Kiếm, Phường Cửa Nam, Phường Ba Đình, …); which
former wards each one takes is synthetic. The former districts and wards are in force
until 30 June 2025 (``valid_to`` 2025-07-01, an exclusive end), the new wards from
1 July 2025.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import shapely

from twin.demo.admin import GRID, AdminArea

REFORM = date(2025, 7, 1)
FIRST_CODE = 20000      # new units' codes; former wards' codes stay below 2000

# New wards per former district (by its code), in the order their seeds are chosen.
NEW_WARDS: dict[str, tuple[str, ...]] = {
    "001": ("Ba Đình", "Ngọc Hà", "Giảng Võ"),
    "002": ("Hoàn Kiếm", "Cửa Nam"),
    "003": ("Tây Hồ", "Phú Thượng"),
    "004": ("Long Biên", "Bồ Đề", "Việt Hưng", "Phúc Lợi"),
    "005": ("Cầu Giấy", "Nghĩa Đô", "Yên Hòa"),
    "006": ("Đống Đa", "Kim Liên", "Văn Miếu - Quốc Tử Giám", "Láng", "Ô Chợ Dừa"),
    "007": ("Hai Bà Trưng", "Vĩnh Tuy", "Bạch Mai"),
    "008": ("Hoàng Mai", "Định Công", "Tương Mai", "Vĩnh Hưng", "Hoàng Liệt", "Yên Sở",
            "Lĩnh Nam"),
    "009": ("Thanh Xuân", "Khương Đình", "Phương Liệt"),
    "019": ("Từ Liêm", "Xuân Phương", "Tây Mỗ", "Đại Mỗ"),
    "021": ("Thượng Cát", "Đông Ngạc", "Xuân Đỉnh", "Phú Diễn", "Tây Tựu"),
    "268": ("Hà Đông", "Dương Nội", "Yên Nghĩa", "Phú Lương", "Kiến Hưng"),
}


def _neighbours(geoms: list) -> list[set[int]]:
    """Which wards share an edge (their edges are snapped to one grid, so they meet)."""
    tree = shapely.STRtree(geoms)
    out: list[set[int]] = [set() for _ in geoms]
    for i, j in zip(*tree.query(geoms, predicate="intersects"), strict=True):
        if i != j and shapely.intersection(geoms[i], geoms[j]).length > 0:
            out[i].add(int(j))
    return out


def _seeds(centres: np.ndarray, k: int) -> list[int]:
    """``k`` wards far apart: the northernmost, then each farthest from those chosen."""
    chosen = [int(np.argmax(centres[:, 1]))]
    while len(chosen) < k:
        d = np.min([np.linalg.norm(centres - centres[c], axis=1) for c in chosen], axis=0)
        chosen.append(int(np.argmax(d)))
    return chosen


def merge_wards(geoms: list, k: int) -> np.ndarray:
    """A group label 0..k-1 per ward, each group a connected set of adjacent wards."""
    centres = shapely.get_coordinates(shapely.centroid(np.asarray(geoms, dtype=object)))
    label = np.full(len(geoms), -1)
    for g, s in enumerate(_seeds(centres, k)):
        label[s] = g
    near = _neighbours(geoms)
    area = np.array([g.area for g in geoms])
    while (label < 0).any():
        size = np.bincount(label[label >= 0], weights=area[label >= 0], minlength=k)
        options = [(size[label[n]], i, label[n]) for i in np.flatnonzero(label < 0)
                   for n in near[i] if label[n] >= 0]
        if not options:  # a ward touching no group (an island): the nearest seed's
            i = int(np.flatnonzero(label < 0)[0])
            others = np.flatnonzero(label >= 0)
            label[i] = label[others[np.argmin(np.linalg.norm(centres[others] - centres[i],
                                                              axis=1))]]
            continue
        _, i, g = min(options)
        label[i] = g
    return label


def build_map_2025(districts: list[AdminArea], wards: list[AdminArea]) -> list[AdminArea]:
    """The new wards, formed from ``wards``; sets the former areas' ``valid_to``."""
    out: list[AdminArea] = []
    for district in districts:
        district.valid_to = REFORM
        mine = [w for w in wards if w.parent_code == district.code]
        names = NEW_WARDS.get(district.code) or (district.name.removeprefix("Quận "),)
        k = min(len(names), len(mine))
        label = merge_wards([w.geom for w in mine], k)
        for g in range(k):
            members = [w for w, lab in zip(mine, label, strict=True) if lab == g]
            code = f"{FIRST_CODE + 3 * len(out):05d}"
            out.append(AdminArea(
                f"ward-{code}", code, f"Phường {names[g]}", "ward", None,
                sum(w.population for w in members),
                shapely.union_all([w.geom for w in members], grid_size=GRID),
                valid_from=REFORM))
    for ward in wards:
        ward.valid_to = REFORM
    return out
