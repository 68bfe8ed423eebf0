"""Overview maps drawn with matplotlib in VN-2000 / UTM zone 48N (EPSG:3405), the CRS
of Vietnamese planning maps, so distances on the printed map are true to the scale bar.

A map shows the area's surroundings faded, the area's layers in full colour, the area
outline, a scale bar, a north arrow (true north, turned by the grid convergence), the
CRS and the date. The legend is not drawn into the image: the PDF and HTML renderers
draw it as text beside the map (selectable, searchable), from :func:`legend_entries`.
"""

from __future__ import annotations

import io
import math

import matplotlib

matplotlib.use("Agg")
import numpy as np
import shapely
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrow, PathPatch, Rectangle
from matplotlib.path import Path as MplPath
from matplotlib.ticker import FuncFormatter
from pyproj import CRS, Proj, Transformer

from twin.reports import words
from twin.reports.model import Area, MapLayer, Symbol

MAP_EPSG = 3405
CRS_LABEL = "EPSG:3405 · VN-2000 / UTM zone 48N"
DPI = 200
MARGIN = 0.06                 # of the area's extent, around it
MAP_ASPECT = 1.3              # width / height of the map frame on an A4 or A3 landscape page
_TO_MAP = Transformer.from_crs(4326, MAP_EPSG, always_xy=True)


def project(geom: shapely.Geometry) -> shapely.Geometry:
    """A CRS84 geometry in EPSG:3405 metres."""
    return shapely.transform(geom, lambda xy: np.column_stack(_TO_MAP.transform(xy[:, 0],
                                                                               xy[:, 1])))


def view_bounds(area: Area, aspect: float) -> tuple[float, float, float, float]:
    """The map's extent in EPSG:3405: the area with a margin, widened to ``aspect``
    (width / height) so the map fills its frame without distortion."""
    x0, y0, x1, y1 = project(area.geom).bounds
    w, h = (x1 - x0) * (1 + 2 * MARGIN), (y1 - y0) * (1 + 2 * MARGIN)
    w, h = max(w, h * aspect), max(h, w / aspect)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    return cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2


def view_bbox_crs84(area: Area, aspect: float) -> tuple[float, float, float, float]:
    """The view's extent in CRS84 (for the query of context features)."""
    x0, y0, x1, y1 = view_bounds(area, aspect)
    lon, lat = _TO_MAP.transform([x0, x1, x0, x1], [y0, y0, y1, y1], direction="INVERSE")
    return min(lon), min(lat), max(lon), max(lat)


def render(area: Area, layers: list[MapLayer], size_in: tuple[float, float],
           date_label: str, lang: str = "en") -> bytes:
    """The map as a PNG of ``size_in`` inches at DPI, its words in ``lang``."""
    fig = Figure(figsize=size_in, dpi=DPI)
    ax = fig.add_axes((0.0, 0.0, 1.0, 1.0))
    bounds = view_bounds(area, size_in[0] / size_in[1])
    ax.set_xlim(bounds[0], bounds[2])
    ax.set_ylim(bounds[1], bounds[3])
    ax.set_aspect("equal")
    ax.set_facecolor("#f7f5f0")
    outline = project(area.geom)
    ax.add_patch(_patch(outline, facecolor="#ffffff", edgecolor="none", zorder=0))
    for layer in sorted(layers, key=lambda lyr: lyr.zorder):
        draw_layer(ax, layer)
    _fade_outside(ax, outline, bounds)
    ax.add_patch(_patch(outline, facecolor="none", edgecolor="#222222", linewidth=1.4,
                        linestyle=(0, (6, 2)), zorder=20))
    scale_bar(ax, bounds, lang)
    north_arrow(ax, bounds, area.geom.centroid, words.say("north", lang))
    _frame(ax, date_label, lang)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, facecolor="white")
    return buf.getvalue()


def draw_layer(ax, layer: MapLayer) -> None:
    geoms = [project(g) for g in layer.geoms]
    if layer.kind == "line":
        segs, colours, widths, alphas = [], [], [], []
        for i, (g, cat) in enumerate(zip(geoms, layer.categories, strict=False)):
            sym = layer.symbols.get(cat)
            width = layer.widths[i] if layer.widths else (sym.size if sym else 0.6)
            for part in shapely.get_parts(g):
                if part.geom_type == "LineString" and not part.is_empty:
                    segs.append(np.asarray(part.coords)[:, :2])
                    colours.append(sym.colour if sym else "#999999")
                    widths.append(width)
                    alphas.append(sym.alpha if sym else 1.0)
        if segs:
            ax.add_collection(LineCollection(segs, colors=_rgba(colours, alphas),
                                             linewidths=widths, capstyle="round",
                                             zorder=layer.zorder))
    elif layer.kind == "polygon":
        for g, cat in zip(geoms, layer.categories, strict=False):
            sym = layer.symbols[cat]
            ax.add_patch(_patch(g, facecolor=sym.colour, edgecolor=sym.edge or "none",
                                linewidth=sym.size, alpha=sym.alpha, zorder=layer.zorder))
    else:
        for cat, sym in layer.symbols.items():
            pts = [g for g, c in zip(geoms, layer.categories, strict=False) if c == cat]
            if pts:
                xy = shapely.get_coordinates(pts)
                ax.scatter(xy[:, 0], xy[:, 1], s=sym.size, c=sym.colour, marker=sym.marker,
                           edgecolors=sym.edge or "none", linewidths=0.5, alpha=sym.alpha,
                           zorder=layer.zorder)


