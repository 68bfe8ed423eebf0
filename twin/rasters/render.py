"""Colour a band with class ramps into RGBA PNGs, and draw the matching legend.

Ramps come from :mod:`twin.styles.ramps`. Pollutant surfaces are coloured by the
VN_AQI class their concentration falls in (Decision 1459/QĐ-TCMT breakpoints for
I = 50/100/150/200/300: PM2.5 25/50/80/150/250, PM10 50/150/250/350/420, NO₂
100/200/700/1200/2350 µg/m³), so a PM10 map reads like the AQI map; flood depth uses
the depth classes; a DEM gets a terrain ramp of eight equal classes between the
series' lowest and highest elevation (fixed per series, so tiles join without seams).
Nodata is transparent.
"""

from __future__ import annotations

import io
import itertools
import math

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from twin.styles.ramps import ColourClass, flood_depth_classes, pm25_classes, vn_aqi_classes

# Concentration at VN_AQI 50, 100, 150, 200, 300 (µg/m³).
AQI_BREAKPOINTS = {"pm25": (25, 50, 80, 150, 250), "pm10": (50, 150, 250, 350, 420),
                   "no2": (100, 200, 700, 1200, 2350)}
DRY_M = 0.001
TERRAIN = ("#1a9850", "#66bd63", "#a6d96a", "#d9ef8b", "#fee08b", "#fdae61", "#d6604d",
           "#a50026")
VIRIDIS = ("#440154", "#46327e", "#365c8d", "#277f8e", "#1fa187", "#4ac16d", "#a0da39",
           "#fde725")


def aqi_concentration_classes(variable: str, unit: str = "µg/m³") -> list[ColourClass]:
    """Concentration classes of ``variable`` coloured like the VN_AQI class they map to."""
    if variable == "pm25":
        return pm25_classes()
    edges = (0, *AQI_BREAKPOINTS[variable], math.inf)
    out = []
    for (lower, upper), aqi in zip(itertools.pairwise(edges), vn_aqi_classes(), strict=False):
        label = f"> {lower:g} {unit}" if math.isinf(upper) else f"{lower:g}–{upper:g} {unit}"
        out.append(ColourClass(lower, upper, aqi.colour, label))
    return out


def equal_classes(low: float, high: float, colours: tuple[str, ...],
                  unit: str) -> list[ColourClass]:
    """``len(colours)`` equal-width classes over [low, high], the ends left open."""
    if not (math.isfinite(low) and math.isfinite(high)) or high <= low:
        high = low + 1.0
    step = (high - low) / len(colours)
    edges = [low + i * step for i in range(len(colours) + 1)]
    edges[0], edges[-1] = -math.inf, math.inf
    out = []
    for i, colour in enumerate(colours):
        lo, hi = low + i * step, low + (i + 1) * step
        out.append(ColourClass(edges[i], edges[i + 1], colour, f"{lo:.4g}–{hi:.4g} {unit}".strip()))
    return out


def classes_for(kind: str, variable: str, unit: str,
                value_range: tuple[float, float] | None) -> list[ColourClass]:
    """The colour classes of a series."""
    if variable in AQI_BREAKPOINTS:
        return aqi_concentration_classes(variable, unit or "µg/m³")
    if kind == "flood_depth":  # under 1 mm of water a cell is dry: transparent
        first, *rest = flood_depth_classes()
        return [first._replace(lower=DRY_M), *rest]
    low, high = value_range or (0.0, 1.0)
    return equal_classes(low, high, TERRAIN if kind == "dem" else VIRIDIS, unit)


def _rgba(colour: str) -> tuple[int, int, int, int]:
    value = colour.lstrip("#")
    return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16), 255


def colourise(values: np.ndarray, classes: list[ColourClass]) -> np.ndarray:
    """(h, w, 4) uint8: each finite value in its class's colour, the rest transparent.
    Values below the first class (a negative depth) are transparent too."""
    lowers = np.array([c.lower for c in classes], dtype="float64")
    palette = np.array([_rgba(c.colour) for c in classes] + [(0, 0, 0, 0)], dtype="uint8")
    index = np.searchsorted(lowers, values, side="right") - 1
    index[~np.isfinite(values) | (index < 0)] = len(classes)
    return palette[index]


def png(rgba: np.ndarray, compress_level: int = 1) -> bytes:
    """PNG bytes of an RGBA array (level 1: a tile is mostly flat colour, so higher
    levels cost time for little size)."""
    buf = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(buf, format="PNG", compress_level=compress_level)
    return buf.getvalue()


def legend_json(title: str, unit: str, classes: list[ColourClass]) -> dict:
    """The legend as data: the classes with their colours and labels (open ends null)."""
    def bound(v: float):
        return None if math.isinf(v) else v
    return {"title": title, "unit": unit, "type": "classes",
            "classes": [{"lower": bound(c.lower), "upper": bound(c.upper), "colour": c.colour,
                         "label": c.label} for c in classes]}


def _font(size: int):
    for name in ("DejaVuSans.ttf", "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"):
        try:
            return ImageFont.truetype(name, size)
        except OSError:
            continue
    return ImageFont.load_default()


def legend_png(title: str, classes: list[ColourClass]) -> bytes:
    """A legend image: the title, then one swatch and label per class."""
    font, row, pad = _font(13), 22, 8
    labels = [title, *(c.label for c in classes)]
    width = pad * 3 + 18 + max(int(font.getlength(text)) for text in labels)
    image = Image.new("RGBA", (width, pad * 2 + row * (len(classes) + 1)), (255, 255, 255, 230))
    draw = ImageDraw.Draw(image)
    draw.text((pad, pad), title, fill=(0, 0, 0, 255), font=font)
    for i, cls in enumerate(classes, start=1):
        top = pad + i * row
        draw.rectangle((pad, top + 2, pad + 18, top + 16), fill=_rgba(cls.colour),
                       outline=(80, 80, 80, 255))
        draw.text((pad * 2 + 18, top + 1), cls.label, fill=(0, 0, 0, 255), font=font)
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()
