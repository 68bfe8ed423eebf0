"""The demo's alerts by hour (issue 18, part 6): the repository's rules over a month of the
demo generator's readings (the Red River gauge at Long Biên, rain gauges, air monitors),
loaded through the bulk path. The expected hours are computed here from the readings
file with pandas, independently of the SQL that evaluates the rules."""

from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import psycopg
import pytest
from sqlalchemy import text

from tests.test_alerts_engine import alerts, events
from twin.alerts import engine as alert_engine
from twin.alerts import loader
from twin.alerts.summary import demo_lines
from twin.config import REPO_ROOT
from twin.demo.readings import write_readings
from twin.demo.sensors import AIR_PROPERTIES, Station
from twin.ingest.readings import load_readings
from twin.ingest.vector import load_vector
from twin.server.db import libpq_url

H = pd.Timedelta(hours=1)
SINCE = np.datetime64("2010-01-01")
STATIONS = [Station("AQ-D-01", "x", "air", "a", AIR_PROPERTIES, 0, 0, 0, SINCE),
            Station("AQ-D-02", "x", "air", "a", AIR_PROPERTIES, 0, 0, 0, SINCE),
            Station("WL-LB-01", "x", "water_level", "a", ("water_level_m",), 0, 0, 0, SINCE,
                    "red", 1000.0),
            Station("RG-D-01", "x", "rain", "a", ("rain_mm",), 0, 0, 0, SINCE),
            Station("RG-D-02", "x", "rain", "a", ("rain_mm",), 0, 0, 0, SINCE)]


@pytest.fixture()
def month(db, settings, registry, tmp_path):
    path = tmp_path / "stations.csv"
    with open(path, "w", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["code", "name", "kind", "properties", "lon", "lat"])
        for i, s in enumerate(STATIONS):
            out.writerow([s.code, f"Trạm {s.code}", s.kind, ";".join(s.properties),
                          105.80 + i * 0.01, 21.03])
    load_vector(db, registry, "sensor_stations", path, extent=settings.plausible_extent)
    with db.begin() as conn:
        conn.execute(text("TRUNCATE alert_events, alerts, alert_rules CASCADE"))
    alert_engine.CACHE.__init__()
    readings, _n = write_readings(tmp_path / "readings.csv", STATIONS, 31,
                                  np.random.default_rng(11))
    frame = pd.read_csv(readings)
    frame["t"] = pd.to_datetime(frame.observed_at, utc=True)
    frame["hour"] = frame.t.dt.floor("h")
    return db, readings, frame


@pytest.fixture()
def pg(month):
    with psycopg.connect(libpq_url(month[0].url.render_as_string(hide_password=False)),
                         autocommit=True) as conn:
        yield conn


def load(db, pg, settings, readings):
    loader.load_file(pg, REPO_ROOT / "config" / "alerts.yaml",
                     loader.gauge_levels(settings.city))
    load_readings(db, readings)


def runs(active: pd.Series) -> list[tuple]:
    """(opened, resolved) of runs of active hours: opened at the end of the first,
    resolved at the end of the first inactive hour after it."""
    out, start = [], None
    for hour, on in active.items():
        if on and start is None:
            start = hour
        elif not on and start is not None:
            out.append((start + H, hour + H))
            start = None
    return out


def test_the_storm_the_river_the_rain_and_the_silent_station(month, pg, settings):
    db, readings, frame = month
    load(db, pg, settings, readings)
    good = frame[frame.quality.isin(["good", "suspect"]) & frame.value.notna()]

    level = good[good.property == "water_level_m"].groupby("hour").value.max()
    first_i, first_ii = level[level >= 9.5].index.min(), level[level >= 10.5].index.min()
    assert first_i.date() == datetime(2026, 10, 21).date() and (level < 11.5).all()
    got = events(pg, "river-long-bien")
    assert [(e[0], e[2]) for e in got[:2]] == [("opened", "moderate"), ("updated", "severe")]
    assert got[0][1] == first_i + H and got[1][1] == first_ii + H
    assert got[-1][0] == "resolved" and got[-1][1] > level[level >= 9.5].index.max()
    assert got[-1][1].date() <= datetime(2026, 10, 24).date()

    for rule, hours, mm in (("rain-1h", 1, 15), ("rain-3h", 3, 40)):
        want = []
        for code in ("RG-D-01", "RG-D-02"):
            sums = good[(good.station_code == code)].groupby("hour").value.sum()
            sums = sums.reindex(pd.date_range(sums.index.min(), sums.index.max(), freq="h"),
                                fill_value=0.0)
            total = sums.rolling(hours, min_periods=1).sum().round(1)
            want += [(code, *r) for r in runs(total > mm)]
        stored = [(a[1], a[5], a[6]) for a in alerts(pg, rule)]
        assert sorted(stored) == sorted(want), rule
        storm = (datetime(2026, 10, 19, 17, tzinfo=UTC), datetime(2026, 10, 21, 17, tzinfo=UTC))
        for code in ("RG-D-01", "RG-D-02"):   # the storm's bursts (other showers may add)
            assert any(c == code and storm[0] <= o < storm[1] for c, o, _r in stored), rule

    silent = [a for a in alerts(pg, "station-silent") if a[1] == "AQ-D-01"]
    gap_start = datetime(2026, 10, 27, 1, 0, tzinfo=UTC)     # 08:00 local
    assert (gap_start - timedelta(minutes=10) + timedelta(minutes=60),
            gap_start + timedelta(minutes=90)) in [(a[5], a[6]) for a in silent]

    lines = list(demo_lines(pg))
    assert any(line.startswith("river-long-bien: 1 alert") for line in lines)


