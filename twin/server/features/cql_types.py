"""The types of CQL2 operands, checked before any SQL is written.

A comparison PostgreSQL cannot make (a string with a geometry, a date with a number, an
integer with a timestamp) is the client's mistake: a 400 that names the property, its
type and the other operand's type, never a database error. Kinds follow the queryables:
string, number, boolean, date, timestamp, geometry (and interval, list, NULL literals).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache

from psycopg import sql

from twin.registry import FieldSpec, FieldType
from twin.server.errors import InvalidParameter

STRING, NUMBER, BOOLEAN = "string", "number", "boolean"
DATE, TIMESTAMP, GEOMETRY = "date", "timestamp", "geometry"
INTERVAL, LIST, NULL, STRINGS = "interval", "list", "NULL", "list of strings"
FIELD_KINDS = {FieldType.string: STRING, FieldType.integer: NUMBER, FieldType.number: NUMBER,
               FieldType.boolean: BOOLEAN, FieldType.date: DATE,
               FieldType.datetime: TIMESTAMP, FieldType.string_list: STRINGS}
ORDERED = {STRING, NUMBER, BOOLEAN, DATE, TIMESTAMP}
TEMPORAL = {DATE, TIMESTAMP}
SPATIAL_HINT = "compare geometries with S_INTERSECTS, S_EQUALS or another spatial function"
DATE_HINT = "write DATE('2024-01-31') or TIMESTAMP('2024-01-31T00:00:00Z')"


@dataclass(frozen=True)
class Operand:
    """A property, a function of one, or a geometry literal: SQL with a kind, and how a
    message names it."""
    sql: sql.Composable
    kind: str
    label: str
    spec: FieldSpec | None = None
    is_property: bool = False


@dataclass(frozen=True)
class Condition:
    """A predicate's SQL: the only thing AND, OR, NOT and the WHERE clause accept."""
    sql: sql.Composable


@dataclass(frozen=True)
class IntervalLiteral:
    """INTERVAL(...): typed for the checks; this server has no temporal functions to use it."""
    start: object
    end: object


def article(kind: str) -> str:
    if kind == NULL:
        return kind
    return ("an " if kind[0] in "aeiou" else "a ") + kind


def field_operand(name: str, spec: FieldSpec) -> Operand:
    return Operand(sql.SQL("t.") + sql.Identifier(name), FIELD_KINDS[spec.type], name, spec,
                   is_property=True)


def kind_of(value) -> str:
    if isinstance(value, Operand):
        return value.kind
    if value is None:
        return NULL
    if isinstance(value, bool):
        return BOOLEAN
    if isinstance(value, (int, float)):
        return NUMBER
    if isinstance(value, str):
        return STRING
    if isinstance(value, datetime):  # before date: a datetime is a date
        return TIMESTAMP
    if isinstance(value, date):
        return DATE
    if isinstance(value, IntervalLiteral):
        return INTERVAL
    if isinstance(value, list):
        return LIST
    if isinstance(value, Condition):
        raise InvalidParameter("filter: a condition (true or false) cannot be an operand "
                               "of a comparison")
    raise InvalidParameter(f"filter: {type(value).__name__} is not supported by this server")


def check_text(value: str, what: str = "a string") -> str:
    """Text PostgreSQL can hold: no NUL character, no lone surrogate (a JSON "\\ud800")."""
    if "\x00" in value:
        raise InvalidParameter(f"filter: {what} holds a NUL character (\\u0000), which no "
                               "value may contain")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidParameter(f"filter: {what} is not valid Unicode (a lone surrogate "
                               "escape such as \\ud800)") from None
    return value


def _named(operand) -> str:
    kind = kind_of(operand)
    if isinstance(operand, Operand) and operand.is_property and kind != GEOMETRY:
        return f"{operand.label} ({article(kind)})"
    return article(kind)


def _hint(subject_kind: str, other_kind: str) -> str:
    if GEOMETRY in (subject_kind, other_kind):
        return f" ({SPATIAL_HINT})"
    if INTERVAL in (subject_kind, other_kind):
        return " (intervals belong to temporal functions such as T_DURING, which this " \
               "server does not support)"
    if LIST in (subject_kind, other_kind):
        return " (to test several values, write IN ('a', 'b'))"
    if subject_kind in TEMPORAL and other_kind in (STRING, NUMBER):
        return f" ({DATE_HINT})"
    if subject_kind == NUMBER and other_kind == STRING:
        return " (write numbers without quotes)"
    if subject_kind == STRING and other_kind in (NUMBER, BOOLEAN):
        return " (write text in single quotes, e.g. 'ODT')"
    return ""


def mismatch(a, b, verb: str = "compared with") -> InvalidParameter:
    """``filter: land_use is a string; it cannot be compared with a geometry``: the
    property first when there is one."""
    if not (isinstance(a, Operand) and a.is_property) and isinstance(b, Operand) \
            and b.is_property:
        a, b = b, a
    ka, kb = kind_of(a), kind_of(b)
    if isinstance(a, Operand):
        text = f"{a.label} is {article(ka)}; it cannot be {verb} {_named(b)}"
    else:
        text = f"{article(ka)} cannot be {verb} {_named(b)}"
    return InvalidParameter(f"filter: {text}{_hint(ka, kb)}")


