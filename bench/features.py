"""OGC API Features and Tiles: twin against tipg, stock pygeoapi and the SQL floor.

One script, one database, one run, case by case (the anchor's table,
shared/reference/anchor-measurements.md):

    .venv/bin/python bench/features.py [--rebuild] [--scale 20] [--quick]   (or -m bench.features)

- Dataset: the demo city scaled to ~300k roads and ~200k parcels (``twin.demo.generate``),
  loaded with twin's loaders into ``twin_bench`` on the embedded cluster (kept between
  runs; generation and loading are skipped while the counts are there; ``--rebuild``
  forces them), then VACUUM ANALYZE.
- Servers, each a subprocess on its own loopback port (``bench/servers.py``), started one
  after the other once the schema is upgraded: twin with 1 and with 2 workers
  (``twin serve``), tipg 1.x and stock pygeoapi 0.24 with 1 uvicorn worker each, from
  ``bench/.venv-alt`` (``bench/setup-alt-venv.sh``, run when missing). All are stopped
  at the end, on an error, on Ctrl-C and on SIGTERM.
- Floor (``bench/floor.py``): the one SQL statement returning the same body, run with
  psycopg, with and without the exact count.
- Method: keep-alive httpx clients, ``Accept-Encoding: identity`` (no compression on
  either side, like the floor); two warm-up requests, then the median and p90 of >= 20
  requests (>= 5 when a request takes over 0.2 s). Every answer is checked: the same
  number of features from every server, non-empty tiles, twin's tile byte-equal to its
  SQL. Targets are interleaved request by request, so background load on the machine
  hits all of them alike. Then 8 client threads (one keep-alive client each) for a fixed
  time on the limit=1000, limit=10 and z14 cases: throughput and p50/p99. Stock
  pygeoapi's MVT-postgresql provider is probed last: a z14 tile with an 8 s limit (its
  query cancelled in PostgreSQL after), and a z18 tile for its cost per feature.
- Runtime: about 5-6 minutes once the data is loaded (generation + loading ~2 minutes).
- Output: tables on stdout and ``bench/out/features.md``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import psycopg

if __package__ in (None, ""):      # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import floor as fl
from bench.common import ensure_out, libpq, scratch_database
from bench.servers import ALT_VENV, Fleet, Server, pygeoapi_server, tipg_server, twin_server
from twin.config import REPO_ROOT, load_settings
from twin.registry import load_registry
from twin.server.features.params import decode_cursor

DB_NAME = "twin_bench"
ROADS, PARCELS = "road_segments", "land_parcels"
MIN_ROADS, MIN_PARCELS = 250_000, 150_000
DEEP = 200_000
CQL = "road_class='primary' AND lanes>=4"
CQL_SQL = "t.road_class = 'primary' AND t.lanes >= 4"
TARGETS = ("floor+count", "floor", "twin1", "twin2", "tipg", "pygeoapi")
SERVERS = ("twin1", "twin2", "tipg", "pygeoapi")
PYGEOAPI_TILE_TIMEOUT = 8.0
LOAD: list[tuple[float, float, float]] = []


# --- dataset ------------------------------------------------------------------------------

def counts(url: str) -> dict[str, int]:
    out = {}
    with psycopg.connect(libpq(url)) as conn:
        for table in (ROADS, PARCELS):
            exists = conn.execute("SELECT to_regclass(%s)", (table,)).fetchone()[0]
            out[table] = conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] \
                if exists else 0
    return out


def upgrade_schema(url: str) -> None:
    """Bring twin_bench to twin's current migrations once, before any server starts:
    servers started together would otherwise each run the same new migration at once."""
    from twin.db.engine import make_engine
    from twin.db.schema import upgrade

    engine = make_engine(url, pool_size=1)
    try:
        upgrade(engine, load_registry(load_settings().layers_dir))
    finally:
        engine.dispose()


def ensure_dataset(url: str, scale: int, seed: int, rebuild: bool) -> dict[str, int]:
    upgrade_schema(url)
    have = counts(url)
    if not rebuild and have[ROADS] >= MIN_ROADS and have[PARCELS] >= MIN_PARCELS:
        print(f"dataset: {have[ROADS]:,} roads, {have[PARCELS]:,} parcels already in "
              f"{DB_NAME} (--rebuild regenerates)", flush=True)
        return have
    from twin.db.engine import make_engine
    from twin.ingest.dispatch import load_any

    settings = load_settings()
    registry = load_registry(settings.layers_dir)
    folder = ensure_out() / f"city-s{scale}-seed{seed}"
    gpkg = folder / "hanoi.gpkg"
    if rebuild or not gpkg.exists():
        from twin.demo.generate import generate

        print(f"dataset: generating the demo city at scale {scale} into {folder} ...",
              flush=True)
        t0 = time.perf_counter()
        report = generate(folder, seed=seed, scale=scale, progress=_progress, days=1,
                          readings=False, dem=False)
        print(f"dataset: generated in {time.perf_counter() - t0:.0f} s"
              + (f": {report}" if report else ""), flush=True)
    engine = make_engine(url, pool_size=2)
    try:
        for layer in (ROADS, PARCELS):
            t0 = time.perf_counter()
            lines = load_any(engine, registry, settings, gpkg, layer, mode="replace",
                             source_layer=layer)
            print(f"dataset: {lines[0]}  [{time.perf_counter() - t0:.0f} s]", flush=True)
    finally:
        engine.dispose()
    with psycopg.connect(libpq(url), autocommit=True) as conn:
        for table in (ROADS, PARCELS):
            conn.execute(f"VACUUM ANALYZE {table}")
    have = counts(url)
    print(f"dataset: {have[ROADS]:,} roads, {have[PARCELS]:,} parcels loaded", flush=True)
    return have


def _progress(*args) -> None:
    if args:
        print("  " + " ".join(str(a) for a in args), flush=True)


# --- cases --------------------------------------------------------------------------------

@dataclass
class Case:
    key: str
    title: str
    layer: str
    kind: str = "items"                      # items | tile
    query: dict = field(default_factory=dict)
    spec: fl.ItemsSpec | None = None         # items floor
    tile: tuple[int, int, int] | None = None  # z, x, y
    only: tuple[str, ...] = TARGETS          # targets that take part
    concurrency: bool = False
    note: str = ""


def city_bbox(conn) -> tuple[float, float, float, float]:
    """A box of 1 % of the roads' extent (10 % by 10 %) around the densest spot."""
    x0, y0, x1, y1 = conn.execute(
        f"SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
        f"(SELECT ST_Extent(geom) AS e FROM {ROADS}) s").fetchone()
    w, h = (x1 - x0) * 0.1, (y1 - y0) * 0.1
    cx, cy = conn.execute(
        f"SELECT avg(ST_X(c)), avg(ST_Y(c)) FROM (SELECT ST_PointOnSurface(geom) AS c, "
        f"floor((ST_X(ST_PointOnSurface(geom)) - {x0}) / {w}) AS gx, "
        f"floor((ST_Y(ST_PointOnSurface(geom)) - {y0}) / {h}) AS gy FROM {ROADS} "
        f"TABLESAMPLE SYSTEM (10) REPEATABLE (7)) s GROUP BY gx, gy ORDER BY count(*) DESC "
        f"LIMIT 1").fetchone()
    return (round(cx - w / 2, 5), round(cy - h / 2, 5), round(cx + w / 2, 5),
            round(cy + h / 2, 5))


