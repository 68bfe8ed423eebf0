"""Derived tables (station_latest, reading_rollups, station_aqi) against recomputations.

Readings go through the real loader (COPY, partitions, ``_merge``), and every check
compares the incrementally maintained tables with an independent recomputation from
the raw readings in pandas: numpy's linear percentiles, Hà Nội local days and months,
and ``twin.analysis.aqi`` on the hourly means.
"""

from __future__ import annotations

import csv
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import psycopg
import pytest
from sqlalchemy import text

from twin.analysis.aqi import station_aqi
from twin.ingest import derived, derived_rollups
from twin.ingest.errors import LoadError
from twin.ingest.readings import load_readings
from twin.ingest.vector import load_vector

LOCAL = "Asia/Ho_Chi_Minh"
ICT = timezone(timedelta(hours=7))
AIR = ("pm25", "pm10", "no2", "o3", "co", "so2", "temperature")
STATIONS = [("AQ-T-01", "air", 105.81, 21.04), ("AQ-T-02", "air", 105.85, 21.02),
            ("WL-T-01", "water_level", 105.86, 21.04)]
START = datetime(2026, 9, 29, tzinfo=ICT)   # spans the local and the UTC month ends
DAYS = 4


@pytest.fixture()
def city(db, settings, registry, tmp_path):
    """Three stations, no readings (``db`` truncates readings, hence derived tables)."""
    path = tmp_path / "stations.csv"
    with open(path, "w", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["code", "name", "kind", "lon", "lat"])
        for code, kind, lon, lat in STATIONS:
            out.writerow([code, f"Trạm {code}", kind, lon, lat])
    load_vector(db, registry, "sensor_stations", path, extent=settings.plausible_extent)
    return db


