"""CQL2 operands are typed against the queryables: a comparison PostgreSQL cannot make is
a 400 naming the property, its type and the other operand's type, in CQL2 text and JSON,
on twin's items route and on pygeoapi's HTML pages, and nothing is logged at ERROR.

The fuzzing here builds comparisons of every kind of operand (properties of every
queryable type, literals of every kind, functions) with every operator: what twin
accepts, PostgreSQL runs (on a real table with those column types); the rest is a 400.
"""

from __future__ import annotations

import json
import logging

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from psycopg import sql

from twin.registry import FieldSpec, FieldType
from twin.server.errors import InvalidParameter
from twin.server.features import cql
from twin.server.params.crs import CRS84, parse_crs

pytestmark = pytest.mark.api_language("en")  # its assertions quote English descriptions

PARCELS = "/collections/land_parcels/items"
ROADS = "/collections/road_segments/items"
TS = "2020-01-01T00:00:00Z"

# The issue's four filters, as CQL2 text and JSON, and the words the 400 must hold.
ATTACKS = [
    ("land_use = geometry",
     {"op": "=", "args": [{"property": "land_use"}, {"property": "geometry"}]},
     "filter: land_use is a string; it cannot be compared with a geometry"),
    ("registered_on = 5", {"op": "=", "args": [{"property": "registered_on"}, 5]},
     "filter: registered_on is a date; it cannot be compared with a number"),
    ("geometry = 'abc'", {"op": "=", "args": [{"property": "geometry"}, "abc"]},
     "filter: geometry is a geometry; it cannot be compared with a string"),
    (f"map_sheet = TIMESTAMP('{TS}')",
     {"op": "=", "args": [{"property": "map_sheet"}, {"timestamp": TS}]},
     "filter: map_sheet is a number; it cannot be compared with a timestamp"),
]


@pytest.fixture()
def errors_logged(caplog):
    """The records at ERROR or above logged while the test ran (the server runs in this
    process, so its log records reach caplog); checked to be captured at all first."""
    caplog.set_level(logging.INFO)
    logging.getLogger("twin.server").error("probe")
    assert "probe" in [r.getMessage() for r in caplog.records]
    caplog.clear()
    return lambda: [r for r in caplog.records if r.levelno >= logging.ERROR]


def refused(response, *words: str) -> str:
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["code"] == "InvalidParameterValue"
    for word in words:
        assert word in body["description"], body
    for internal in ("psycopg", "Traceback", "operator does not exist", "Error", "t.\""):
        assert internal not in body["description"], body
    return body["description"]


@pytest.mark.parametrize("text,doc,words", ATTACKS, ids=[a[0] for a in ATTACKS])
def test_issue_filters_are_400_as_text_and_json(http, errors_logged, text, doc, words):
    refused(http.get(PARCELS, params={"filter": text}), words)
    refused(http.get(PARCELS, params={"filter": json.dumps(doc), "filter-lang": "cql2-json"}),
            words)
    assert errors_logged() == []


@pytest.mark.parametrize("text,doc,words", ATTACKS, ids=[a[0] for a in ATTACKS])
def test_issue_filters_are_400_on_pygeoapi_pages(http, errors_logged, text, doc, words):
    """f=html is pygeoapi's page, whose provider uses the same evaluator."""
    for params in ({"filter": text}, {"filter": json.dumps(doc), "filter-lang": "cql2-json"}):
        response = http.get(PARCELS, params={**params, "f": "html"})
        assert response.status_code == 400, response.text[:500]
        assert "psycopg" not in response.text and "Traceback" not in response.text
    assert errors_logged() == []


def test_the_description_helps(http):
    """The hint says what to write instead."""
    assert "DATE('" in refused(http.get(PARCELS, params={"filter": "registered_on = 5"}))
    assert "S_INTERSECTS" in refused(http.get(PARCELS, params={"filter": "geometry = 'abc'"}))
    assert "without quotes" in refused(http.get(PARCELS, params={"filter": "map_sheet = '12'"}))