def build_cases(conn, registry) -> list[Case]:
    bbox = city_bbox(conn)
    bbox_where = "ST_Intersects(t.geom, ST_MakeEnvelope(%s, %s, %s, %s, 4326))"
    bbox_txt = ",".join(f"{v:.5f}" for v in bbox)
    cases = [
        Case("roads1000", "roads items, limit=1000", ROADS, query={"limit": 1000},
             spec=fl.ItemsSpec(1000), concurrency=True),
        Case("roads10", "roads items, limit=10", ROADS, query={"limit": 10},
             spec=fl.ItemsSpec(10), concurrency=True),
        Case("bbox", "roads, bbox 1 % of the city, limit=1000", ROADS,
             query={"bbox": bbox_txt, "limit": 1000},
             spec=fl.ItemsSpec(1000, where=bbox_where, params=bbox), note=f"bbox={bbox_txt}"),
        Case("offset", f"roads, offset={DEEP:,}, limit=100", ROADS,
             query={"offset": DEEP, "limit": 100}, spec=fl.ItemsSpec(100, offset=DEEP)),
        Case("cursor", f"roads, cursor at {DEEP:,}, limit=100 (twin only)", ROADS,
             query={"limit": 100}, only=("floor+count", "floor", "twin1", "twin2")),
        Case("parcels1000", "parcels items, limit=1000", PARCELS, query={"limit": 1000},
             spec=fl.ItemsSpec(1000)),
        Case("cql", "roads, CQL2 filter, limit=100", ROADS,
             query={"filter": CQL, "limit": 100}, spec=fl.ItemsSpec(100, where=CQL_SQL),
             note=f"filter={CQL}"),
    ]
    for key, title, layer, z in (("tile14", "roads tile z14", ROADS, 14),
                                 ("tile12", "roads tile z12", ROADS, 12),
                                 ("ptile14", "parcels tile z14", PARCELS, 14)):
        x, y = fl.densest_tile(conn, registry.get(layer).table, z)
        cases.append(Case(key, f"{title} ({z}/{y}/{x})", layer, kind="tile", tile=(z, x, y),
                          only=("floor", "twin1", "twin2", "tipg", "pygeoapi"),
                          concurrency=key == "tile14"))
    return cases


