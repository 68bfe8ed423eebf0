"""Charts as PNG images (matplotlib, Agg): daily AQI per station and flooded road
kilometres per hour. Both renderers embed the same images."""

from __future__ import annotations

import io
from datetime import date, datetime, timedelta, tzinfo

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from twin.i18n import DEFAULT, number
from twin.reports import words
from twin.styles.ramps import vn_aqi_classes

FONT = {"family": "DejaVu Sans", "size": 8}
SIZE_IN = (10.0, 3.4)
DPI = 200
LINE_COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#8c564b", "#e377c2",
                "#17becf", "#7f7f7f", "#bcbd22", "#ff7f0e")


def plain_label(name: str) -> str:
    """A station's name as matplotlib should print it: ``$`` escaped, since matplotlib
    reads ``$...$`` as mathtext (and one it cannot parse fails the chart and the
    report); a leading ``_`` kept visible (matplotlib hides such labels)."""
    name = name.replace("$", r"\$")
    return "\u2009" + name if name.startswith("_") else name


def _figure(lang: str) -> tuple[Figure, object]:
    fig = Figure(figsize=SIZE_IN, dpi=DPI)
    ax = fig.add_subplot()
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: _tick(v, lang)))
    ax.grid(axis="y", color="#dddddd", linewidth=0.5)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.tick_params(labelsize=FONT["size"])
    return fig, ax


def _tick(value: float, lang: str) -> str:
    """An axis value as the report's language writes numbers (decimal comma in vi)."""
    if float(value).is_integer():
        return number(int(value), lang)
    return number(float(value), lang, 1)


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, bbox_inches="tight", facecolor="white")
    return buf.getvalue()


def daily_aqi(series: dict[str, list[tuple[date, int]]], start: date, end: date,
              lang: str = DEFAULT) -> bytes:
    """One line per station over the VN_AQI class bands (light tints of the class
    colours), so a reader sees which class each day fell in."""
    fig, ax = _figure(lang)
    top = max((a for s in series.values() for _, a in s), default=100)
    ymax = max(110, top * 1.15)
    for cls in vn_aqi_classes():
        if cls.lower < ymax:
            ax.axhspan(cls.lower, min(cls.upper, ymax), color=cls.colour, alpha=0.13, lw=0)
    for i, (name, points) in enumerate(sorted(series.items())):
        days, values = zip(*points, strict=False)
        ax.plot(days, values, marker="o", markersize=2.5, linewidth=1.1,
                color=LINE_COLOURS[i % len(LINE_COLOURS)], label=plain_label(name))
    ax.set_ylim(0, ymax)
    ax.set_xlim(start - timedelta(hours=12), end + timedelta(hours=12))
    ax.set_ylabel(words.say("daily_axis", lang), fontsize=FONT["size"])
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%b %d" if lang == "en" else "%d/%m"))
    ax.xaxis.set_major_locator(mdates.AutoDateLocator(maxticks=16))
    ax.legend(fontsize=6.5, ncol=min(4, max(1, len(series))), frameon=False,
              loc="upper left", bbox_to_anchor=(0, -0.12))
    return _png(fig)


def flooded_km(hourly: list[tuple[datetime, float]], tz: tzinfo,
               lang: str = DEFAULT) -> bytes:
    """Bars of flooded road kilometres per hour (local time of the city's zone ``tz``,
    24-hour clock)."""
    fig, ax = _figure(lang)
    if hourly:
        hours, km = zip(*hourly, strict=False)
        local = [h.astimezone(tz) for h in hours]
        ax.bar(local, km, width=1 / 24 * 0.85, color="#2171b5", align="edge")
        ax.xaxis.set_major_formatter(mdates.DateFormatter(
            "%d/%m %H:00" if lang == "en" else "%H:00 %d/%m", tz=tz))
    ax.set_ylabel(words.say("flood_axis", lang), fontsize=FONT["size"])
    ax.set_ylim(bottom=0)
    return _png(fig)

