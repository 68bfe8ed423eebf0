"""Bulk sensor readings through PostgreSQL COPY.

The file is streamed into a typed temporary table (PostgreSQL parses it, and a
bad value is reported with its line), checked against the stations, then moved
into the monthly partitions. Duplicates (station, property, time) are ignored,
so a file can be loaded twice. One transaction: all or nothing.

An operator's tool (it needs the database's credentials): no age limit, since archives
go back decades, and no quota of new monthly partitions, but times before 1900 and
times ahead of the clock by more than :data:`twin.ingest.policy.BULK`'s bound (5
minutes) refuse the file, as the streams refuse such readings.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
from sqlalchemy import Engine

from twin.alerts import hook as alerts
from twin.ingest import derived
from twin.ingest.analyze import vacuum_analyze
from twin.ingest.errors import LoadError
from twin.ingest.policy import BULK, Window

COLUMNS = {
    "station_code": ("text", ("station_code", "station", "station_id", "code", "ma_tram")),
    "observed_at": ("timestamptz", ("observed_at", "time", "timestamp", "datetime", "thoi_gian")),
    "property": ("text", ("property", "parameter", "variable", "thong_so")),
    "value": ("double precision", ("value", "result", "gia_tri")),
    "unit": ("text", ("unit", "uom", "don_vi")),
    "quality": ("text", ("quality", "flag", "qc")),
}
REQUIRED = ("station_code", "observed_at", "property", "value")
CHUNK = 1 << 20


@dataclass
class ReadingsSummary:
    source: str
    rows: int = 0
    inserted: int = 0
    duplicates: int = 0
    partitions_created: int = 0
    seconds: float = 0.0

    def line(self) -> str:
        rate = self.rows / self.seconds if self.seconds else 0
        return (f"sensor_readings: {self.rows} rows read, {self.inserted} inserted, "
                f"{self.duplicates} duplicates skipped ({rate:,.0f} rows/s)")


def _header(path: Path) -> list[str]:
    with open(path, "rb") as fh:
        first = fh.readline()
    try:
        line = first.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise LoadError(f"{path}: the header is not UTF-8 text") from None
    return [h.strip() for h in next(csv.reader(io.StringIO(line)), [])]


def stage_columns(path: Path, header: list[str]) -> list[tuple[str, str]]:
    """(staging column, SQL type) for each column of the file, in file order."""
    by_alias = {alias: name for name, (_, aliases) in COLUMNS.items() for alias in aliases}
    out, seen = [], set()
    for i, col in enumerate(header):
        name = by_alias.get(col.lower())
        if name is None or name in seen:
            out.append((f"_extra_{i}", "text"))
        else:
            seen.add(name)
            out.append((name, COLUMNS[name][0]))
    missing = [c for c in REQUIRED if c not in seen]
    if missing:
        raise LoadError(f"{path}: missing column(s) {', '.join(missing)} (header: "
                        f"{', '.join(header)})")
    return out


def _copy_file(cur: psycopg.Cursor, path: Path, cols: list[tuple[str, str]],
               progress: Callable[[int], None] | None) -> None:
    names = ", ".join(c for c, _ in cols)
    sql = f"COPY _twin_readings ({names}) FROM STDIN WITH (FORMAT csv, HEADER true)"
    with open(path, "rb") as fh, cur.copy(sql) as copy:
        while chunk := fh.read(CHUNK):
            copy.write(chunk)
            if progress:
                progress(len(chunk))


def _copy_error(path: Path, exc: psycopg.Error) -> LoadError:
    context = (exc.diag.context or "").split("\n")[0]
    where = context.replace("COPY _twin_readings, ", "") if context else ""
    message = exc.diag.message_primary or type(exc).__name__
    if isinstance(exc, psycopg.errors.CharacterNotInRepertoire):
        message = "not UTF-8 text"
    return LoadError(f"{path}: {where}: {message}" if where else f"{path}: {message}")


def _check(cur: psycopg.Cursor, path: Path, window: Window) -> None:
    cur.execute("SELECT DISTINCT r.station_code FROM _twin_readings r LEFT JOIN sensor_stations s"
                " ON s.external_id = r.station_code WHERE s.id IS NULL LIMIT 50")
    unknown = [row[0] for row in cur.fetchall()]
    if unknown:
        raise LoadError(f"{path}: readings for unknown stations (load the stations first)",
                        [f"station {code!r}" for code in unknown])
    cur.execute("SELECT count(*) FILTER (WHERE station_code IS NULL OR observed_at IS NULL "
                "OR property IS NULL), count(*) FILTER (WHERE value = 'NaN' OR value IN "
                "('Infinity', '-Infinity')) FROM _twin_readings")
    nulls, nonfinite = cur.fetchone()
    if nulls or nonfinite:
        raise LoadError(f"{path}: {nulls} row(s) without station, time or property and "
                        f"{nonfinite} non-finite value(s)")
    now = datetime.now(UTC)
    earliest, latest = window.bounds(now)
    cur.execute("SELECT count(*) FILTER (WHERE observed_at < %s), count(*) FILTER (WHERE "
                "observed_at > %s) FROM _twin_readings", (earliest, latest))
    early, ahead = cur.fetchone()
    tick = timedelta(microseconds=1)
    what = [f"{n} {window.refusal(t, now)}" for n, t in ((early, earliest - tick),
                                                         (ahead, latest + tick)) if n]
    if what:
        raise LoadError(f"{path}: readings with a time out of range: {'; '.join(what)}")


def load_readings(engine: Engine, path: Path, progress: Callable[[int], None] | None = None,
                  window: Window = BULK, tz: str = "UTC") -> ReadingsSummary:
    """Load a readings CSV (station_code, observed_at, property, value[, unit, quality]).

    ``tz``: the city's IANA time zone (the profile's): a time without an offset is
    read as its local time, and the rollups' local days and months are its days."""
    import time

    path = Path(path)
    if not path.exists() or path.stat().st_size == 0:
        raise LoadError(f"{path}: missing or empty file")
    cols = stage_columns(path, _header(path))
    summary, started = ReadingsSummary(str(path)), time.perf_counter()
    with engine.begin() as conn:
        cur = conn.connection.driver_connection.cursor()
        cur.execute("SELECT set_config('TimeZone', %s, true)", (tz,))  # naive times: local
        cur.execute("CREATE TEMP TABLE _twin_readings (" + ", ".join(
            f"{c} {t}" for c, t in cols) + ") ON COMMIT DROP")
        try:
            _copy_file(cur, path, cols, progress)
        except (psycopg.errors.DataError, psycopg.errors.BadCopyFileFormat) as exc:
            raise _copy_error(path, exc) from None
        _check(cur, path, window)
        summary.rows, summary.inserted, summary.partitions_created, batch = _merge(cur, cols,
                                                                                   tz)
        summary.duplicates = summary.rows - summary.inserted
    vacuum_analyze(engine, ["sensor_readings", *derived.DERIVED_TABLES])
    if batch is not None:  # after commit: the alert rules on the touched stations
        with engine.connect() as conn:
            alerts.after_commit(conn.connection.driver_connection, batch)
    summary.seconds = time.perf_counter() - started
    return summary


