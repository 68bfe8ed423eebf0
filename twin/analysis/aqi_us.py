"""US EPA AQI sub-indices per hour (as AirNow reports) and per day (EPA-454/B-24-002).

Daily: PM from the 24-hour mean; O₃ from the day's highest 8-hour mean (windows
starting 07:00-23:00), with the 1-hour column where it is defined (≥ 0.125 ppm)
taking over when larger — the 8-hour column stops at 0.200 ppm; CO from the highest
8-hour mean; NO₂ and SO₂ from the highest hour, SO₂ above 304 ppb from its 24-hour
mean because the 1-hour column stops at AQI 200.

Hourly: PM from the 12-hour NowCast; O₃ and CO from the 8-hour mean ending at the
hour (AirNow's ozone NowCast predicts that 8-hour mean; we use the measured one),
O₃ with the same 1-hour override; NO₂ and SO₂ from the hour itself, SO₂ above 304
ppb from the 24 hours ending at the hour.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from twin.analysis.aqi_breakpoints import US_BREAKPOINTS, sub_index
from twin.analysis.aqi_series import (
    MIN_HOURS_PER_8H,
    MIN_HOURS_PER_DAY,
    daily_max_8h,
    local_days,
    nowcast,
    rolling_mean,
)

OZONE_DAY_FIRST_START = 7
"""EPA/AirNow: a day's 8-hour ozone windows start at 07:00 .. 23:00 local time."""


def _index(values: pd.Series, column: str) -> pd.Series:
    return pd.Series(sub_index(values.to_numpy(), column, US_BREAKPOINTS), index=values.index)


def _o3(one_hour: pd.Series, eight_hour: pd.Series) -> pd.Series:
    """The 8-hour index, or the 1-hour one where that is defined and larger."""
    eight_hour = eight_hour.reindex(one_hour.index)
    value = np.fmax(_index(eight_hour, "o3_8h"), _index(one_hour, "o3_1h"))
    return pd.Series(value, index=one_hour.index)


def _so2(one_hour: pd.Series, mean_24h: pd.Series) -> pd.Series:
    """1-hour index up to 304 ppb; above, the 24-hour index, and never under 200."""
    above = US_BREAKPOINTS["so2_1h"].native(one_hour.to_numpy()) > 304
    from_24h = np.fmax(200.0, _index(mean_24h.reindex(one_hour.index), "so2_24h"))
    value = np.where(above, from_24h, _index(one_hour, "so2_1h"))
    return pd.Series(value, index=one_hour.index)


def hourly_sub_indices(hours: pd.DataFrame) -> pd.DataFrame:
    """Unrounded US sub-index of each pollutant for each hour of a regular hourly frame."""
    subs = {}
    for name, series in hours.items():
        if name in ("pm25", "pm10"):
            subs[name] = _index(nowcast(series), name)
        elif name == "o3":
            subs[name] = _o3(series, rolling_mean(series, 8, MIN_HOURS_PER_8H))
        elif name == "co":
            subs[name] = _index(rolling_mean(series, 8, MIN_HOURS_PER_8H), "co")
        elif name == "so2":
            subs[name] = _so2(series, rolling_mean(series, 24, MIN_HOURS_PER_DAY))
        else:
            subs[name] = _index(series, name)
    return pd.DataFrame(subs, index=hours.index)


def daily_sub_indices(hours: pd.DataFrame) -> pd.DataFrame:
    """Unrounded US sub-index of each pollutant for each local day."""
    subs = {}
    for name, series in hours.items():
        if name in ("pm25", "pm10"):
            subs[name] = _index(local_days(series, "mean"), name)
        elif name == "o3":
            eight = daily_max_8h(series, first_start_hour=OZONE_DAY_FIRST_START)
            subs[name] = _o3(local_days(series, "max"), eight)
        elif name == "co":
            subs[name] = _index(daily_max_8h(series), "co")
        elif name == "so2":
            subs[name] = _so2(local_days(series, "max"), local_days(series, "mean"))
        else:
            subs[name] = _index(local_days(series, "max"), name)
    return pd.DataFrame(subs)
