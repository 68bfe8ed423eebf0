"""Property-based fuzzing (hypothesis) of what users send twin: files to load, geometries
to edit, tile addresses and bboxes, CQL2 filters.

The properties:
- a loader either loads or raises :class:`LoadError` with a message, and a refused load
  changes no table at all (one transaction);
- an edit body, a tile address, a bbox or a filter is accepted or refused with
  :class:`InvalidParameter` (a 400), never another exception, and over HTTP never a 5xx;
- a valid CQL2 filter (text or JSON) selects exactly the rows that a Python evaluation of
  the same expression, with SQL's three-valued logic, selects.

Bounded for ``make test``: ``max_examples`` is small and there is no deadline (the
machine is shared); ``derandomize`` makes a CI failure reproducible.
"""

from __future__ import annotations

import json
import math
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from psycopg import sql
from sqlalchemy import text

from tests.city import EXTENT
from twin.ingest.errors import LoadError
from twin.ingest.readings import load_readings
from twin.ingest.vector import load_vector
from twin.registry import FieldSpec, FieldType
from twin.server.edit.validate import Change, Checker
from twin.server.errors import InvalidParameter
from twin.server.features import cql
from twin.server.params.crs import CRS84
from twin.server.params.values import parse_bbox
from twin.server.tiles.params import tile_address

pytestmark = pytest.mark.fuzz

FUZZ = settings(max_examples=40, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow, HealthCheck.data_too_large])

# --- building blocks ------------------------------------------------------------------

LON = st.floats(105.3, 106.0)
LAT = st.floats(20.6, 21.3)
ANY_NUMBER = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-10**20,
                                                                                     10**20))
POSITION = st.one_of(st.tuples(LON, LAT).map(list), st.lists(ANY_NUMBER, max_size=4),
                     st.tuples(LAT, LON).map(list))
GEOMETRY_TYPES = ["Point", "LineString", "Polygon", "MultiPoint", "MultiLineString",
                  "MultiPolygon", "GeometryCollection", "Feature", "", "point"]
SCALAR = st.one_of(st.none(), st.booleans(), st.integers(-10**12, 10**12),
                   st.floats(allow_nan=False), st.text(max_size=12))


def coordinates(depth: int):
    """Nested coordinate arrays of ``depth`` levels (1: a position), sometimes ragged."""
    if depth == 1:
        return POSITION
    return st.lists(coordinates(depth - 1), max_size=5)


@st.composite
def geometries(draw):
    kind = draw(st.sampled_from(GEOMETRY_TYPES))
    depth = {"Point": 1, "LineString": 2, "MultiPoint": 2, "Polygon": 3,
             "MultiLineString": 3, "MultiPolygon": 4}.get(kind, draw(st.integers(1, 4)))
    geometry = {"type": kind, "coordinates": draw(coordinates(depth))}
    if kind == "GeometryCollection":
        geometry = {"type": kind, "geometries": [{"type": "Point", "coordinates": [105.8,
                                                                                  21.0]}]}
    return draw(st.one_of(st.just(geometry), st.none(), SCALAR,
                          st.dictionaries(st.text(max_size=5), SCALAR, max_size=2))) \
        if draw(st.integers(0, 9)) == 0 else geometry


ROAD_PROPS = st.fixed_dictionaries({}, optional={
    "id": st.one_of(st.text(max_size=6), st.integers(0, 5)),
    "name": st.one_of(st.text(max_size=10), st.none(), st.integers()),
    "road_class": st.one_of(st.sampled_from(["primary", "residential", "service"]),
                            st.text(max_size=8)),
    "lanes": st.one_of(st.integers(-2, 20), st.text(max_size=3), st.floats()),
    "width_m": st.one_of(st.floats(), st.text(max_size=4)),
    "oneway": SCALAR, "last_inspected": st.one_of(st.dates().map(str), st.text(max_size=10)),
    "surprise": SCALAR})


def features(props=ROAD_PROPS):
    return st.fixed_dictionaries({"type": st.sampled_from(["Feature", "Feature", "feature"]),
                                  "geometry": geometries(), "properties": props})


def table_counts(engine) -> dict[str, int]:
    """Row counts of every table in the public schema (the "nothing partial" snapshot)."""
    with engine.connect() as conn:
        names = [r[0] for r in conn.execute(text(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition "
            "ORDER BY 1"))]
        query = "SELECT " + ", ".join(f'(SELECT count(*) FROM "{n}")' for n in names)
        return dict(zip(names, conn.execute(text(query)).one(), strict=False))