def path_for(case: Case, target: str) -> str | None:
    if case.kind == "tile":
        z, x, y = case.tile
        if target == "tipg":
            return f"/collections/public.{case.layer}/tiles/WebMercatorQuad/{z}/{x}/{y}"
        if target == "pygeoapi":
            return None        # probed separately: see pygeoapi_tiles()
        return f"/collections/{case.layer}/tiles/WebMercatorQuad/{z}/{y}/{x}"
    query = dict(case.query)
    if target == "tipg":
        return f"/collections/public.{case.layer}/items?{urlencode(query)}"
    if target == "pygeoapi":
        if "filter" in query:
            query["filter-lang"] = "cql-text"
        return f"/collections/{case.layer}/items?{urlencode({**query, 'f': 'json'})}"
    return f"/collections/{case.layer}/items?{urlencode(query)}"


# --- measuring ----------------------------------------------------------------------------

@dataclass
class Result:
    median: float | None = None        # ms
    p90: float | None = None
    runs: int = 0
    n: int | None = None               # features in the answer
    text: str | None = None            # instead of a number ("not measurable", "—")


def pct(samples: list[float], q: float) -> float:
    s = sorted(samples)
    return s[min(len(s) - 1, max(0, round(q * (len(s) - 1))))]


def planned_runs(seconds: float, quick: bool) -> int:
    """>= 20 timed calls for a fast case, >= 5 above 0.2 s a call; ~5 s of calls at most
    beyond those minimums."""
    if seconds < 0.2:
        return 20 if quick else max(25, min(60, int(1.5 / max(seconds, 1e-4))))
    return 5 if quick else max(5, min(20, int(5.0 / seconds)))


def time_calls(call: Callable[[], object], quick: bool) -> tuple[list[float], object]:
    """Two warm-up calls, then planned_runs() timed calls."""
    call()
    t0 = time.perf_counter()
    out = call()
    runs = planned_runs(time.perf_counter() - t0, quick)
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter()
        out = call()
        samples.append((time.perf_counter() - t0) * 1000)
    return samples, out


def http_call(client: httpx.Client, path: str) -> Callable[[], httpx.Response]:
    def call() -> httpx.Response:
        resp = client.get(path)
        if resp.status_code != 200:
            raise RuntimeError(f"GET {path}: {resp.status_code} {resp.text[:300]}")
        return resp
    return call


def features_in(body: bytes | str) -> int:
    doc = json.loads(body)
    return len(doc.get("features") or [])


def tile_features(data: bytes) -> int:
    import mapbox_vector_tile

    return sum(len(layer.get("features", []))
               for layer in mapbox_vector_tile.decode(data).values())


