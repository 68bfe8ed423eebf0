"""Colour ramps and categorical palettes shared by the styles, the viewer and the reports.

Class ramps are lists of ``(lower, upper, colour, label)``: a value ``v`` is in a class
when ``lower <= v < upper`` (the last class has ``upper = inf``). AQI classes follow the
integer index: VN_AQI 0–50 is "Tốt", 51–100 "Trung bình" and so on, written here as
``[0, 51)``, ``[51, 101)``… so that a rounded index falls in exactly one class.
"""

from __future__ import annotations

import math
from typing import NamedTuple

from twin.styles import roads

INF = math.inf


class ColourClass(NamedTuple):
    lower: float
    upper: float
    colour: str
    label: str


def _rgb(r: int, g: int, b: int) -> str:
    return f"#{r:02x}{g:02x}{b:02x}"


# Decision 1459/QĐ-TCMT (2019), colours as RGB in the decision.
_VN_AQI = (
    (0, 51, _rgb(0, 228, 0), "Tốt (0–50)"),
    (51, 101, _rgb(255, 255, 0), "Trung bình (51–100)"),
    (101, 151, _rgb(255, 126, 0), "Kém (101–150)"),
    (151, 201, _rgb(255, 0, 0), "Xấu (151–200)"),
    (201, 301, _rgb(143, 63, 151), "Rất xấu (201–300)"),
    (301, INF, _rgb(126, 0, 35), "Nguy hại (301–500)"),
)
# US EPA AQI (EPA-454/B-24-002): the same colours, different breakpoints and names.
_US_AQI = (
    (0, 51, _rgb(0, 228, 0), "Good (0–50)"),
    (51, 101, _rgb(255, 255, 0), "Moderate (51–100)"),
    (101, 151, _rgb(255, 126, 0), "Unhealthy for Sensitive Groups (101–150)"),
    (151, 201, _rgb(255, 0, 0), "Unhealthy (151–200)"),
    (201, 301, _rgb(143, 63, 151), "Very Unhealthy (201–300)"),
    (301, INF, _rgb(126, 0, 35), "Hazardous (301+)"),
)
# PM2.5 concentration (µg/m³) at the VN_AQI breakpoints 50/100/150/200/300 of the
# decision's PM2.5 column, so a PM2.5 surface reads like the AQI map.
_PM25 = (
    (0, 25, _VN_AQI[0][2], "0–25 µg/m³"),
    (25, 50, _VN_AQI[1][2], "25–50 µg/m³"),
    (50, 80, _VN_AQI[2][2], "50–80 µg/m³"),
    (80, 150, _VN_AQI[3][2], "80–150 µg/m³"),
    (150, 250, _VN_AQI[4][2], "150–250 µg/m³"),
    (250, INF, _VN_AQI[5][2], "> 250 µg/m³"),
)
# Flood depth in metres: a sequential blue ramp (ColorBrewer Blues, light to dark).
_FLOOD_DEPTH = (
    (0.0, 0.2, "#c6dbef", "0–0.2 m"),
    (0.2, 0.5, "#6baed6", "0.2–0.5 m"),
    (0.5, 1.0, "#2171b5", "0.5–1 m"),
    (1.0, INF, "#08306b", "> 1 m"),
)
# The depth_class values of layers/flood_extents.yaml, in the order of the classes above.
FLOOD_DEPTH_CODES = ("0-0.2", "0.2-0.5", "0.5-1", ">1")


def vn_aqi_classes() -> list[ColourClass]:
    """The six VN_AQI classes with the official colours and Vietnamese names."""
    return [ColourClass(*c) for c in _VN_AQI]


def us_aqi_classes() -> list[ColourClass]:
    """The six US EPA AQI classes (same colours, English names)."""
    return [ColourClass(*c) for c in _US_AQI]


def pm25_classes() -> list[ColourClass]:
    """PM2.5 concentration classes (µg/m³) coloured like the VN_AQI class they map to."""
    return [ColourClass(*c) for c in _PM25]


def flood_depth_classes() -> list[ColourClass]:
    """Flood depth classes in metres, 0–0.2, 0.2–0.5, 0.5–1, > 1, light to dark blue."""
    return [ColourClass(*c) for c in _FLOOD_DEPTH]


def classify(value: float | None, classes: list[ColourClass]) -> ColourClass | None:
    """The class holding ``value`` (None for a missing or negative value)."""
    if value is None or math.isnan(value):
        return None
    for cls in classes:
        if cls.lower <= value < cls.upper:
            return cls
    return None


