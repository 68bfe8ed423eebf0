"""Shared helpers for the benchmarks: a scratch database on the embedded cluster (or
TWIN_BENCH_DATABASE_URL's server), timing, and table printing."""

from __future__ import annotations

import os
import statistics
import time
from contextlib import contextmanager
from pathlib import Path

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

from twin.config import REPO_ROOT, load_settings

OUT = REPO_ROOT / "bench" / "out"


@contextmanager
def scratch_database(name: str, keep: bool = False):
    """A fresh PostGIS database for one benchmark run; yields its SQLAlchemy URL."""
    server = os.environ.get("TWIN_BENCH_DATABASE_URL")
    if server:
        url = make_url(server)
        admin = url.set(drivername="postgresql", database="postgres").render_as_string(False)
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(name)))
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        target = url.set(database=name, drivername="postgresql+psycopg").render_as_string(False)
        with psycopg.connect(target.replace("+psycopg", ""), autocommit=True) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")

        def drop() -> None:
            if not keep:
                _drop(admin, name)
    else:
        from twin.db.cluster import EmbeddedCluster

        settings = load_settings()
        cluster = EmbeddedCluster(settings.pgdata, settings.embedded_port)
        cluster.start()
        if not keep:
            cluster.drop_database(name) if _exists(cluster, name) else None
        target = cluster.ensure_database(name)

        def drop() -> None:
            if not keep:
                cluster.drop_database(name)
    try:
        yield target
    finally:
        drop()


def _exists(cluster, name) -> bool:
    with psycopg.connect(cluster.url("postgres").replace("+psycopg", "")) as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() \
            is not None


def _drop(admin: str, name: str) -> None:
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
            sql.Identifier(name)))


def timed(fn, repeat: int = 1) -> float:
    """Median wall time of ``fn()`` in seconds."""
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - start)
    return statistics.median(runs)


def table(rows: list[list], header: list[str]) -> str:
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows, strict=False)]

    def line(r: list) -> str:
        return "  ".join(str(v).rjust(w) for v, w in zip(r, widths, strict=False))

    return "\n".join([line(header), line(["-" * w for w in widths]), *map(line, rows)])


def libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(False)


def ensure_out() -> Path:
    OUT.mkdir(parents=True, exist_ok=True)
    return OUT
