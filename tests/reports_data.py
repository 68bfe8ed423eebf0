"""Daily VN_AQI rows for the test city, when its load did not compute them.

``station_aqi`` is filled at readings load (migration 0005); where a loader of this
tree does not fill it yet, the same pure calculator (twin.analysis.aqi) fills it here
from hourly means of the loaded readings, so the reports read real derived rows."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import text

from tests.city import TZ

HOURLY = """
SELECT station_id, date_trunc('hour', observed_at) AS hour, property, avg(value) AS value
FROM sensor_readings
WHERE quality IN ('good', 'suspect') AND value IS NOT NULL
  AND property IN ('pm25', 'pm10', 'no2', 'o3', 'co', 'so2')
GROUP BY 1, 2, 3
"""


def ensure_daily_aqi(engine) -> int:
    """Fill station_aqi (scale vn, period day) when empty; returns its row count."""
    from twin.analysis.aqi import station_aqi

    with engine.begin() as conn:
        count = conn.execute(text("SELECT count(*) FROM station_aqi WHERE scale = 'vn' "
                                  "AND period = 'day'")).scalar()
        if count:
            return count
        frame = pd.read_sql(text(HOURLY), conn)
        rows = []
        for sid, part in frame.groupby("station_id"):
            hourly = part.pivot(index="hour", columns="property", values="value")
            hourly.index = pd.DatetimeIndex(hourly.index).tz_convert("UTC")
            daily = station_aqi(hourly, "vn", "day", tz=TZ)   # the city's days
            rows += [{"sid": int(sid), "t": t.to_pydatetime(), "aqi": int(r.aqi),
                      "pol": r.pollutant, "cat": r.category, "col": r.colour,
                      "lvl": int(r.level)} for t, r in daily.iterrows()]
        conn.execute(text(
            "INSERT INTO station_aqi (station_id, scale, period, observed_at, aqi, pollutant, "
            "category, colour, level) VALUES (:sid, 'vn', 'day', :t, :aqi, :pol, :cat, :col, "
            ":lvl)"), rows)
        return len(rows)
