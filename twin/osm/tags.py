"""A layer's ``osm:`` block applied to an object's tags: does it match, and what are its
field values. Values are coerced by the loaders' own :func:`twin.ingest.fields.coerce`
(types, enums, ranges, patterns), so an OSM value passes exactly the checks a file's would.

A value that breaks an optional field is left empty and reported (a repair); one that
breaks a required field refuses the object.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from twin.ingest.fields import coerce
from twin.osm_mapping import ANY, FieldRule
from twin.registry import FieldType, Layer

Get = Callable[[str], Any]
SPLIT_ENDS = {"@source", "@target"}   # filled per segment by the split, not from tags
CACHED = 50_000   # remembered values (per field, and rows of tag values) before starting over
_SPEED = re.compile(r"(\d+(?:[.,]\d+)?)\s*(km/h|kmh|kph|mph|knots)?")
_LENGTH = re.compile(r"(\d+(?:[.,]\d+)?)\s*(m|km|ft|feet|')?")
_FEET_INCHES = re.compile(r"(\d+)'\s*(\d+(?:\.\d+)?)\"")
_CLOCK = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2}))?")


def speed_kmh(text: str) -> float:
    """``50``, ``50 km/h``, ``30 mph`` -> km/h; ``signals``, ``none``, ``VN:urban`` refused."""
    m = _SPEED.fullmatch(text.strip().lower())
    if not m:
        raise ValueError(f"{text!r} is not a speed (a number, km/h or mph)")
    value = float(m[1].replace(",", "."))
    return round(value * {"mph": 1.609344, "knots": 1.852}.get(m[2] or "", 1.0))


def metres(text: str) -> float:
    """``7``, ``7.5 m``, ``7,5``, ``12'6"`` -> metres."""
    text = text.strip().lower()
    if m := _FEET_INCHES.fullmatch(text):
        return round(int(m[1]) * 0.3048 + float(m[2]) * 0.0254, 2)
    m = _LENGTH.fullmatch(text)
    if not m:
        raise ValueError(f"{text!r} is not a length (metres, or feet and inches)")
    value = float(m[1].replace(",", "."))
    return value * {"km": 1000.0, "ft": 0.3048, "feet": 0.3048, "'": 0.3048}.get(m[2] or "", 1.0)


def minutes(text: str) -> float:
    """``15``, ``00:15``, ``00:15:00`` -> minutes (PTv2 ``interval``)."""
    text = text.strip()
    if m := _CLOCK.fullmatch(text):
        return int(m[1]) * 60 + int(m[2]) + int(m[3] or 0) / 60
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a number of minutes (15 or 00:15)") from None


PARSE = {"speed_kmh": speed_kmh, "metres": metres, "minutes": minutes}


@lru_cache(maxsize=256)
def _pattern(text: str) -> re.Pattern:
    return re.compile(text)


def _compile(rules) -> list[list[tuple[str, frozenset | None]]]:
    return [[(k, None if v == ANY else frozenset(v)) for k, v in rule.items()] for rule in rules]


def matches(rules, get: Get) -> bool:
    """Whether any rule matches: all of a rule's keys set, with one of its values."""
    for rule in rules:
        for key, wanted in rule:
            value = get(key)
            if value is None or (wanted is not None and value not in wanted):
                break
        else:
            return True
    return False


def transform(rule: FieldRule, value: Any) -> Any:
    """A tag's text through the rule's extract, values and parse (ValueError if it can't)."""
    if value is not None and rule.extract:
        found = _pattern(rule.extract).search(value)
        value = found.group(1) if found else value
    if value is not None and rule.values:
        value = rule.values.get(value, value)
    if value is not None and rule.parse:
        value = PARSE[rule.parse](value)
    return rule.default if value is None else value


