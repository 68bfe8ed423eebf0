"""Map symbols of the reports, from the shared ramps in :mod:`twin.styles.ramps` where
one exists (AQI classes, flood depth), so a report reads like the viewer and QGIS."""

from __future__ import annotations

from dataclasses import replace

from twin.i18n import normalise
from twin.reports import words
from twin.reports.model import Symbol
from twin.styles import roads
from twin.styles.ramps import FLOOD_DEPTH_CODES, flood_depth_classes, vn_aqi_classes

# Road condition 1 (very poor) .. 5 (very good): a diverging red-to-green ramp
# (ColorBrewer RdYlGn), readable in print and by most colour-blind readers thanks to
# the lightness step in the middle.
CONDITION = {
    "1": Symbol("1 very poor", "#d7191c", 1.6),
    "2": Symbol("2 poor", "#fdae61", 1.4),
    "3": Symbol("3 fair", "#e6d96a", 1.2),
    "4": Symbol("4 good", "#a6d96a", 1.2),
    "5": Symbol("5 very good", "#1a9641", 1.2),
    "unknown": Symbol("not assessed", "#9e9e9e", 1.0),
}
# Line width of a road by class, so the network's hierarchy reads at a glance (the
# classes' relative widths of twin.styles.roads: footways and steps thin).
ROAD_WIDTH = {name: round(1.3 * width, 2) for name, width in roads.WIDTHS.items()}
CONTEXT_ROAD = Symbol("roads outside the area", "#c8c8c8", 0.6)
AREA_OUTLINE = Symbol("area boundary", "#222222", 1.6)
BUS_ROUTE = {"route": Symbol("bus route", "#3f51b5", 2.4, alpha=0.35)}

BUS_STOP = {"true": Symbol("bus stop (shelter)", "#283593", 16, edge="white", marker="s"),
            "false": Symbol("bus stop", "#7986cb", 16, edge="white", marker="s"),
            "unknown": Symbol("bus stop", "#7986cb", 16, edge="white", marker="s")}
SIGN = {"prohibitory": Symbol("sign: prohibitory", "#d62728", 9, marker="^"),
        "warning": Symbol("sign: warning", "#ffbf00", 9, edge="#444444", marker="^"),
        "mandatory": Symbol("sign: mandatory", "#1f77b4", 9, marker="^"),
        "information": Symbol("sign: information", "#2ca02c", 9, marker="^"),
        "auxiliary": Symbol("sign: auxiliary", "#7f7f7f", 9, marker="^")}
SIGNAL = {"operational": Symbol("signal", "#111111", 28, edge="white", marker="o"),
          "fault": Symbol("signal: fault", "#d7191c", 34, edge="black", marker="o"),
          "offline": Symbol("signal: offline", "#ff7f00", 34, edge="black", marker="o")}
CAMERA = {"online": Symbol("camera", "#6a3d9a", 16, edge="white", marker="D"),
          "maintenance": Symbol("camera: maintenance", "#cab2d6", 18, edge="black",
                                marker="D"),
          "offline": Symbol("camera: offline", "#d7191c", 18, edge="black", marker="D")}
PARKING = {"on_street": Symbol("parking: on street", "#6baed6", 26, edge="white",
                               marker="h"),
           "surface_lot": Symbol("parking: surface lot", "#2171b5", 30, edge="white",
                                 marker="h"),
           "garage": Symbol("parking: garage", "#08306b", 34, edge="white", marker="h")}


# The Vietnamese legend labels of the symbols above (keyed by their English label).
VI = {
    "1 very poor": "1 rất kém", "2 poor": "2 kém", "3 fair": "3 trung bình", "4 good": "4 tốt",
    "5 very good": "5 rất tốt", "not assessed": "chưa đánh giá",
    "roads outside the area": "đường ngoài khu vực", "area boundary": "ranh giới khu vực",
    "bus route": "tuyến xe buýt", "bus stop (shelter)": "điểm dừng xe buýt (có mái che)",
    "bus stop": "điểm dừng xe buýt", "sign: prohibitory": "biển báo cấm",
    "sign: warning": "biển báo nguy hiểm", "sign: mandatory": "biển hiệu lệnh",
    "sign: information": "biển chỉ dẫn", "sign: auxiliary": "biển phụ", "signal": "đèn tín hiệu",
    "signal: fault": "đèn tín hiệu: lỗi", "signal: offline": "đèn tín hiệu: mất kết nối",
    "camera": "camera", "camera: maintenance": "camera: bảo trì",
    "camera: offline": "camera: mất kết nối", "parking: on street": "đỗ xe: dưới lòng đường",
    "parking: surface lot": "đỗ xe: bãi đỗ", "parking: garage": "đỗ xe: nhà đỗ xe",
    "road": "đường",
}


def localised(symbols: dict[str, Symbol], lang: str) -> dict[str, Symbol]:
    """The symbols with their labels in ``lang`` (they are written in English above)."""
    if normalise(lang) == "en":
        return dict(symbols)
    return {k: replace(s, label=VI.get(s.label, s.label)) for k, s in symbols.items()}


def aqi_symbols(lang: str, size: float = 90) -> dict[str, Symbol]:
    """One symbol per VN_AQI class, keyed by class level "1".."6"."""
    return {str(i): Symbol(words.aqi_label(i, lang), c.colour, size, edge="#222222")
            for i, c in enumerate(vn_aqi_classes(), start=1)}


def aqi_class(value: float, lang: str) -> tuple[str, str, str]:
    """(level "1".."6", colour, label) of a VN_AQI value."""
    classes = vn_aqi_classes()
    for i, c in enumerate(classes, start=1):
        if c.lower <= round(value) < c.upper:
            return str(i), c.colour, words.aqi_label(i, lang)
    return "6", classes[-1].colour, words.aqi_label(6, lang)


def depth_label(code: str, lang: str) -> str:
    """A depth class as the report prints it: "0,5–1 m" in Vietnamese."""
    for c_code, c in zip(FLOOD_DEPTH_CODES, flood_depth_classes(), strict=False):
        if c_code == code:
            return decimal(c.label, lang)
    return code


def decimal(text: str, lang: str) -> str:
    """Decimal points of a short label ("0.2–0.5 m") as the language writes them."""
    return text.replace(".", ",") if normalise(lang) == "vi" else text


def flood_symbols(lang: str) -> dict[str, Symbol]:
    """Flood depth classes keyed by the layer's depth_class codes, light to dark blue."""
    return {code: Symbol(words.say("depth", lang, label=depth_label(code, lang)), c.colour,
                         0.4, edge=c.colour, alpha=0.75)
            for code, c in zip(FLOOD_DEPTH_CODES, flood_depth_classes(), strict=False)}

