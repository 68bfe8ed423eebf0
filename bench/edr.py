"""EDR latency: twin over HTTP against the SQL floor, on the full demo (30 days, 1.3M
readings).

For each query, the median of N requests from one client over one keep-alive connection
(``Accept-Encoding: identity``: no gzip on either side), and the median of N runs of the
SQL floor: the single statement that produces the same body (twin's own coverage or CSV
statement for the same stations, run directly with psycopg, no HTTP, no pygeoapi). The
ratio is what the HTTP layer, pygeoapi's request handling, station resolution and the
value-limit estimate cost on top. The body twin serves is checked to be the floor's.

    .venv/bin/python -m bench.edr [--repeat 30] [--rebuild]
"""

from __future__ import annotations

import argparse
import functools
import json
import statistics
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import psycopg

from bench.common import ensure_out, libpq, scratch_database, table
from bench.servers import Fleet, twin_server
from twin.config import load_settings
from twin.registry import load_registry
from twin.server.edr import catalogue, covjson, csv_
from twin.server.edr.query import Window
from twin.server.edr.series import Selection, readings_sql

DB_NAME = "twin_bench_edr"
BASE = "/collections/sensor_readings"
DAY0 = datetime(2026, 10, 5, tzinfo=UTC)
CITY = "POLYGON((105.70 20.90,106.00 20.90,106.00 21.15,105.70 21.15,105.70 20.90))"


@dataclass
class Case:
    title: str
    path: str
    params: dict
    codes: list[str]            # the stations twin selects (the floor is given them)
    names: list[str]
    window: Window
    fmt: str = "json"


def cases(conn, cat: catalogue.Catalogue) -> list[Case]:
    lon, lat = conn.execute("SELECT ST_X(geom), ST_Y(geom) FROM sensor_stations "
                            "WHERE code = 'AQ-BD-01'").fetchone()
    every = [r[0] for r in conn.execute("SELECT code FROM sensor_stations ORDER BY code")]
    cube = [r[0] for r in conn.execute(
        "SELECT code FROM sensor_stations WHERE geom && "
        "ST_MakeEnvelope(105.80, 21.00, 105.88, 21.06, 4326) ORDER BY code")]
    day, hour = Window(DAY0, DAY0 + timedelta(days=1)), Window(DAY0, DAY0 + timedelta(hours=1))
    month = Window(datetime(2026, 9, 30, 17, tzinfo=UTC),
                   datetime(2026, 10, 30, 17, tzinfo=UTC))

    def span(w: Window) -> str:
        return f"{w.start:%Y-%m-%dT%H:%MZ}/{w.end:%Y-%m-%dT%H:%MZ}"

    three = ["pm25", "pm10", "no2"]
    return [
        Case("position: 1 station, 24 h, pm25", "position",
             {"coords": f"POINT({lon} {lat})", "datetime": span(day),
              "parameter-name": "pm25"}, ["AQ-BD-01"], ["pm25"], day),
        Case("locations: 1 station, 30 days, 3 parameters", "locations/AQ-BD-01",
             {"datetime": span(month), "parameter-name": ",".join(three)},
             ["AQ-BD-01"], three, month),
        Case("area: city, 1 h, all parameters", "area",
             {"coords": CITY, "datetime": span(hour)}, every, list(cat.parameters), hour),
        Case("cube: 1/4 of the city, 24 h, 3 parameters", "cube",
             {"bbox": "105.80,21.00,105.88,21.06", "datetime": span(day),
              "parameter-name": ",".join(three)}, cube, three, day),
        Case("locations CSV: 1 station, 30 days, 3 params", "locations/AQ-BD-01",
             {"datetime": span(month), "parameter-name": ",".join(three), "f": "csv"},
             ["AQ-BD-01"], three, month, "csv"),
    ]


