"""CQL2 (text and JSON) to SQL with bound values, through pygeofilter's parser.

Supported, and declared in /conformance: basic CQL2, advanced comparison
operators (LIKE, BETWEEN, IN), case-insensitive comparison (CASEI), and the
spatial functions (S_INTERSECTS, S_DISJOINT, S_CONTAINS, S_WITHIN, S_TOUCHES,
S_CROSSES, S_OVERLAPS, S_EQUALS) on any geometry literal.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from functools import cache
from pathlib import Path

from psycopg import sql
from pygeofilter import ast, values
from pygeofilter.backends.evaluator import Evaluator, handle

from twin.registry import FieldSpec, FieldType
from twin.server.errors import InvalidParameter
from twin.server.features.crs import OutputCRS
from twin.server.limits import LIMITS

MAX_FILTER_LENGTH = LIMITS.filter_chars
MAX_DEPTH = LIMITS.filter_depth
GEOMETRY_NAMES = {"geometry", "geom", "the_geom"}
SPATIAL = {
    ast.GeometryIntersects: "ST_Intersects", ast.GeometryDisjoint: "ST_Disjoint",
    ast.GeometryContains: "ST_Contains", ast.GeometryWithin: "ST_Within",
    ast.GeometryTouches: "ST_Touches", ast.GeometryCrosses: "ST_Crosses",
    ast.GeometryOverlaps: "ST_Overlaps", ast.GeometryEquals: "ST_Equals",
}
COMPARE = {ast.Equal: "=", ast.NotEqual: "<>", ast.LessThan: "<", ast.LessEqual: "<=",
           ast.GreaterThan: ">", ast.GreaterEqual: ">="}


class Params(dict):
    """Bound values collected while SQL is composed, by name (so a fragment may be reused)."""

    def add(self, value) -> sql.Placeholder:
        name = f"p{len(self)}"
        self[name] = value
        return sql.Placeholder(name)


class Column:
    def __init__(self, name: str, spec: FieldSpec | None):
        self.name, self.spec = name, spec
        self.sql = sql.SQL("t.") + sql.Identifier(name)


class GeomLiteral:
    def __init__(self, composed: sql.Composable):
        self.sql = composed


class ToSQL(Evaluator):
    def __init__(self, fields: dict[str, FieldSpec], storage_srid: int, filter_crs: OutputCRS,
                 params: Params):
        self.fields, self.srid, self.fcrs, self.params = fields, storage_srid, filter_crs, params

    def value(self, operand, spec: FieldSpec | None = None) -> sql.Composable:
        if isinstance(operand, (Column, GeomLiteral)):
            return operand.sql
        if isinstance(operand, sql.Composable):
            return operand
        return self.params.add(_typed(operand, spec))

    def _spec(self, *operands) -> FieldSpec | None:
        return next((o.spec for o in operands if isinstance(o, Column)), None)

    @handle(ast.Attribute)
    def attribute(self, node):
        if node.name in GEOMETRY_NAMES:
            return Column("geom", None)
        if node.name not in self.fields:
            raise InvalidParameter(f"filter: {node.name!r} is not a queryable; see "
                                   f"/queryables ({', '.join(self.fields)})")
        return Column(node.name, self.fields[node.name])

    @handle(*COMPARE)
    def compare(self, node, lhs, rhs):
        spec = self._spec(lhs, rhs)
        op = sql.SQL(COMPARE[type(node)])
        return sql.SQL("({} {} {})").format(self.value(lhs, spec), op, self.value(rhs, spec))

    @handle(ast.And, ast.Or)
    def combine(self, node, lhs, rhs):
        op = sql.SQL(" AND " if isinstance(node, ast.And) else " OR ")
        return sql.SQL("(") + lhs + op + rhs + sql.SQL(")")

    @handle(ast.Not)
    def negate(self, node, sub):
        return sql.SQL("(NOT {})").format(sub)

    @handle(ast.Like)
    def like(self, node, lhs):
        # CQL2's wildcards are SQL's (% and _, escaped with \\): the pattern goes as it is.
        # pygeofilter labels "." the single-character wildcard, which in CQL2 is a literal.
        pattern = node.pattern
        op = sql.SQL(" NOT" if node.not_ else "") + sql.SQL(" ILIKE " if node.nocase else " LIKE ")
        return sql.SQL("({}::text{}{})").format(self.value(lhs), op, self.params.add(pattern))

    @handle(ast.Between)
    def between(self, node, lhs, low, high):
        spec = self._spec(lhs)
        neg = sql.SQL(" NOT" if node.not_ else "")
        return sql.SQL("({}{} BETWEEN {} AND {})").format(
            self.value(lhs), neg, self.value(low, spec), self.value(high, spec))

    @handle(ast.In)
    def in_(self, node, lhs, *options):
        spec = self._spec(lhs)
        items = sql.SQL(", ").join(self.value(o, spec) for o in options)
        neg = sql.SQL(" NOT" if node.not_ else "")
        return sql.SQL("({}{} IN ({}))").format(self.value(lhs), neg, items)

    @handle(ast.IsNull)
    def is_null(self, node, lhs):
        return sql.SQL("({} IS {}NULL)").format(self.value(lhs),
                                                sql.SQL("NOT " if node.not_ else ""))

    @handle(*SPATIAL)
    def spatial(self, node, lhs, rhs):
        fn = sql.SQL(SPATIAL[type(node)])
        return sql.SQL("{}({}, {})").format(fn, self.geometry(lhs), self.geometry(rhs))

    def geometry(self, operand) -> sql.Composable:
        if isinstance(operand, Column) and operand.name == "geom":
            return operand.sql
        if isinstance(operand, GeomLiteral):
            return operand.sql
        raise InvalidParameter("filter: spatial functions compare the geometry with a "
                               "geometry literal")

    @handle(values.Geometry)
    def geom_literal(self, node):
        doc = dict(node.geometry)
        if self.fcrs.lat_first:
            doc = _flip(doc)
        return self._transform(sql.SQL("ST_SetSRID(ST_GeomFromGeoJSON({}), {})").format(
            self.params.add(json.dumps(doc)), sql.Literal(self.fcrs.srid)))

    @handle(values.Envelope)
    def envelope(self, node):
        x0, y0, x1, y1 = node.x1, node.y1, node.x2, node.y2
        if self.fcrs.lat_first:
            x0, y0, x1, y1 = y0, x0, y1, x1
        return self._transform(sql.SQL("ST_MakeEnvelope({}, {}, {}, {}, {})").format(
            *(self.params.add(float(v)) for v in (x0, y0, x1, y1)), sql.Literal(self.fcrs.srid)))

    @handle(ast.Function)
    def function(self, node, *args):
        name = node.name.lower()
        if name == "bbox" and len(args) in (4, 6):
            nums = [float(a) for a in args]
            nums = nums if len(nums) == 4 else [nums[0], nums[1], nums[3], nums[4]]
            return self.envelope(values.Envelope(nums[0], nums[2], nums[1], nums[3]))
        if name in ("lower", "casei") and len(args) == 1:
            inner = args[0].sql if isinstance(args[0], Column) else self.params.add(str(args[0]))
            return sql.SQL("lower({}::text)").format(inner)
        raise InvalidParameter(f"filter: function {node.name!r} is not supported")

    def _transform(self, geom: sql.Composable) -> GeomLiteral:
        if self.fcrs.srid != self.srid:
            geom = sql.SQL("ST_Transform({}, {})").format(geom, sql.Literal(self.srid))
        return GeomLiteral(geom)

    def adopt(self, node, *sub_args):
        if isinstance(node, (str, int, float, bool, date, datetime)) or node is None:
            return node
        if isinstance(node, list):
            return node
        raise InvalidParameter(f"filter: {type(node).__name__} is not supported by this server")


def _flip(doc: dict) -> dict:
    def flip(c):
        return [flip(x) for x in c] if isinstance(c[0], list) else [c[1], c[0], *c[2:]]
    if doc.get("type") == "GeometryCollection":
        return {**doc, "geometries": [_flip(g) for g in doc["geometries"]]}
    return {**doc, "coordinates": flip(doc["coordinates"])}


def _typed(value, spec: FieldSpec | None):
    if spec is None or value is None:
        return value
    kind = spec.type
    if kind in (FieldType.integer, FieldType.number) and isinstance(value, str):
        raise InvalidParameter(f"filter: {spec.name} is a number; {value!r} is text")
    if kind == FieldType.string and not isinstance(value, str):
        return str(value)
    if kind == FieldType.date and isinstance(value, datetime):
        return value.date()
    if kind in (FieldType.date, FieldType.datetime) and isinstance(value, str):
        raise InvalidParameter(f"filter: compare {spec.name} with DATE('...') or "
                               "TIMESTAMP('...')")
    return value


def _depth(node, level: int = 0) -> int:
    if level > MAX_DEPTH:
        return level
    subs = node.get_sub_nodes() if hasattr(node, "get_sub_nodes") else None
    if not subs:
        return level
    subs = subs if isinstance(subs, list) else [subs]
    return max((_depth(s, level + 1) for s in subs), default=level)


# pygeofilter 0.4's CQL2 text grammar gives AND and OR one precedence (so "a OR b AND c"
# is read "(a OR b) AND c") and lets NOT apply to a predicate only ("NOT (a AND b)" is a
# syntax error). CQL2's BNF: OR of ANDs of [NOT] (predicate | "(" expression ")").
_PGF_CONDITION = '''?condition: condition_1
          | condition "AND"i condition_1                                 -> and_
          | condition "OR"i condition_1                                   -> or_

?condition_1: predicate
            | "NOT"i predicate                                               -> not_
            | "NOT"i "(" predicate ")"                                       -> not_
            | "(" condition ")"
'''
_CQL2_CONDITION = '''?condition: condition_and
          | condition "OR"i condition_and -> or_

?condition_and: condition_1
              | condition_and "AND"i condition_1 -> and_

?condition_1: predicate
            | "NOT"i condition_1 -> not_
            | "(" condition ")"
'''


@cache
def _text_parser():
    """pygeofilter's CQL2 text parser (its grammar and transformer) with CQL2's boolean
    precedence; fails loudly if a pygeofilter upgrade changed the rules replaced."""
    from lark import Lark
    from pygeofilter.parsers.cql2_text import parser as pgf

    grammar = (Path(pgf.__file__).parent / "grammar.lark").read_text(encoding="utf-8")
    if _PGF_CONDITION not in grammar:
        raise RuntimeError("pygeofilter's CQL2 grammar changed: review twin's correction")
    return Lark(grammar.replace(_PGF_CONDITION, _CQL2_CONDITION), parser="lalr",
                maybe_placeholders=False, transformer=pgf.CQLTransformer(),
                import_paths=[str(Path(pgf.__file__).parent.parent)])


def _for_pygeofilter(node):
    """CQL2 JSON 1.0 as pygeofilter 0.4 reads it: ``between`` has the bounds in one
    array ([x, [low, high]], the draft's form), and a ``bbox`` literal becomes
    ``Envelope(*bbox)`` whose fields are (minx, maxx, miny, maxy), not the bbox order."""
    if isinstance(node, list):
        return [_for_pygeofilter(v) for v in node]
    if not isinstance(node, dict):
        return node
    out = {k: _for_pygeofilter(v) for k, v in node.items()}
    args = out.get("args")
    if out.get("op") == "between" and isinstance(args, list) and len(args) == 3:
        out["args"] = [args[0], args[1:]]
    box = out.get("bbox")
    if isinstance(box, list) and len(box) in (4, 6):
        x0, y0, x1, y1 = box if len(box) == 4 else (box[0], box[1], box[3], box[4])
        out["bbox"] = [x0, x1, y0, y1]
    return out


def parse(text: str, lang: str):
    from pygeofilter.parsers.cql2_json import parse as parse_json

    parse_text = _text_parser().parse
    if len(text) > MAX_FILTER_LENGTH:
        raise InvalidParameter(f"filter: longer than {MAX_FILTER_LENGTH} characters")
    try:
        if lang == "cql2-json":
            return parse_json(_for_pygeofilter(json.loads(text) if isinstance(text, str)
                                               else text))
        return parse_text(text)
    except InvalidParameter:
        raise
    except Exception as exc:  # pygeofilter/lark raise many types; all mean a bad filter
        first = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
        raise InvalidParameter(f"filter: not valid {lang}: {first}") from None


def to_sql(text: str, lang: str, fields: dict[str, FieldSpec], storage_srid: int,
           filter_crs: OutputCRS, params: Params) -> sql.Composable:
    tree = parse(text, lang)
    if _depth(tree) > MAX_DEPTH:
        raise InvalidParameter(f"filter: nested deeper than {MAX_DEPTH} levels")
    try:
        result = ToSQL(fields, storage_srid, filter_crs, params).evaluate(tree)
    except (TypeError, ValueError, AttributeError, KeyError) as exc:
        raise InvalidParameter(f"filter: cannot be applied: {exc}") from None
    if isinstance(result, (Column, GeomLiteral)) or not isinstance(result, sql.Composable):
        raise InvalidParameter("filter: must be a condition (true or false)")
    return result