class Bench:
    def __init__(self, url: str, registry, servers: dict[str, Server], quick: bool):
        self.url, self.registry, self.quick = url, registry, quick
        self.servers = servers
        self.conn = fl.connect(libpq(url))
        self.clients = {name: client(s.base) for name, s in servers.items()}
        self.results: dict[str, dict[str, Result]] = {}
        self.extra: dict[str, dict] = {}
        self.warnings: list[str] = []

    # floor
    def floor_call(self, case: Case, count: bool) -> Callable[[], object]:
        layer = self.registry.get(case.layer)
        if case.kind == "tile":
            stmt, params = fl.twin_tile_sql(layer, *case.tile)
            return lambda: bytes(self.conn.execute(stmt, params).fetchone()[0] or b"")
        stmt, params = fl.items_sql(layer, case.spec, count)
        return lambda: self.conn.execute(stmt, params).fetchone()[0]

    def run_case(self, case: Case) -> None:
        """Every target of the case, interleaved: after two warm-up calls each, one call
        per target per round (in rotating order) until each has its runs, so a change in
        the machine's background load hits all of them alike."""
        row: dict[str, Result] = {}
        self.results[case.key] = row
        calls: dict[str, Callable[[], object]] = {}
        for target in TARGETS:
            if target not in case.only:
                row[target] = Result(text="—")
            elif target in ("floor+count", "floor"):
                calls[target] = self.floor_call(case, target == "floor+count")
            elif (path := path_for(case, target)) is None:
                row[target] = Result(text="see below")
            else:
                calls[target] = http_call(self.clients[target], path)
        runs, last, samples = {}, {}, {t: [] for t in calls}
        for target, call in calls.items():
            call()
            t0 = time.perf_counter()
            last[target] = call()
            runs[target] = planned_runs(time.perf_counter() - t0, self.quick)
        order = list(calls)
        for rnd in range(max(runs.values(), default=0)):
            for target in order[rnd % len(order):] + order[:rnd % len(order)]:
                if len(samples[target]) >= runs[target]:
                    continue
                t0 = time.perf_counter()
                last[target] = calls[target]()
                samples[target].append((time.perf_counter() - t0) * 1000)
        for target, out in last.items():
            body = out.content if isinstance(out, httpx.Response) else out
            n = tile_features(body) if case.kind == "tile" else features_in(body)
            s = samples[target]
            row[target] = Result(statistics.median(s), pct(s, 0.9), len(s), n)
            if case.kind == "tile" and target == "twin1":
                self.check_twin_tile(case, body)
        self.check_counts(case, row)

    def check_twin_tile(self, case: Case, body: bytes) -> None:
        same = self.floor_call(case, False)()
        if body != same:
            self.warnings.append(f"{case.title}: twin's tile differs from its own SQL's")
        layer = self.registry.get(case.layer)
        stmt, params = fl.bare_tile_sql(layer, *case.tile)
        samples, bare = time_calls(lambda: bytes(self.conn.execute(stmt, params).fetchone()[0]),
                                   quick=True)
        self.extra.setdefault("tiles", {})[case.key] = {
            "bare_ms": statistics.median(samples), "bare_n": tile_features(bare),
            "bare_bytes": len(bare), "twin_bytes": len(body)}

    def check_counts(self, case: Case, row: dict[str, Result]) -> None:
        ns = {t: r.n for t, r in row.items() if r.n is not None}
        if case.kind == "tile":
            for t, n in ns.items():
                if n == 0:
                    self.warnings.append(f"{case.title}: {t} returned an empty tile")
            return
        if len(set(ns.values())) > 1:
            self.warnings.append(f"{case.title}: feature counts differ: {ns}")

    # twin's cursor for the deep page: the `next` link of the page just before it
    def prepare_cursor(self, case: Case) -> None:
        client = self.clients["twin1"]
        before = client.get(f"/collections/{ROADS}/items?offset={DEEP - 100}&limit=100").json()
        nxt = next(link["href"] for link in before["links"] if link["rel"] == "next")
        cursor = parse_qs(urlsplit(nxt).query)["cursor"][0]
        case.query = {"limit": 100, "cursor": cursor}
        case.spec = fl.ItemsSpec(100, after_id=decode_cursor(cursor))
        via_offset = client.get(f"/collections/{ROADS}/items?offset={DEEP}&limit=100").json()
        via_cursor = client.get(f"/collections/{ROADS}/items?limit=100&cursor={cursor}").json()
        if [f["id"] for f in via_offset["features"]] != [f["id"] for f in via_cursor["features"]]:
            self.warnings.append("twin: the cursor page differs from the offset page")
        case.note = f"cursor from the next link of offset={DEEP - 100}"

    # twin's own statements, run directly (for the diagnosis of a slow case)
    def twin_sql_direct(self, case: Case) -> float | None:
        if case.kind != "items":
            return None
        from starlette.datastructures import QueryParams

        from twin.server.features import sql as fsql
        from twin.server.features.fields import output_names, queryable_fields
        from twin.server.features.params import parse_items

        layer = self.registry.get(case.layer)
        fields = queryable_fields(layer)
        q = parse_items(QueryParams(urlencode(case.query)), None, layer, fields)
        names = output_names(layer)
        p1, p2 = fsql.Params(), fsql.Params()
        page = fsql.page_sql(layer, q, names, fsql.where_clause(layer, q, fields, p1), p1)
        page_s, _ = time_calls(lambda: self.conn.execute(page, p1, prepare=True).fetchone(),
                               True)
        count_ms, counted = None, False
        cap = count_limit()
        if cap:
            # as twin does: the planner's estimate first, the capped count only when the
            # estimate is at most the cap (twin.server.features.routes.Features.count)
            where2 = fsql.where_clause(layer, q, fields, p2)
            estimate = getattr(fsql, "estimate_sql", None)
            expected = 0
            est_ms = 0.0
            if estimate is not None:
                est = estimate(layer, where2, q, p2)
                est_s, plan = time_calls(lambda: self.conn.execute(est, p2).fetchone(), True)
                est_ms, expected = statistics.median(est_s), plan[0][0]["Plan"]["Plan Rows"]
            count_ms = est_ms
            if expected <= cap:
                count = fsql.count_sql(layer, where2, cap, p2)
                count_s, _ = time_calls(
                    lambda: self.conn.execute(count, p2, prepare=True).fetchone(), True)
                count_ms, counted = est_ms + statistics.median(count_s), True
        self.extra.setdefault("twin_sql", {})[case.key] = {
            "page": statistics.median(page_s), "count": count_ms, "counted": counted}
        return statistics.median(page_s)

    # concurrency
    def concurrent(self, case: Case, target: str, threads: int, seconds: float) -> dict | None:
        if target not in case.only or (case.kind == "tile" and target == "pygeoapi"):
            return None
        if target in ("floor+count", "floor"):
            layer = self.registry.get(case.layer)
            if case.kind == "tile":
                stmt, params = fl.twin_tile_sql(layer, *case.tile)
            else:
                stmt, params = fl.items_sql(layer, case.spec, target == "floor+count")

            def make():
                conn = fl.connect(libpq(self.url))
                return (lambda: conn.execute(stmt, params).fetchone()), conn.close
        else:
            base, path = self.servers[target].base, path_for(case, target)

            def make():
                c = client(base)
                return http_call(c, path), c.close
        return run_threads(make, threads, seconds)

    def close(self) -> None:
        for c in self.clients.values():
            c.close()
        self.conn.close()


