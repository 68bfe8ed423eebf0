"""reading_rollups: statistics per station, property and hour / local day / month.

Every bucket is recomputed from the raw readings it covers, never combined from
partial results: percentiles need the raw values, and a recomputed bucket is by
construction what ``twin rollups rebuild`` writes. Two shapes:

- ``upsert_series``: every bucket of whole (station, property, local month) series
  (a bulk load), all three grains from one read of each series. PostgreSQL gathers
  the values, numpy computes the statistics: each series' times and values cross as
  one bytea each (``string_agg(float8send(value))``), so a million readings come back
  in a few hundred rows at almost no decoding cost, and one sort by value plus radix
  sorts by bucket replace the grouping sets' sorts and ``percentile_cont``'s sort per
  group (about three times cheaper). A series new in its month is read from the new
  rows alone; the others' old buckets are deleted; then one binary COPY, no ON
  CONFLICT.
- ``upsert_buckets``: the listed buckets of one grain (a streaming batch), each read
  through the primary key (station, property, time range), aggregated and upserted in
  SQL. Here reading the rows is the cost, and numpy measured no faster.

Only readings with a value and quality good or suspect count (``COUNTABLE``).
Percentiles are ``percentile_cont``'s: linear interpolation between closest ranks,
as numpy's default, with the same arithmetic (``lo + (hi - lo) * fraction``) in
numpy. Days and months are those of the city's time zone ``tz``, which the functions
here are given (the city profile's zone, a whole number of hours from UTC). Hours nest
in local days and days in months, so a series' month span holds all its hours and days.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import numpy as np
import psycopg
from psycopg import sql

from twin.readings_props import COUNTABLE

GRAINS = ("hour", "day", "month")
QUANTILES = (0.1, 0.5, 0.9, 0.95)
STATS = ("mean", "min", "max", "p10", "p50", "p90", "p95")  # float8 columns, in order
COLUMNS = ("grain", "station_id", "property", "bucket", "n", *STATS)
PG_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)  # of binary timestamptz (µs)
HOUR_US = 3_600_000_000
_AGG = ("count(*)::integer AS n, avg(value) AS mean, min(value) AS lo, max(value) AS hi, "
        "percentile_cont(ARRAY[{}]::float8[]) WITHIN GROUP (ORDER BY value) AS pct").format(
    ", ".join(str(q) for q in QUANTILES))
_OUT = "n, mean, lo, hi, pct[1], pct[2], pct[3], pct[4]"
_INSERT = ("INSERT INTO reading_rollups (grain, station_id, property, bucket, n, mean, min, "
           "max, p10, p50, p90, p95) ")
_UPSERT = (" ON CONFLICT (grain, station_id, property, bucket) DO UPDATE SET "
           + ", ".join(f"{c} = EXCLUDED.{c}"
                       for c in ("n", *STATS)))


_ZONE = re.compile(r"^[A-Za-z][A-Za-z0-9_+\-]*(/[A-Za-z0-9_+\-]+)*$")


def zone_sql(tz: str) -> str:
    """The IANA zone ``tz`` as an SQL string literal (a zone name has no quotes)."""
    if not _ZONE.match(tz):
        raise ValueError(f"{tz!r} is not an IANA time zone name")
    return f"'{tz}'"


def bucket_sql(grain: str, column: str = "observed_at", *, tz: str) -> str:
    """SQL expression of the bucket start of ``column``: UTC hours, days and months
    of the zone ``tz``."""
    if grain == "hour":
        return f"date_trunc('hour', {column}, 'UTC')"
    if grain in ("day", "month"):
        return f"date_trunc('{grain}', {column}, {zone_sql(tz)})"
    raise ValueError(f"unknown grain {grain!r}; use one of {GRAINS}")


def bucket_end_sql(grain: str, column: str, *, tz: str) -> str:
    """End of the bucket starting at ``column``, whatever the session's TimeZone."""
    if grain == "hour":
        return f"{column} + interval '1 hour'"
    zone = zone_sql(tz)
    return f"(({column} AT TIME ZONE {zone}) + interval '1 {grain}') AT TIME ZONE {zone}"