def _rgba(colours: list[str], alphas: list[float]):
    from matplotlib.colors import to_rgba

    return [to_rgba(c, a) for c, a in zip(colours, alphas, strict=False)]


def _rings_path(geom: shapely.Geometry) -> MplPath:
    paths = []
    for poly in shapely.get_parts(geom):
        if poly.geom_type != "Polygon" or poly.is_empty:
            continue
        for ring in [poly.exterior, *poly.interiors]:
            paths.append(MplPath(np.asarray(ring.coords)[:, :2], closed=True))
    return MplPath.make_compound_path(*paths) if paths else MplPath(np.zeros((1, 2)))


def _patch(geom, **kwargs) -> PathPatch:
    return PathPatch(_rings_path(geom), **kwargs)


def _fade_outside(ax, outline, bounds) -> None:
    """Veil what lies outside the area, so the eye stays inside it."""
    frame = shapely.box(*bounds).buffer(10)
    ax.add_patch(_patch(frame.difference(outline), facecolor="#ffffff", edgecolor="none",
                        alpha=0.55, zorder=15))


def nice_length(span: float) -> float:
    """A 1-2-5 length close to a fifth of ``span`` (metres)."""
    target = span / 5
    exp = 10 ** math.floor(math.log10(target))
    return max(m * exp for m in (1, 2, 5) if m * exp <= target)


def scale_bar(ax, bounds, lang: str = "en") -> None:
    """A four-segment black and white bar in the lower left, labelled in m or km."""
    x0, y0, x1, y1 = bounds
    length = nice_length(x1 - x0)
    left, base = x0 + (x1 - x0) * 0.03, y0 + (y1 - y0) * 0.045
    height = (y1 - y0) * 0.012
    ax.add_patch(Rectangle((left - length * 0.05, base - height * 2.2), length * 1.22,
                           height * 5.2, facecolor="white", alpha=0.85, edgecolor="none",
                           zorder=30))
    for i in range(4):
        ax.add_patch(Rectangle((left + i * length / 4, base), length / 4, height,
                               facecolor="black" if i % 2 == 0 else "white",
                               edgecolor="black", linewidth=0.6, zorder=31))
    for frac in (0, 0.5, 1):
        ax.text(left + frac * length, base + height * 1.5, _distance(frac * length, lang),
                ha="center", va="bottom", fontsize=6, zorder=32)


def _distance(metres: float, lang: str = "en") -> str:
    if metres == 0:
        return "0"
    text = f"{metres / 1000:g} km" if metres >= 1000 else f"{metres:g} m"
    return text.replace(".", ",") if lang == "vi" else text


def north_arrow(ax, bounds, centre, letter: str = "N") -> None:
    """An arrow to true north in the upper right: grid north turned by the meridian
    convergence at the area's centre (about 0.3° in Hà Nội)."""
    x0, y0, x1, y1 = bounds
    factors = Proj(CRS.from_epsg(MAP_EPSG)).get_factors(centre.x, centre.y)
    angle = math.radians(factors.meridian_convergence)
    size = (y1 - y0) * 0.07
    cx, cy = x1 - (x1 - x0) * 0.05, y1 - (y1 - y0) * 0.16
    dx, dy = -math.sin(angle) * size, math.cos(angle) * size
    ax.add_patch(FancyArrow(cx, cy, dx, dy, width=size * 0.16, head_width=size * 0.42,
                            head_length=size * 0.45, length_includes_head=True,
                            facecolor="black", edgecolor="black", zorder=31))
    ax.text(cx + dx * 1.12, cy + dy * 1.12, letter, ha="center", va="bottom", fontsize=9,
            fontweight="bold", zorder=32)


def _frame(ax, date_label: str, lang: str = "en") -> None:
    """Frame, grid coordinates in km on the edges, CRS and date in the lower right."""
    point = "," if lang == "vi" else "."
    km = FuncFormatter(lambda v, _: f"{v / 1000:,.1f}".replace(",", " ").replace(".", point))
    ax.xaxis.set_major_formatter(km)
    ax.yaxis.set_major_formatter(km)
    ax.tick_params(direction="in", labelsize=5, pad=-10, colors="#555555", length=3)
    for label in ax.get_yticklabels():
        label.set_horizontalalignment("left")
    for spine in ax.spines.values():
        spine.set_linewidth(0.8)
    ax.text(0.985, 0.02, f"{words.say('crs', lang)}\n{words.say('grid_km', lang)} · "
            f"{date_label}", transform=ax.transAxes,
            ha="right", va="bottom", fontsize=6, zorder=32, linespacing=1.4,
            bbox={"facecolor": "white", "alpha": 0.85, "edgecolor": "none", "pad": 2})


def legend_entries(layers: list[MapLayer]) -> list[tuple[str, str, Symbol]]:
    """(layer title, kind, symbol) for each category present, in drawing order top
    first: what the PDF and HTML legends list."""
    out = []
    for layer in sorted(layers, key=lambda lyr: -lyr.zorder):
        if layer.legend:
            out += [(layer.title, layer.kind, sym) for _, sym in layer.used_symbols()]
    return out