# More mismatches, on the parcels (string, integer, date) and the roads (boolean, number).
MISMATCHES = [
    (PARCELS, "map_sheet = land_use", ("map_sheet is a number; it cannot be compared with "
                                      "land_use (a string)")),
    (PARCELS, "land_use = 5", "land_use is a string; it cannot be compared with a number"),
    (PARCELS, "land_use IN ('ODT', 5)", "land_use is a string"),
    (PARCELS, "map_sheet BETWEEN 1 AND DATE('2020-01-01')", "cannot be compared with a date"),
    (PARCELS, "geometry BETWEEN 1 AND 2", "geometry is a geometry; BETWEEN compares"),
    (PARCELS, "map_sheet LIKE '1%'", "map_sheet is a number; LIKE takes a string"),
    (PARCELS, "land_use LIKE land_use", "LIKE takes a pattern in quotes"),
    (PARCELS, "CASEI(map_sheet) = 'a'", "map_sheet is a number; CASEI takes a string"),
    (PARCELS, "CASEI(land_use) = 5", "CASEI(land_use) is a string"),
    (PARCELS, "S_INTERSECTS(land_use, POINT(105.8 21))", ("S_INTERSECTS compares geometries; "
                                                         "land_use is a string")),
    (PARCELS, "S_WITHIN(geometry, 5)", "its second argument is a number"),
    (PARCELS, "registered_on = INTERVAL('2020-01-01T00:00:00Z','2021-01-01T00:00:00Z')",
     "registered_on is a date; it cannot be compared with an interval"),
    (PARCELS, f"land_use T_BEFORE TIMESTAMP('{TS}')", "land_use is a string; T_BEFORE compares"),
    (PARCELS, f"registered_on T_AFTER TIMESTAMP('{TS}')", "T_AFTER and the other temporal"),
    (PARCELS, "registered_on = 'yesterday'", "registered_on is a date"),
    (PARCELS, "map_sheet + 1 = 2", "arithmetic (+) is not supported"),
    (PARCELS, "S_INTERSECTS(geometry, POLYGON((105 21, 106 22, 106 21, 105 22, 105 21)))",
     "the geometry literal is not valid: Self-intersection"),
    (PARCELS, "S_INTERSECTS(geometry, POLYGON((105 21, 106 22, 105 21)))",
     "the geometry literal is not valid"),
    (ROADS, "oneway = 1", "oneway is a boolean; it cannot be compared with a number"),
    (ROADS, "lanes = true", "lanes is a number; it cannot be compared with a boolean"),
    (ROADS, "last_inspected > lanes", ("last_inspected is a date; it cannot be compared "
                                      "with lanes (a number)")),
]


@pytest.mark.parametrize("path,text,words", MISMATCHES, ids=[m[1] for m in MISMATCHES])
def test_mismatches_are_400(http, errors_logged, path, text, words):
    refused(http.get(path, params={"filter": text}), words)
    assert errors_logged() == []


JSON_ONLY = [  # what CQL2 JSON can say that the text grammar cannot
    ({"op": "in", "args": [{"property": "map_sheet"}, []]}, "IN needs at least one value"),
    ({"op": "=", "args": [{"property": "map_sheet"}, [1, 2]]}, "cannot be compared with a list"),
    ({"op": "and", "args": [{"lower": "x"}, {"op": "=", "args": [1, 1]}]},
     "AND, OR and NOT combine conditions"),
    ({"op": "=", "args": [{"property": "land_use"}, "a\u0000b"]}, "NUL"),
    ({"op": "=", "args": [{"property": "land_use"}, "\ud800"]}, "not valid Unicode"),
    ({"op": "=", "args": [{"property": ["land_use"]}, "ODT"]}, "a property is named by a string"),
    ({"op": "like", "args": [{"property": "land_use"}, 5]}, "LIKE takes a pattern in quotes"),
    ({"op": "in", "args": [{"property": "map_sheet"}, 5]}, "filter: "),
    ({"op": "s_intersects", "args": [{"property": "geometry"},
                                     {"type": "Point", "coordinates": []}]}, "empty"),
    ({"op": "s_intersects", "args": [{"property": "geometry"},
                                     {"type": "Polygon", "coordinates": [[[1, 2]]]}]},
     "malformed"),
    ({"op": "s_intersects", "args": [{"property": "geometry"}, {"bbox": [1, 2, "a", 4]}]},
     "takes numbers only"),
    ({"op": "isNull", "args": [{"interval": ["2020-01-01", ".."]}]}, "an interval"),
    ({"lower": "x"}, "must be a condition"),
]