def test_the_pollution_episode_raises_aqi_alerts(month, pg, settings):
    db, readings, _frame = month
    load(db, pg, settings, readings)
    poor = pg.execute("SELECT t.code, a.observed_at FROM station_aqi a JOIN sensor_stations t "
                      "ON t.id = a.station_id WHERE scale = 'vn' AND period = 'hour' AND "
                      "level >= 4 ORDER BY 1, 2").fetchall()
    raised = alerts(pg, "aqi-poor-vn")
    assert raised, "the demo's episodes reach VN_AQI class 4 (Xấu)"
    starts = {(code, at + timedelta(hours=1)) for code, at in poor}
    assert all((a[1], a[5]) in starts for a in raised)
    assert {a[2] for a in raised} <= {"open", "resolved"}


FLOOD_STREETS = ("Đường Láng", "Phố Đội Cấn", "Đường Trần Phú", "Đường Bưởi")


def test_the_storm_floods_named_streets_and_they_dry(db, settings, registry, tmp_path):
    """``twin demo``'s order: the places and stations, then the rules (they name the
    demo's streets: refused before the roads exist), then the readings, then the October
    storm's flood run, whose stored hours raise and resolve ``flood-streets``. The
    expected hours are computed here with shapely from the stored roads and extents."""
    from shapely import wkb

    from twin.demo.generate import generate
    from twin.flood.demo import SCENARIO, run_demo_flood_event
    from twin.ingest.dispatch import load_demo

    folder = tmp_path / "demo"
    generate(folder, days=23)          # 1-23 October: the storm of the 20th-22nd
    local = settings.model_copy(update={"data_dir": tmp_path / "data"})
    alert_engine.CACHE.__init__()

    def rules() -> None:
        with psycopg.connect(libpq_url(db.url.render_as_string(hide_password=False)),
                             autocommit=True) as conn:
            conn.execute("TRUNCATE alert_events, alerts, alert_rules CASCADE")
            loader.load_file(conn, REPO_ROOT / "config" / "alerts.yaml",
                             loader.gauge_levels(settings.city))

    load_demo(db, registry, local, folder, before_readings=rules)
    run_demo_flood_event(db, local)
    with psycopg.connect(libpq_url(db.url.render_as_string(hide_password=False)),
                         autocommit=True) as pg:
        roads = {name: wkb.loads(bytes(g)) for name, g in pg.execute(
            "SELECT name, ST_AsBinary(ST_Union(geom)) FROM road_segments WHERE name = "
            "ANY(%s) GROUP BY name", (list(FLOOD_STREETS),))}
        steps = pg.execute("SELECT valid_time, depth_max_m, ST_AsBinary(geom) FROM "
                           "flood_extents WHERE scenario = %s ORDER BY 1", (SCENARIO,)
                           ).fetchall()
        got = alerts(pg, "flood-streets")
    assert set(roads) == set(FLOOD_STREETS)
    for name, road in roads.items():
        wet = sorted({t for t, depth, g in steps if depth > 0.3 and
                      wkb.loads(bytes(g)).intersects(road)})
        mine = [a for a in got if a[1] == name]
        assert wet and mine, name
        assert mine[0][5] == wet[0], name                   # opened at the first wet hour
        assert all(a[2] == "resolved" and a[6] > a[5] for a in mine), name
        assert mine[-1][6] > wet[-1], name                  # dried after the last one
        assert mine[-1][6] < max(t for t, _d, _g in steps), name
