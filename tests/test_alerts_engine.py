"""Alert rules evaluated as readings arrive (issue 18): every kind of condition with its
duration and hysteresis edges, duplicates, out-of-order batches and a restart mid-alert.

Readings go through the real write paths (bulk COPY ``load_readings`` and the streams'
``write_batch``) into a real PostGIS database; the evaluation runs after their commit.
"""

from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import text

from twin.alerts import engine as alert_engine
from twin.alerts import loader
from twin.alerts.rules import parse_rule
from twin.alerts.store import RuleCache
from twin.ingest.observations import Parsed, Reading
from twin.ingest.readings import load_readings
from twin.ingest.stream import write_batch
from twin.ingest.vector import load_vector
from twin.server.db import libpq_url

T0 = datetime(2026, 10, 20, 0, 0, tzinfo=UTC)
H = timedelta(hours=1)
STATIONS = [("AQ-A-01", "air", "pm25;pm10", 105.81, 21.04),
            ("AQ-A-02", "air", "pm25;pm10", 105.85, 21.02),
            ("WL-LB-01", "water_level", "water_level_m", 105.86, 21.04),
            ("RG-A-01", "rain", "rain_mm", 105.83, 21.03)]


@pytest.fixture()
def city(db, settings, registry, tmp_path):
    path = tmp_path / "stations.csv"
    with open(path, "w", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["code", "name", "kind", "agency", "properties", "lon", "lat"])
        for code, kind, props, lon, lat in STATIONS:
            out.writerow([code, f"Trạm {code}", kind, "Sở Test", props, lon, lat])
    load_vector(db, registry, "sensor_stations", path, extent=settings.plausible_extent)
    with db.begin() as conn:
        conn.execute(text("TRUNCATE alert_events, alerts, alert_rules CASCADE"))
    alert_engine.CACHE.__init__()
    return db


@pytest.fixture()
def pg(city):
    with psycopg.connect(libpq_url(city.url.render_as_string(hide_password=False)),
                         autocommit=True) as conn:
        yield conn


def add_rule(pg, settings, raw: dict) -> None:
    rule = parse_rule(raw, webhooks=set(), gauges=loader.gauge_levels(settings.city))
    with pg.transaction(), pg.cursor() as cur:
        loader.check(cur, rule)
        loader.store(cur, rule, "api")


def csv_of(tmp_path: Path, rows: list[tuple], name: str = "r.csv") -> Path:
    path = tmp_path / name
    with open(path, "w", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["station_code", "observed_at", "property", "value"])
        for code, t, prop, value in rows:
            out.writerow([code, t.isoformat(), prop, value])
    return path


def hourly(code: str, prop: str, values: list[float], start: datetime = T0) -> list[tuple]:
    return [(code, start + i * H, prop, v) for i, v in enumerate(values)]


def reading(code: str, t: datetime, prop: str, value: float) -> Reading:
    return Reading(code, prop, t, float(value), None, "good")


def alerts(pg, rule: str) -> list[tuple]:
    return pg.execute("SELECT id, subject, state, severity, level, opened_at, resolved_at "
                      "FROM alerts WHERE rule_id = %s ORDER BY opened_at", (rule,)).fetchall()


def events(pg, rule: str) -> list[tuple]:
    return pg.execute("SELECT e.transition, e.at, e.severity FROM alert_events e JOIN alerts a "
                      "ON a.id = e.alert_id WHERE a.rule_id = %s ORDER BY e.id",
                      (rule,)).fetchall()


PM = {"id": "pm", "subject": {"stations": {"kind": "air"}},
      "condition": {"kind": "threshold", "property": "pm25", "above": 55.4, "for_minutes": 120,
                    "clear_below": 45, "clear_minutes": 120}}
# h0 active alone (1 h < 2 h: no alert), h2-h3 active (opens at the end of h3), h5 clear
# but h6 in the band (clearing restarts), h7-h8 clear for 2 h (resolves at the end of h8)
PM_VALUES = [60, 50, 60, 60, 50, 40, 50, 40, 40]


def test_threshold_duration_and_hysteresis_edges(city, pg, settings, tmp_path):
    add_rule(pg, settings, PM)
    load_readings(city, csv_of(tmp_path, hourly("AQ-A-01", "pm25", PM_VALUES)))
    got = alerts(pg, "pm")
    assert [(a[1], a[2], a[5], a[6]) for a in got] == [("AQ-A-01", "resolved", T0 + 4 * H,
                                                        T0 + 9 * H)]
    assert [e[:2] for e in events(pg, "pm")] == [("opened", T0 + 4 * H),
                                                 ("resolved", T0 + 9 * H)]


