"""Sensor readings: twin's loader against the raw COPY of the same file (the floor).

    .venv/bin/python bench/ingest_readings.py [--days 30]

twin's loader does more than COPY: it checks stations and values, resolves
station codes, creates monthly partitions and skips duplicates. The floor is
PostgreSQL's COPY of the same CSV into an unindexed table of the same columns.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import libpq, scratch_database, table, timed  # noqa: E402
from twin.config import load_settings  # noqa: E402
from twin.db.engine import make_engine  # noqa: E402
from twin.db.schema import upgrade  # noqa: E402
from twin.ingest.readings import load_readings  # noqa: E402
from twin.ingest.vector import load_vector  # noqa: E402
from twin.registry import load_registry  # noqa: E402

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
        rows = sum(1 for _ in open(path, "rb")) - 1
        dsn = libpq(url)
        floor = timed(lambda: raw_copy(dsn, path), repeat=3)

        def ours():
            with psycopg.connect(dsn, autocommit=True) as conn:
                conn.execute("TRUNCATE sensor_readings")
            load_readings(engine, path)

        twin = timed(ours, repeat=3)
        result = [["raw COPY (floor)", f"{rows / floor:,.0f}", f"{floor:.2f}", "1.00"],
                  ["twin load_readings", f"{rows / twin:,.0f}", f"{twin:.2f}",
                   f"{floor / twin:.2f}"]]
        print(f"{rows:,} readings, {path.stat().st_size / 1e6:.0f} MB CSV, median of 3 runs")
        print(table(result, ["path", "rows/s", "seconds", "speed vs floor"]))
        engine.dispose()


if __name__ == "__main__":
    main()