def client(base: str) -> httpx.Client:
    return httpx.Client(base_url=base, timeout=120, headers={"Accept-Encoding": "identity"})


def run_threads(make, threads: int, seconds: float, min_total: int = 40,
                max_seconds: float = 30.0) -> dict:
    """``threads`` workers, each with its own connection, calling in a loop for ``seconds``
    after one warm-up call each (longer, up to ``max_seconds``, until ``min_total`` calls
    are done); throughput and latency percentiles."""
    latencies: list[list[float]] = [[] for _ in range(threads)]
    done = [0]
    errors: list[BaseException] = []
    ready = threading.Barrier(threads + 1)
    stop_at, hard_stop = [0.0], [0.0]
    go = threading.Event()

    def work(i: int) -> None:
        call, close = make()
        try:
            call()
            ready.wait()
            go.wait()
            while True:
                now = time.perf_counter()
                if now >= hard_stop[0] or (now >= stop_at[0] and done[0] >= min_total):
                    break
                t0 = time.perf_counter()
                call()
                latencies[i].append((time.perf_counter() - t0) * 1000)
                done[0] += 1
        except Exception as exc:
            errors.append(exc)
            ready.abort()
        finally:
            close()

    pool = [threading.Thread(target=work, args=(i,), daemon=True) for i in range(threads)]
    for t in pool:
        t.start()
    with contextlib.suppress(threading.BrokenBarrierError):
        ready.wait(timeout=120)
    t0 = time.perf_counter()
    stop_at[0], hard_stop[0] = t0 + seconds, t0 + max_seconds
    go.set()
    for t in pool:
        t.join(timeout=max_seconds + 120)
    elapsed = time.perf_counter() - t0
    if errors:
        raise RuntimeError(f"concurrent run failed: {errors[0]!r}")
    flat = [x for lat in latencies for x in lat]
    if not flat:
        return {"rps": 0.0, "p50": None, "p99": None, "n": 0}
    return {"rps": len(flat) / elapsed, "p50": pct(flat, 0.5), "p99": pct(flat, 0.99),
            "n": len(flat)}


# --- pygeoapi tiles -----------------------------------------------------------------------

def pygeoapi_tiles(bench: Bench, cases: list[Case]) -> dict:
    """Stock pygeoapi's MVT-postgresql provider, only if it answers a z14 tile within
    PYGEOAPI_TILE_TIMEOUT seconds; a query it leaves running is cancelled in PostgreSQL.
    Also times one z18 tile at the same spot, to give the cost per feature."""
    base = bench.servers["pygeoapi"].base
    out: dict = {}
    tile14 = next(c for c in cases if c.key == "tile14")
    z, x, y = tile14.tile
    probes = [("z14", (z, x, y), PYGEOAPI_TILE_TIMEOUT),
              ("z18", (18, x * 16 + 8, y * 16 + 8), 60.0)]
    for label, (tz, tx, ty), timeout in probes:
        path = f"/collections/{ROADS}/tiles/WebMercatorQuad/{tz}/{ty}/{tx}?f=mvt"
        t0 = time.perf_counter()
        try:
            with httpx.Client(base_url=base, timeout=timeout) as c:
                resp = c.get(path)
            secs = time.perf_counter() - t0
            n = tile_features(resp.content) if resp.status_code == 200 and resp.content else 0
            out[label] = {"seconds": secs, "status": resp.status_code, "n": n,
                          "tile": f"{tz}/{ty}/{tx}"}
        except httpx.TimeoutException:
            out[label] = {"seconds": None, "timeout": timeout, "tile": f"{tz}/{ty}/{tx}"}
        cancel_pygeoapi_queries(bench.conn)
        if label == "z18":
            layer = bench.registry.get(ROADS)
            stmt, params = fl.bare_tile_sql(layer, tz, tx, ty)
            samples, body = time_calls(
                lambda s=stmt, p=params: bytes(bench.conn.execute(s, p).fetchone()[0]), True)
            out[label]["floor_ms"] = statistics.median(samples)
            out[label]["floor_n"] = tile_features(body)
    return out


def cancel_pygeoapi_queries(conn) -> None:
    conn.execute("SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE "
                 "application_name = 'pygeoapi' AND state = 'active' AND pid <> "
                 "pg_backend_pid()")


# --- report -------------------------------------------------------------------------------

def fmt_ms(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.2f}" if value < 1 else f"{value:.1f}" if value < 100 else f"{value:.0f}"


def cell(r: Result, which: str = "median") -> str:
    if r.text is not None:
        return r.text
    return fmt_ms(getattr(r, which))