def create_keys(cur: psycopg.Cursor) -> None:
    """The session's temp table of buckets to recompute (emptied at each commit)."""
    cur.execute("CREATE TEMP TABLE IF NOT EXISTS _twin_rollup_keys (grain text, station_id "
                "bigint, property text, bucket timestamptz, bucket_end timestamptz) "
                "ON COMMIT DELETE ROWS")
    cur.execute("DELETE FROM _twin_rollup_keys")


def collect_keys(cur: psycopg.Cursor, new_rows: str, grain: str, tz: str) -> int:
    """Add the ``grain`` buckets of the countable new rows in series that are not
    recomputed whole (``_twin_new_series.whole`` false)."""
    month = bucket_sql("month", "r.observed_at", tz=tz)
    cur.execute(sql.SQL(
        "INSERT INTO _twin_rollup_keys SELECT %s, station_id, property, b, {end} FROM "
        "(SELECT DISTINCT r.station_id, r.property, {bucket} AS b FROM {new} r "
        "JOIN _twin_new_series s ON s.station_id = r.station_id AND s.property = r.property "
        "AND s.m = {month} AND NOT s.whole WHERE r.{ok}) k"
    ).format(end=sql.SQL(bucket_end_sql(grain, "b", tz=tz)),
             bucket=sql.SQL(bucket_sql(grain, "r.observed_at", tz=tz)), month=sql.SQL(month),
             new=sql.Identifier(new_rows),
             ok=sql.SQL(COUNTABLE.replace(" quality", " r.quality"))), (grain,))
    return cur.rowcount


def upsert_buckets(cur: psycopg.Cursor, grain: str) -> int:
    """Recompute the ``grain`` buckets listed in _twin_rollup_keys from the raw readings."""
    cur.execute("ANALYZE _twin_rollup_keys")  # a temp table has no statistics otherwise
    cur.execute(
        _INSERT + f"SELECT %(g)s, station_id, property, bucket, {_OUT} FROM ("
        f"SELECT k.station_id, k.property, k.bucket, {_AGG} FROM _twin_rollup_keys k "
        "JOIN sensor_readings r ON r.station_id = k.station_id AND r.property = k.property "
        "AND r.observed_at >= k.bucket AND r.observed_at < k.bucket_end "
        f"WHERE k.grain = %(g)s AND {COUNTABLE} GROUP BY 1, 2, 3) a" + _UPSERT, {"g": grain})
    return cur.rowcount