def refused_or_loaded(engine, load, table: str, loaded_rows) -> None:
    """Run ``load``: a LoadError must carry a message and leave every table as it was;
    a success must have added exactly the rows it reports."""
    before = table_counts(engine)
    try:
        summary = load()
    except LoadError as exc:
        assert str(exc).strip(), "a LoadError without a message"
        assert table_counts(engine) == before, "a refused load left rows behind"
        return
    after = table_counts(engine)
    assert after[table] - before[table] == loaded_rows(summary)


# --- loaders --------------------------------------------------------------------------

@pytest.fixture()
def empty_roads(db):
    def truncate():
        with db.begin() as conn:
            conn.execute(text("TRUNCATE road_segments RESTART IDENTITY CASCADE"))
    return truncate


@FUZZ
@given(doc=st.fixed_dictionaries({"type": st.sampled_from(["FeatureCollection", "Feature",
                                                           "Topology"]),
                                  "features": st.lists(features(), max_size=4)}),
       cut=st.one_of(st.none(), st.integers(0, 400)))
def test_geojson_loader_loads_or_refuses_whole(db, registry, empty_roads, tmp_path, doc, cut):
    empty_roads()
    raw = json.dumps(doc).encode()
    path = tmp_path / "roads.geojson"
    path.write_bytes(raw if cut is None else raw[:cut])
    refused_or_loaded(db, lambda: load_vector(db, registry, "road_segments", path,
                                              extent=EXTENT),
                      "road_segments", lambda s: s.loaded)


@FUZZ
@given(raw=st.binary(max_size=300))
def test_geojson_loader_refuses_random_bytes(db, registry, empty_roads, tmp_path, raw):
    empty_roads()
    path = tmp_path / "roads.geojson"
    path.write_bytes(raw)
    refused_or_loaded(db, lambda: load_vector(db, registry, "road_segments", path,
                                              extent=EXTENT),
                      "road_segments", lambda s: s.loaded)


CSV_CELL = st.one_of(st.floats(allow_nan=True).map(str), LON.map(str), LAT.map(str),
                     st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=8),
                     st.just(""), st.just("LINESTRING (105.8 21.0, 105.81 21.01)"))
CSV_HEADERS = st.lists(st.sampled_from(["id", "name", "road_class", "lanes", "lon", "lat",
                                        "wkt", "geometry", "x", "y", "oneway", "Name"]),
                       min_size=1, max_size=7)


@FUZZ
@given(header=CSV_HEADERS, rows=st.lists(st.lists(CSV_CELL, min_size=0, max_size=8),
                                         max_size=5),
       delimiter=st.sampled_from([",", ";", "\t"]))
def test_csv_loader_loads_or_refuses_whole(db, registry, empty_roads, tmp_path, header,
                                           rows, delimiter):
    import csv

    empty_roads()
    path = tmp_path / "roads.csv"
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, delimiter=delimiter)
        writer.writerow(header)
        writer.writerows(rows)
    refused_or_loaded(db, lambda: load_vector(db, registry, "road_segments", path,
                                              extent=EXTENT),
                      "road_segments", lambda s: s.loaded)


@pytest.fixture()
def two_stations(db, registry, tmp_path):
    from tests.files import write_csv

    path = write_csv(tmp_path / "stations.csv", ["code", "name", "kind", "lon", "lat"],
                     [["AQ-1", "Hoàn Kiếm", "air", 105.85, 21.03],
                      ["AQ-2", "Cầu Giấy", "air", 105.80, 21.03]])
    load_vector(db, registry, "sensor_stations", path, extent=EXTENT)
    return db


READING_HEADER = ["station_code", "observed_at", "property", "value", "unit", "quality"]
READING_ROW = st.tuples(
    st.one_of(st.sampled_from(["AQ-1", "AQ-2"]), st.text(max_size=5)),
    st.one_of(st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat()),
              st.sampled_from(["2026-10-01T07:00:00+07:00", "2026-10-01 08:00",
                               "infinity", "1899-12-31T00:00:00Z"]),
              st.text(max_size=10)),
    st.one_of(st.sampled_from(["pm25", "no2", "rain_mm"]), st.text(max_size=6)),
    st.one_of(st.floats(allow_nan=True, allow_infinity=True).map(str), st.just(""),
              st.integers(-5, 500).map(str), st.text(max_size=4)),
    st.one_of(st.just("µg/m³"), st.text(max_size=3)),
    st.one_of(st.sampled_from(["good", "suspect", "bad", "missing"]), st.text(max_size=4)))