def readings(start=START, days=DAYS, seed=1) -> list[list]:
    """Air every 10 minutes, water level every 5, with suspect, bad and missing rows."""
    rng, rows = np.random.default_rng(seed), []
    for code, kind, _, _ in STATIONS:
        step, props = (10, AIR) if kind == "air" else (5, ("water_level_m",))
        for i in range(days * 24 * 60 // step):
            t = start + timedelta(minutes=step * i)
            for prop in props:
                value = round(float(rng.gamma(4.0, 12.0)), 1)
                flag = rng.choice(["good", "suspect", "bad", "missing"], p=[.9, .04, .03, .03])
                rows.append([code, t.isoformat(), prop, "" if flag == "missing" else value,
                             "µg/m³", flag])
    return rows


def write(path: Path, rows: list[list]) -> Path:
    with open(path, "w", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["station_code", "observed_at", "property", "value", "unit", "quality"])
        out.writerows(rows)
    return path


def raw(engine) -> pd.DataFrame:
    with engine.connect() as conn:
        frame = pd.read_sql(text(
            "SELECT station_id, property, observed_at, value, quality FROM sensor_readings "
            "WHERE value IS NOT NULL AND quality IN ('good', 'suspect')"), conn)
    frame["observed_at"] = pd.to_datetime(frame["observed_at"], utc=True)
    return frame


def oracle_rollups(engine) -> pd.DataFrame:
    frame = raw(engine)
    local = frame["observed_at"].dt.tz_convert(LOCAL)
    naive = local.dt.tz_localize(None)
    starts = {"hour": frame["observed_at"].dt.floor("h"),
              "day": naive.dt.floor("D").dt.tz_localize(LOCAL).dt.tz_convert("UTC"),
              "month": naive.dt.to_period("M").dt.start_time.dt.tz_localize(LOCAL)
              .dt.tz_convert("UTC")}
    parts = []
    for grain, bucket in starts.items():
        groups = frame.assign(bucket=bucket).groupby(["station_id", "property", "bucket"])["value"]
        stats = groups.agg(["count", "mean", "min", "max"]).rename(columns={"count": "n"})
        for q, name in ((0.1, "p10"), (0.5, "p50"), (0.9, "p90"), (0.95, "p95")):
            stats[name] = groups.quantile(q)
        parts.append(stats.assign(grain=grain).reset_index())
    return _indexed(pd.concat(parts))


def stored_rollups(engine) -> pd.DataFrame:
    with engine.connect() as conn:
        frame = pd.read_sql(text("SELECT * FROM reading_rollups"), conn)
    frame["bucket"] = pd.to_datetime(frame["bucket"], utc=True)
    return _indexed(frame)


def _indexed(frame: pd.DataFrame) -> pd.DataFrame:
    cols = ["n", "mean", "min", "max", "p10", "p50", "p90", "p95"]
    out = frame.set_index(["grain", "station_id", "property", "bucket"])[cols].sort_index()
    return out.astype({"n": "int64"})


def assert_rollups_exact(engine) -> None:
    expected, got = oracle_rollups(engine), stored_rollups(engine)
    assert len(got) == len(expected)
    pd.testing.assert_frame_equal(got, expected, check_exact=False, rtol=1e-9)


def assert_latest_exact(engine) -> None:
    frame = raw(engine)
    newest = frame.loc[frame.groupby(["station_id", "property"])["observed_at"].idxmax()]
    with engine.connect() as conn:
        got = pd.read_sql(text("SELECT station_id, property, observed_at, value FROM "
                               "station_latest ORDER BY 1, 2"), conn)
    got["observed_at"] = pd.to_datetime(got["observed_at"], utc=True)
    want = newest[["station_id", "property", "observed_at", "value"]].sort_values(
        ["station_id", "property"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(got, want, check_dtype=False)


def assert_aqi_matches_calculator(engine) -> None:
    """Every stored AQI row equals twin.analysis.aqi on the oracle's hourly means, and
    every row the calculator gives is stored."""
    hours = oracle_rollups(engine).loc["hour"]["mean"].unstack("property")
    with engine.connect() as conn:
        stored = pd.read_sql(text("SELECT station_id, scale, period, observed_at, aqi, "
                                  "pollutant, level, sub_indices FROM station_aqi"), conn)
    stored["observed_at"] = pd.to_datetime(stored["observed_at"], utc=True)
    stored = stored.set_index(["station_id", "scale", "period", "observed_at"]).sort_index()
    expected = []
    for sid, frame in hours.groupby(level="station_id"):
        frame = frame.droplevel("station_id")
        cols = [c for c in frame.columns if c in ("pm25", "pm10", "no2", "o3", "co", "so2")]
        if not cols or frame[cols].isna().all().all():
            continue
        for scale in ("vn", "us"):
            for period in ("hour", "day"):
                result = station_aqi(frame[cols].dropna(how="all"), scale, period, tz=LOCAL)
                result.index = result.index.tz_convert("UTC")
                expected.append(result.assign(station_id=sid, scale=scale, period=period))
    want = pd.concat(expected).rename_axis("observed_at").reset_index().set_index(
        ["station_id", "scale", "period", "observed_at"]).sort_index()
    assert len(stored) == len(want) > 0
    assert (stored["aqi"] == want["aqi"]).all()
    assert (stored["pollutant"] == want["pollutant"]).all()
    assert (stored["level"] == want["level"]).all()
    subs = [c for c in want.columns if c.startswith("sub_")]
    expected_subs = [{c[4:]: int(v) for c, v in row.items() if not np.isnan(v)}
                     for row in want[subs].to_dict("records")]
    assert stored["sub_indices"].tolist() == expected_subs


def test_bulk_load_matches_recomputation(city, tmp_path):
    load_readings(city, write(tmp_path / "r.csv", readings()), tz=LOCAL)
    assert_rollups_exact(city)
    assert_latest_exact(city)
    assert_aqi_matches_calculator(city)
    with city.connect() as conn:
        periods = dict(conn.execute(text(
            "SELECT period, count(*) FROM station_aqi GROUP BY 1")).all())
        pending = conn.execute(text("SELECT count(*) FROM reading_rollups_pending")).scalar()
    assert periods["hour"] > 100 and periods["day"] >= 3
    assert pending == 0


def test_late_out_of_order_and_duplicates(city, tmp_path):
    rows = readings()
    rng = np.random.default_rng(7)
    order = rng.permutation(len(rows))
    first, late = [rows[i] for i in order[:-300]], [rows[i] for i in order[-300:]]
    load_readings(city, write(tmp_path / "a.csv", first), tz=LOCAL)
    with city.connect() as conn:
        latest_before = conn.execute(text("SELECT max(observed_at) FROM station_latest")).scalar()
    late.reverse()                                   # out of order, and mostly older
    summary = load_readings(city, write(tmp_path / "b.csv", late + late[:50]), tz=LOCAL)
    assert summary.inserted == 300
    with city.connect() as conn:
        pending = conn.execute(text("SELECT count(*) FROM reading_rollups_pending")).scalar()
    assert pending > 0                               # a small batch defers its months
    _assert_hours_and_days_exact(city)
    with city.begin() as conn:
        derived.refresh_pending(conn.connection.driver_connection.cursor(), tz=LOCAL)
    assert_rollups_exact(city)
    assert_latest_exact(city)
    assert_aqi_matches_calculator(city)
    # the same file again, and the same keys with other values: nothing changes
    changed = [[*r[:3], 999.0, *r[4:]] for r in late[:40]]
    again = load_readings(city, write(tmp_path / "c.csv", late + changed), tz=LOCAL)
    assert again.inserted == 0
    assert_rollups_exact(city)
    with city.connect() as conn:
        assert conn.execute(text("SELECT max(observed_at) FROM station_latest")).scalar() \
            >= latest_before


def _assert_hours_and_days_exact(engine) -> None:
    expected, got = oracle_rollups(engine), stored_rollups(engine)
    for grain in ("hour", "day"):
        pd.testing.assert_frame_equal(got.loc[grain], expected.loc[grain], check_exact=False,
                                      rtol=1e-9)


def test_older_late_reading_keeps_the_newest(city, tmp_path):
    load_readings(city, write(tmp_path / "a.csv", readings(days=1)), tz=LOCAL)
    late = [["AQ-T-01", (START + timedelta(minutes=3)).isoformat(), "pm25", 1.0, "µg/m³",
             "good"]]
    load_readings(city, write(tmp_path / "b.csv", late), tz=LOCAL)
    with city.connect() as conn:
        when, value = conn.execute(text(
            "SELECT l.observed_at, l.value FROM station_latest l JOIN sensor_stations s "
            "ON s.id = l.station_id WHERE s.code = 'AQ-T-01' AND l.property = 'pm25'")).one()
    assert when > START + timedelta(hours=20) and value != 1.0
    assert_latest_exact(city)


def test_months_now_and_rebuild_agree(city, tmp_path):
    """refresh(months="now") on rows inserted by hand, then rebuild: both exact."""
    load_readings(city, write(tmp_path / "a.csv", readings(days=2)), tz=LOCAL)
    later = readings(start=START + timedelta(days=2), days=1, seed=3)
    with city.begin() as conn:
        cur = conn.connection.driver_connection.cursor()
        cur.execute("CREATE TEMP TABLE new_rows ON COMMIT DROP AS SELECT s.id AS station_id, "
                    "r.property, r.observed_at::timestamptz, nullif(r.value, '')::float8 AS "
                    "value, r.unit, r.quality FROM unnest(%s::text[], %s::text[], %s::text[], "
                    "%s::text[], %s::text[], %s::text[]) r(code, observed_at, property, value, "
                    "unit, quality) JOIN sensor_stations s ON s.code = r.code",
                    [list(map(str, col)) for col in zip(*later, strict=False)])
        cur.execute("INSERT INTO sensor_readings (station_id, property, observed_at, value, "
                    "unit, quality) SELECT * FROM new_rows")
        summary = derived.refresh(cur, "new_rows", tz=LOCAL, months="now")
    assert summary.months > 0 and summary.months_pending == 0
    assert_rollups_exact(city)
    assert_aqi_matches_calculator(city)
    before = stored_rollups(city)
    with city.begin() as conn:
        derived.rebuild(conn.connection.driver_connection.cursor(), tz=LOCAL)
    pd.testing.assert_frame_equal(stored_rollups(city), before)
    assert_latest_exact(city)
    assert_aqi_matches_calculator(city)


def _snapshot(engine) -> list:
    with engine.connect() as conn:
        return [conn.execute(text(f"SELECT * FROM {t} ORDER BY 1, 2, 3, 4")).all()
                for t in derived.DERIVED_TABLES]


def test_failed_load_leaves_nothing(city, tmp_path):
    load_readings(city, write(tmp_path / "a.csv", readings(days=1)), tz=LOCAL)
    before = _snapshot(city)
    bad = readings(start=START + timedelta(days=1), days=1, seed=5)
    bad[-1][5] = "dubious"                           # refused by the quality check
    with pytest.raises(LoadError):
        load_readings(city, write(tmp_path / "b.csv", bad), tz=LOCAL)
    assert _snapshot(city) == before
    with pytest.raises(psycopg.errors.RaiseException), city.begin() as conn:  # after refresh
        cur = conn.connection.driver_connection.cursor()
        _merge_file(cur, write(tmp_path / "c.csv", bad[:-1]))
        cur.execute("SELECT count(*) FROM station_aqi")
        cur.execute("DO $$ BEGIN RAISE EXCEPTION 'later step failed'; END $$")
    assert _snapshot(city) == before


def _merge_file(cur, path: Path) -> None:
    from twin.ingest.readings import _copy_file, _header, _merge, stage_columns

    cols = stage_columns(path, _header(path))
    cur.execute("CREATE TEMP TABLE _twin_readings (" + ", ".join(
        f"{c} {t}" for c, t in cols) + ") ON COMMIT DROP")
    _copy_file(cur, path, cols, None)
    _merge(cur, cols, LOCAL)


def test_whole_series_fresh_or_not(city, tmp_path, monkeypatch):
    """A batch that at least doubles a series' month is recomputed whole: from the new
    rows alone where the month had no reading yet, from sensor_readings (its old
    buckets replaced) where it had."""
    cut = START + timedelta(hours=12)
    rows = readings(seed=4)
    load_readings(city, write(tmp_path / "a.csv",
                              [r for r in rows if datetime.fromisoformat(r[1]) < cut]), tz=LOCAL)
    read = {}
    for name in ("_read_fresh", "_read_known"):
        def spy(*args, _real=getattr(derived_rollups, name), _name=name):  # noqa: B008 - binds the loop's function
            read[_name] = _real(*args)
            return read[_name]
        monkeypatch.setattr(derived_rollups, name, spy)
    load_readings(city, write(tmp_path / "b.csv",
                              [r for r in rows if datetime.fromisoformat(r[1]) >= cut]), tz=LOCAL)
    assert read["_read_fresh"] and read["_read_known"]   # October new, September grown
    assert_rollups_exact(city)
    assert_latest_exact(city)
    assert_aqi_matches_calculator(city)


def test_late_evening_readings_change_the_next_days_aqi(city, tmp_path):
    """8-hour windows ending early on a day start the evening before: readings that
    arrive late for a day's evening change the next day's AQI too."""
    evening = (START + timedelta(days=1, hours=20), START + timedelta(days=1, hours=23))
    rows = readings()
    late = [[*r[:3], 40000.0, r[4], "good"] for r in rows if r[0] == "AQ-T-01"
            and r[2] == "co" and evening[0] <= datetime.fromisoformat(r[1]) <= evening[1]]
    held = {tuple(r[:3]) for r in late}
    load_readings(city, write(tmp_path / "a.csv",
                              [r for r in rows if tuple(r[:3]) not in held]), tz=LOCAL)
    load_readings(city, write(tmp_path / "b.csv", late), tz=LOCAL)
    assert_aqi_matches_calculator(city)
