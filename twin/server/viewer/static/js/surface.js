// Interpolated air-quality surfaces (PM2.5, PM10, NO2) at the slider's hour: the
// coverage's map tiles (OGC API – Maps tiles) filtered by ``datetime``, under the
// vector layers, with the collection's legend. Only collections the server lists are
// drawn, and only at hours inside their temporal extent, so a city without surfaces
// makes no request that fails.

import { localiseNumbers, t } from "./i18n.js";
import { el, fetchJson, isoInstant } from "./util.js";

const SOURCE = "air-surface";

/** The configured pollutants whose surface collection this server has, with extents
 * (`doc`: the server's /collections document). */
export function availableSurfaces(doc, surfaces) {
  const found = Object.fromEntries((doc.collections || []).map((c) => [c.id, c]));
  const out = [];
  for (const entry of surfaces.pollutants) {
    const c = found[entry.collection];
    if (!c) continue;
    const [begin, end] = ((c.extent || {}).temporal || {}).interval?.[0] || [null, null];
    out.push({ ...entry, begin: begin && Date.parse(begin), end: end && Date.parse(end) });
  }
  return out;
}

export class SurfaceLayer {
  constructor(map, baseUrl, entries, opacity, beforeId) {
    Object.assign(this, { map, baseUrl, entries, opacity, beforeId });
    this.current = entries[0];
    this.ms = null;
    this.visible = true;
    this.legends = {};
  }

  /** A tile URL template of `collection` at hour `ms`. */
  static tilesAt(baseUrl, collection, ms) {
    return `${baseUrl}/collections/${collection}/map/tiles/WebMercatorQuad/{z}/{y}/{x}` +
      `?datetime=${encodeURIComponent(isoInstant(ms))}`;
  }

  #inExtent(ms) {
    const { begin, end } = this.current;
    return ms !== null && (!begin || ms >= begin) && (!end || ms <= end);
  }

  show(ms) {
    this.ms = ms;
    const wanted = this.visible && this.#inExtent(ms);
    if (this.map.getLayer(SOURCE)) {
      this.map.setLayoutProperty(SOURCE, "visibility", wanted ? "visible" : "none");
    }
    if (!wanted) return;
    const tiles = [SurfaceLayer.tilesAt(this.baseUrl, this.current.collection, ms)];
    const source = this.map.getSource(SOURCE);
    if (source) { source.setTiles(tiles); return; }
    this.map.addSource(SOURCE, { type: "raster", tileSize: 256, tiles });
    const before = this.beforeId && this.map.getLayer(this.beforeId) ? this.beforeId : undefined;
    this.map.addLayer({ id: SOURCE, type: "raster", source: SOURCE,
                        paint: { "raster-opacity": this.opacity, "raster-fade-duration": 0 } },
                      before);
  }

  async choose(pollutant) {
    this.current = this.entries.find((e) => e.id === pollutant) || this.entries[0];
    this.show(this.ms);
    await this.showLegend();
  }

  setVisible(visible) {
    this.visible = visible;
    this.show(this.ms);
  }

  async showLegend() {
    const { collection, title } = this.current;
    // Classes are numbers and units (written with the page's decimal sign below).
    this.legends[collection] ??= await fetchJson(
      `${this.baseUrl}/collections/${collection}/legend?f=json`);
    const legend = this.legends[collection];
    document.getElementById("surface-classes").replaceChildren(...legend.classes.map((c) =>
      el("li", {}, el("span", { class: "swatch", style: { background: c.colour } }),
         el("span", {}, localiseNumbers(c.label)))));
    document.getElementById("surface-unit").textContent = `${title} (${legend.unit || "µg/m³"})`;
  }

  /** The panel section: a switch between pollutants (and off) and the legend. */
  panel() {
    this.select = el("select", { id: "surface-pollutant",
                                 onchange: (event) => this.#onSelect(event.target.value) },
      ...this.entries.map((e) => el("option", { value: e.id }, e.title)),
      el("option", { value: "", "data-i18n": "surface.off" }));
    this.section = el("section", { id: "surface-legend", class: "panel-section" },
      el("h2", {}, el("span", { "data-i18n": "surface.heading" }), " ", this.select),
      el("p", { id: "surface-unit", class: "subtitle" }),
      el("ul", { id: "surface-classes", class: "legend" }));
    const anchor = document.getElementById("aqi-legend");
    anchor.parentNode.insertBefore(this.section, anchor);
    return this.relabel();
  }

  /** Write the section's texts in the page's language (at start and on a switch). */
  relabel() {
    this.select.setAttribute("aria-label", t("surface.select"));
    this.section.setAttribute("aria-label", t("surface.aria"));
    for (const node of this.section.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
    return this.showLegend();
  }

  #onSelect(value) {
    if (!value) { this.setVisible(false); return; }
    this.visible = true;
    this.choose(value);
  }
}