@FUZZ
@given(header=st.one_of(st.just(READING_HEADER), st.permutations(READING_HEADER),
                        st.lists(st.sampled_from([*READING_HEADER, "extra", ""]),
                                 max_size=7)),
       rows=st.lists(READING_ROW, max_size=6), cut=st.one_of(st.none(), st.integers(0, 200)))
def test_readings_loader_loads_or_refuses_whole(two_stations, tmp_path, header, rows, cut):
    import csv
    import io

    with two_stations.begin() as conn:
        conn.execute(text("TRUNCATE sensor_readings"))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows([row[:len(header)] for row in rows])
    raw = out.getvalue().encode()
    path = tmp_path / "readings.csv"
    path.write_bytes(raw if cut is None else raw[:cut])
    refused_or_loaded(two_stations, lambda: load_readings(two_stations, path),
                      "sensor_readings", lambda s: s.inserted)


# --- edits, tiles, bbox ---------------------------------------------------------------

@FUZZ
@given(doc=st.one_of(features(), st.dictionaries(st.text(max_size=8), SCALAR, max_size=3)),
       mode=st.sampled_from(["create", "replace", "update"]))
def test_edit_body_is_a_change_or_a_400(registry, doc, mode):
    layer = registry.get("road_segments")
    checker = Checker(layer, {f.name: f for f in layer.fields.values()}, CRS84, EXTENT)
    try:
        change = checker.check(doc, mode, path_id="r1")
    except InvalidParameter as exc:
        assert exc.status == 400 and exc.description
        return
    assert isinstance(change, Change)
    assert change.wkb or mode == "update"  # PATCH may leave the geometry as it is


NUMBERISH = st.one_of(st.integers(-5, 2**31).map(str), st.text(max_size=6),
                      st.sampled_from(["0", "00", "-1", "1e3", "٣", "1_0", " 1", "+1"]))


@FUZZ
@given(z=NUMBERISH, row=NUMBERISH, col=NUMBERISH)
def test_tile_address_is_a_tile_or_a_400(z, row, col):
    try:
        zoom, x, y = tile_address(z, row, col)
    except InvalidParameter as exc:
        assert exc.description
        return
    assert 0 <= x < 2 ** zoom and 0 <= y < 2 ** zoom


BBOX_TEXT = st.one_of(
    st.lists(st.one_of(st.floats(allow_nan=True, allow_infinity=True).map(repr),
                       st.integers().map(str), st.text(max_size=3)),
             max_size=7).map(",".join),
    st.text(max_size=30))


@FUZZ
@given(raw=BBOX_TEXT)
def test_bbox_is_four_finite_numbers_or_a_400(raw):
    try:
        box = parse_bbox(raw)
    except InvalidParameter as exc:
        assert exc.description
        return
    assert len(box) == 4 and all(math.isfinite(v) for v in box)
    assert box[0] <= box[2] and box[1] <= box[3]


@FUZZ
@given(z=NUMBERISH, row=NUMBERISH, col=NUMBERISH, bbox=BBOX_TEXT)
def test_tiles_and_bbox_over_http_never_5xx(http, z, row, col, bbox):
    """The routes the OpenAPI document does not list (twin's tiles) and the bbox of items,
    over real HTTP."""
    from urllib.parse import quote

    tile = http.get("/collections/road_segments/tiles/WebMercatorQuad/"
                    f"{quote(z, safe='')}/{quote(row, safe='')}/{quote(col, safe='')}")
    assert tile.status_code < 500, tile.text
    items = http.get("/collections/road_segments/items", params={"bbox": bbox, "limit": 5})
    assert items.status_code < 500, items.text
    if items.status_code >= 400:
        assert items.json()["code"]


# --- CQL2 -----------------------------------------------------------------------------

CQL_FIELDS = {
    "name": FieldSpec(name="name", type=FieldType.string),
    "lanes": FieldSpec(name="lanes", type=FieldType.integer),
    "width_m": FieldSpec(name="width_m", type=FieldType.number),
    "oneway": FieldSpec(name="oneway", type=FieldType.boolean),
}
CQL_ROWS = [  # id, name, lanes, width_m, oneway, lon, lat
    (1, "Hàng Bạc", 2, 6.5, True, 105.852, 21.034),
    (2, "Hàng Bè", 1, 4.0, False, 105.853, 21.033),
    (3, "Kim Mã", 6, 24.0, False, 105.820, 21.031),
    (4, None, None, None, None, 105.810, 21.020),
    (5, "Láng", 4, 18.5, True, 105.800, 21.010),
    (6, "hang_bac", 2, 6.5, None, 105.900, 21.100),
    (7, "Phố 100%", 3, None, True, 105.851, 21.034),
    (8, "", 0, 0.0, False, 105.850, 21.030),
]
COL = {"name": 1, "lanes": 2, "width_m": 3, "oneway": 4}


