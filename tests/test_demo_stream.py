"""``twin demo --stream``: the readings arrive over MQTT through a private Mosquitto, the
real ``twin ingest mqtt`` subscriber and ``twin ingest replay`` publisher, all as child
processes, into a fresh database of their own."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from tests.city import EXTENT
from tests.conftest import fresh_database
from tests.files import write_csv
from twin.db.engine import make_engine
from twin.db.schema import upgrade
from twin.demo.broker import MOSQUITTO
from twin.demo.live import LiveDemo
from twin.ingest.vector import load_vector

T0 = datetime(2026, 10, 3, 0, 0, tzinfo=UTC)


@pytest.fixture()
def stream_db(settings, registry, tmp_path):
    url, drop = fresh_database(settings, f"twin_test_stream_{tmp_path.name[-12:].lower()}")
    engine = make_engine(url, pool_size=1)
    upgrade(engine, registry)
    path = write_csv(tmp_path / "stations.csv", ["code", "name", "kind", "properties", "lon",
                                                 "lat"],
                     [["LIVE-AQ-1", "Hoàn Kiếm", "air", "pm25;pm10", 105.85, 21.03],
                      ["LIVE-AQ-2", "Cầu Giấy", "air", "pm25;pm10", 105.80, 21.03]])
    load_vector(engine, registry, "sensor_stations", path, extent=EXTENT)
    yield url, engine
    engine.dispose()
    drop()


def readings_csv(path, hours: int = 6):
    rows = []
    for k in range(hours * 6):  # every 10 minutes
        t = (T0 + timedelta(minutes=10 * k)).isoformat()
        for station in ("LIVE-AQ-1", "LIVE-AQ-2"):
            rows += [[station, t, "pm25", 30 + k % 7], [station, t, "pm10", 55 + k % 5]]
    return write_csv(path, ["station_code", "observed_at", "property", "value"], rows), len(rows)


@pytest.mark.skipif(not MOSQUITTO or not __import__("os").path.exists(MOSQUITTO),
                    reason="mosquitto is not installed")
def test_streamed_demo_readings_all_arrive_with_their_derived_tables(stream_db, tmp_path):
    url, engine = stream_db
    csv, n = readings_csv(tmp_path / "readings.csv")
    live = LiveDemo(tmp_path, url, csv)
    lines: list[str] = []
    live.start(lines.append)
    try:
        stored = 0
        for _ in range(600):  # as a user watching the viewer: until they have all arrived
            with engine.connect() as conn:
                stored = conn.execute(text("SELECT count(*) FROM sensor_readings")).scalar()
            if stored >= n:
                break
            time.sleep(0.2)
    finally:
        live.stop()
    assert stored == n, (lines, (tmp_path / "demo-stream.log").read_text()[-2000:])
    assert live.broker is None and not live.children  # stopped: broker and children
    with engine.connect() as conn:
        latest = conn.execute(text("SELECT count(*) FROM station_latest")).scalar()
        hours = conn.execute(text("SELECT count(*) FROM reading_rollups WHERE grain = 'hour'")
                             ).scalar()
        dead = conn.execute(text("SELECT count(*) FROM ingest_dead_letters")).scalar()
    assert latest == 4 and hours == 2 * 2 * 6 and dead == 0