def floor_body(conn, cat: catalogue.Catalogue, case: Case) -> bytes:
    """The body from the one statement that makes it (plus the constant envelope)."""
    ids = [r[0] for r in conn.execute("SELECT id FROM sensor_stations WHERE code = ANY(%s)",
                                      (case.codes,))]
    params: dict = {}
    readings = readings_sql(Selection(ids, case.names, case.window), cat, params)
    if case.fmt == "csv":
        return csv_.write(conn, readings, params)
    text = conn.execute(covjson.coverages_sql(case.names, readings), params).fetchone()[0]
    return covjson.document(text, cat, case.names).encode()


def median_ms(fn, repeat: int) -> float:
    fn()  # warm: plans, caches, the connection
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - start)
    return statistics.median(runs) * 1000


def ensure_dataset(url: str, rebuild: bool) -> None:
    from twin.db.engine import make_engine
    from twin.db.schema import upgrade
    from twin.ingest.dispatch import DEMO_LOADS, load_any

    settings = load_settings()
    registry = load_registry(settings.layers_dir)
    engine = make_engine(url, pool_size=2)
    try:
        upgrade(engine, registry)
        with psycopg.connect(libpq(url)) as conn:
            have = conn.execute("SELECT count(*) FROM sensor_readings").fetchone()[0]
        if have >= 1_000_000 and not rebuild:
            print(f"dataset: {have:,} readings already in {DB_NAME}", flush=True)
            return
        from twin.demo.generate import generate

        folder = ensure_out() / "edr-city"
        generate(folder, dem=False)
        for name, layer, opts in DEMO_LOADS:
            if (folder / name).exists():
                lines = load_any(engine, registry, settings, folder / name, layer,
                                 **{"mode": "replace", **opts})
                print(f"dataset: {lines[0]}", flush=True)
    finally:
        engine.dispose()
    with psycopg.connect(libpq(url), autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE sensor_readings")


def run(url: str, base: str, repeat: int) -> list[list]:
    rows = []
    with psycopg.connect(libpq(url), autocommit=True,
                         options="-c jit=off -c TimeZone=UTC") as conn, \
            httpx.Client(base_url=base, timeout=60,
                         headers={"Accept-Encoding": "identity"}) as client:
        cat = catalogue.probe(conn, (0, 0, 0, 0))
        for case in cases(conn, cat):
            get = functools.partial(client.get, f"{BASE}/{case.path}", params=case.params)
            response = get()
            response.raise_for_status()
            floor = floor_body(conn, cat, case)
            same = response.content == floor
            values = count_values(response.content, case.fmt)
            twin_ms = median_ms(get, repeat)
            floor_ms = median_ms(functools.partial(floor_body, conn, cat, case), repeat)
            rows.append([case.title, f"{values:,}", f"{len(response.content) / 1024:,.0f}",
                         f"{twin_ms:.1f}", f"{floor_ms:.1f}", f"{twin_ms / floor_ms:.2f}",
                         "yes" if same else "NO"])
            print("  ".join(rows[-1]), flush=True)
    return rows


def count_values(body: bytes, fmt: str) -> int:
    if fmt == "csv":
        return body.count(b"\n") - 1
    doc = json.loads(body)
    return sum(r["shape"][0] for c in doc["coverages"] for r in c["ranges"].values())


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeat", type=int, default=30, help="requests per case")
    ap.add_argument("--rebuild", action="store_true", help="regenerate and reload the demo")
    args = ap.parse_args(argv)
    out = ensure_out()
    with scratch_database(DB_NAME, keep=True) as url:
        ensure_dataset(url, args.rebuild)
        server = twin_server(url, 1, out)
        with Fleet([server]):
            rows = run(url, server.base, args.repeat)
    header = ["query", "values", "KiB", "twin ms", "SQL floor ms", "ratio", "same body"]
    report = table(rows, header)
    print("\n" + report)
    (out / "edr.md").write_text(f"median of {args.repeat}, one client, keep-alive\n\n"
                                f"{report}\n", encoding="utf-8")


if __name__ == "__main__":
    main()