class Expr:
    """A generated CQL2 expression: its text form, its JSON form, and its value on a row
    (True, False or None for SQL's unknown)."""

    def __init__(self, text_: str, json_: dict, fn, level: int = 0):
        self.text, self.json, self.fn, self.level = text_, json_, fn, level

    def __repr__(self) -> str:
        return f"Expr({self.text!r}, {json.dumps(self.json)})"


def _cmp(op, a, b):
    if a is None or b is None:
        return None
    return {"=": a == b, "<>": a != b, "<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op]


def _like(value, pattern):
    if value is None:
        return None
    regex = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, flags=re.DOTALL) is not None


def _text_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


# No quote inside a literal: pygeofilter 0.4 does not read CQL2's '' escape (a 400).
NAMES = st.sampled_from(["Hàng Bạc", "Kim Mã", "hang_bac", "", "Láng"])
NUMBERS = st.one_of(st.integers(-1, 8), st.sampled_from([6.5, 4.0, 18.5, 0.0, 24.0]))


@st.composite
def comparisons(draw) -> Expr:
    kind = draw(st.sampled_from(["num", "name", "like", "null", "between", "in", "bool",
                                 "bbox"]))
    if kind == "num":
        field, op, value = (draw(st.sampled_from(["lanes", "width_m"])),
                            draw(st.sampled_from(["=", "<>", "<", "<=", ">", ">="])),
                            draw(NUMBERS))
        return Expr(f"{field} {op} {value}", {"op": op, "args": [{"property": field}, value]},
                    lambda r: _cmp(op, r[COL[field]], value))
    if kind == "name":
        op, value = draw(st.sampled_from(["=", "<>"])), draw(NAMES)
        return Expr(f"name {op} {_text_literal(value)}",
                    {"op": op, "args": [{"property": "name"}, value]},
                    lambda r: _cmp(op, r[1], value))
    if kind == "like":
        pattern = draw(st.sampled_from(["H%", "%B%", "Kim M_", "Kim M.", "%", "hang%",
                                        "%100%", "_"]))
        return Expr(f"name LIKE {_text_literal(pattern)}",
                    {"op": "like", "args": [{"property": "name"}, pattern]},
                    lambda r: _like(r[1], pattern))
    if kind == "null":
        field = draw(st.sampled_from(list(COL)))
        return Expr(f"{field} IS NULL", {"op": "isNull", "args": [{"property": field}]},
                    lambda r: r[COL[field]] is None)
    if kind == "between":
        low, high = sorted(draw(st.lists(st.integers(0, 8), min_size=2, max_size=2)))
        return Expr(f"lanes BETWEEN {low} AND {high}",
                    {"op": "between", "args": [{"property": "lanes"}, low, high]},
                    lambda r: None if r[2] is None else low <= r[2] <= high)
    if kind == "in":
        options = draw(st.lists(st.integers(0, 6), min_size=1, max_size=3))
        return Expr(f"lanes IN ({', '.join(map(str, options))})",
                    {"op": "in", "args": [{"property": "lanes"}, options]},
                    lambda r: None if r[2] is None else r[2] in options)
    if kind == "bool":
        value = draw(st.booleans())
        return Expr(f"oneway = {str(value).upper()}",
                    {"op": "=", "args": [{"property": "oneway"}, value]},
                    lambda r: _cmp("=", r[4], value))
    box = draw(st.sampled_from([(105.84, 21.02, 105.86, 21.04), (105.79, 21.0, 105.83, 21.04),
                                (105.0, 20.0, 106.0, 22.0)]))
    return Expr(f"S_INTERSECTS(geometry, BBOX({', '.join(map(str, box))}))",
                {"op": "s_intersects", "args": [{"property": "geometry"}, {"bbox": list(box)}]},
                lambda r: box[0] <= r[5] <= box[2] and box[1] <= r[6] <= box[3])


def _and(a, b):
    return False if a is False or b is False else None if a is None or b is None else True


def _or(a, b):
    return True if a is True or b is True else None if a is None or b is None else False


def _wrap(expr: Expr, above: int) -> str:
    """The expression's text, parenthesised only where CQL2's precedence needs it
    (NOT over AND over OR), so the parser's precedence is under test too."""
    return f"({expr.text})" if expr.level > above else expr.text


