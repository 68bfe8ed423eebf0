"""Averaging of hourly concentrations for the AQI: NowCast, rolling means, local days.

Local days are the days of the zone the hourly series is stamped in: the caller
converts it to the city's zone first (``station_aqi(..., tz=...)`` does). The zone
must keep no daylight saving (a city profile's zone is checked for that), so that
every day has 24 hours.

Everything works on a regular hourly axis (gaps are NaN rows), so that "the 12
latest hours" is a fixed window of array positions and each step is one numpy or
pandas window operation rather than a loop over hours.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view

POLLUTANTS = ("pm25", "pm10", "no2", "o3", "co", "so2")
"""Property codes the AQI uses; all hourly means in µg/m³."""

HOUR = pd.Timedelta(hours=1)

MIN_HOURS_PER_DAY = 18
"""A daily value needs 75 % of its 24 hours (EPA/AirNow's completeness rule; Decision
1459 gives none, so VN_AQI days follow the same one)."""

MIN_HOURS_PER_8H = 6
"""An 8-hour mean needs 6 of its 8 hours (75 %, EPA)."""


def regular_hours(hourly: pd.DataFrame) -> pd.DataFrame:
    """``hourly`` checked and reindexed onto every hour from its first to its last.

    Raises ValueError for what would silently give wrong AQIs: a naive or
    non-datetime index, stamps that are not hour starts, duplicates, and columns
    that are not among POLLUTANTS (a typo like "pm2.5" would otherwise vanish).
    """
    index = hourly.index
    if not isinstance(index, pd.DatetimeIndex) or index.tz is None:
        raise ValueError("hourly readings need a tz-aware DatetimeIndex of hour starts")
    unknown = [c for c in hourly.columns if c not in POLLUTANTS]
    if unknown:
        raise ValueError(f"unknown pollutant columns {unknown}; expected some of {POLLUTANTS}")
    if not (index == index.floor("h")).all():
        raise ValueError("hourly readings must be stamped at hour starts")
    if index.has_duplicates:
        raise ValueError("hourly readings have duplicate hours")
    frame = hourly.sort_index().astype(float)
    if frame.empty:
        return frame
    hours = pd.date_range(frame.index[0], frame.index[-1], freq="h", name=index.name)
    return frame.reindex(hours)


def nowcast(series: pd.Series, hours: int = 12, min_weight: float = 0.5) -> pd.Series:
    """EPA's PM NowCast (also VN_AQI's) of a regular hourly series, for every hour.

    Over the ``hours`` latest hours c1 (now) .. c12: w = max(Cmin / Cmax, 1/2), and
    NowCast = Σ w^(i-1) c_i / Σ w^(i-1) over the hours that have data. Defined only
    where 2 of the 3 latest hours have data, because w puts most of the weight on
    them. The raw value is returned; truncation belongs to the scale. The series must
    be regular (``regular_hours`` makes it so): the window counts positions.
    """
    index = series.index
    if not isinstance(index, pd.DatetimeIndex) or (index[1:] - index[:-1] != HOUR).any():
        raise ValueError("nowcast needs a regular hourly DatetimeIndex; reindex gaps to NaN")
    x = series.to_numpy(dtype=float)
    windows = sliding_window_view(np.concatenate([np.full(hours - 1, np.nan), x]), hours)
    windows = windows[:, ::-1]                       # column k: k hours ago
    valid = ~np.isnan(windows)
    enough = valid[:, :3].sum(axis=1) >= 2
    filled = np.where(valid, windows, 0.0)
    c_max = np.where(valid, windows, -np.inf).max(axis=1)
    c_min = np.where(valid, windows, np.inf).min(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        w = np.where(c_max > 0, c_min / c_max, 1.0)
        w = np.clip(w, min_weight, 1.0)
        weights = np.where(valid, w[:, None] ** np.arange(hours), 0.0)
        total = weights.sum(axis=1)
        value = (weights * filled).sum(axis=1) / total
    return pd.Series(np.where(enough & (total > 0), value, np.nan), index=series.index,
                     name=series.name)


def rolling_mean(series: pd.Series, hours: int, min_hours: int) -> pd.Series:
    """Mean of the ``hours`` hours ending with each hour, NaN below ``min_hours`` of data."""
    return series.rolling(hours, min_periods=min_hours).mean()


def local_days(series: pd.Series, how: str, min_count: int = MIN_HOURS_PER_DAY) -> pd.Series:
    """``how`` ("mean" or "max") of each local day with at least ``min_count`` values.

    The result is indexed by midnight of the series' own zone (for a series stamped
    in UTC+7, 00:00 +07:00 is 17:00 UTC of the day before). The zone keeps no
    daylight saving, so a regular hourly series padded to whole days reshapes into
    rows of 24 hours — one numpy reduction instead of a pandas resample.
    """
    local = series
    first = local.index[0].floor("D")
    days = pd.date_range(first, local.index[-1].floor("D"), freq="D", name=series.index.name)
    grid = local.reindex(pd.date_range(first, periods=24 * len(days), freq="h"))
    values = grid.to_numpy(dtype=float).reshape(len(days), 24)
    valid = ~np.isnan(values)
    count = valid.sum(axis=1)
    if how == "mean":
        with np.errstate(invalid="ignore", divide="ignore"):
            value = np.where(valid, values, 0.0).sum(axis=1) / count
    elif how == "max":
        value = np.where(valid, values, -np.inf).max(axis=1)
    else:
        raise ValueError(f"unknown daily aggregate {how!r}; use 'mean' or 'max'")
    return pd.Series(np.where(count >= max(min_count, 1), value, np.nan), index=days)


def daily_max_8h(series: pd.Series, first_start_hour: int | None = None) -> pd.Series:
    """Each local day's highest 8-hour mean (6 of 8 hours) of an hourly series.

    Default: the 24 windows ending in the day, 18 of them valid. With
    ``first_start_hour`` (EPA ozone: 7) the windows starting from that hour to 23:00,
    which reach into the next morning, 75 % of them valid (13 of 17).
    """
    if first_start_hour is None:
        return local_days(rolling_mean(series, 8, MIN_HOURS_PER_8H), "max")
    # Pad 7 empty hours so that the windows starting late on the last day, still
    # valid with 6 of 8 hours, are not lost to the shift.
    padded = series.reindex(pd.date_range(series.index[0], periods=len(series) + 7,
                                          freq="h", name=series.index.name))
    by_start = rolling_mean(padded, 8, MIN_HOURS_PER_8H).shift(-7).iloc[:len(series)]
    by_start = by_start.where(by_start.index.hour >= first_start_hour)  # the series' zone
    n_windows = 24 - first_start_hour
    return local_days(by_start, "max", min_count=int(np.ceil(0.75 * n_windows)))
