// Interpolated air-quality surfaces (PM2.5, PM10, NO2) at the slider's hour: the
// coverage's map tiles (OGC API – Maps tiles) filtered by ``datetime``, under the
// vector layers, with the collection's legend. Only collections the server lists are
// drawn, and only at hours inside their temporal extent, so a city without surfaces
// makes no request that fails.

import { el, fetchJson, isoInstant } from "./util.js";

const SOURCE = "air-surface";

/** The configured pollutants whose surface collection this server has, with extents. */
export async function availableSurfaces(baseUrl, surfaces) {
  const doc = await fetchJson(`${baseUrl}/collections?f=json`);
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
    this.legends[collection] ??= await fetchJson(
      `${this.baseUrl}/collections/${collection}/legend?f=json`);
    const legend = this.legends[collection];
    document.getElementById("surface-classes").replaceChildren(...legend.classes.map((c) =>
      el("li", {}, el("span", { class: "swatch", style: { background: c.colour } }),
         el("span", {}, c.label))));
    document.getElementById("surface-unit").textContent = `${title} (${legend.unit || "µg/m³"})`;
  }

  /** The panel section: a switch between pollutants (and off) and the legend. */
  panel() {
    const select = el("select", { id: "surface-pollutant", "aria-label": "Surface pollutant",
                                  onchange: (event) => this.#onSelect(event.target.value) },
      ...this.entries.map((e) => el("option", { value: e.id }, e.title)),
      el("option", { value: "" }, "off"));
    const section = el("section", { id: "surface-legend", class: "panel-section",
                                    "aria-label": "Air-quality surface" },
      el("h2", {}, "Interpolated surface ", select),
      el("p", { id: "surface-unit", class: "subtitle" }),
      el("ul", { id: "surface-classes", class: "legend" }));
    const anchor = document.getElementById("aqi-legend");
    anchor.parentNode.insertBefore(section, anchor);
    return this.showLegend();
  }

  #onSelect(value) {
    if (!value) { this.setVisible(false); return; }
    this.visible = true;
    this.choose(value);
  }
}