SELECT_ROWS = (
    "SELECT s.id, r.observed_at, r.property, r.value, {unit}, {quality} FROM _twin_readings r "
    "JOIN sensor_stations s ON s.external_id = r.station_code "
    "WHERE r.observed_at >= %(lo)s AND r.observed_at < %(hi)s")
COLUMNS_OUT = "(station_id, observed_at, property, value, unit, quality)"


def _months(cur: psycopg.Cursor) -> list[tuple]:
    """(partition name, lower bound, upper bound, exists) for each month in the batch."""
    cur.execute(
        "SELECT m, m + interval '1 month' FROM (SELECT DISTINCT date_trunc('month', "
        "observed_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS m FROM _twin_readings) d "
        "ORDER BY m")
    out = []
    for lo, hi in cur.fetchall():
        name = f"sensor_readings_{lo.astimezone(UTC):%Y_%m}"
        cur.execute("SELECT to_regclass(%s) IS NOT NULL", (name,))
        exists = cur.fetchone()[0]
        if exists and _empty(cur, name):  # an empty month is rebuilt the fast way
            cur.execute(psycopg.sql.SQL("DROP TABLE {}").format(psycopg.sql.Identifier(name)))
            exists = False
        out.append((name, lo, hi, exists))
    return out


def _empty(cur: psycopg.Cursor, name: str) -> bool:
    cur.execute(psycopg.sql.SQL("SELECT NOT EXISTS (SELECT 1 FROM {})").format(
        psycopg.sql.Identifier(name)))
    return cur.fetchone()[0]


def _insert_existing(cur: psycopg.Cursor, select: str, lo, hi) -> int:
    """Into a partition that already holds data: skip duplicates row by row. The rows
    inserted are kept in _twin_inserted for the derived tables."""
    cur.execute(f"WITH ins AS (INSERT INTO sensor_readings {COLUMNS_OUT} {select} "
                f"ON CONFLICT DO NOTHING RETURNING {NEW_ROWS}) "
                f"INSERT INTO _twin_inserted SELECT {NEW_ROWS} FROM ins", {"lo": lo, "hi": hi})
    return cur.rowcount


NEW_ROWS = "station_id, property, observed_at, value, unit, quality"


