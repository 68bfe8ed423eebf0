"""Checks of a load into a layer with ``validity`` (``admin_areas``: which map each area
belongs to), made inside the load's transaction before anything is written, so that a
refused load leaves the database exactly as it was. Each problem names its row.

- Every row ends after it starts (``valid_to`` after ``valid_from``).
- A level that was abolished (districts, on 1 July 2025) cannot be in force after that.
- A parent (``parent_code``, in the file or the database) must be in force whenever its
  child is: a ward of the new map cannot name a former district.
- A row without validity is in force at every time, so its name must not be one that
  only an ended map has (in the database or in the file's rows that carry validity): a
  file of wards without dates that still uses the former names would put the former
  map back in force beside the new one, and a file mixing former and current names
  without dates says neither map.

Rows with validity may reuse a former name: the 2025 reform kept many (Phường Bồ Đề,
Phường Yên Hòa, …).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import date

import psycopg
from psycopg import sql

from twin.admin_map import ABOLISHED, day_text, map_label
from twin.ingest.errors import LoadError
from twin.registry import Layer


@dataclass
class Row:
    label: str
    code: str
    name: str | None
    level: str | None
    parent: str | None
    start: date | None
    end: date | None

    @property
    def dated(self) -> bool:
        return self.start is not None or self.end is not None

    def span(self) -> str:
        if not self.dated:
            return "in force at every time (no validity)"
        return map_label(self.start, self.end).replace("the administrative map in force",
                                                        "in force")


def key(name: str | None) -> str:
    return " ".join(unicodedata.normalize("NFC", name or "").casefold().split())


def _rows(layer: Layer, ids: list[str], values: list[list], labels: list[str]) -> list[Row]:
    at = {n: i for i, n in enumerate(layer.fields)}

    def get(row, name):
        return row[at[name]] if name in at else None

    return [Row(label, code, get(v, "name"), get(v, "level"), get(v, "parent_code"),
                v[at[layer.validity.start]], v[at[layer.validity.end]])
            for label, code, v in zip(labels, ids, values, strict=True)]


def _stored(cur: psycopg.Cursor, layer: Layer) -> list[Row]:
    cols = [sql.SQL("NULL") if n not in layer.fields else sql.Identifier(n)
            for n in ("name", "level", "parent_code")]
    query = sql.SQL("SELECT external_id, {}, {}, {} FROM {}").format(
        sql.SQL(", ").join(cols), sql.Identifier(layer.validity.start),
        sql.Identifier(layer.validity.end), sql.Identifier(layer.table))
    return [Row(f"{layer.name} {r[0]!r} (stored)", *r) for r in cur.execute(query).fetchall()]


def _covers(outer: Row, inner: Row) -> bool:
    starts = outer.start is None or (inner.start is not None and outer.start <= inner.start)
    ends = outer.end is None or (inner.end is not None and inner.end <= outer.end)
    return starts and ends


def order_problems(rows: list[Row]) -> list[str]:
    return [f"{r.label}: valid_to {r.end} is not after valid_from {r.start}"
            for r in rows if r.start is not None and r.end is not None and r.end <= r.start]


def abolished_problems(rows: list[Row]) -> list[str]:
    out = []
    for r in rows:
        gone = ABOLISHED.get(r.level or "")
        if gone is not None and (r.end is None or r.end > gone):
            out.append(f"{r.label}: {r.name!r} is a {r.level}, {r.span()}, but {r.level}s "
                       f"were abolished on {day_text(gone)}: give it valid_to "
                       f"{gone.isoformat()} or earlier (a mapping's constants: "
                       f"{{valid_to: {gone.isoformat()}}} sets it on every row)")
    return out


def parent_problems(rows: list[Row], stored: list[Row]) -> list[str]:
    by_code = {r.code: r for r in stored}
    by_code.update({r.code: r for r in rows})
    out = []
    for r in rows:
        parent = by_code.get(r.parent) if r.parent else None
        if parent is not None and not _covers(parent, r):
            out.append(f"{r.label}: parent_code {r.parent!r} is {parent.name!r}, "
                       f"{parent.span()}, but {r.name!r} is {r.span()}: an area's parent "
                       "must be in force whenever it is (since 01/07/2025 communes and "
                       "wards have no district: leave parent_code empty)")
    return out


def former_name_problems(rows: list[Row], stored: list[Row]) -> list[str]:
    """Rows without validity named as only an ended map names an area."""
    reference = stored + [r for r in rows if r.dated]
    current = {key(r.name) for r in reference if r.end is None}
    ended: dict[str, Row] = {}
    for r in reference:
        if r.end is not None and key(r.name) not in current:
            ended.setdefault(key(r.name), r)
    out = []
    for r in rows:
        former = ended.get(key(r.name)) if not r.dated else None
        if former is not None:
            out.append(f"{r.label}: {r.name!r} names an area of "
                       f"{map_label(former.start, former.end)} ({former.label}); without "
                       "valid_from/valid_to this row would be in force today: give it the "
                       "former map's valid_to, or the current map's name")
    return out


def check_validity(cur: psycopg.Cursor, layer: Layer, ids: list[str], values: list[list],
                   labels: list[str], source: str) -> None:
    """Raise LoadError, naming ``source`` and each row, when the rows do not fit the
    maps (see the module's description); nothing is written."""
    if layer.validity is None:
        return
    rows = _rows(layer, ids, values, labels)
    problems = order_problems(rows)
    if problems:
        raise LoadError(f"{source}: {len(problems)} row(s) end before they start", problems)
    if "name" not in layer.fields:
        return
    stored = _stored(cur, layer)
    order = {r.label: n for n, r in enumerate(rows)}
    problems = sorted(abolished_problems(rows) + parent_problems(rows, stored)
                      + former_name_problems(rows, stored),
                      key=lambda text: order.get(text.split(": ", 1)[0], 0))
    if problems:
        current = {key(s.name) for s in stored if s.end is None}
        mixed = any(not r.dated and key(r.name) in current for r in rows)
        what = ("mixes the former and the current administrative map" if mixed else
                "does not fit the administrative maps")
        raise LoadError(f"{source}: the file {what} ({len(problems)} row(s)); nothing was "
                        "loaded", problems)