@pytest.mark.parametrize("doc,words", JSON_ONLY, ids=[json.dumps(j[0])[:60] for j in JSON_ONLY])
def test_json_only_mistakes_are_400(http, errors_logged, doc, words):
    refused(http.get(PARCELS, params={"filter": json.dumps(doc), "filter-lang": "cql2-json"}),
            words)
    assert errors_logged() == []


def test_a_geometry_outside_the_filter_crs_is_400(http, errors_logged):
    """Coordinates PostGIS could not transform from filter-crs to the storage CRS."""
    far = "S_INTERSECTS(geometry, POINT(1e12 1e12))"
    refused(http.get(PARCELS, params={"filter": far,
                                      "filter-crs": "http://www.opengis.net/def/crs/EPSG/0/3405"}),
            "cannot be transformed")
    assert errors_logged() == []


WELL_TYPED = [
    "map_sheet = parcel_no",
    "map_sheet < 5 AND parcel_no >= 1",
    "CASEI(land_use) = CASEI('odt')",
    f"registered_on < TIMESTAMP('{TS}')",
    "registered_on BETWEEN DATE('2000-01-01') AND DATE('2030-01-01')",
    "land_use IN ('ODT', 'CLN') AND address LIKE '%'",
    "registered_on IS NULL OR land_use IS NOT NULL",
    "S_INTERSECTS(geometry, POLYGON((105.8 21, 105.9 21, 105.9 21.1, 105.8 21)))",
    "S_INTERSECTS(geometry, BBOX(105.8, 21.0, 105.9, 21.1))",
]


@pytest.mark.parametrize("text", WELL_TYPED)
def test_well_typed_filters_are_served(http, text):
    response = http.get(PARCELS, params={"filter": text, "limit": 2})
    assert response.status_code == 200, response.text


def test_a_lat_first_polygon_selects_what_its_lon_lat_twin_selects(http):
    """EPSG:4326 is latitude first: the literal is read in that order."""
    lon_lat = "S_INTERSECTS(geometry, POLYGON((105.8 21, 105.9 21, 105.9 21.1, 105.8 21)))"
    lat_lon = "S_INTERSECTS(geometry, POLYGON((21 105.8, 21 105.9, 21.1 105.9, 21 105.8)))"
    a = http.get(PARCELS, params={"filter": lon_lat, "limit": 1000}).json()
    b = http.get(PARCELS, params={"filter": lat_lon, "limit": 1000,
                                  "filter-crs": "http://www.opengis.net/def/crs/EPSG/0/4326"})
    assert b.status_code == 200, b.text
    assert {f["id"] for f in a["features"]} == {f["id"] for f in b.json()["features"]}


# --- fuzzing: accepted means PostgreSQL runs it -----------------------------------------

FUZZ = settings(max_examples=300, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])
FIELDS = {name: FieldSpec(name=name, type=kind) for name, kind in (
    ("txt", FieldType.string), ("int", FieldType.integer), ("num", FieldType.number),
    ("yes", FieldType.boolean), ("day", FieldType.date), ("at", FieldType.datetime))}
COLUMNS = ("txt text, int int, num float8, yes boolean, day date, at timestamptz, "
           "geom geometry(Point, 4326)")
ROWS = [("Hàng Bạc", 2, 6.5, True, "2020-05-01", "2020-05-01T08:00:00+07:00", 105.85, 21.03),
        (None, None, None, None, None, None, 105.80, 21.00)]


