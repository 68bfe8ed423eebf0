"""station_aqi: VN_AQI and US AQI per station and hour / local day, from hourly rollups.

The calculators (``twin.analysis.aqi.station_aqi``) take a station's hourly means.
A new hour changes more than its own AQI: hourly values use the 12-hour NowCast and
(US) 8- and 24-hour means, so an hour h affects hours h .. h+23; daily values use
8-hour windows that reach 7 hours past the day on either side (windows ending in the
day start the evening before; EPA's ozone windows starting in the day end the next
morning), so it affects its local day, the day before and the day after. For each
station with new pollutant readings, the AQI rows of those spans are deleted and
recomputed from the hourly means of a window just wide enough that every recomputed
value sees all the hours it depends on (it is read from reading_rollups: the smaller
the window, the cheaper each streaming batch).
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd
import psycopg
from psycopg import sql

from twin.analysis.aqi import POLLUTANTS, station_aqi

SCALES = ("vn", "us")
HOUR_REACH = pd.Timedelta(hours=23)  # an hour's value shapes the AQI up to 23 hours later
DAY_REACH = pd.Timedelta(hours=8)    # 8-hour windows reach 7 hours past a day (+1 spare)
GAP = pd.Timedelta(days=2)           # empty days between stations stacked on one axis


def affected_spans(cur: psycopg.Cursor) -> dict[int, tuple[datetime, datetime]]:
    """Per station: first and last new countable pollutant reading (from the per-series
    summary that ``derived.refresh`` made of the new rows)."""
    cur.execute("SELECT station_id, min(first), max(last) FROM _twin_new_series "
                "WHERE property = ANY(%s) GROUP BY station_id", (list(POLLUTANTS),))
    return {sid: (lo, hi) for sid, lo, hi in cur.fetchall()}


def _windows(spans: dict, tz: str) -> pd.DataFrame:
    """Hours and days (of zone ``tz``) to recompute per station, and the hourly means to
    read for them."""
    rows = []
    for sid, (first, last) in spans.items():
        first, last = pd.Timestamp(first).tz_convert("UTC"), pd.Timestamp(last).tz_convert("UTC")
        day_lo = first.tz_convert(tz).floor("D") - pd.Timedelta(days=1)
        day_hi = last.tz_convert(tz).floor("D") + pd.Timedelta(days=1)
        hour_lo, hour_hi = first.floor("h"), last.floor("h") + HOUR_REACH
        rows.append({"station_id": sid, "hour_lo": hour_lo, "hour_hi": hour_hi,
                     "day_lo": day_lo, "day_hi": day_hi,
                     "read_lo": min(hour_lo - HOUR_REACH, day_lo - DAY_REACH)
                     .tz_convert(tz).floor("D"),  # blocks start at midnight
                     "read_hi": max(hour_hi + pd.Timedelta(hours=1),
                                    day_hi + pd.Timedelta(days=1) + DAY_REACH)})
    return pd.DataFrame(rows).set_index("station_id")


def _times(series: pd.Series) -> list[datetime]:
    return [t.to_pydatetime() for t in series]


def _hourly_means(cur: psycopg.Cursor, windows: pd.DataFrame) -> pd.DataFrame:
    """Hourly pollutant means (one column each) per (station_id, time) in the read windows."""
    columns = sql.SQL(", ").join(
        sql.SQL("max(r.mean) FILTER (WHERE r.property = {}) AS {}").format(
            sql.Literal(p), sql.Identifier(p)) for p in POLLUTANTS)
    cur.execute(sql.SQL(
        "SELECT r.station_id, r.bucket, {} FROM reading_rollups r JOIN "
        "unnest(%s::bigint[], %s::timestamptz[], %s::timestamptz[]) w(sid, lo, hi) "
        "ON r.grain = 'hour' AND r.station_id = w.sid AND r.bucket >= w.lo "
        "AND r.bucket < w.hi WHERE r.property = ANY(%s) GROUP BY 1, 2").format(columns),
        (windows.index.tolist(), _times(windows["read_lo"]), _times(windows["read_hi"]),
         list(POLLUTANTS)))
    frame = pd.DataFrame(cur.fetchall(), columns=["station_id", "time", *POLLUTANTS])
    frame["time"] = pd.to_datetime(frame["time"], utc=True)
    return frame.set_index(["station_id", "time"]).sort_index().astype(float)


def _stack(means: pd.DataFrame, windows: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """All stations' hours on one time axis, so each calculator runs once per batch.

    Station k's read window is moved to start at ``origin + k * block``: blocks are
    whole days (local midnights stay local midnights: the zone keeps no daylight
    saving) and longer than any window by GAP empty days, more than any average
    reaches (24 hours, plus ozone windows into the next morning). The values are
    thus exactly those of one call per station, at a fraction of the pandas overhead.
    Rows past a station's last hour (where a lone call's axis would end) are dropped
    by ``_results``. Returns the stacked frame and, per block (indexed by station),
    its shift, spans and last hour."""
    blocks = windows.loc[[s for s in windows.index
                          if s in means.index.get_level_values(0)]].copy()
    span = (blocks["read_hi"] - blocks["read_lo"]).max()
    size = pd.Timedelta(days=span.days + 1) + GAP
    origin = blocks["read_lo"].min()
    blocks["shift"] = [origin + i * size - lo for i, lo in enumerate(blocks["read_lo"])]
    parts, blocks["last"] = [], [means.loc[sid].index.max() for sid in blocks.index]
    for sid, shift in blocks["shift"].items():
        part = means.loc[sid]
        part.index = part.index + shift
        parts.append(part)
    blocks.attrs.update(origin=origin, size=size)
    return pd.concat(parts).dropna(axis=1, how="all"), blocks


def _results(stacked: pd.DataFrame, blocks: pd.DataFrame, tz: str) -> pd.DataFrame:
    """station_aqi rows of every station inside its recompute spans, both scales."""
    out = []
    for scale in SCALES:
        for period in ("hour", "day"):
            result = station_aqi(stacked, scale, period, tz=tz)
            when = result.index.tz_convert("UTC")
            k = ((when - blocks.attrs["origin"]) // blocks.attrs["size"]).to_numpy()
            block = blocks.iloc[k]
            original = when - pd.TimedeltaIndex(block["shift"])
            keep = ((original >= pd.DatetimeIndex(block[f"{period}_lo"]))
                    & (original <= pd.DatetimeIndex(block[f"{period}_hi"]))
                    & (original <= pd.DatetimeIndex(block["last"])))  # as a lone call ends
            result = result.set_axis(original).assign(
                station_id=block.index.to_numpy(), scale=scale, period=period)
            out.append(result[keep])
    return pd.concat(out)


def refresh_aqi(cur: psycopg.Cursor, tz: str) -> int:
    """Recompute station_aqi where the new readings change it, with the local days of
    the city's zone ``tz``; returns rows written."""
    spans = affected_spans(cur)
    if not spans:
        return 0
    windows = _windows(spans, tz)
    means = _hourly_means(cur, windows)
    rows = pd.DataFrame(columns=STAGE_COLUMNS)
    if not means.empty:
        rows = _results(*_stack(means, windows), tz)
    _replace(cur, windows, rows)
    return len(rows)


