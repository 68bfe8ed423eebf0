"""The HTML report: one self-contained page with an interactive folium (Leaflet) map per
topic, its layer control and legend, and the same tables and charts as the PDF.

The page needs no network: Leaflet's script and stylesheet (vendored under
``static/leaflet``, BSD-2) are inlined, charts are embedded PNGs, and the maps have no
basemap tiles (the roads drawn from the city model give the orientation). Popups use
folium's GeoJSON tooltips, which need nothing beyond Leaflet (no jQuery or Bootstrap).

Every string from the database is text, never markup: the page template escapes what it
writes, and the strings handed to folium (tooltips, layer names), which Leaflet puts into
``innerHTML``, are escaped here. The page carries its own Content-Security-Policy
(:mod:`twin.reports.csp`): only its own inline scripts and stylesheets run, so the
legend's swatches are classes of a stylesheet, not ``style`` attributes.
"""

from __future__ import annotations

import base64
import html
import json
import re
from functools import cache
from importlib import resources

import folium
import jinja2
import shapely

from twin.reports import csp, maps
from twin.reports.model import MapLayer, Report, Section, Symbol
from twin.reports.words import brand, say

PACKAGE = resources.files("twin.reports")


@cache
def leaflet_assets() -> tuple[str, str]:
    """Leaflet's JS and CSS, the CSS with its layer-control icons as data URIs."""
    base = PACKAGE / "static" / "leaflet"
    css = (base / "leaflet.css").read_text(encoding="utf-8")
    for name in ("layers.png", "layers-2x.png"):
        data = base64.b64encode((base / "images" / name).read_bytes()).decode()
        css = css.replace(f"url(images/{name})", f"url(data:image/png;base64,{data})")
    return (base / "leaflet.js").read_text(encoding="utf-8"), css


@cache
def _template() -> jinja2.Template:
    env = jinja2.Environment(autoescape=jinja2.select_autoescape(["html"]),
                             undefined=jinja2.StrictUndefined)
    source = (PACKAGE / "templates" / "report.html").read_text(encoding="utf-8")
    return env.from_string(source)


def render_html(report: Report) -> bytes:
    js, css = leaflet_assets()
    swatches: dict[tuple[str, Symbol], str] = {}
    sections = [_section(report, s, i, swatches)
                for i, s in enumerate(report.sections, start=1)]
    page = _template().render(report=report, sections=sections, leaflet_js=js,
                              leaflet_css=css, t=page_words(report),
                              csp_meta=csp.META, swatch_css=swatch_css(swatches))
    return csp.embed(page).encode("utf-8")


def page_words(report: Report) -> dict[str, str]:
    """The page's own words in the report's language (the template escapes them)."""
    lang = report.lang
    return {"map_report": say("map_report", lang), "brand": brand(lang, report.place),
            "legend": say("legend", lang), "contents": say("contents", lang),
            "dashed": say("dashed_boundary", lang, area=report.area.name),
            "footer": say("footer_html", lang, when=report.generated)}


def _section(report: Report, section: Section, number: int,
             swatches: dict[tuple[str, Symbol], str]) -> dict:
    fmap = folium_map(report, section)
    root = fmap.get_root()
    root.render()
    legend = [(title, kind, sym, swatches.setdefault((kind, sym), f"sw{len(swatches)}"))
              for title, kind, sym in maps.legend_entries(section.layers)]
    return {"number": number, "section": section,
            "map_html": root.html.render(), "map_script": root.script.render(),
            "legend": legend,
            "map_caption": say("pdf_projection", report.lang, note=section.map_note,
                               crs=say("crs", report.lang)),
            "charts": [{"title": c.title, "caption": c.caption,
                        "src": "data:image/png;base64," + base64.b64encode(c.png).decode()}
                       for c in section.charts]}


def folium_map(report: Report, section: Section) -> folium.Map:
    """A basemap-free Leaflet map: the area outline, context roads, the section's
    layers as toggleable groups, a layer control and a metric scale."""
    x0, y0, x1, y1 = report.area.geom.bounds
    fmap = folium.Map(tiles=None, control_scale=True, prefer_canvas=True,
                      zoom_snap=0.25, location=[(y0 + y1) / 2, (x0 + x1) / 2])
    for layer in sorted(report.context + section.layers, key=lambda lyr: lyr.zorder):
        if layer.geoms:
            _geojson(layer).add_to(fmap)
    folium.GeoJson(shapely.geometry.mapping(report.area.geom),
                   name=html.escape(say("area_boundary", report.lang)),
                   interactive=False,   # drawn on top: it would take every hover inside it
                   style_function=lambda _: {"color": "#222222", "weight": 2.5,
                                             "dashArray": "8 4", "fill": False}).add_to(fmap)
    folium.LayerControl(collapsed=False).add_to(fmap)
    fmap.fit_bounds([[y0, x0], [y1, x1]])
    return fmap


def _geojson(layer: MapLayer) -> folium.GeoJson:
    features = []
    for i, (geom, cat) in enumerate(zip(layer.geoms, layer.categories, strict=False)):
        sym = layer.symbols.get(cat)
        width = layer.widths[i] if layer.widths else (sym.size if sym else 1)
        features.append({"type": "Feature", "geometry": shapely.geometry.mapping(geom),
                         "properties": {
                             "info": html.escape(layer.popups[i] if layer.popups
                                                 else (sym.label if sym else cat)),
                             "colour": sym.colour if sym else "#999999",
                             "edge": (sym.edge if sym and sym.edge else None),
                             "alpha": sym.alpha if sym else 1.0, "width": width}})
    collection = {"type": "FeatureCollection", "features": features}
    kwargs = {}
    if layer.kind == "point":
        kwargs["marker"] = folium.CircleMarker(radius=5)
    if layer.popups:
        kwargs["tooltip"] = folium.GeoJsonTooltip(fields=["info"], labels=False)
    return folium.GeoJson(json.loads(json.dumps(collection, default=str)),
                          name=html.escape(layer.title),
                          style_function=_style(layer.kind), interactive=bool(layer.popups),
                          control=layer.legend, **kwargs)


def _style(kind: str):
    def style(feature: dict) -> dict:
        p = feature["properties"]
        if kind == "line":
            return {"color": p["colour"], "weight": max(p["width"] * 1.6, 1),
                    "opacity": p["alpha"]}
        if kind == "polygon":
            return {"color": p["edge"] or p["colour"], "weight": 0.5,
                    "fillColor": p["colour"], "fillOpacity": p["alpha"]}
        return {"color": p["edge"] or "#333333", "weight": 1, "fill": True,
                "fillColor": p["colour"],
                "fillOpacity": 0.95, "radius": 5}
    return style


_COLOUR = re.compile(r"#[0-9a-fA-F]{3,8}")


def _colour(value: str | None) -> str:
    """A colour for the stylesheet: #rgb[a] / #rrggbb[aa] only, else grey."""
    return value if value and _COLOUR.fullmatch(value) else "#999999"


def swatch_css(swatches: dict[tuple[str, Symbol], str]) -> str:
    """One rule per legend swatch (kind and symbol), from numbers and checked colours
    only, so the stylesheet is safe to write unescaped."""
    rules = []
    for (kind, sym), cls in swatches.items():
        colour = _colour(sym.colour)
        if kind == "line":
            width = round(max(float(sym.size) * 2, 2))
            rules.append(f".{cls} {{ border-top-color: {colour}; border-top-width: {width}px; "
                         f"opacity: {float(sym.alpha):g}; }}")
        else:
            rules.append(f".{cls} {{ background: {colour}; }}")
    return "\n".join(rules)