def operands(s: str, i: str, n: str, b: str | None, d: str, ts: str | None):
    """Operands as (CQL2 text, CQL2 JSON): the given properties (a string, an integer, a
    number, a boolean, a date, a timestamp one), the geometry, literals of every kind
    and functions."""
    names = [p for p in (s, i, n, b, d, ts, "geometry") if p]
    return [(name, {"property": name}) for name in names] + [
        ("'ODT'", "ODT"), ("5", 5), ("-2.5", -2.5), ("TRUE", True),
        ("DATE('2020-01-01')", {"date": "2020-01-01"}), (f"TIMESTAMP('{TS}')", {"timestamp": TS}),
        ("POINT(105.8 21)", {"type": "Point", "coordinates": [105.8, 21]}),
        ("BBOX(105.8, 21, 105.9, 21.1)", {"bbox": [105.8, 21, 105.9, 21.1]}),
        (f"INTERVAL('{TS}','2021-01-01T00:00:00Z')", {"interval": [TS, "2021-01-01T00:00:00Z"]}),
        (f"CASEI({s})", {"op": "casei", "args": [{"property": s}]}),
        ("CASEI('Ab')", {"op": "casei", "args": ["Ab"]}),
        (f"LOWER({i})", {"function": {"name": "lower", "arguments": [{"property": i}]}}),
    ]


TABLE_OPERANDS = operands(*FIELDS)
ROAD_OPERANDS = operands("name", "lanes", "width_m", "oneway", "last_inspected", None)

COMPARISONS = ["=", "<>", "<", "<=", ">", ">="]
SPATIAL_OPS = ["S_INTERSECTS", "S_DISJOINT", "S_CONTAINS", "S_WITHIN", "S_TOUCHES",
               "S_CROSSES", "S_OVERLAPS", "S_EQUALS"]
TEMPORAL_OPS = ["T_BEFORE", "T_AFTER", "T_DURING", "T_INTERSECTS"]


@st.composite
def predicates(draw, pool=TABLE_OPERANDS):
    kind = draw(st.sampled_from(["compare", "between", "in", "like", "null", "spatial",
                                 "temporal"]))
    (at, aj), (bt, bj), (ct, cj) = (draw(st.sampled_from(pool)) for _ in range(3))
    if kind == "compare":
        op = draw(st.sampled_from(COMPARISONS))
        return f"{at} {op} {bt}", {"op": op, "args": [aj, bj]}
    if kind == "between":
        return f"{at} BETWEEN {bt} AND {ct}", {"op": "between", "args": [aj, bj, cj]}
    if kind == "in":
        return f"{at} IN ({bt}, {ct})", {"op": "in", "args": [aj, [bj, cj]]}
    if kind == "like":
        return f"{at} LIKE 'H%'", {"op": "like", "args": [aj, "H%"]}
    if kind == "null":
        return f"{at} IS NULL", {"op": "isNull", "args": [aj]}
    if kind == "spatial":
        op = draw(st.sampled_from(SPATIAL_OPS))
        return f"{op}({at}, {bt})", {"op": op.lower(), "args": [aj, bj]}
    op = draw(st.sampled_from(TEMPORAL_OPS))
    return f"{at} {op} {bt}", {"op": op.lower(), "args": [aj, bj]}


@pytest.fixture(scope="module")
def typed_table(engine):
    raw = engine.raw_connection()
    conn = raw.driver_connection
    conn.autocommit = True
    conn.execute(f"CREATE TEMP TABLE cql_types ({COLUMNS})")
    with conn.cursor() as cur:
        cur.executemany("INSERT INTO cql_types VALUES (%s, %s, %s, %s, %s, %s, "
                        "ST_SetSRID(ST_MakePoint(%s, %s), 4326))", ROWS)
    yield conn
    conn.execute("DROP TABLE cql_types")
    conn.autocommit = False
    raw.close()