def _new_rows(cur: psycopg.Cursor, partitions: list[str]) -> str:
    """The relation holding exactly the rows this merge inserted: _twin_inserted, plus
    the partitions it created whole (read in place rather than copied)."""
    if not partitions:
        return "_twin_inserted"
    parts = [psycopg.sql.SQL(f"SELECT {NEW_ROWS} FROM {{}}").format(psycopg.sql.Identifier(p))
             for p in [*partitions, "_twin_inserted"]]
    cur.execute(psycopg.sql.SQL("CREATE OR REPLACE TEMP VIEW _twin_new_readings AS {}").format(
        psycopg.sql.SQL(" UNION ALL ").join(parts)))
    return "_twin_new_readings"


def _insert_new(cur: psycopg.Cursor, select: str, name: str, lo, hi) -> int | None:
    """A month with no partition yet: fill a bare table, index it once, attach it.

    Building the indexes after the rows is several times cheaper than maintaining
    them row by row, and (with wal_level=minimal) a table created in this
    transaction writes no WAL. Returns None if the batch itself repeats a key."""
    ident = psycopg.sql.Identifier(name)
    cur.execute("SAVEPOINT twin_new_partition")
    cur.execute(psycopg.sql.SQL("CREATE TABLE {} (LIKE sensor_readings INCLUDING DEFAULTS "
                                "INCLUDING CONSTRAINTS)").format(ident))
    cur.execute(psycopg.sql.SQL(f"INSERT INTO {{}} {COLUMNS_OUT} {select}").format(ident),
                {"lo": lo, "hi": hi})
    inserted = cur.rowcount
    try:
        cur.execute(psycopg.sql.SQL("ALTER TABLE {} ADD PRIMARY KEY (station_id, property, "
                                    "observed_at)").format(ident))
    except psycopg.errors.UniqueViolation:
        cur.execute("ROLLBACK TO SAVEPOINT twin_new_partition")
        return None
    cur.execute(psycopg.sql.SQL("CREATE INDEX ON {} (observed_at, property)").format(ident))
    cur.execute(psycopg.sql.SQL(
        "ALTER TABLE {} ADD CONSTRAINT {} CHECK (observed_at >= {} AND observed_at < {})").format(
        ident, psycopg.sql.Identifier(f"{name}_bounds"), psycopg.sql.Literal(lo),
        psycopg.sql.Literal(hi)))
    cur.execute(psycopg.sql.SQL("ALTER TABLE sensor_readings ATTACH PARTITION {} FOR VALUES "
                                "FROM ({}) TO ({})").format(ident, psycopg.sql.Literal(lo),
                                                             psycopg.sql.Literal(hi)))
    cur.execute("RELEASE SAVEPOINT twin_new_partition")
    return inserted


def _merge(cur: psycopg.Cursor, cols: list[tuple[str, str]], tz: str
           ) -> tuple[int, int, int, alerts.Touched | None]:
    """Move the staged rows into their months and refresh what derives from them: rows
    staged, inserted, partitions made and what the alert rules must look at."""
    names = {c for c, _ in cols}
    unit = "r.unit" if "unit" in names else "NULL"
    quality = ("coalesce(nullif(r.quality, ''), CASE WHEN r.value IS NULL THEN 'missing' "
               "ELSE 'good' END)" if "quality" in names else
               "CASE WHEN r.value IS NULL THEN 'missing' ELSE 'good' END")
    select = SELECT_ROWS.format(unit=unit, quality=quality)
    cur.execute("SELECT count(*) FROM _twin_readings")
    rows, inserted, made = cur.fetchone()[0], 0, 0
    cur.execute("SELECT pg_advisory_xact_lock(hashtext('twin_reading_partitions'))")
    cur.execute("CREATE TEMP TABLE IF NOT EXISTS _twin_inserted ON COMMIT DELETE ROWS AS "
                f"SELECT {NEW_ROWS} FROM sensor_readings WITH NO DATA")
    cur.execute("DELETE FROM _twin_inserted")
    filled = []
    try:
        for name, lo, hi, exists in _months(cur):
            fresh = None if exists else _insert_new(cur, select, name, lo, hi)
            if fresh is None:
                cur.execute("SELECT twin_ensure_reading_partitions(%s, %s)", (lo, lo))
                made += cur.fetchone()[0]
                inserted += _insert_existing(cur, select, lo, hi)
            else:
                made, inserted = made + 1, inserted + fresh
                filled.append(name)
    except psycopg.errors.CheckViolation:
        raise LoadError("a quality flag is not one of good, suspect, bad, missing") from None
    relation = _new_rows(cur, filled)
    derived.refresh(cur, relation, tz=tz)
    batch = alerts.touched(cur, relation) if inserted else None
    if filled:  # a view on a partition would block dropping that partition later
        cur.execute("DROP VIEW _twin_new_readings")
    return rows, inserted, made, batch