def test_duplicates_and_replays_open_nothing_new(city, pg, settings, tmp_path):
    add_rule(pg, settings, PM)
    path = csv_of(tmp_path, hourly("AQ-A-01", "pm25", PM_VALUES[:5]))
    load_readings(city, path)
    first = (alerts(pg, "pm"), events(pg, "pm"))
    assert [a[2] for a in first[0]] == ["open"]
    load_readings(city, path)                       # the same file again: duplicates
    rows = [reading(c, t, p, v) for c, t, p, v in hourly("AQ-A-01", "pm25", PM_VALUES[:5])]
    write_batch(pg, Parsed(readings=rows), "mqtt")   # replayed
    alert_engine.evaluate(pg, None, alert_engine.EPOCH)                  # and a full run
    assert (alerts(pg, "pm"), events(pg, "pm")) == first


@pytest.mark.parametrize("order", ["late-first", "early-first"])
def test_out_of_order_batches_give_the_same_alerts(city, pg, settings, tmp_path, order):
    add_rule(pg, settings, PM)
    rows = hourly("AQ-A-01", "pm25", PM_VALUES)
    early, late = rows[:5], rows[5:]
    for i, part in enumerate([late, early] if order == "late-first" else [early, late]):
        load_readings(city, csv_of(tmp_path, part, f"part{i}.csv"))
    got = alerts(pg, "pm")
    assert [(a[2], a[5], a[6]) for a in got] == [("resolved", T0 + 4 * H, T0 + 9 * H)]
    assert [e[0] for e in events(pg, "pm")] == ["opened", "resolved"]


def test_restart_mid_alert_continues_it(city, pg, settings, tmp_path):
    """State lives in PostgreSQL: a new evaluator (fresh rule cache, new connection, as in
    a restarted server or subscriber) continues the open alert instead of opening one."""
    add_rule(pg, settings, PM)
    rows = hourly("AQ-A-01", "pm25", PM_VALUES)
    load_readings(city, csv_of(tmp_path, rows[:6], "a.csv"))
    (opened,) = alerts(pg, "pm")
    assert opened[2] == "open"
    alert_engine.CACHE = RuleCache()
    url = libpq_url(city.url.render_as_string(hide_password=False))
    with psycopg.connect(url, autocommit=True) as other:
        batch = [reading(c, t, p, v) for c, t, p, v in rows[6:]]
        write_batch(other, Parsed(readings=batch), "http")
    (after,) = alerts(pg, "pm")
    assert after[0] == opened[0] and after[2] == "resolved" and after[6] == T0 + 9 * H


def test_river_levels_raise_and_lower_the_severity(city, pg, settings, tmp_path):
    add_rule(pg, settings, {"id": "river", "condition": {
        "kind": "river_level", "gauge": "WL-LB-01", "clear_margin_m": 0.1,
        "clear_minutes": 120}})
    levels = [9.0, 9.6, 10.6, 11.0, 10.0, 9.45, 9.3, 9.3]
    load_readings(city, csv_of(tmp_path, hourly("WL-LB-01", "water_level_m", levels)))
    assert events(pg, "river") == [("opened", T0 + 2 * H, "moderate"),
                                   ("updated", T0 + 3 * H, "severe"),
                                   ("updated", T0 + 5 * H, "moderate"),
                                   ("resolved", T0 + 8 * H, "moderate")]
    (a,) = alerts(pg, "river")
    assert a[2] == "resolved" and a[4] == 1


def test_rain_in_one_and_three_hours(city, pg, settings, tmp_path):
    add_rule(pg, settings, {"id": "rain1", "subject": {"stations": {"kind": "rain"}},
                            "condition": {"kind": "rain", "hours": 1, "above_mm": 30}})
    add_rule(pg, settings, {"id": "rain3", "subject": {"stations": {"kind": "rain"}},
                            "condition": {"kind": "rain", "hours": 3, "above_mm": 50}})
    # two readings an hour: the hour's sum counts, not its mean
    rows = []
    for i, mm in enumerate([5, 20, 35, 10, 0, 0]):
        rows += [("RG-A-01", T0 + i * H, "rain_mm", mm / 2),
                 ("RG-A-01", T0 + i * H + timedelta(minutes=30), "rain_mm", mm / 2)]
    load_readings(city, csv_of(tmp_path, rows))
    assert [(a[5], a[6]) for a in alerts(pg, "rain1")] == [(T0 + 3 * H, T0 + 4 * H)]
    # 3-hour sums: 5, 25, 60 (opens at the end of h2), 65, 45 (resolves at the end of h4)
    assert [(a[5], a[6]) for a in alerts(pg, "rain3")] == [(T0 + 3 * H, T0 + 5 * H)]


