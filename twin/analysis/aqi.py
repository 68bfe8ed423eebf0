"""Air Quality Index of one station per hour or per local day, on Vietnam's or the US scale.

VN_AQI follows Decision 1459/QĐ-TCMT (2019) of the Vietnam Environment
Administration; the US AQI follows EPA-454/B-24-002 (2024 PM2.5 breakpoints) and
AirNow's hourly practice. The two disagree a lot on the same air (50 µg/m³ of
PM2.5 over a day is "Trung bình" in Hà Nội and "Unhealthy for Sensitive Groups" in
the US), so every result names its scale's classes.

Pure numpy/pandas: no database or web code, so ingest can call it inside a
transaction and tests can feed it hand-made frames.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from twin.analysis import aqi_us, aqi_vn
from twin.analysis.aqi_breakpoints import (
    TABLES,
    US_BREAKPOINTS,
    VN_BREAKPOINTS,
    Breakpoints,
    sub_index,
)
from twin.analysis.aqi_classes import CLASSES, US_CLASSES, VN_CLASSES, AqiClass, category, levels
from twin.analysis.aqi_series import POLLUTANTS, nowcast, regular_hours

__all__ = [
    "POLLUTANTS",
    "TABLES",
    "US_BREAKPOINTS",
    "US_CLASSES",
    "VN_BREAKPOINTS",
    "VN_CLASSES",
    "AqiClass",
    "Breakpoints",
    "category",
    "nowcast",
    "round_half_up",
    "station_aqi",
    "sub_index",
]

_CALCULATORS = {
    ("vn", "hour"): aqi_vn.hourly_sub_indices,
    ("vn", "day"): aqi_vn.daily_sub_indices,
    ("us", "hour"): aqi_us.hourly_sub_indices,
    ("us", "day"): aqi_us.daily_sub_indices,
}
COLUMNS = ["aqi", "pollutant", "category", "colour", "level", *(f"sub_{p}" for p in POLLUTANTS)]


def round_half_up(x) -> np.ndarray:
    """Nearest integer, halves up (109.5 → 110), as both scales round; NaN stays NaN.

    numpy's round() sends halves to even (108.5 → 108). The 9-decimal pre-rounding
    absorbs binary residues such as 109.49999999999999.
    """
    return np.floor(np.round(np.asarray(x, dtype=float), 9) + 0.5)


def station_aqi(hourly: pd.DataFrame, scale: Literal["vn", "us"],
                period: Literal["hour", "day"], tz: str | None = None) -> pd.DataFrame:
    """AQI of one station for each hour or local day where it is computable.

    ``hourly``: tz-aware DatetimeIndex of hour starts (gaps allowed), columns any of
    POLLUTANTS, hourly means in µg/m³, NaN = missing. ``tz``: the IANA zone whose
    days are meant (the city's; it must keep no daylight saving), default the input
    index's own zone. Returns one row per hour (input's zone) or per local day (its
    midnight in ``tz``) with ``aqi`` (int),
    ``pollutant`` (the one driving it), ``category`` (the scale's class name),
    ``colour`` ("#rrggbb"), ``level`` (1..6) and ``sub_<pollutant>`` (rounded
    sub-indices, NaN where unavailable). VN rows need a PM2.5 or PM10 sub-index,
    as the decision requires; US rows need any sub-index.
    """
    if (scale, period) not in _CALCULATORS:
        raise ValueError(f"unknown scale/period {scale!r}/{period!r}; "
                         "use scale 'vn' or 'us' and period 'hour' or 'day'")
    hours = regular_hours(hourly)
    if period == "day" and tz is not None:
        hours = hours.tz_convert(tz)   # local days are the index zone's days
    if hours.empty or hours.columns.empty:
        return _empty(hours.index.tz)
    subs = _CALCULATORS[(scale, period)](hours)
    return _assemble(subs.reindex(columns=list(POLLUTANTS)), scale)


def _assemble(subs: pd.DataFrame, scale: str) -> pd.DataFrame:
    """Rounded sub-indices → AQI, driving pollutant and class, computable rows only."""
    rounded = round_half_up(subs.to_numpy())
    present = ~np.isnan(rounded)
    required = present[:, :2] if scale == "vn" else present     # POLLUTANTS opens with PM
    keep = required.any(axis=1)
    rounded, present = rounded[keep], present[keep]
    driver = np.where(present, rounded, -np.inf).argmax(axis=1)  # ties: POLLUTANTS order
    aqi = rounded[np.arange(len(rounded)), driver].astype(np.int64)
    level = levels(aqi)
    names = np.array([c.name for c in CLASSES[scale]], dtype=object)
    colours = np.array([c.colour for c in CLASSES[scale]], dtype=object)
    out = pd.DataFrame({
        "aqi": aqi,
        "pollutant": np.asarray(POLLUTANTS, dtype=object)[driver],
        "category": names[level - 1],
        "colour": colours[level - 1],
        "level": level.astype(np.int64),
    }, index=subs.index[keep])
    for i, name in enumerate(POLLUTANTS):
        out[f"sub_{name}"] = rounded[:, i]
    out.index.name = "time"
    return out


def _empty(tz) -> pd.DataFrame:
    index = pd.DatetimeIndex([], tz=tz, name="time")
    out = pd.DataFrame({c: pd.Series(dtype=float) for c in COLUMNS}, index=index)
    out = out.astype({"aqi": np.int64, "level": np.int64, "pollutant": object,
                      "category": object, "colour": object})
    return out

