"""CQL2 (text and JSON) to SQL with bound values, through pygeofilter's parser.

Supported, and declared in /conformance: basic CQL2, advanced comparison
operators (LIKE, BETWEEN, IN), case-insensitive comparison (CASEI), and the
spatial functions (S_INTERSECTS, S_DISJOINT, S_CONTAINS, S_WITHIN, S_TOUCHES,
S_CROSSES, S_OVERLAPS, S_EQUALS) on any geometry literal; INCLUDE and EXCLUDE.

Every operand is typed against the queryables before SQL is written
(:mod:`twin.server.features.cql_types`): a comparison PostgreSQL could not make, a
malformed or invalid geometry literal, text it cannot hold, are each a 400 saying what
is wrong, never a database error. Temporal and array functions, arithmetic and
S_DWITHIN are refused (400) after their operands are typed.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from functools import cache
from pathlib import Path

from psycopg import sql
from pygeofilter import ast, values
from pygeofilter.backends.evaluator import Evaluator, handle
from pygeofilter.cql2 import BINARY_OP_PREDICATES_MAP, get_op

from twin.registry import FieldSpec, FieldType
from twin.server.errors import InvalidParameter
from twin.server.features.cql_types import (
    GEOMETRY,
    INTERVAL,
    LIST,
    NULL,
    STRING,
    Condition,
    IntervalLiteral,
    Operand,
    article,
    check_compare,
    check_envelope,
    check_geometry_operand,
    check_numbers,
    check_ordered,
    check_string,
    check_temporal,
    check_text,
    field_operand,
    geometry_literal,
    kind_of,
)
from twin.server.limits import LIMITS
from twin.server.params.binds import Params
from twin.server.params.crs import OutputCRS

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


# CQL2's names of what this server refuses, for the message.
UNSUPPORTED = {**{cls: name.upper() for name, cls in BINARY_OP_PREDICATES_MAP.items()},
               ast.Add: "arithmetic (+)", ast.Sub: "arithmetic (-)", ast.Mul: "arithmetic (*)",
               ast.Div: "arithmetic (/)", ast.BBox: "BBOX(property, ...) as a predicate "
               "(write S_INTERSECTS(geometry, BBOX(...)))", ast.Relate: "S_RELATE",
               ast.DistanceWithin: "S_DWITHIN", ast.DistanceBeyond: "S_BEYOND"}
WRONG_ARGUMENTS = ("filter: cannot be applied: an operator has arguments of the wrong "
                   "number or kind")


class ToSQL(Evaluator):
    """The AST as SQL. Every operand is typed (twin.server.features.cql_types) before SQL
    is written; a predicate is a :class:`Condition`, and only conditions are combined
    (AND, OR, NOT) or make the result, which is the condition's SQL."""

    def __init__(self, fields: dict[str, FieldSpec], storage_srid: int, filter_crs: OutputCRS,
                 params: Params):
        self.fields, self.srid, self.fcrs, self.params = fields, storage_srid, filter_crs, params

    def evaluate(self, node, adopt_result: bool = True):
        if not adopt_result:  # a sub-node: the top call turns errors into a 400
            return super().evaluate(node, False)
        try:
            return super().evaluate(node, True)
        except (TypeError, ValueError, AttributeError, KeyError, IndexError):
            raise InvalidParameter(WRONG_ARGUMENTS) from None

    def adopt_result(self, result) -> sql.Composable:
        if not isinstance(result, Condition):
            raise InvalidParameter("filter: must be a condition (true or false)")
        return result.sql

    def value(self, operand, spec: FieldSpec | None = None) -> sql.Composable:
        if isinstance(operand, Operand):
            return operand.sql
        kind = kind_of(operand)
        if kind == NULL:
            return sql.SQL("NULL")
        if kind in (LIST, INTERVAL):
            raise InvalidParameter(f"filter: {article(kind)} cannot be used here")
        if kind == STRING:
            check_text(operand)
            if spec is None:  # no column to type it: PostgreSQL would not know the type
                return sql.SQL("{}::text").format(self.params.add(operand))
        return self.params.add(_typed(operand, spec))

    def _spec(self, *operands) -> FieldSpec | None:
        return next((o.spec for o in operands if isinstance(o, Operand) and o.spec), None)

    @handle(ast.Attribute)
    def attribute(self, node):
        name = node.name
        if not isinstance(name, str):
            raise InvalidParameter('filter: a property is named by a string, e.g. '
                                   '{"property": "name"}')
        check_text(name, "a property name")
        if name in GEOMETRY_NAMES:
            return Operand(sql.SQL("t.geom"), GEOMETRY, name, is_property=True)
        if name not in self.fields:
            raise InvalidParameter(f"filter: {name!r} is not a queryable; see "
                                   f"/queryables ({', '.join(self.fields)})")
        return field_operand(name, self.fields[name])

    @handle(*COMPARE)
    def compare(self, node, lhs, rhs):
        check_compare(lhs, rhs)
        spec = self._spec(lhs, rhs)
        op = sql.SQL(COMPARE[type(node)])
        return Condition(sql.SQL("({} {} {})").format(self.value(lhs, spec), op,
                                                      self.value(rhs, spec)))

    @handle(ast.And, ast.Or)
    def combine(self, node, lhs, rhs):
        op = sql.SQL(" AND " if isinstance(node, ast.And) else " OR ")
        return Condition(sql.SQL("(") + _condition(lhs).sql + op + _condition(rhs).sql
                         + sql.SQL(")"))

    @handle(ast.Not)
    def negate(self, node, sub):
        return Condition(sql.SQL("(NOT {})").format(_condition(sub).sql))

    @handle(ast.Like)
    def like(self, node, lhs):
        # CQL2's wildcards are SQL's (% and _, escaped with \\): the pattern goes as it is.
        # pygeofilter labels "." the single-character wildcard, which in CQL2 is a literal.
        check_string(lhs, "LIKE")
        pattern = node.pattern
        if not isinstance(pattern, str):
            raise InvalidParameter("filter: LIKE takes a pattern in quotes, e.g. "
                                   "name LIKE 'Phố%'")
        check_text(pattern, "the LIKE pattern")
        op = sql.SQL(" NOT" if node.not_ else "") + sql.SQL(" ILIKE " if node.nocase else " LIKE ")
        return Condition(sql.SQL("({}::text{}{})").format(self.value(lhs), op,
                                                          self.params.add(pattern)))

    @handle(ast.Between)
    def between(self, node, lhs, low, high):
        check_ordered(lhs, "BETWEEN")
        check_compare(lhs, low)
        check_compare(lhs, high)
        spec = self._spec(lhs)
        neg = sql.SQL(" NOT" if node.not_ else "")
        return Condition(sql.SQL("({}{} BETWEEN {} AND {})").format(
            self.value(lhs), neg, self.value(low, spec), self.value(high, spec)))

    @handle(ast.In)
    def in_(self, node, lhs, *options):
        check_ordered(lhs, "IN")
        if not options:
            raise InvalidParameter("filter: IN needs at least one value")
        for option in options:
            check_compare(lhs, option)
        spec = self._spec(lhs)
        items = sql.SQL(", ").join(self.value(o, spec) for o in options)
        neg = sql.SQL(" NOT" if node.not_ else "")
        return Condition(sql.SQL("({}{} IN ({}))").format(self.value(lhs), neg, items))

    @handle(ast.Include)
    def include(self, node):
        return Condition(sql.SQL("FALSE" if node.not_ else "TRUE"))

    @handle(ast.IsNull)
    def is_null(self, node, lhs):
        return Condition(sql.SQL("({} IS {}NULL)").format(
            self.value(lhs), sql.SQL("NOT " if node.not_ else "")))

    @handle(*SPATIAL)
    def spatial(self, node, lhs, rhs):
        fn = SPATIAL[type(node)]
        name = "S_" + fn[3:].upper()
        check_geometry_operand(lhs, name, "first")
        check_geometry_operand(rhs, name, "second")
        return Condition(sql.SQL("{}({}, {})").format(sql.SQL(fn), lhs.sql, rhs.sql))

    @handle(ast.TemporalPredicate, subclasses=True)
    def temporal(self, node, lhs, rhs):
        check_temporal((get_op(node) or type(node).__name__).upper(), lhs, rhs)

    @handle(values.Interval)
    def interval(self, node, *bounds):
        return IntervalLiteral(node.start, node.end)

    @handle(values.Geometry)
    def geom_literal(self, node):
        if not isinstance(node.geometry, dict):
            raise InvalidParameter("filter: the geometry literal is malformed")
        doc = geometry_literal(node.geometry, self.fcrs.lat_first, self.fcrs.srid, self.srid)
        return self._transform(sql.SQL("ST_SetSRID(ST_GeomFromGeoJSON({}), {})").format(
            self.params.add(doc), sql.Literal(self.fcrs.srid)))

    @handle(values.Envelope)
    def envelope(self, node):
        x0, y0, x1, y1 = check_numbers([node.x1, node.y1, node.x2, node.y2], "a bounding box")
        if self.fcrs.lat_first:
            x0, y0, x1, y1 = y0, x0, y1, x1
        check_envelope([x0, y0, x1, y1], self.fcrs.srid, self.srid)
        return self._transform(sql.SQL("ST_MakeEnvelope({}, {}, {}, {}, {})").format(
            *(self.params.add(v) for v in (x0, y0, x1, y1)), sql.Literal(self.fcrs.srid)))

    @handle(ast.Function)
    def function(self, node, *args):
        name = node.name.lower() if isinstance(node.name, str) else ""
        if name == "bbox" and len(args) in (4, 6):
            nums = check_numbers(args, "BBOX")
            nums = nums if len(nums) == 4 else [nums[0], nums[1], nums[3], nums[4]]
            return self.envelope(values.Envelope(nums[0], nums[2], nums[1], nums[3]))
        if name in ("lower", "casei") and len(args) == 1:
            (arg,) = args
            check_string(arg, "CASEI")
            named = isinstance(arg, Operand) and arg.is_property
            return Operand(sql.SQL("lower({})").format(self.value(arg)), STRING,
                           f"CASEI({arg.label})" if named else "CASEI(...)", is_property=named)
        raise InvalidParameter(f"filter: function {str(node.name)[:40]!r} is not supported")

    def _transform(self, geom: sql.Composable) -> Operand:
        if self.fcrs.srid != self.srid:
            geom = sql.SQL("ST_Transform({}, {})").format(geom, sql.Literal(self.srid))
        return Operand(geom, GEOMETRY, "the geometry literal")

    def adopt(self, node, *sub_args):
        if isinstance(node, (str, int, float, bool, date, datetime, timedelta)) or node is None:
            return node
        if isinstance(node, list):
            return node
        what = UNSUPPORTED.get(type(node), type(node).__name__)
        raise InvalidParameter(f"filter: {what} is not supported by this server")