def ratio(a: Result, b: Result) -> str:
    if a.median is None or b.median is None or not b.median:
        return "—"
    return f"{a.median / b.median:.2f}"


def lighter_mark(case: Case, row: dict[str, Result]) -> str:
    a, b = row["twin1"].n, row["tipg"].n
    return "*" if case.kind == "tile" and a and b and a < 0.8 * b else ""


def count_limit() -> int:
    """twin's numberMatched limit (TWIN_COUNT_LIMIT, which the servers inherit)."""
    return getattr(load_settings(), "count_limit", 100_000)


def same_body_floor(case: Case, row: dict[str, Result], matched: int | None) -> Result:
    """The floor of twin's own body: with the count when twin returns numberMatched."""
    if case.kind == "tile":
        return row["floor"]
    if matched is not None and matched <= count_limit() and row["floor+count"].median:
        return row["floor+count"]
    return row["floor"]


def report(bench: Bench, cases: list[Case], conc: dict, pyg_tiles: dict, meta: dict) -> str:
    header = ["case", "features", "floor+count", "floor", "twin 1w", "twin 2w", "tipg",
              "pygeoapi", "twin/tipg", "pygeoapi/twin", "twin/floor"]
    rows, p90_rows = [], []
    for case in cases:
        row = bench.results[case.key]
        n = "/".join(sorted({str(r.n) for r in row.values() if r.n is not None}))
        if case.kind == "tile":
            n = (f"{row['twin1'].n} (tipg {row['tipg'].n})" if row["tipg"].n is not None
                 else str(row["twin1"].n))
        base = same_body_floor(case, row, meta["matched"].get(case.key))
        rows.append([case.title, n] + [cell(row[t]) for t in TARGETS]
                    + [ratio(row["twin1"], row["tipg"]) + lighter_mark(case, row),
                       ratio(row["pygeoapi"], row["twin1"]),
                       ratio(row["twin1"], base) + ("†" if base is row["floor+count"] else "")])
        p90_rows.append([case.title] + [cell(row[t], "p90") for t in TARGETS])
    lines = ["# twin vs tipg vs stock pygeoapi vs the SQL floor", "",
             f"{meta['when']}; {meta['machine']}; {meta['dataset']}.", "",
             ("Median latency in ms at one client (keep-alive httpx, no compression); "
              "ratios from the medians, twin = twin with 1 worker. `twin/floor` divides by "
              "the floor of twin's own body: with the count where twin returns "
              f"`numberMatched` (at most {count_limit():,} matches), without it otherwise; "
              "for tiles, "
              "twin's own tile statement (the same bytes); † marks the rows where that "
              "floor includes the count. * marks a tile where twin serves far fewer "
              "features than tipg (twin generalises by the layer's `tiles:` rules, tipg "
              "sends every feature), so the bodies differ."), "",
             md_table(header, rows), "", "p90 latency, ms:", "",
             md_table(["case", *TARGETS], p90_rows), ""]
    lines += concurrency_section(cases, conc)
    lines += tiles_section(bench, cases, pyg_tiles)
    lines += twin_sql_section(bench, cases)
    lines += ["## Cases", ""]
    lines += [f"- {c.title}: `{path_for(c, 'twin1')}`" + (f" ({c.note})" if c.note else "")
              + (f"; matches: {meta['matched'][c.key]:,}"
                 if meta["matched"].get(c.key) is not None else "") for c in cases]
    if bench.warnings:
        lines += ["", "## Checks that failed", ""] + [f"- {w}" for w in bench.warnings]
    else:
        lines += ["", ("All checks passed: every server returned the same number of features "
                       "as the floor, no tile was empty, twin's tiles equal its SQL's bytes.")]
    return "\n".join(lines) + "\n"


def concurrency_section(cases: list[Case], conc: dict) -> list[str]:
    if not conc:
        return []
    header = ["case (8 client threads)"] + [t for t in TARGETS]
    rows = []
    for case in cases:
        if case.key not in conc:
            continue
        rows.append([case.title] + [
            "—" if conc[case.key].get(t) is None else
            "{rps:.0f}/s ({p50}/{p99})".format(rps=conc[case.key][t]["rps"],
                                               p50=fmt_ms(conc[case.key][t]["p50"]),
                                               p99=fmt_ms(conc[case.key][t]["p99"]))
            for t in TARGETS])
    return ["## Concurrency 8", "",
            ("Throughput (requests/s) and p50/p99 latency in ms, 8 client threads with one "
             "keep-alive client (or psycopg connection, for the floor) each. The client "
             "threads share the 2 cores with the servers and PostgreSQL."), "",
            md_table(header, rows), ""]


