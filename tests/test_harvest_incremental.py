"""Issue 19, point 5: harvesting by update time. A stock pygeoapi serves an agency's
PostgreSQL tables of cameras (its PostgreSQL provider):

- ``cams_time``: the ``timestamptz`` update-time column is its ``time_field``
  (queryables: ``x-ogc-role: primary-instant``): the harvester asks
  ``datetime=<mark>/..``, which this pygeoapi answers 500 (its provider binds the bound
  as text, which PostgreSQL under psycopg 3 will not compare with a timestamptz), then
  the same with a CQL2 text filter, which it answers;
- ``cams_filter``: the same table without a ``time_field``: a plain queryable, asked
  with the CQL2 filter at once;
- ``cams_text``: a table whose update time is RFC 3339 text (one format, so text order
  is time order) as its ``time_field``: ``datetime`` works and is used.

The first run is a full compare
that notes the high-water mark; later runs read only what changed since it (counted,
and the requests seen on the wire); a deletion at the remote is invisible to them and
is caught by ``full=True`` and by the full compare every ``full_every``-th run; a
property the remote cannot filter on is a clear error that writes nothing."""

from __future__ import annotations

import httpx
import psycopg
import pytest
from sqlalchemy import text

from tests.conftest import _free_port, fresh_database
from tests.pygeoapi_remote import geojson_file, pygeoapi_config, pygeoapi_server
from tests.test_changes import new_code
from tests.test_harvest import (  # noqa: F401 (fixtures)
    _clear,
    items,
    mirror,
    run,
)
from twin.harvest.remote import Remote
from twin.harvest.run import HarvestError
from twin.harvest.updated import high_water, instant, stamp

TABLES = """
CREATE TABLE agency_cams (code text PRIMARY KEY, status text NOT NULL,
                          modified timestamptz NOT NULL,
                          geom geometry(Point, 4326) NOT NULL);
CREATE TABLE agency_cams_text (LIKE agency_cams);
ALTER TABLE agency_cams_text ALTER modified TYPE text, ADD PRIMARY KEY (code);"""


@pytest.fixture(scope="module")
def agency(settings, tmp_path_factory):
    """(base URL, connection to the agency's database): a stock pygeoapi over a table
    in its own PostgreSQL database, and a GeoJSON collection (no time filtering)."""
    url, drop = fresh_database(settings, "twin_test_harvest_agency")
    dsn = url.replace("+psycopg", "")
    conn = psycopg.connect(dsn, autocommit=True)
    conn.execute(TABLES)
    workdir = tmp_path_factory.mktemp("agency")
    plain = workdir / "plain.geojson"
    geojson_file(plain, [{"type": "Feature", "id": "P-1", "properties": {"code": "P-1"},
                          "geometry": {"type": "Point", "coordinates": [105.85, 21.03]}}])
    table = {"name": "PostgreSQL", "data": url, "id_field": "code", "table": "agency_cams",
             "geom_field": "geom"}
    config = pygeoapi_config(_free_port(), {
        "cams_time": {**table, "time_field": "modified"}, "cams_filter": table,
        "cams_text": {**table, "table": "agency_cams_text", "time_field": "modified"},
        "plain": {"name": "GeoJSON", "data": str(plain), "id_field": "id"}})
    try:
        with pygeoapi_server(config, workdir, "/collections/cams_time") as base:
            yield base, conn
    finally:
        conn.close()
        drop()


TABLE_OF = {"cams_time": "agency_cams", "cams_filter": "agency_cams",
            "cams_text": "agency_cams_text"}


def put(conn, table: str, code: str, modified: str, status: str = "online", n: int = 0
        ) -> None:
    if table == "agency_cams_text":  # RFC 3339 in UTC, one format: text order is time order
        modified = stamp(instant(modified))
    conn.execute(f"INSERT INTO {table} VALUES (%s, %s, %s, ST_SetSRID(ST_MakePoint("
                 "%s, 21.03), 4326)) ON CONFLICT (code) DO UPDATE SET status = "
                 "EXCLUDED.status, modified = EXCLUDED.modified",
                 (code, status, modified, 105.85 + 0.001 * n))


