"""The catalogue's query parameters (OGC API - Records Part 1: searchable and sorting):
``q``, ``bbox``, ``datetime``, ``type``, ``keywords``, ``externalIds``, ``ids``,
``sortby``, ``limit``, ``offset``; applied to the records of one request.

The catalogue holds tens of records, so they are filtered in Python after access has
been applied; every refusal is a 400 naming the parameter."""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from twin.server.errors import InvalidParameter
from twin.server.params.values import (
    TimeFilter,
    check_names,
    parse_bbox,
    parse_datetime,
    parse_int,
    parse_limit,
)

PARAMS = {"f", "lang", "q", "bbox", "datetime", "type", "keywords", "externalIds", "ids",
          "sortby", "limit", "offset"}
SORTABLE = {"id", "title", "type", "updated", "created"}


@dataclass
class Search:
    q: list[str] = field(default_factory=list)
    bbox: tuple[float, float, float, float] | None = None
    time: TimeFilter | None = None
    types: set[str] = field(default_factory=set)
    keywords: set[str] = field(default_factory=set)
    external_ids: set[str] = field(default_factory=set)
    ids: set[str] = field(default_factory=set)
    sortby: list[tuple[str, bool]] = field(default_factory=list)
    limit: int = 10
    offset: int = 0


def fold(text: str) -> str:
    """Lower case without diacritics: 'Đường' and 'duong' match (đ is not a mark)."""
    plain = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    return "".join(c for c in plain if not unicodedata.combining(c)).casefold()


def _terms(raw: str | None) -> list[str]:
    return [t.strip() for t in (raw or "").split(",") if t.strip()]


def parse_search(params: Mapping[str, str]) -> Search:
    check_names(params, PARAMS, "the catalogue")
    s = Search(limit=parse_limit(params, default=10),
               offset=parse_int(params, "offset", 0, 0, 1_000_000))
    s.q = [fold(t) for t in _terms(params.get("q"))]
    if params.get("bbox") is not None:
        s.bbox = parse_bbox(params["bbox"])
    if params.get("datetime") is not None:
        s.time = parse_datetime(params["datetime"])
    s.types = set(_terms(params.get("type")))
    s.keywords = {fold(t) for t in _terms(params.get("keywords"))}
    s.external_ids = set(_terms(params.get("externalIds")))
    s.ids = set(_terms(params.get("ids")))
    for part in _terms(params.get("sortby")):
        desc = part.startswith("-")
        name = part.lstrip("+-").strip()
        if name not in SORTABLE:
            raise InvalidParameter(f"sortby: {name!r} is not sortable; one of "
                                   f"{', '.join(sorted(SORTABLE))}")
        s.sortby.append((name, desc))
    return s


def _text_of(record: dict) -> str:
    props = record["properties"]
    parts = [record["id"]]
    for tr in props.get("translations", {}).values():
        parts += [tr.get("title", ""), tr.get("description", ""), *tr.get("keywords", [])]
    parts += [c.get("organization", "") for c in props.get("contacts", [])]
    return fold(" ".join(parts))


def _moment(text: str | None) -> datetime | None:
    if text in (None, ".."):
        return None
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _in_time(record: dict, t: TimeFilter) -> bool:
    """A record whose temporal extent overlaps ``t`` (no extent: no match)."""
    interval = (record.get("time") or {}).get("interval")
    if not interval:
        return False
    start, end = _moment(interval[0]), _moment(interval[1])
    return (t.end is None or start is None or start <= t.end) and \
        (t.start is None or end is None or end >= t.start)


def _in_bbox(record: dict, bbox) -> bool:
    geometry = record.get("geometry")
    if geometry is None:
        return False
    ring = geometry["coordinates"][0]
    xs, ys = [p[0] for p in ring], [p[1] for p in ring]
    return not (max(xs) < bbox[0] or min(xs) > bbox[2] or max(ys) < bbox[1]
                or min(ys) > bbox[3])


def matches(record: dict, s: Search) -> bool:
    props = record["properties"]
    if s.ids and record["id"] not in s.ids:
        return False
    if s.types and props["type"] not in s.types:
        return False
    if s.q and not any(term in _text_of(record) for term in s.q):
        return False
    if s.keywords:
        words = {fold(k) for tr in props["translations"].values() for k in tr["keywords"]}
        if not s.keywords & words:
            return False
    if s.external_ids:
        ids = {e["value"] for e in props["externalIds"]} | {
            f"{e['scheme']}:{e['value']}" for e in props["externalIds"]}
        if not s.external_ids & ids:
            return False
    if s.bbox is not None and not _in_bbox(record, s.bbox):
        return False
    return s.time is None or _in_time(record, s.time)


def ordered(records: list[dict], s: Search) -> list[dict]:
    out = list(records)
    for name, desc in reversed(s.sortby):  # stable sorts, last key first
        def key(r: dict, name=name):
            value = r["id"] if name == "id" else r["properties"].get(name)
            return (value is None, fold(value) if isinstance(value, str) else value)
        present = [r for r in out if (r["id"] if name == "id" else
                                      r["properties"].get(name)) is not None]
        absent = [r for r in out if r not in present]
        out = sorted(present, key=key, reverse=desc) + absent
    return out