def comparable(ka: str, kb: str) -> bool:
    if ka == NULL or kb == NULL:
        return (ka if kb == NULL else kb) in ORDERED | {NULL}
    if ka in TEMPORAL and kb in TEMPORAL:
        return True
    return ka == kb and ka in ORDERED


def check_compare(a, b) -> None:
    if not comparable(kind_of(a), kind_of(b)):
        raise mismatch(a, b)


def check_ordered(operand, what: str) -> None:
    """The left side of BETWEEN or IN (or a comparison): a value that can be ordered."""
    kind = kind_of(operand)
    if kind not in ORDERED | {NULL}:
        label = operand.label if isinstance(operand, Operand) else "the value"
        hint = _hint(kind, kind)
        raise InvalidParameter(f"filter: {label} is {article(kind)}; {what} compares "
                               f"strings, numbers, booleans, dates and timestamps{hint}")


def check_string(operand, what: str) -> None:
    kind = kind_of(operand)
    if kind != STRING:
        label = operand.label if isinstance(operand, Operand) else "the value"
        raise InvalidParameter(f"filter: {label} is {article(kind)}; {what} takes a string")


def check_geometry_operand(operand, op: str, position: str) -> None:
    kind = kind_of(operand)
    if kind != GEOMETRY:
        subject = operand.label if isinstance(operand, Operand) and operand.is_property \
            else f"its {position} argument"
        raise InvalidParameter(f"filter: {op} compares geometries; {subject} is "
                               f"{article(kind)}")


def check_temporal(op: str, lhs, rhs) -> None:
    """Temporal functions: operands are typed, then refused (this server compares dates
    and timestamps with the comparison operators instead)."""
    for operand in (lhs, rhs):
        kind = kind_of(operand)
        if kind not in TEMPORAL | {INTERVAL}:
            label = operand.label if isinstance(operand, Operand) else "an argument"
            raise InvalidParameter(f"filter: {label} is {article(kind)}; {op} compares "
                                   "dates, timestamps and intervals")
    raise InvalidParameter(f"filter: {op} and the other temporal functions are not "
                           "supported by this server; compare dates and timestamps with "
                           "=, <, >, <=, >= or BETWEEN")


def check_numbers(args, what: str) -> list[float]:
    if not all(isinstance(a, (int, float)) and not isinstance(a, bool) for a in args):
        raise InvalidParameter(f"filter: {what} takes numbers only")
    nums = [float(a) for a in args]
    if not all(math.isfinite(n) for n in nums):
        raise InvalidParameter(f"filter: {what} takes finite numbers only")
    return nums


# --- geometry literals -----------------------------------------------------------------

def geometry_literal(doc: dict, lat_first: bool, from_srid: int, to_srid: int) -> str:
    """A geometry literal as GeoJSON PostGIS can read, test and transform, x before y:
    well-formed, not empty, finite, valid (closed rings, no self-intersection) and inside
    the area of the CRS it is transformed from; else a 400 saying which."""
    from shapely.geometry import mapping, shape
    from shapely.ops import transform
    from shapely.validation import explain_validity

    try:
        geom = shape(doc)
        if lat_first:
            geom = transform(lambda x, y, *z: (y, x, *z), geom)
        coords = _coordinates(geom)
    except Exception:  # shapely raises many types; all mean a bad literal
        raise InvalidParameter("filter: the geometry literal is malformed (e.g. a ring "
                               "needs 4 or more positions, first and last the same)") from None
    if geom.is_empty:
        raise InvalidParameter("filter: the geometry literal is empty")
    if not all(math.isfinite(v) for xy in coords for v in xy):
        raise InvalidParameter("filter: geometry coordinates must be finite numbers")
    if not geom.is_valid:
        raise InvalidParameter(f"filter: the geometry literal is not valid: "
                               f"{explain_validity(geom)}")
    if from_srid != to_srid and not _transformable(coords, from_srid, to_srid):
        raise InvalidParameter(f"filter: the geometry literal lies outside the area of "
                               f"EPSG:{from_srid}; its coordinates cannot be transformed")
    return json.dumps(mapping(geom))


def _coordinates(geom) -> list[tuple[float, ...]]:
    from shapely import get_coordinates

    return [tuple(xy) for xy in get_coordinates(geom).tolist()]


@lru_cache(maxsize=16)
def _transformer(from_srid: int, to_srid: int):
    from pyproj import Transformer

    return Transformer.from_crs(from_srid, to_srid, always_xy=True)


def _transformable(coords, from_srid: int, to_srid: int) -> bool:
    from pyproj.exceptions import ProjError

    xs, ys = [c[0] for c in coords], [c[1] for c in coords]
    try:
        tx, ty = _transformer(from_srid, to_srid).transform(xs, ys, errcheck=True)
    except ProjError:
        return False
    return all(math.isfinite(v) for v in (*tx, *ty))


def check_envelope(nums: list[float], from_srid: int, to_srid: int) -> None:
    """A BBOX/ENVELOPE's corners (x before y) can be transformed to the storage CRS."""
    x0, y0, x1, y1 = nums
    if from_srid != to_srid and not _transformable([(x0, y0), (x1, y1), (x0, y1), (x1, y0)],
                                                   from_srid, to_srid):
        raise InvalidParameter(f"filter: the bounding box lies outside the area of "
                               f"EPSG:{from_srid}; its corners cannot be transformed")