def aqi_colour(aqi: float | None, scale: str = "VN_AQI") -> str | None:
    """The colour of an AQI value on ``scale`` (``VN_AQI`` or ``US_AQI``)."""
    classes = vn_aqi_classes() if scale == "VN_AQI" else us_aqi_classes()
    found = classify(aqi, classes)
    return found.colour if found else None


# Default colours per value of fields that several layers share. A layer's own
# ``style.colours`` overrides single values; values missing from both get FALLBACK.
PALETTES: dict[str, dict[str, str]] = {
    "road_class": roads.COLOURS,   # OSM's highway=* classes (twin.styles.roads)
    # Land-use codes of Circular 08/2024/TT-BTNMT, grouped by hue: residential pinks,
    # agriculture greens/yellows, public services purples, water blues, business reds.
    "land_use": {
        "ODT": "#ffb3c6", "ONT": "#ffd0e0", "CLN": "#a6d96a", "LUC": "#ffff99",
        "LUK": "#f5f08c", "BHK": "#e6f598", "NTS": "#8fd3e8", "DGT": "#cfcfcf",
        "DTL": "#9ecae1", "DGD": "#c2a5cf", "DYT": "#e7a1d0", "DVH": "#b39ddb",
        "DTT": "#b8e186", "TMD": "#f4a582", "SKC": "#d6604d", "TSC": "#bc80bd",
        "CQP": "#8c6d31", "CAN": "#a1887f", "TON": "#fdb863", "NTD": "#bababa",
        "DKV": "#7fbc41", "SON": "#6baed6", "MNC": "#4292c6", "CSD": "#f0f0f0",
    },
    "category": {
        "prohibitory": "#d62728", "warning": "#ffbf00", "mandatory": "#1f77b4",
        "information": "#2ca02c", "auxiliary": "#7f7f7f",
    },
    "kind": {
        # sensor_stations
        "air": "#ff7f0e", "water_level": "#1f77b4", "rain": "#17becf",
        # cameras
        "monitoring": "#9467bd", "enforcement": "#d62728", "anpr": "#8c564b",
        "surveillance": "#7f7f7f",
        # parking_sites
        "on_street": "#6baed6", "surface_lot": "#2171b5", "garage": "#08306b",
    },
    "depth_class": {code: cls[2]
                    for code, cls in zip(FLOOD_DEPTH_CODES, _FLOOD_DEPTH, strict=False)},
    # admin_areas levels, and the AQI class number 1..6 of station_aqi (both scales
    # share the six colours).
    "level": {"province": "#000000", "district": "#333333", "commune": "#8a8a8a",
              "ward": "#8a8a8a",
              **{str(i): c[2] for i, c in enumerate(_VN_AQI, start=1)}},
}

# Legend labels of values that are codes.
LABELS: dict[str, dict[str, str]] = {
    "land_use": {
        "ODT": "ODT urban residential", "ONT": "ONT rural residential",
        "CLN": "CLN perennial crops", "LUC": "LUC rice (wet)", "LUK": "LUK rice (other)",
        "BHK": "BHK annual crops", "NTS": "NTS aquaculture", "DGT": "DGT transport",
        "DTL": "DTL irrigation", "DGD": "DGD education", "DYT": "DYT health",
        "DVH": "DVH culture", "DTT": "DTT sport", "TMD": "TMD commerce and services",
        "SKC": "SKC production and business", "TSC": "TSC agency offices",
        "CQP": "CQP defence", "CAN": "CAN security", "TON": "TON religious",
        "NTD": "NTD cemeteries", "DKV": "DKV recreation", "SON": "SON rivers and canals",
        "MNC": "MNC water surface", "CSD": "CSD unused",
    },
    "depth_class": {code: cls[3]
                    for code, cls in zip(FLOOD_DEPTH_CODES, _FLOOD_DEPTH, strict=False)},
    "level": {str(i): f"{i} {vn[3].split(' (')[0]} / {us[3].split(' (')[0]}"
              for i, (vn, us) in enumerate(zip(_VN_AQI, _US_AQI, strict=False), start=1)},
}

# For fields without a palette: Tableau 10, assigned in the field's enum order.
CYCLE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
         "#7f7f7f", "#bcbd22", "#17becf")
FALLBACK = "#9e9e9e"
# Line widths per value, relative to the layer's width (values missing: 1).
WIDTHS: dict[str, dict[str, float]] = {"road_class": roads.WIDTHS}
