"""Sensor readings: twin's loader against the raw COPY of the same file (the floor).

    .venv/bin/python bench/ingest_readings.py [--days 30]

twin's loader does more than COPY: it checks stations and values, resolves
station codes, creates monthly partitions and skips duplicates. The floor is
PostgreSQL's COPY of the same CSV into an unindexed table of the same columns. The
table is also written to bench/out/ingest_readings.md.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import ensure_out, libpq, scratch_database, table, timed
from twin.config import load_settings
from twin.db.engine import make_engine
from twin.db.schema import upgrade
from twin.ingest.readings import load_readings
from twin.ingest.vector import load_vector
from twin.registry import load_registry

COLS = "station_code text, observed_at timestamptz, property text, value float8, unit text, " \
       "quality text"


def raw_copy(dsn: str, path: Path) -> None:
    with psycopg.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute("SET TimeZone = 'Asia/Ho_Chi_Minh'")
        cur.execute(f"CREATE UNLOGGED TABLE IF NOT EXISTS floor_copy ({COLS})")
        cur.execute("TRUNCATE floor_copy")
        with open(path, "rb") as fh, cur.copy(
                "COPY floor_copy FROM STDIN WITH (FORMAT csv, HEADER true)") as copy:
            while chunk := fh.read(1 << 20):
                copy.write(chunk)


def indexed_copy(dsn: str, resolved: Path) -> None:
    """COPY rows with station ids already resolved straight into the partitioned,
    indexed sensor_readings (partitions exist, emptied first): what a plain COPY costs
    when the indexes are maintained row by row."""
    with psycopg.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute("TRUNCATE sensor_readings")
        with open(resolved, "rb") as fh, cur.copy(
                "COPY sensor_readings (station_id, observed_at, property, value, unit, quality) "
                "FROM STDIN") as copy:
            while chunk := fh.read(1 << 20):
                copy.write(chunk)


def resolve_ids(dsn: str, target: Path) -> None:
    with psycopg.connect(dsn) as conn, conn.cursor() as cur, open(target, "wb") as out, \
            cur.copy("COPY (SELECT s.id, f.observed_at, f.property, f.value, f.unit, "
                     "coalesce(nullif(f.quality, ''), 'good') FROM floor_copy f JOIN "
                     "sensor_stations s ON s.external_id = f.station_code) TO STDOUT") as copy:
        for block in copy:
            out.write(block)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--days", type=int, default=30)
    args = parser.parse_args()
    from twin.demo.generate import generate

    settings = load_settings()
    registry = load_registry(settings.layers_dir)
    with tempfile.TemporaryDirectory() as tmp, scratch_database("twin_bench_ingest") as url:
        folder = Path(tmp)
        generate(folder, days=args.days, dem=False)
        engine = make_engine(url)
        upgrade(engine, registry)
        load_vector(engine, registry, "sensor_stations", folder / "stations.csv",
                    extent=settings.plausible_extent)
        path = folder / "readings.csv"
        with open(path, "rb") as fh:
            rows = sum(1 for _ in fh) - 1
        dsn = libpq(url)
        floor = timed(lambda: raw_copy(dsn, path), repeat=3)

        def fresh():
            with psycopg.connect(dsn, autocommit=True) as conn:
                conn.execute("TRUNCATE sensor_readings")
            load_readings(engine, path)

        def half_then_rest():
            """The streaming case: the month already holds data, new rows are merged."""
            with psycopg.connect(dsn, autocommit=True) as conn:
                conn.execute("TRUNCATE sensor_readings")
            load_readings(engine, first_half)
            start = time.perf_counter()
            load_readings(engine, second_half)
            return time.perf_counter() - start

        lines = path.read_text().splitlines(keepends=True)
        first_half, second_half = folder / "first.csv", folder / "second.csv"
        mid = len(lines) // 2
        first_half.write_text("".join(lines[:mid]))
        second_half.write_text(lines[0] + "".join(lines[mid:]))
        twin = timed(fresh, repeat=3)
        resolved = folder / "resolved.tsv"
        resolve_ids(dsn, resolved)
        indexed = timed(lambda: indexed_copy(dsn, resolved), repeat=1)
        merge = sorted(half_then_rest() for _ in range(3))[1]
        again = timed(lambda: load_readings(engine, path), repeat=1)  # all duplicates
        half = len(lines) - mid
        result = [["raw COPY (floor)", f"{rows / floor:,.0f}", f"{floor:.2f}", "1.00"],
                  ["raw COPY into the indexed table", f"{rows / indexed:,.0f}",
                   f"{indexed:.2f}", f"{floor / indexed:.2f}"],
                  ["twin, new month", f"{rows / twin:,.0f}", f"{twin:.2f}",
                   f"{floor / twin:.2f}"],
                  ["twin, into a month with data", f"{half / merge:,.0f}", f"{merge:.2f}",
                   f"{(half / merge) / (rows / floor):.2f}"],
                  ["twin, the same file again", f"{rows / again:,.0f}", f"{again:.2f}",
                   f"{floor / again:.2f}"]]
        title = f"{rows:,} readings, {path.stat().st_size / 1e6:.0f} MB CSV, median of 3 runs"
        text = table(result, ["path", "rows/s", "seconds", "speed vs floor"])
        print(f"{title}\n{text}")
        (ensure_out() / "ingest_readings.md").write_text(f"{title}\n\n```\n{text}\n```\n")
        engine.dispose()


if __name__ == "__main__":
    main()