class Wire:
    """The items requests a run sends (an httpx event hook on the real client)."""

    def __init__(self):
        self.urls: list[httpx.URL] = []

    def remote(self, base: str, collection: str) -> Remote:
        client = httpx.Client(timeout=30, event_hooks={"request": [
            lambda request: self.urls.append(request.url)]})
        return Remote(base, collection, client=client)

    def asked(self) -> list[dict]:
        return [dict(url.params) for url in self.urls if url.path.endswith("/items")]


def harvest_by_time(engine, registry, settings, base, collection, wire, **kw):
    remote = wire.remote(base, collection)
    try:
        return run(engine, registry, settings, base, collection, "cameras", remote=remote,
                   **kw)
    finally:
        remote.close()


def _source(engine, collection: str) -> tuple:
    with engine.connect() as conn:
        return conn.execute(text("SELECT mode, cursor, updated_field, since_full "
                                 "FROM harvest_sources WHERE collection = :c"),
                            {"c": collection}).one()


@pytest.mark.parametrize(("collection", "how"), [("cams_time", ["datetime", "filter"]),
                                                  ("cams_filter", ["filter"]),
                                                  ("cams_text", ["datetime"])])
def test_a_remote_is_followed_by_update_time(agency, mirror, registry, settings,  # noqa: F811
                                             collection, how):
    engine, mirror_base = mirror
    base, conn = agency
    _clear(engine, "cameras")
    table = TABLE_OF[collection]
    conn.execute(f"DELETE FROM {table}")
    codes = [new_code() for _ in range(5)]
    for n, code in enumerate(codes):
        put(conn, table, code, f"2026-12-01T08:0{n}:00+07:00", n=n)
    wire = Wire()
    first = harvest_by_time(engine, registry, settings, base, collection, wire,
                            updated="modified")
    assert (first.mode, first.full, first.received, first.written) == ("updated", True, 5, 5)
    assert _source(engine, collection) == ("updated", "2026-12-01T01:04:00.000000Z",
                                           "modified", 0)
    assert set(codes) <= set(items(mirror_base))
    # at the remote: one edited, one new, one deleted
    fresh = new_code()
    put(conn, table, codes[1], "2026-12-01T09:00:00+07:00", status="offline", n=1)
    put(conn, table, fresh, "2026-12-01T09:00:00+07:00", n=7)
    conn.execute(f"DELETE FROM {table} WHERE code = %s", (codes[0],))
    wire.urls.clear()
    later = harvest_by_time(engine, registry, settings, base, collection, wire)
    # the mark is inclusive: codes[4] (at the mark, unchanged) comes again, unwritten
    assert (later.full, later.received, later.written, later.deleted) == (False, 3, 2, 0)
    ways = {"datetime": {"datetime": "2026-12-01T01:04:00.000000Z/.."},
            "filter": {"filter": "modified >= TIMESTAMP('2026-12-01T01:04:00.000000Z')",
                       "filter-lang": "cql2-text"}}
    asked = wire.asked()
    assert [{k: a.get(k) for k in ways[w]} for a, w in zip(asked, how, strict=False)] == [
        ways[w] for w in how]
    assert all(set(a) & {"datetime", "filter"} for a in asked)  # never the whole table
    got = items(mirror_base)
    assert got[codes[1]]["properties"]["status"] == "offline" and fresh in got
    assert codes[0] in got  # a deletion is invisible by update time
    assert _source(engine, collection)[1:] == ("2026-12-01T02:00:00.000000Z", "modified", 1)
    with engine.connect() as db:
        mode, harvest = db.execute(text("SELECT mode, report -> 'harvest' FROM load_runs "
                                        "WHERE id = :id"), {"id": later.run_id}).one()
    assert mode == "harvest-updated" and harvest["updated_field"] == "modified"
    assert (harvest["received"], harvest["written"], harvest["deleted"]) == (3, 2, 0)
    # nothing new: the two at the mark come again, nothing is written
    again = harvest_by_time(engine, registry, settings, base, collection, wire)
    assert (again.received, again.written) == (2, 0)
    # --full: a full compare removes what the remote deleted
    full = harvest_by_time(engine, registry, settings, base, collection, wire, full=True)
    assert (full.full, full.received, full.written, full.deleted) == (True, 5, 0, 1)
    assert codes[0] not in items(mirror_base)
    assert _source(engine, collection)[3] == 0
    # full_every=2: one incremental run, then a full compare
    steps = [harvest_by_time(engine, registry, settings, base, collection, wire,
                             full_every=2).full for _ in range(3)]
    assert steps == [False, True, False]