def tiles_section(bench: Bench, cases: list[Case], pyg: dict) -> list[str]:
    out = ["## Tiles", ""]
    info = bench.extra.get("tiles", {})
    for case in cases:
        if case.kind != "tile" or case.key not in info:
            continue
        t = info[case.key]
        row = bench.results[case.key]
        out.append(f"- {case.title}: twin {row['twin1'].n} features, {t['twin_bytes']:,} "
                   f"bytes (generalised per the layer's `tiles:` rules); tipg "
                   f"{row['tipg'].n} features; bare ST_AsMVT of every feature "
                   f"{t['bare_n']} features, {t['bare_bytes']:,} bytes, "
                   f"{fmt_ms(t['bare_ms'])} ms (tipg/bare "
                   f"{(row['tipg'].median or 0) / t['bare_ms']:.2f}).")
    z14, z18 = pyg.get("z14", {}), pyg.get("z18", {})
    if z14:
        if z14.get("seconds") is None or z14.get("seconds", 0) > PYGEOAPI_TILE_TIMEOUT:
            verdict = (f"not measurable: no z14 tile ({z14['tile']}) within "
                       f"{PYGEOAPI_TILE_TIMEOUT:.0f} s (query cancelled)")
        else:
            verdict = (f"z14 tile {z14['tile']} in {z14['seconds']:.2f} s "
                       f"(HTTP {z14['status']}, {z14['n']} features)")
        out.append(f"- stock pygeoapi `MVT-postgresql`: {verdict}.")
    if z18:
        if z18.get("seconds") is None:
            out.append(f"  A z18 tile ({z18['tile']}, {z18['floor_n']} features) did not come "
                       f"within {z18['timeout']:.0f} s either; its floor is "
                       f"{fmt_ms(z18['floor_ms'])} ms.")
        else:
            per = z18["seconds"] * 1000 / max(1, z18["n"])
            out.append(f"  A z18 tile ({z18['tile']}): {z18['seconds']:.2f} s for {z18['n']} "
                       f"features ({per:.1f} ms a feature), against a floor of "
                       f"{fmt_ms(z18['floor_ms'])} ms.")
    return [*out, ""]


def twin_sql_section(bench: Bench, cases: list[Case]) -> list[str]:
    info = bench.extra.get("twin_sql", {})
    if not info:
        return []
    rows = []
    for case in cases:
        if case.key in info:
            t = info[case.key]
            rows.append([case.title, fmt_ms(t["page"]),
                         fmt_ms(t["count"]) + ("" if t["counted"] else " (estimate only)"),
                         fmt_ms(bench.results[case.key]["twin1"].median)])
    return ["## twin's own statements, run directly", "",
            ("What twin sends per items request, timed with psycopg: the page statement, and "
             "beside it on a second connection numberMatched: the planner's estimate, then "
             f"the count capped at count_limit={count_limit():,} only when the estimate is "
             "at most that (ms):"), "",
            md_table(["case", "page SQL", "numberMatched SQL", "twin 1w endpoint"], rows), ""]


def md_table(header: list[str], rows: list[list[str]]) -> str:
    out = ["| " + " | ".join(header) + " |",
           "|" + "|".join("---" if i == 0 else "---:" for i in range(len(header))) + "|"]
    out += ["| " + " | ".join(str(v) for v in r) + " |" for r in rows]
    return "\n".join(out)


def text_table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows, strict=False)]

    def fmt(r: list) -> str:
        return "  ".join((str(v).ljust(w) if i == 0 else str(v).rjust(w))
                         for i, (v, w) in enumerate(zip(r, widths, strict=False)))

    return "\n".join([fmt(header), fmt(["-" * w for w in widths]), *map(fmt, rows)])


# --- main ---------------------------------------------------------------------------------

def ensure_alt_venv() -> None:
    if not (ALT_VENV / "bin" / "uvicorn").exists():
        subprocess.run(["bash", str(REPO_ROOT / "bench" / "setup-alt-venv.sh")], check=True)