STAGE_COLUMNS = ["station_id", "scale", "period", "aqi", "pollutant", "category", "colour",
                 "level", *(f"sub_{p}" for p in POLLUTANTS)]
_SUBS = sql.SQL(", ").join(sql.SQL("{}, {}::integer").format(
    sql.Literal(p), sql.Identifier(f"sub_{p}")) for p in POLLUTANTS)


def _replace(cur: psycopg.Cursor, windows: pd.DataFrame, rows: pd.DataFrame) -> None:
    """Delete each station's recomputed spans, then write the new rows (as CSV through
    COPY: tens of thousands of rows after a bulk load)."""
    for period, lo, hi in (("hour", "hour_lo", "hour_hi"), ("day", "day_lo", "day_hi")):
        cur.execute(
            "DELETE FROM station_aqi a USING unnest(%s::bigint[], %s::timestamptz[], "
            "%s::timestamptz[]) w(sid, lo, hi) WHERE a.station_id = w.sid AND a.period = %s "
            "AND a.observed_at BETWEEN w.lo AND w.hi",
            (windows.index.tolist(), _times(windows[lo]), _times(windows[hi]), period))
    if rows.empty:
        return
    cur.execute(sql.SQL(
        "CREATE TEMP TABLE IF NOT EXISTS _twin_aqi (observed_at timestamptz, station_id "
        "bigint, scale text, period text, aqi integer, pollutant text, category text, "
        "colour text, level smallint, {}) ON COMMIT DELETE ROWS").format(sql.SQL(", ").join(
            sql.SQL("{} float8").format(sql.Identifier(f"sub_{p}")) for p in POLLUTANTS)))
    cur.execute("DELETE FROM _twin_aqi")
    utc = rows.index.tz_convert("UTC").tz_localize(None).to_numpy()  # hour/day starts
    stamps = np.char.add(np.datetime_as_string(utc, unit="s"), "Z")  # not strftime per row
    text = rows[STAGE_COLUMNS].set_axis(stamps, axis=0).to_csv(header=False)
    with cur.copy("COPY _twin_aqi FROM STDIN WITH (FORMAT csv)") as copy:
        copy.write(text)
    cur.execute(sql.SQL(
        "INSERT INTO station_aqi (station_id, scale, period, observed_at, aqi, pollutant, "
        "category, colour, level, sub_indices) SELECT station_id, scale, period, "
        "observed_at, aqi, pollutant, category, colour, level, "
        "jsonb_strip_nulls(jsonb_build_object({})) FROM _twin_aqi").format(_SUBS))
