"""Cost of keeping the derived tables (latest, rollups, AQI) current during ingest.

    .venv/bin/python bench/rollups.py [--days 30] [--batches 10] [--folder DIR]

0. Floor: PostgreSQL COPY of the demo's readings CSV into an unindexed, unlogged table.
1. Bulk: the demo's readings loaded in one COPY into empty months; the refresh's share
   of the load (the refresh runs inside the load's transaction), and both against the
   floor.
2. Streaming: batches of one reading per station and property (275 for the demo city),
   and of 22 such steps (6,050 readings: an MQTT batch at ~6,000 readings/s), into the
   month that already holds the bulk load, through the same loader; the refresh with
   month buckets deferred (the default) and recomputed at once.
3. ``refresh_pending`` of the deferred month buckets, and a full ``rebuild``.

The tables are also written to bench/out/rollups.md.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import ensure_out, libpq, scratch_database, table
from bench.ingest_readings import raw_copy
from twin.config import load_settings
from twin.db.engine import make_engine
from twin.db.schema import upgrade
from twin.ingest import derived
from twin.ingest.readings import load_readings
from twin.ingest.vector import load_vector
from twin.registry import load_registry

SUMMARIES: list = []


def _recording(refresh):
    """derived.refresh, keeping each summary (readings._merge drops it)."""
    def wrapper(cur, new_rows, **kwargs):
        kwargs.setdefault("months", MODE["months"])
        SUMMARIES.append(refresh(cur, new_rows, **kwargs))
        return SUMMARIES[-1]
    return wrapper


MODE = {"months": "auto"}


def batch_csv(dsn: str, path: Path, steps: int) -> int:
    """One reading per station and property for each of ``steps`` 10-minute steps
    after the last."""
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "SELECT s.external_id, l.property, l.observed_at, l.value, l.unit "
            "FROM station_latest l JOIN sensor_stations s ON s.id = l.station_id").fetchall()
    with open(path, "w") as fh:
        fh.write("station_code,observed_at,property,value,unit,quality\n")
        for step in range(1, steps + 1):
            for code, prop, when, value, unit in rows:
                when += timedelta(minutes=10 * step)
                fh.write(f"{code},{when.isoformat()},{prop},{value},{unit},good\n")
    return len(rows) * steps


def streaming(engine, dsn: str, folder: Path, batches: int, months: str, steps: int = 1
              ) -> list:
    MODE["months"] = months
    out = []
    for i in range(batches):
        path = folder / f"batch_{months}_{steps}_{i}.csv"
        n = batch_csv(dsn, path, steps)
        SUMMARIES.clear()
        start = time.perf_counter()
        load_readings(engine, path, tz=city_tz())
        out.append((n, time.perf_counter() - start, SUMMARIES[-1]))
    MODE["months"] = "auto"
    return out


def city_tz() -> str:
    """The city profile's time zone (the demo's local days and months)."""
    return load_settings().city.timezone


def _one(dsn: str, fn) -> float:
    with psycopg.connect(dsn) as conn, conn.cursor() as cur:
        start = time.perf_counter()
        fn(cur)
        return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--batches", type=int, default=10)
    parser.add_argument("--folder", type=Path, help="reuse a generated demo folder")
    args = parser.parse_args()
    from twin.demo.generate import generate

    derived.refresh = _recording(derived.refresh)
    settings = load_settings()
    registry = load_registry(settings.layers_dir)
    with tempfile.TemporaryDirectory() as tmp, scratch_database("twin_bench_rollups") as url:
        folder = args.folder or Path(tmp)
        if not (folder / "readings.csv").exists():
            generate(folder, days=args.days, dem=False)
        engine = make_engine(url)
        upgrade(engine, registry)
        load_vector(engine, registry, "sensor_stations", folder / "stations.csv",
                    extent=settings.plausible_extent)
        dsn = libpq(url)
        floor = min(_timed(lambda: raw_copy(dsn, folder / "readings.csv")) for _ in range(3))
        bulk = load_readings(engine, folder / "readings.csv", tz=city_tz())
        refresh = SUMMARIES[-1]
        rate = bulk.rows / floor
        lines = [f"bulk: {bulk.line()} in {bulk.seconds:.2f} s",
                 f"      {refresh.line()}  ({refresh.seconds / bulk.seconds:.0%} of the load)",
                 f"floor: COPY of the same CSV into an unlogged table {floor:.2f} s "
                 f"({rate:,.0f} rows/s); the load takes {bulk.seconds / floor:.1f}x the floor, "
                 f"the refresh {refresh.seconds / floor:.1f}x"]
        rows = []
        for steps in (1, 22):
            for months in ("auto", "now"):
                runs = streaming(engine, dsn, Path(tmp), args.batches, months, steps)
                ms = sorted(r[2].seconds * 1000 for r in runs)
                total = sorted(r[1] * 1000 for r in runs)
                rows.append([f"batch of {runs[0][0]}, months {months}",
                             f"{statistics.median(ms):.1f}", f"{ms[-1]:.1f}",
                             f"{statistics.median(total):.1f}",
                             f"{statistics.median(ms) / statistics.median(total):.0%}"])
        lines.append(table(rows, ["streaming", "refresh ms (median)", "refresh ms (max)",
                                  "whole load ms (median)", "refresh share"]))
        streaming(engine, dsn, Path(tmp), 1, "later")
        waiting = pending_count(dsn)
        tz = city_tz()
        pending = _one(dsn, lambda cur: derived.refresh_pending(cur, tz=tz))
        rebuild = _one(dsn, lambda cur: derived.rebuild(cur, tz=tz))
        lines.append(f"refresh_pending of {waiting} month buckets: {pending:.2f} s; "
                     f"rebuild: {rebuild:.2f} s")
        print("\n".join(lines))
        (ensure_out() / "rollups.md").write_text("```\n" + "\n".join(lines) + "\n```\n")
        engine.dispose()


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def pending_count(dsn: str) -> int:
    with psycopg.connect(dsn) as conn:
        return conn.execute("SELECT count(*) FROM reading_rollups_pending").fetchone()[0]


if __name__ == "__main__":
    main()