def test_a_property_the_remote_cannot_filter_on_is_a_clear_error(agency, mirror, registry,  # noqa: F811
                                                                 settings):
    engine, _ = mirror
    base, _ = agency
    _clear(engine, "cameras")
    with pytest.raises(HarvestError, match="cannot be asked for the features updated"):
        run(engine, registry, settings, base, "plain", updated="nope")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM cameras")).scalar() == 0
        assert "nope" in conn.execute(text("SELECT last_error FROM harvest_sources "
                                           "WHERE collection = 'plain'")).scalar()
    # without --updated ('' forgets it) the same remote is harvested by a full compare
    done = run(engine, registry, settings, base, "plain", updated="")
    assert (done.mode, done.written) == ("compare", 1)


def test_the_high_water_mark():
    features = [{"properties": {"t": t}} for t in
                ("2026-12-01T08:00:00+07:00", "2026-12-01T02:00:00Z", None, "soon",
                 "2026-12-01T01:30:00")]
    assert high_water(features, "t", None) == ("2026-12-01T02:00:00.000000Z", 2)
    assert high_water(features, "t", "2026-12-02T00:00:00Z")[0] == (
        "2026-12-02T00:00:00.000000Z")
    assert instant("2026-12-01") is not None and instant("1") is None and instant(5) is None
    assert stamp(instant("2026-12-01T07:00:00.5+07:00")) == "2026-12-01T00:00:00.500000Z"


def test_twin_harvest_updated_full_and_full_every_on_the_command_line(agency, mirror):  # noqa: F811
    from click.testing import CliRunner

    from twin.cli import main

    engine, _ = mirror
    base, conn = agency
    _clear(engine, "cameras")
    conn.execute("DELETE FROM agency_cams")
    put(conn, "agency_cams", new_code(), "2026-12-01T08:00:00Z")
    env = {"TWIN_DATABASE_URL": engine.url.render_as_string(hide_password=False)}
    cli, args = CliRunner(), ["harvest", base, "--collection", "cams_filter", "--layer",
                              "cameras"]
    first = cli.invoke(main, [*args, "--updated", "modified"], env=env)
    assert first.exit_code == 0, first.output
    assert "by a full compare" in first.output and "1 received, 1 written" in first.output
    later = cli.invoke(main, args, env=env)  # the property is remembered
    assert later.exit_code == 0, later.output
    assert "by updated" in later.output and "1 received, 0 written" in later.output
    full = cli.invoke(main, [*args, "--full"], env=env)
    assert full.exit_code == 0 and "by a full compare" in full.output, full.output
    bad = cli.invoke(main, [*args, "--full-every", "0"], env=env)
    assert bad.exit_code == 2 and "--full-every" in bad.output


def test_an_emptied_remote_removes_only_its_own_features(agency, mirror, registry,  # noqa: F811
                                                          settings):
    """A full compare of a remote whose collection became empty (a PostgreSQL table
    emptied; a stock pygeoapi answers 500 for an empty GeoJSON file) removes this
    source's features, and no other."""
    engine, mirror_base = mirror
    base, conn = agency
    _clear(engine, "cameras")
    conn.execute("DELETE FROM agency_cams_text")
    other = new_code()
    put(conn, "agency_cams_text", other, "2026-12-01T08:00:00Z")
    run(engine, registry, settings, base, "cams_text")            # a second source
    conn.execute("DELETE FROM agency_cams")
    mine = [new_code() for _ in range(3)]
    for n, code in enumerate(mine):
        put(conn, "agency_cams", code, "2026-12-01T08:00:00Z", n=n + 1)
    assert run(engine, registry, settings, base, "cams_filter").written == 3
    conn.execute("DELETE FROM agency_cams")
    emptied = run(engine, registry, settings, base, "cams_filter")
    assert (emptied.received, emptied.written, emptied.deleted) == (0, 0, 3)
    got = items(mirror_base)
    assert other in got and not set(mine) & set(got)