def _condition(operand) -> Condition:
    if not isinstance(operand, Condition):
        raise InvalidParameter(f"filter: AND, OR and NOT combine conditions (true or false); "
                               f"{_describe(operand)} is not one")
    return operand


def _describe(operand) -> str:
    if isinstance(operand, Operand) and operand.is_property:
        return operand.label
    try:
        return article(kind_of(operand))
    except InvalidParameter:
        return "an operand"


def _typed(value, spec: FieldSpec | None):
    """A literal as the column compared with it takes it (the kinds are already checked):
    a timestamp compared with a date column is its date."""
    if spec is not None and spec.type == FieldType.date and isinstance(value, datetime):
        return value.date()
    return value


def _depth(node, level: int = 0) -> int:
    if level > MAX_DEPTH:
        return level
    try:
        subs = node.get_sub_nodes() if hasattr(node, "get_sub_nodes") else None
    except TypeError:  # e.g. IN with a number for its list: the evaluation refuses it
        return level
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
        raise InvalidParameter(f"filter: not valid {lang}: {_parse_error(exc)}") from None


def _parse_error(exc: Exception) -> str:
    """Where the input went wrong, in the client's terms (the position and the text
    found there); never the parser's or Python's words (grammar token names, a
    KeyError, datetime's messages)."""
    from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedToken, VisitError

    if isinstance(exc, VisitError):
        exc = exc.orig_exc
    if isinstance(exc, UnexpectedToken):
        if exc.token.type == "$END":
            return "the filter ends too early"
        return f"unexpected {str(exc.token.value)[:40]!r} at line {exc.line}, column {exc.column}"
    if isinstance(exc, UnexpectedCharacters):
        return (f"unexpected {exc.char!r} at line {exc.line}, column {exc.column} (a property "
                "name, a literal or an operator was expected)")
    if isinstance(exc, UnexpectedEOF):
        return "the filter ends too early"
    if isinstance(exc, json.JSONDecodeError):
        return f"{exc.msg} at line {exc.lineno}, column {exc.colno}"
    if isinstance(exc, ValueError):
        return ("a literal is not valid (a date must be a real day, YYYY-MM-DD; a timestamp "
                "RFC 3339; a number finite)")
    return "an operator or a literal is malformed (missing, extra or misplaced arguments)"


def to_sql(text: str, lang: str, fields: dict[str, FieldSpec], storage_srid: int,
           filter_crs: OutputCRS, params: Params) -> sql.Composable:
    """The SQL condition of a CQL2 filter as given (text or JSON)."""
    return tree_sql(parse(text, lang), fields, storage_srid, filter_crs, params)


def tree_sql(tree, fields: dict[str, FieldSpec], storage_srid: int, filter_crs: OutputCRS,
             params: Params) -> sql.Composable:
    """The SQL condition of a parsed filter (pygeofilter's AST: :func:`parse`'s, or the
    one pygeoapi parsed for its HTML pages), every operand typed first."""
    if _depth(tree) > MAX_DEPTH:
        raise InvalidParameter(f"filter: nested deeper than {MAX_DEPTH} levels")
    return ToSQL(fields, storage_srid, filter_crs, params).evaluate(tree)
