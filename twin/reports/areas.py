"""Finding the report's area by name, as people type it: "Hoàn Kiếm", "hoan kiem",
"HOÀN KIẾM", from either administrative map (the districts and wards until 30 June 2025,
the communes and wards from 1 July 2025).

Names are compared folded (NFD, combining marks dropped, đ → d, case and spacing
ignored). Among the areas a name fits, the one whose full name it gives wins ("Phường
Hoàn Kiếm" is the ward, "Quận Hoàn Kiếm" the former district); then, as before the
reform, a district wins over a commune or ward of the same name ("Hoàn Kiếm"); then the
area in force at the end of the period, then one in force at some day of it.

The report says which map the period uses: the one in force on its last day. A period
that spans a change of map (one holding 1 July 2025) is reported on the map in force at
its end, and the report says so; an area named from another map than the period's is
reported on its own territory, and the report says that too.
"""

from __future__ import annotations

import difflib
import unicodedata
from datetime import date

import shapely
from psycopg import Connection

from twin.admin_map import EDGES_SQL, changes_within, day_text, map_at, map_label
from twin.i18n import day
from twin.reports.model import Area
from twin.reports.request import AreaNotFound
from twin.reports.words import pick

AREAS_SQL = """
SELECT a.id, a.code, a.name, a.level, p.name, ST_AsBinary(a.geom), a.area_m2,
       a.valid_from, a.valid_to
FROM admin_areas a LEFT JOIN admin_areas p ON p.code = a.parent_code AND p.level = 'district'
ORDER BY a.level = 'district' DESC, a.name, a.valid_from DESC NULLS LAST
"""
LEVEL_PREFIXES = ("quan ", "huyen ", "phuong ", "xa ", "thi tran ", "district ", "ward ",
                  "commune ")


def fold(name: str, keep_level: bool = False) -> str:
    """A name reduced to what people reliably type: no diacritics, lower case, single
    spaces, without a leading "Quận"/"Phường" (so "Quận Hoàn Kiếm" finds Hoàn Kiếm)
    unless ``keep_level``."""
    text = unicodedata.normalize("NFD", name.replace("đ", "d").replace("Đ", "D"))
    text = "".join(c for c in text if not unicodedata.combining(c))
    text = " ".join(text.lower().replace("-", " ").split())
    if keep_level:
        return text
    for prefix in LEVEL_PREFIXES:
        if text.startswith(prefix) and len(text) > len(prefix):
            return text[len(prefix):]
    return text


def _in_force(row: tuple, first: date, last: date) -> bool:
    """Is the area of ``row`` in force at some day of [first, last]?"""
    start, end = row[7], row[8]
    return (start is None or start <= last) and (end is None or end > first)


def _rank(row: tuple, wanted_full: str, first: date | None, last: date | None) -> tuple:
    exact = fold(row[2], keep_level=True) != wanted_full
    district = row[3] != "district"
    if first is None or last is None:
        return exact, district, 0, 0
    return exact, district, not _in_force(row, last, last), not _in_force(row, first, last)


def resolve_area(conn: Connection, name: str, first: date | None = None,
                 last: date | None = None, lang: str | None = None) -> Area:
    """The area called ``name`` (from either map), for a period of local days
    [first, last] when given, its map note in ``lang`` (None: twin.admin_map's words);
    AreaNotFound lists up to five close names."""
    with conn.cursor() as cur:
        rows = cur.execute(AREAS_SQL).fetchall()
        edges = [r[0] for r in cur.execute(EDGES_SQL).fetchall()]
    wanted = fold(name)
    matches = [r for r in rows if fold(r[2]) == wanted]
    if matches:
        full = fold(name, keep_level=True)
        best = min(matches, key=lambda r: _rank(r, full, first, last))
        area = _area(best)
        if first is not None and last is not None:
            area.map_note = map_note(best, edges, first, last, lang)
        return area
    folded = {fold(r[2]): r[2] for r in reversed(rows)}
    close = difflib.get_close_matches(wanted, list(folded), n=5, cutoff=0.6)
    starts = [f for f in folded if wanted and f.startswith(wanted) and f not in close]
    raise AreaNotFound(name, [folded[f] for f in (close + starts)[:5]])


def map_note(row: tuple, edges: list[date], first: date, last: date,
             lang: str | None = None) -> str:
    """Which map the period [first, last] uses, and whether the area belongs to it;
    empty where no area has validity dates (one map only)."""
    if not edges:
        return ""
    if lang is not None:
        return _map_note_in(row, edges, first, last, lang)
    label = map_label(*map_at(edges, last))
    changes = changes_within(edges, first, last)
    if changes:
        note = (f"The period spans a change of the administrative map on "
                f"{day_text(changes[-1])}: the report uses {label}.")
    else:
        note = f"The period uses {label}."
    if not _in_force(row, last, last):
        note += (f" {row[2]} is an area of {map_label(row[7], row[8])}, not of that map: "
                 "the report covers its territory.")
    return note


def label_in(since: date | None, until: date | None, lang: str) -> str:
    """:func:`twin.admin_map.map_label` in ``lang``, its dates as the language writes them."""
    last = date.fromordinal(until.toordinal() - 1) if until else None
    if since is None and until is None:
        return pick(lang, "bản đồ hành chính (không ghi ngày hiệu lực)",
                    "the administrative map (no validity dates recorded)")
    if last is None:
        return pick(lang, f"bản đồ hành chính có hiệu lực từ {day(since, lang)}",
                    f"the administrative map in force from {day(since, lang)}")
    if since is None:
        return pick(lang, f"bản đồ hành chính có hiệu lực đến {day(last, lang)}",
                    f"the administrative map in force until {day(last, lang)}")
    return pick(lang, f"bản đồ hành chính có hiệu lực từ {day(since, lang)} đến "
                      f"{day(last, lang)}", f"the administrative map in force from "
                      f"{day(since, lang)} to {day(last, lang)}")


def _map_note_in(row: tuple, edges: list[date], first: date, last: date, lang: str) -> str:
    label = label_in(*map_at(edges, last), lang)
    changes = changes_within(edges, first, last)
    if changes:
        when = day(changes[-1], lang)
        note = pick(lang, f"Kỳ báo cáo có thay đổi bản đồ hành chính vào ngày {when}: báo "
                          f"cáo dùng {label}.", f"The period spans a change of the "
                          f"administrative map on {when}: the report uses {label}.")
    else:
        note = pick(lang, f"Kỳ báo cáo dùng {label}.", f"The period uses {label}.")
    if not _in_force(row, last, last):
        own = label_in(row[7], row[8], lang)
        note += pick(lang, f" {row[2]} là đơn vị của {own}, không thuộc bản đồ đó: báo cáo "
                           "bao quát lãnh thổ của đơn vị này.",
                     f" {row[2]} is an area of {own}, not of that map: the report covers "
                     "its territory.")
    return note


def _area(row: tuple) -> Area:
    id_, code, name, level, parent, wkb, area_m2 = row[:7]
    return Area(id=id_, code=code, name=name, level=level, geom=shapely.from_wkb(wkb),
                area_m2=float(area_m2 or 0.0), parent=parent if level == "ward" else None,
                valid_from=row[7], valid_to=row[8])