class Mapper:
    """One layer's ``osm:`` block, compiled: matching and field values, with the coerced
    value of each (field, tag text) remembered (a city has few distinct values)."""

    def __init__(self, layer: Layer):
        if layer.osm is None:
            raise ValueError(f"{layer.name} has no osm: block")
        self.layer = layer
        self.osm = layer.osm
        self.keys = self.osm.keys()
        self._match = _compile(self.osm.match)
        self._exclude = _compile(self.osm.exclude)
        self._reverse = _compile([self.osm.reverse]) if self.osm.reverse else []
        self.fields = [(name, spec, self.osm.fields.get(name))
                       for name, spec in layer.fields.items()]
        self.position = {name: i for i, name in enumerate(layer.fields)}
        self._cache: dict[tuple[int, Any], tuple[Any, str | None]] = {}
        mapped = [i for i, (_, _, rule) in enumerate(self.fields) if rule is not None]
        self._dynamic = [i for i in mapped if any(t[0] == "@" for t in self.fields[i][2].tags)
                         and set(self.fields[i][2].tags) - SPLIT_ENDS]
        self._static = [i for i in mapped if not any(t[0] == "@" for t in self.fields[i][2].tags)]
        self._static_keys = sorted({t for i in self._static for t in self.fields[i][2].tags})
        self._rows: dict[tuple, tuple[list, list[str], str | None]] = {}

    @property
    def triggers(self) -> set[str]:
        """The first key of each match rule: an object without any of them never matches."""
        return {rule[0][0] for rule in self._match}

    def master(self, get: Get) -> bool:
        """Whether the tags are a route master over this (grouped) layer's routes."""
        if self.osm.group != "route_master" or get("type") != "route_master":
            return False
        routes = {v for rule in self._match for k, vals in rule if k == "route"
                  for v in (vals or ())}
        return not routes or get("route_master") in routes

    def wants(self, get: Get) -> bool:
        return matches(self._match, get) and not matches(self._exclude, get)

    def reversed(self, get: Get) -> bool:
        return bool(self._reverse) and matches(self._reverse, get)

    def _one(self, spec, rule: FieldRule, raw: Any) -> tuple[Any, str | None]:
        try:
            value = transform(rule, raw)
            if spec.type in (FieldType.integer,) and isinstance(value, float):
                value = round(value)
            return coerce(spec, value), None
        except ValueError as exc:
            return None, f"field {spec.name}: {exc}"

    def _field(self, i: int, get: Get, pseudo: dict[str, Any]) -> tuple[Any, str | None]:
        _name, spec, rule = self.fields[i]
        raw, is_pseudo = None, False
        for tag in rule.tags:
            raw = pseudo.get(tag) if tag[0] == "@" else get(tag)
            if raw is not None and raw != "":
                is_pseudo = tag[0] == "@"
                break
        else:
            raw = None
        if is_pseudo:
            return self._one(spec, rule, raw)
        found = self._cache.get((i, raw))
        if found is None:
            if len(self._cache) > CACHED:
                self._cache.clear()
            found = self._cache[(i, raw)] = self._one(spec, rule, raw)
        return found

    def _fill(self, which: list[int], get: Get, pseudo: dict[str, Any], values: list,
              repairs: list[str]) -> str | None:
        cache, fields = self._cache, self.fields
        for i in which:
            if not pseudo:   # tags only: the first set tag's value, remembered per field
                rule = fields[i][2]
                raw = None
                for tag in rule.tags:
                    raw = get(tag)
                    if raw is not None and raw != "":
                        break
                else:
                    raw = None
                found = cache.get((i, raw))
                if found is None:
                    if len(cache) > CACHED:   # names are many: keep memory bounded
                        cache.clear()
                    found = cache[(i, raw)] = self._one(fields[i][1], rule, raw)
                value, problem = found
            else:
                value, problem = self._field(i, get, pseudo)
            if problem and fields[i][1].required:
                return problem
            if problem:
                repairs.append(f"{problem}; left empty")
            values[i] = value
        return None

    def values(self, get: Get, pseudo: dict[str, Any]) -> tuple[list, list[str], str | None]:
        """(values in field order, repairs, refusal): the refusal names the first required
        field without a usable value. What the tags alone decide is remembered per
        combination of tag values (a city's roads share few); the returned list may be
        shared: do not change it."""
        key = tuple(map(get, self._static_keys))
        row = self._rows.get(key)
        if row is None:
            values, repairs = [None] * len(self.fields), []
            refusal = self._fill(self._static, get, {}, values, repairs)
            row = (values, repairs, refusal)
            if len(self._rows) > CACHED:
                self._rows.clear()
            self._rows[key] = row
        values, repairs, refusal = row
        if refusal or not self._dynamic:
            return values, repairs, refusal
        values, repairs = list(values), list(repairs)
        refusal = self._fill(self._dynamic, get, pseudo, values, repairs)
        return values, repairs, refusal
