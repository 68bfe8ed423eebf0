"""VN_AQI sub-indices per hour and per day (Decision 1459/QĐ-TCMT, 2019).

Hourly: SO₂, CO, NO₂ and O₃ (1-hour column) from their 1-hour means, PM2.5 and
PM10 from their 12-hour NowCast. Daily: PM from the 24-hour mean; SO₂, NO₂, CO
from the day's highest hour; O₃ from the larger of the 1-hour column at the day's
highest hour and the 8-hour column at the day's highest 8-hour mean, the 8-hour
part dropped above 400 µg/m³ where that column ends.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from twin.analysis.aqi_breakpoints import VN_BREAKPOINTS, sub_index
from twin.analysis.aqi_series import daily_max_8h, local_days, nowcast

PM = ("pm25", "pm10")


def _index(values: pd.Series, column: str) -> pd.Series:
    return pd.Series(sub_index(values.to_numpy(), column, VN_BREAKPOINTS), index=values.index)


def hourly_sub_indices(hours: pd.DataFrame) -> pd.DataFrame:
    """Unrounded VN sub-index of each pollutant for each hour of a regular hourly frame."""
    subs = {}
    for name, series in hours.items():
        concentration = nowcast(series) if name in PM else series
        subs[name] = _index(concentration, name)
    return pd.DataFrame(subs, index=hours.index)


def daily_sub_indices(hours: pd.DataFrame) -> pd.DataFrame:
    """Unrounded VN sub-index of each pollutant for each local day."""
    subs = {}
    for name, series in hours.items():
        if name in PM:
            subs[name] = _index(local_days(series, "mean"), name)
        elif name == "o3":
            subs[name] = _daily_o3(series)
        else:
            subs[name] = _index(local_days(series, "max"), name)
    return pd.DataFrame(subs)


def _daily_o3(series: pd.Series) -> pd.Series:
    one_hour = _index(local_days(series, "max"), "o3")
    eight_hour = _index(daily_max_8h(series), "o3_8h")
    return pd.Series(np.fmax(one_hour, eight_hour.reindex(one_hour.index)), index=one_hour.index)