def expressions():
    def extend(children):
        pair = st.tuples(children, children)
        return st.one_of(
            pair.map(lambda p: Expr(f"{_wrap(p[0], 1)} AND {_wrap(p[1], 1)}",
                                    {"op": "and", "args": [p[0].json, p[1].json]},
                                    lambda r, p=p: _and(p[0].fn(r), p[1].fn(r)), level=1)),
            pair.map(lambda p: Expr(f"{p[0].text} OR {_wrap(p[1], 1)}",
                                    {"op": "or", "args": [p[0].json, p[1].json]},
                                    lambda r, p=p: _or(p[0].fn(r), p[1].fn(r)), level=2)),
            children.map(lambda e: Expr(f"NOT {_wrap(e, 0)}", {"op": "not", "args": [e.json]},
                                        lambda r, e=e: None if e.fn(r) is None
                                        else not e.fn(r))),
            children.map(lambda e: Expr(f"(({e.text}))", e.json, e.fn)))
    return st.recursive(comparisons(), extend, max_leaves=6)


@pytest.fixture(scope="module")
def cql_table(engine):
    """A small table with the CQL_FIELDS columns, NULLs included, in a temp schema."""
    raw = engine.raw_connection()
    conn = raw.driver_connection
    conn.autocommit = True
    conn.execute("CREATE TEMP TABLE cql_fuzz (id int, name text, lanes int, width_m float8, "
                 "oneway boolean, geom geometry(Point, 4326))")
    with conn.cursor() as cur:
        cur.executemany("INSERT INTO cql_fuzz VALUES (%s, %s, %s, %s, %s, "
                        "ST_SetSRID(ST_MakePoint(%s, %s), 4326))", CQL_ROWS)
    yield conn
    conn.execute("DROP TABLE cql_fuzz")
    conn.autocommit = False  # back to the pool as it came: other tests' loads need it
    raw.close()


def _select(conn, where: sql.Composable, params: dict) -> list[int]:
    query = sql.SQL("SELECT id FROM cql_fuzz t WHERE {} ORDER BY id").format(where)
    return [r[0] for r in conn.execute(query, params).fetchall()]


@settings(FUZZ, max_examples=80)
@given(expr=expressions())
def test_cql2_filters_select_what_python_selects(cql_table, expr):
    expected = [r[0] for r in CQL_ROWS if expr.fn(r) is True]
    for lang, body in (("cql2-text", expr.text), ("cql2-json", json.dumps(expr.json))):
        params = cql.Params()
        try:
            where = cql.to_sql(body, lang, CQL_FIELDS, 4326, CRS84, params)
        except InvalidParameter as exc:
            raise AssertionError(f"{lang} {body} refused: {exc.description}") from None
        assert _select(cql_table, where, params) == expected, (lang, body)


CQL_TOKENS = st.sampled_from(["name", "lanes", "width_m", "geometry", "=", "<>", "<", "(",
                              ")", ",", "AND", "OR", "NOT", "LIKE", "IN", "BETWEEN", "IS",
                              "NULL", "'a'", "'", "1", "-2.5", "1e400", "TRUE", "S_INTERSECTS",
                              "BBOX", "POINT(105.8 21)", "POLYGON((0 0,1 0,1 1,0 0))",
                              "DATE('2026-01-01')", "TIMESTAMP('x')", "CASEI", "unknown",
                              "A_CONTAINS", "INTERVAL", "\x00", "%", "ENVELOPE(1,2,3,4)"])


@settings(FUZZ, max_examples=150)
@given(body=st.one_of(st.lists(CQL_TOKENS, max_size=12).map(" ".join),
                      st.text(max_size=40),
                      st.recursive(SCALAR | st.just({"property": "lanes"}),
                                   lambda c: st.lists(c, max_size=3) | st.dictionaries(
                                       st.sampled_from(["op", "args", "property", "bbox"]),
                                       c | st.sampled_from(["and", "=", "like", "s_within",
                                                            "isNull", "between"]),
                                       max_size=3), max_leaves=8).map(json.dumps)),
       lang=st.sampled_from(["cql2-text", "cql2-json"]))
def test_random_cql2_is_sql_or_a_400(cql_table, body, lang):
    params = cql.Params()
    try:
        where = cql.to_sql(body, lang, CQL_FIELDS, 4326, CRS84, params)
    except InvalidParameter as exc:
        assert exc.description.startswith("filter")
        return
    # Accepted: PostgreSQL must be able to run it (a type error there would be a 500).
    _select(cql_table, where, params)