def match_counts(conn, registry, cases: list[Case]) -> dict[str, int | None]:
    out: dict[str, int | None] = {}
    for case in cases:
        if case.kind != "items" or case.spec is None:
            out[case.key] = None
            continue
        table = registry.get(case.layer).table
        out[case.key] = conn.execute(f"SELECT count(*) FROM {table} t WHERE {case.spec.where}",
                                     case.spec.params).fetchone()[0]
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rebuild", action="store_true", help="regenerate and reload the city")
    ap.add_argument("--scale", type=int, default=20, help="demo city scale (~300k roads at 20)")
    ap.add_argument("--seed", type=int, default=20261124, help="demo city seed")
    ap.add_argument("--quick", action="store_true", help="fewer repetitions (a smoke run)")
    ap.add_argument("--seconds", type=float, default=5.0,
                    help="duration of each concurrency-8 run")
    ap.add_argument("--no-pygeoapi-tiles", action="store_true",
                    help="skip the probe of pygeoapi's MVT-postgresql provider")
    args = ap.parse_args(argv)
    started = time.perf_counter()
    LOAD.append(os.getloadavg())
    out = ensure_out()
    ensure_alt_venv()
    settings = load_settings()
    registry = load_registry(settings.layers_dir)
    with scratch_database(DB_NAME, keep=True) as url:
        have = ensure_dataset(url, args.scale, args.seed, args.rebuild)
        titles = {ROADS: registry.get(ROADS).title, PARCELS: registry.get(PARCELS).title}
        servers = {"twin1": twin_server(url, 1, out), "twin2": twin_server(url, 2, out),
                   "tipg": tipg_server(url, [ROADS, PARCELS], out),
                   "pygeoapi": pygeoapi_server(url, titles, out,
                                               with_tiles=not args.no_pygeoapi_tiles)}
        print("servers: starting twin (1 and 2 workers), tipg, pygeoapi ...", flush=True)
        with Fleet(list(servers.values())):
            bench = Bench(url, registry, servers, args.quick)
            try:
                results = run(bench, args, have, started)
            finally:
                bench.close()
    md = results
    (out / "features.md").write_text(md)
    print(f"\nwrote {out / 'features.md'}  (total {time.perf_counter() - started:.0f} s)")


def run(bench: Bench, args, have: dict[str, int], started: float) -> str:
    cases = build_cases(bench.conn, bench.registry)
    matched = match_counts(bench.conn, bench.registry, cases)
    for case in cases:
        if case.key == "cursor":
            bench.prepare_cursor(case)
            matched["cursor"] = None
        t0 = time.perf_counter()
        bench.run_case(case)
        try:
            bench.twin_sql_direct(case)
        except (ImportError, TypeError, AttributeError) as exc:  # twin's internals moved
            bench.warnings.append(f"{case.title}: twin's SQL not timed directly ({exc!r})")
        row = bench.results[case.key]
        print(f"{case.title:<48} " + "  ".join(f"{t}={cell(row[t])}" for t in TARGETS)
              + f"  [{time.perf_counter() - t0:.0f} s]", flush=True)
    conc: dict[str, dict] = {}
    for case in cases:
        if not case.concurrency:
            continue
        conc[case.key] = {}
        for target in TARGETS:
            conc[case.key][target] = bench.concurrent(case, target, 8, args.seconds)
        print(f"c8 {case.title:<45} " + "  ".join(
            f"{t}={v['rps']:.0f}/s" for t, v in conc[case.key].items() if v), flush=True)
    pyg = {} if args.no_pygeoapi_tiles else pygeoapi_tiles(bench, cases)
    LOAD.append(os.getloadavg())
    meta = {"when": time.strftime("%Y-%m-%d %H:%M"),
            "machine": machine_line(bench.conn),
            "dataset": f"{have[ROADS]:,} roads, {have[PARCELS]:,} parcels in {DB_NAME}",
            "matched": matched}
    md = report(bench, cases, conc, pyg, meta)
    print_tables(bench, cases, meta)
    print()
    print(md)
    print(f"(elapsed {time.perf_counter() - started:.0f} s)")
    return md


def print_tables(bench: Bench, cases: list[Case], meta: dict) -> None:
    header = ["case", "floor+count", "floor", "twin 1w", "twin 2w", "tipg", "pygeoapi",
              "twin/tipg", "pygeoapi/twin", "twin/floor"]
    rows = []
    for case in cases:
        row = bench.results[case.key]
        base = same_body_floor(case, row, meta["matched"].get(case.key))
        rows.append([case.title] + [cell(row[t]) for t in TARGETS]
                    + [ratio(row["twin1"], row["tipg"]) + lighter_mark(case, row),
                       ratio(row["pygeoapi"], row["twin1"]),
                       ratio(row["twin1"], base) + ("†" if base is row["floor+count"] else "")])
    print()
    print(text_table(header, rows))


def machine_line(conn) -> str:
    pg = conn.execute("SHOW server_version").fetchone()[0]
    postgis = conn.execute("SELECT postgis_lib_version()").fetchone()[0]
    rev = subprocess.run(["git", "-C", str(REPO_ROOT), "rev-parse", "--short", "HEAD"],
                         capture_output=True, text=True, check=False).stdout.strip()
    dirty = subprocess.run(["git", "-C", str(REPO_ROOT), "status", "--porcelain",
                            "--untracked-files=no", "twin"],
                           capture_output=True, text=True, check=False).stdout.strip()
    return (f"twin at {rev or '?'}{' + uncommitted changes in twin/' if dirty else ''}; "
            f"{os.cpu_count()} cores, PostgreSQL {pg}, PostGIS {postgis}, "
            f"Python {sys.version.split()[0]}; 1-minute load average {LOAD[0][0]:.1f} at the "
            f"start, {LOAD[-1][0]:.1f} before the report (other work on the machine shows "
            "here: every case interleaves its targets so such load hits all alike)")


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        print("interrupted; servers stopped", file=sys.stderr)
        sys.exit(130)
