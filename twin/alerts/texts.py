"""An alert's title and description, in Vietnamese and English."""

from __future__ import annotations

from twin.alerts.rules import Rule
from twin.i18n import number

NAMES = {
    "threshold": ("Vượt ngưỡng {prop}", "{prop} over its threshold"),
    "aqi_class": ("Chất lượng không khí kém", "Poor air quality"),
    "river_level": ("Mực nước sông vượt báo động", "River above its alarm level"),
    "rain": ("Mưa lớn", "Heavy rain"),
    "silence": ("Trạm mất tín hiệu", "Station silent"),
    "stuck": ("Cảm biến treo giá trị", "Sensor stuck"),
    "flood_depth": ("Ngập sâu", "Deep flooding"),
    "aqi_area": ("Chất lượng không khí kém trên diện rộng", "Poor air quality over an area"),
}
PROPS = {"pm25": "PM2.5", "pm10": "PM10", "no2": "NO₂", "o3": "O₃", "co": "CO", "so2": "SO₂",
         "water_level_m": ("mực nước", "water level"), "rain_mm": ("lượng mưa", "rain"),
         "temperature": ("nhiệt độ", "temperature"), "humidity": ("độ ẩm", "humidity")}
UNITS = {"threshold": None, "aqi_class": "AQI", "river_level": "m", "rain": "mm",
         "silence": None, "stuck": None, "flood_depth": "m",
         "aqi_area": "%"}
LEVELS = ("I", "II", "III")


def _prop(prop: str | None, lang: int) -> str:
    name = PROPS.get(prop or "", prop or "")
    return name[lang] if isinstance(name, tuple) else name


def unit(rule: Rule, stored: str | None = None) -> str | None:
    return UNITS[rule.condition.kind] or stored


def title(rule: Rule) -> dict[str, str]:
    vi, en = NAMES[rule.condition.kind]
    out = {"vi": vi.format(prop=_prop(rule.prop, 0)), "en": en.format(prop=_prop(rule.prop, 1))}
    out.update({k: v for k, v in rule.title.items() if k in ("vi", "en") and v})
    return out


def description(rule: Rule, station: str, value: float | None, level: int | None,
                unit_text: str | None) -> dict[str, str]:
    """What holds, where, with the latest value."""
    c = rule.condition
    out = {}
    for i, lang in enumerate(("vi", "en")):
        at = f"{'Trạm' if lang == 'vi' else 'Station'} {station}"
        shown = "" if value is None else f"{number(value, lang, 2)} {unit_text or ''}".strip()
        if c.kind == "threshold":
            limit = c.above if c.above is not None else c.below
            word = (("trên", "above") if c.above is not None else ("dưới", "below"))[i]
            text = f"{at}: {_prop(c.property, i)} {shown} ({word} {number(limit, lang, 2)})"
        elif c.kind == "river_level":
            lv = LEVELS[level - 1] if level else "I"
            text = (f"{at}: {shown}, {'vượt báo động' if lang == 'vi' else 'past alarm level'} "
                    f"{lv}")
        elif c.kind == "aqi_class":
            word = "mức" if lang == "vi" else "class"
            text = f"{at}: AQI ({c.scale.upper()}) {shown}, {word} {level}"
        elif c.kind == "rain":
            hours = f"{c.hours} {'giờ' if lang == 'vi' else 'h'}"
            text = f"{at}: {shown} / {hours} (> {number(c.above_mm, lang)} mm)"
        elif c.kind == "flood_depth":
            text = (f"{station}: {'ngập sâu' if lang == 'vi' else 'water'} {shown} "
                    f"(> {number(c.above_m, lang, 2)} m, {c.scenario})")
        elif c.kind == "aqi_area":
            word = ("diện tích ở mức", "of the area in class")[i]
            text = (f"{station}: {shown} {word} {c.at_least}+ ({c.scale.upper()}, "
                    f"{_prop(c.pollutant, i)}; > {number(c.share_pct, lang)} %)")
        elif c.kind == "silence":
            text = (f"{at}: {'không có số liệu trong' if lang == 'vi' else 'no reading for'} "
                    f"{c.minutes} {'phút' if lang == 'vi' else 'minutes'}")
        else:
            text = (f"{at}: {_prop(c.property, i)} = {shown} "
                    f"{'lặp lại' if lang == 'vi' else 'repeated'} {c.times}×")
        out[lang] = text
    return out