@pytest.mark.fuzz
@FUZZ
@given(pred=predicates(), negate=st.booleans(),
       crs=st.sampled_from([CRS84, parse_crs("EPSG:4326", 4326),
                            parse_crs("EPSG:3405", 4326, offered=(3405,))]))  # the city's
def test_typed_predicates_run_in_postgresql_or_are_400(typed_table, pred, negate, crs):
    text, doc = pred
    if negate:
        text, doc = f"NOT ({text})", {"op": "not", "args": [doc]}
    for lang, body in (("cql2-text", text), ("cql2-json", json.dumps(doc))):
        params = cql.Params()
        try:
            where = cql.to_sql(body, lang, FIELDS, 4326, crs, params)
        except InvalidParameter as exc:
            assert exc.description.startswith("filter: "), exc.description
            continue
        query = sql.SQL("SELECT count(*) FROM cql_types t WHERE {}").format(where)
        typed_table.execute(query, params).fetchone()  # a type error here would be a 500


JUNK = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-10**30, 10**30), st.floats(),
              st.text(max_size=8), st.sampled_from([{"property": "int"}, {"property": "geometry"},
                                                    {"date": "2020-01-01"}, {"bbox": [1, 2]},
                                                    {"interval": [".."]}])),
    lambda c: st.lists(c, max_size=3) | st.dictionaries(
        st.sampled_from(["op", "args", "property", "lower", "function", "name", "arguments",
                         "type", "coordinates", "bbox", "interval", "timestamp"]),
        c | st.sampled_from(["and", "or", "not", "=", "<", "like", "in", "between", "isNull",
                             "casei", "s_intersects", "t_before", "a_contains", "+", "Point",
                             "Polygon"]), max_size=3), max_leaves=10)


@pytest.mark.fuzz
@FUZZ
@given(doc=JUNK)
def test_random_cql2_json_is_sql_or_a_400(typed_table, doc):
    params = cql.Params()
    try:
        where = cql.to_sql(json.dumps(doc), "cql2-json", FIELDS, 4326, CRS84, params)
    except InvalidParameter as exc:
        assert exc.description.startswith("filter: "), exc.description
        return
    typed_table.execute(sql.SQL("SELECT count(*) FROM cql_types t WHERE {}").format(where),
                        params).fetchone()


@pytest.mark.fuzz
@settings(FUZZ, max_examples=60)
@given(pred=predicates(ROAD_OPERANDS))
def test_random_filters_over_http_are_never_5xx(http, pred):
    """The same generator against the real server's roads (their own queryables)."""
    text, doc = pred
    for params in ({"filter": text}, {"filter": json.dumps(doc), "filter-lang": "cql2-json"}):
        response = http.get(ROADS, params={**params, "limit": 1})
        assert response.status_code in (200, 400), (params, response.text)
        if response.status_code == 400:
            assert response.json()["description"].startswith("filter"), response.text


@pytest.mark.parametrize(("lang", "text", "words"), [
    ("cql2-text", "registered_on = DATE('2024-13-45')", "unexpected '2024' at line 1, column"),
    ("cql2-text", "S_INTERSECTS(geometry, POINT(1))", "unexpected ')' at line 1, column 31"),
    ("cql2-json", '{"op": "=", "args": [{"property": "registered_on"}, {"date": "2024-02-30"}]}',
     "a literal is not valid (a date must be a real day"),
    ("cql2-json", "{bad", "Expecting property name enclosed in double quotes at line 1, column 2"),
])
def test_syntax_errors_speak_the_clients_terms(lang, text, words):
    """A malformed filter says where, in the filter's own text; never the grammar's token
    names (lark's ``Token('wkt__SIGNED_NUMBER', …)``) nor Python's datetime messages."""
    with pytest.raises(InvalidParameter) as caught:
        cql.parse(text, lang)
    description = caught.value.description
    assert words in description
    for internal in ("Token(", "terminal", "must be in", "day is out of range", "Error"):
        assert internal not in description
