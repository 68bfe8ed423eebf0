"""Finding the report's area by name, as people type it: "Hoàn Kiếm", "hoan kiem",
"HOÀN KIẾM". Names are compared folded (NFD, combining marks dropped, đ → d, case and
spacing ignored); a district wins over a ward of the same name."""

from __future__ import annotations

import difflib
import unicodedata

import shapely
from psycopg import Connection

from twin.reports.model import Area
from twin.reports.request import AreaNotFound

AREAS_SQL = """
SELECT a.id, a.code, a.name, a.level, p.name, ST_AsBinary(a.geom), a.area_m2
FROM admin_areas a LEFT JOIN admin_areas p ON p.code = a.parent_code AND p.level = 'district'
ORDER BY a.level = 'district' DESC, a.name
"""
LEVEL_PREFIXES = ("quan ", "huyen ", "phuong ", "xa ", "thi tran ", "district ", "ward ")


def fold(name: str) -> str:
    """A name reduced to what people reliably type: no diacritics, lower case, single
    spaces, without a leading "Quận"/"Phường" (so "Quận Hoàn Kiếm" finds Hoàn Kiếm)."""
    text = unicodedata.normalize("NFD", name.replace("đ", "d").replace("Đ", "D"))
    text = "".join(c for c in text if not unicodedata.combining(c))
    text = " ".join(text.lower().replace("-", " ").split())
    for prefix in LEVEL_PREFIXES:
        if text.startswith(prefix) and len(text) > len(prefix):
            return text[len(prefix):]
    return text


def resolve_area(conn: Connection, name: str) -> Area:
    """The district or ward called ``name``; AreaNotFound lists up to five close names."""
    with conn.cursor() as cur:
        rows = cur.execute(AREAS_SQL).fetchall()
    wanted = fold(name)
    for row in rows:  # districts first, so a district wins over a ward of the same name
        if fold(row[2]) == wanted:
            return _area(row)
    folded = {fold(r[2]): r[2] for r in reversed(rows)}
    close = difflib.get_close_matches(wanted, list(folded), n=5, cutoff=0.6)
    starts = [f for f in folded if wanted and f.startswith(wanted) and f not in close]
    raise AreaNotFound(name, [folded[f] for f in (close + starts)[:5]])


def _area(row: tuple) -> Area:
    id_, code, name, level, parent, wkb, area_m2 = row
    return Area(id=id_, code=code, name=name, level=level, geom=shapely.from_wkb(wkb),
                area_m2=float(area_m2 or 0.0), parent=parent if level == "ward" else None)