def upsert_series(cur: psycopg.Cursor, new_rows: str, tz: str) -> dict[str, int]:
    """Recompute all buckets of the (station, property, local month) series marked
    ``whole`` in _twin_new_series. A series also marked ``fresh`` (no countable reading
    in its month before this transaction) is read from ``new_rows`` alone and its
    buckets are simply inserted; the others are read from sensor_readings, and their
    old buckets deleted first. Returns the number of buckets written per grain."""
    counts = dict.fromkeys(GRAINS, 0)
    cur.execute("SELECT set_config('work_mem', '256MB', true)")  # in-memory aggregation
    series = _read_fresh(cur, new_rows, tz) + _read_known(cur, tz)
    if not series:
        return counts
    index = np.repeat(np.arange(len(series)), [len(s[4]) // 8 for s in series])
    when, values = _ints(s[3] for s in series), _floats(s[4] for s in series)
    month = np.array([_micros(s[2]) for s in series], dtype=np.int64)[index]
    day = _local_days(cur, when // HOUR_US, tz)
    by_value = np.argsort(values, kind="stable")
    payload = []
    for grain, offset, start in (("hour", when // HOUR_US - month // HOUR_US, None),
                                 ("day", (day - month) // HOUR_US, day),
                                 ("month", np.zeros_like(index), month)):
        order = _grouped(by_value, index, offset)   # offset: hours into the month
        starts, stats = _stats((index[order] << 16) | offset[order], values[order])
        first = order[starts]
        buckets = (when[first] // HOUR_US) * HOUR_US if start is None else start[first]
        payload.append(_payload(grain, series, index[first], buckets, stats))
        counts[grain] = len(first)
    _copy(cur, "reading_rollups", b"".join(payload))
    return counts


def _aggregates(column: str = "") -> str:
    """One series' times and values, each as one bytea (binary timestamptz, float8)."""
    return (f"string_agg(timestamptz_send({column}observed_at), ''::bytea), "
            f"string_agg(float8send({column}value), ''::bytea)")


def _read_fresh(cur: psycopg.Cursor, new_rows: str, tz: str) -> list[tuple]:
    """(station_id, property, month, times, values) of the fresh series, from the new
    rows alone. The new rows are aggregated whole (one scan, no join): new rows of
    other series come only with a batch that starts a month, and are dropped here."""
    cur.execute("SELECT station_id, property, m FROM _twin_new_series WHERE fresh")
    fresh = set(cur.fetchall())
    if not fresh:
        return []
    cur.execute(sql.SQL("SELECT station_id, property, {month}, {agg} FROM {new} WHERE {ok} "
                        "GROUP BY 1, 2, 3").format(
        month=sql.SQL(bucket_sql("month", tz=tz)), agg=sql.SQL(_aggregates()),
        new=sql.Identifier(new_rows), ok=sql.SQL(COUNTABLE)), binary=True)
    return [row for row in cur.fetchall() if row[:3] in fresh]


def _read_known(cur: psycopg.Cursor, tz: str) -> list[tuple]:
    """(station_id, property, month, times, values) of the whole series that are not
    fresh, from sensor_readings; their old buckets (all grains) are deleted."""
    cur.execute(sql.SQL("SELECT k.station_id, k.property, k.m, {agg} FROM _twin_new_series k, "
                        "sensor_readings r WHERE {known} AND r.{ok} GROUP BY 1, 2, 3").format(
        agg=sql.SQL(_aggregates("r.")), known=_known("observed_at", tz),
        ok=sql.SQL(COUNTABLE)),
        binary=True)
    rows = cur.fetchall()
    if rows:
        cur.execute(sql.SQL("DELETE FROM reading_rollups r USING _twin_new_series k "
                            "WHERE {}").format(_known("bucket", tz)))
    return rows


def _known(column: str, tz: str) -> sql.Composable:
    """Rows of r in the month of a whole, not fresh series k, by r's ``column``."""
    return sql.SQL("k.whole AND NOT k.fresh AND r.station_id = k.station_id AND r.property "
                   "= k.property AND r.{c} >= k.m AND r.{c} < {end}").format(
        c=sql.Identifier(column), end=sql.SQL(bucket_end_sql("month", "k.m", tz=tz)))


def _local_days(cur: psycopg.Cursor, hours: np.ndarray, tz: str) -> np.ndarray:
    """Local day start (µs since 2000) of each UTC hour (hours since 2000), asked of
    PostgreSQL once per distinct hour: its time zone rules are the reference."""
    unique, inverse = np.unique(hours, return_inverse=True)
    cur.execute(sql.SQL(
        "SELECT string_agg(timestamptz_send({day}), ''::bytea ORDER BY i) FROM "
        "unnest(%s::bigint[]) WITH ORDINALITY u(h, i)").format(day=sql.SQL(bucket_sql(
            "day", "(timestamptz '2000-01-01 00:00+00' + h * interval '1 hour')", tz=tz))),
        (unique.tolist(),), binary=True)
    return _ints([cur.fetchone()[0]])[inverse]


def _ints(blobs) -> np.ndarray:
    return np.frombuffer(b"".join(blobs), ">i8").astype(np.int64)


def _floats(blobs) -> np.ndarray:
    return np.frombuffer(b"".join(blobs), ">f8").astype(np.float64)


def _micros(when: datetime) -> int:
    return (when - PG_EPOCH) // timedelta(microseconds=1)


def _grouped(by_value: np.ndarray, major: np.ndarray, minor: np.ndarray) -> np.ndarray:
    """Positions ordered by (major, minor), by value within each group: after the one
    sort by value, two stable sorts of small integer keys (radix sorts in numpy)."""
    order = by_value
    for key in (minor, major):
        small = key.astype(np.uint16) if key.max(initial=0) < 1 << 16 else key
        order = order[np.argsort(small[order], kind="stable")]
    return order


def _stats(key: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Statistics of values ordered by group ``key``, by value within a group: the start
    of each group, and n plus the STATS columns, one entry per group."""
    starts = np.flatnonzero(np.concatenate(([True], key[1:] != key[:-1])))
    n = np.diff(np.append(starts, len(values)))
    out = {"n": n, "mean": np.add.reduceat(values, starts) / n, "min": values[starts],
           "max": values[starts + n - 1]}
    for q, name in zip(QUANTILES, STATS[3:], strict=False):
        rank = q * (n - 1)                      # percentile_cont's arithmetic
        low = np.floor(rank)
        lo = values[starts + low.astype(np.int64)]
        hi = values[starts + np.ceil(rank).astype(np.int64)]
        out[name] = lo + (hi - lo) * (rank - low)
    return starts, out


_HEADER = b"PGCOPY\n\xff\r\n\x00" + bytes(8)  # signature, flags, no header extension
_TRAILER = b"\xff\xff"


def _payload(grain: str, series: list, which: np.ndarray, buckets: np.ndarray,
             stats: dict[str, np.ndarray]) -> bytes:
    """Binary COPY rows (COLUMNS) of one grain: row i is the bucket starting at
    ``buckets[i]`` (µs since 2000) of ``series[which[i]]`` (station_id, property, ...).
    Rows of one property have one fixed layout, so each property is one numpy array."""
    names = [s[1] for s in series]
    codes = {name: code for code, name in enumerate(dict.fromkeys(names))}
    of_row = np.array([codes[name] for name in names])[which]
    stations = np.array([s[0] for s in series], dtype=np.int64)[which]
    parts = []
    for name, code in codes.items():
        sel = np.flatnonzero(of_row == code)
        fields = {"grain": grain.encode(), "station_id": stations[sel],
                  "property": name.encode(), "bucket": buckets[sel],
                  **{c: stats[c][sel] for c in ("n", *STATS)}}
        rows = np.empty(len(sel), _row_dtype(len(fields["grain"]), len(fields["property"])))
        rows["fields"] = len(COLUMNS)
        for column, value in fields.items():
            rows[f"len_{column}"] = rows.dtype[column].itemsize
            rows[column] = value
        parts.append(rows.tobytes())
    return b"".join(parts)


def _row_dtype(grain: int, prop: int) -> np.dtype:
    """One binary COPY row: a field count, then each field's length and big-endian value."""
    types = {"grain": f"S{grain}", "station_id": ">i8", "property": f"S{prop}",
             "bucket": ">i8", "n": ">i4", **dict.fromkeys(STATS, ">f8")}
    return np.dtype([("fields", ">i2"), *((f, t) for c in COLUMNS
                                            for f, t in ((f"len_{c}", ">i4"), (c, types[c])))])


def _copy(cur: psycopg.Cursor, table: str, payload: bytes) -> None:
    with cur.copy(sql.SQL("COPY {} ({}) FROM STDIN (FORMAT binary)").format(
            sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, COLUMNS)))) as copy:
        copy.write(_HEADER + payload + _TRAILER)
