"""The six AQI classes of each scale: level, name and colour.

Both scales cut at 50 / 100 / 150 / 200 / 300 and share the EPA colours (VN_AQI's
RGB triples in Decision 1459/QĐ-TCMT are the same), but they name the classes
differently — and the same concentration lands in different classes, because the
breakpoints differ. Values above 500 stay in the top class.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from twin.analysis.aqi_breakpoints import ScaleName

UPPER_BOUNDS = np.array([50, 100, 150, 200, 300])
"""Highest AQI of levels 1..5; anything above 300 is level 6."""


class AqiClass(NamedTuple):
    """One class of a scale. ``name`` is in the scale's own language."""

    level: int
    name: str
    name_en: str
    colour: str


VN_CLASSES = (
    AqiClass(1, "Tốt", "Good", "#00e400"),
    AqiClass(2, "Trung bình", "Moderate", "#ffff00"),
    AqiClass(3, "Kém", "Poor", "#ff7e00"),
    AqiClass(4, "Xấu", "Bad", "#ff0000"),
    AqiClass(5, "Rất xấu", "Very bad", "#8f3f97"),
    AqiClass(6, "Nguy hại", "Hazardous", "#7e0023"),
)

US_CLASSES = (
    AqiClass(1, "Good", "Good", "#00e400"),
    AqiClass(2, "Moderate", "Moderate", "#ffff00"),
    AqiClass(3, "Unhealthy for Sensitive Groups", "Unhealthy for Sensitive Groups", "#ff7e00"),
    AqiClass(4, "Unhealthy", "Unhealthy", "#ff0000"),
    AqiClass(5, "Very Unhealthy", "Very Unhealthy", "#8f3f97"),
    AqiClass(6, "Hazardous", "Hazardous", "#7e0023"),
)

CLASSES: dict[str, tuple[AqiClass, ...]] = {"vn": VN_CLASSES, "us": US_CLASSES}


def levels(aqi) -> np.ndarray:
    """Level 1..6 of each (rounded, non-negative) AQI value, vectorised."""
    return np.searchsorted(UPPER_BOUNDS, np.asarray(aqi), side="left") + 1


def category(aqi: int, scale: ScaleName) -> AqiClass:
    """The class of one rounded AQI value on ``scale`` ("vn" or "us")."""
    if scale not in CLASSES:
        raise ValueError(f"unknown AQI scale {scale!r}; use 'vn' or 'us'")
    if aqi < 0:
        raise ValueError(f"AQI cannot be negative: {aqi}")
    return CLASSES[scale][int(levels(aqi)) - 1]