def test_silence_in_the_series_and_on_the_timer(city, pg, settings, tmp_path):
    add_rule(pg, settings, {"id": "quiet", "subject": {"stations": {"ids": ["AQ-A-02"]}},
                            "condition": {"kind": "silence", "minutes": 60}})
    ten = timedelta(minutes=10)
    stamps = [T0 + k * ten for k in range(6)] + [T0 + 5 * ten + 90 * timedelta(minutes=1)]
    rows = [("AQ-A-02", t, "pm25", 20.0) for t in stamps]
    load_readings(city, csv_of(tmp_path, rows))
    last, back = T0 + 5 * ten, stamps[-1]
    assert [(a[5], a[6]) for a in alerts(pg, "quiet")] == [(last + H, back)]
    # the timer: silent now for 70 minutes -> opened at the last reading + 60 minutes
    now = datetime.now(UTC).replace(microsecond=0)
    recent = now - timedelta(minutes=70)
    write_batch(pg, Parsed(readings=[reading("AQ-A-02", recent, "pm25", 21.0)]), "http")
    assert alert_engine.tick(pg, now - timedelta(minutes=30)).count("opened") == 0
    assert alert_engine.tick(pg, now).count("opened") == 1
    assert alert_engine.tick(pg, now).count("opened") == 0     # idempotent
    live = [a for a in alerts(pg, "quiet") if a[2] == "open"]
    assert [a[5] for a in live] == [recent + H]
    write_batch(pg, Parsed(readings=[reading("AQ-A-02", now, "pm25", 22.0)]), "http")
    assert [a[2] for a in alerts(pg, "quiet")] == ["resolved", "resolved"]
    assert alerts(pg, "quiet")[-1][6] == now


def test_stuck_sensor(city, pg, settings, tmp_path):
    add_rule(pg, settings, {"id": "stuck", "subject": {"stations": {"ids": ["AQ-A-01"]}},
                            "condition": {"kind": "stuck", "property": "pm25", "times": 4}})
    ten = timedelta(minutes=10)
    values = [10, 11, 12, 12, 12, 11, 13, 13, 13, 13, 13, 14]   # a run of 3, then of 5
    rows = [("AQ-A-01", T0 + k * ten, "pm25", v) for k, v in enumerate(values)]
    load_readings(city, csv_of(tmp_path, rows))
    assert [(a[5], a[6]) for a in alerts(pg, "stuck")] == [(T0 + 9 * ten, T0 + 11 * ten)]


def test_aqi_class_at_a_station(city, pg, settings, tmp_path):
    add_rule(pg, settings, {"id": "aqi", "subject": {"stations": {"ids": ["AQ-A-01"]}},
                            "condition": {"kind": "aqi_class", "scale": "vn", "at_least": 4,
                                          "severities": {5: "severe", 6: "extreme"}}})
    values = [20] * 3 + [260] * 6 + [10] * 12
    load_readings(city, csv_of(tmp_path, hourly("AQ-A-01", "pm25", values)))
    hours = pg.execute("SELECT observed_at, level FROM station_aqi s JOIN sensor_stations t ON "
                       "t.id = s.station_id WHERE t.code = 'AQ-A-01' AND scale = 'vn' AND "
                       "period = 'hour' ORDER BY observed_at").fetchall()
    bad = [t for t, level in hours if level >= 4]
    assert bad, "the episode reaches class 4 (Xấu)"
    (a,) = alerts(pg, "aqi")
    assert a[5] == bad[0] + H
    severities = {level: {5: "severe", 6: "extreme"}.get(level, "moderate")
                  for _t, level in hours}
    worst = max(level for _t, level in hours)
    assert severities[worst] in [e[2] for e in events(pg, "aqi")]
    first_good = next(t for t, level in hours if t > bad[0] and level < 4)
    assert a[6] == first_good + H


def test_a_correction_re_evaluates_the_corrected_hours(city, pg, settings, tmp_path):
    from twin.ingest.corrections import Correction, Writer, apply_corrections
    from twin.ingest.policy import EVERY_STATION

    add_rule(pg, settings, PM)
    values = [60, 60, 60, 60, 60]             # opens at the end of h1, stays open
    load_readings(city, csv_of(tmp_path, hourly("AQ-A-01", "pm25", values)))
    assert [a[2] for a in alerts(pg, "pm")] == ["open"]
    writer = Writer("tester", None, "api_key", EVERY_STATION)
    fixes = [Correction(i, "AQ-A-01", "pm25", T0 + k * H, "drift", value=30.0)
             for i, k in enumerate((3, 4))]
    apply_corrections(pg, fixes, writer)
    (a,) = alerts(pg, "pm")
    assert a[2] == "resolved" and a[6] == T0 + 5 * H     # clear for h3-h4 (2 h)
