// The layer switcher: groups of collections with a checkbox each (and one per group),
// each layer's legend from the shared styles under it, and a hint when a layer only
// draws from a closer zoom. Titles are the collection documents' in the page's language
// (`names`, requested with its `lang`); group names and coded values' labels are the
// viewer's own (i18n.js). Rebuilt when the language changes, keeping what is switched on.

import { aqiClassLabel, formatNumber, groupTitle, t, valueLabel } from "./i18n.js";
import { el } from "./util.js";

function swatch(entry, geometry) {
  const style = geometry === "line"
    ? { background: "transparent", borderTop: `3px solid ${entry.stroke || entry.fill}`, height: "0", marginTop: "6px" }
    : { background: entry.fill || "transparent", border: `1.5px solid ${entry.stroke || entry.fill || "#666"}` };
  return el("span", { class: `swatch ${geometry}`, style });
}

function entryLabel(entry) {
  return entry.field ? valueLabel(entry.field, entry.value, entry.label) : entry.label;
}

function legendList(layer) {
  return el("ul", { class: "legend" }, layer.legend.map((entry) =>
    el("li", {}, swatch(entry, layer.geometry), el("span", {}, entryLabel(entry)))));
}

function layerRow(layer, ctx) {
  const shown = ctx.visible(layer.id);
  const name = ctx.names[layer.id] || {};
  const box = el("input", { type: "checkbox", checked: shown, "data-layer": layer.id,
                            onchange: (event) => ctx.toggle(layer.id, event.target.checked) });
  const first = layer.legend[0] || {};
  // Server texts (collection titles and descriptions) are marked: the page's own texts
  // are the viewer's dictionary, these are the server's in the same language.
  const label = el("label", { title: name.description ?? layer.description, "data-server-text": "" }, box,
                   swatch(first, layer.geometry),
                   el("span", { class: "layer-title", "data-server-text": "" }, name.title ?? layer.title),
                   el("small", { class: "zoom-hint", "data-minzoom": layer.minzoom },
                      t("layers.zoom", { zoom: formatNumber(layer.minzoom) })));
  const row = el("li", { class: "layer", "data-layer": layer.id }, label);
  if (layer.legend.length > 1) {
    const open = ctx.openLegends.has(layer.id);
    row.append(el("details", { class: "layer-legend", open, ontoggle: (event) => {
      if (event.target.open) ctx.openLegends.add(layer.id); else ctx.openLegends.delete(layer.id);
    } }, el("summary", {}, t("layers.legend")), legendList(layer)));
  }
  return row;
}

function groupBlock(group, ctx) {
  const toggle = ctx.toggle;
  const boxes = () => [...block.querySelectorAll("li.layer input[type=checkbox]")];
  const all = el("input", { type: "checkbox", checked: group.layers.some((l) => ctx.visible(l.id)),
                            onchange: (event) => boxes().forEach((box) => {
                              box.checked = event.target.checked;
                              toggle(box.dataset.layer, box.checked);
                            }) });
  const block = el("fieldset", { class: "group", "data-group": group.id },
                   el("legend", {}, el("label", {}, all, groupTitle(group.id, group.title))),
                   el("ul", { class: "layers" }, group.layers.map((layer) => layerRow(layer, ctx))));
  block.addEventListener("change", () => { all.checked = boxes().some((box) => box.checked); });
  return block;
}

/** The layer switcher in #layer-groups: `toggle(id, visible)` shows or hides a layer;
 * `render(names)` (re)writes it with collection titles `{id: {title, description}}`. */
export class Switcher {
  constructor(map, groups, toggle) {
    this.map = map;
    this.groups = groups;
    this.shown = new Map(groups.flatMap((g) => g.layers.map((l) => [l.id, l.visible])));
    this.openLegends = new Set();
    this.toggle = (id, visible) => { this.shown.set(id, visible); toggle(id, visible); };
    this.root = document.getElementById("layer-groups");
    map.on("zoomend", () => this.hints());
  }

  visible(id) {
    return this.shown.get(id) !== false;
  }

  render(names) {
    const ctx = { names, toggle: this.toggle, visible: (id) => this.visible(id),
                  openLegends: this.openLegends };
    this.root.replaceChildren(...this.groups.map((group) => groupBlock(group, ctx)));
    this.hints();
  }

  hints() {
    for (const hint of this.root.querySelectorAll(".zoom-hint")) {
      hint.hidden = this.map.getZoom() >= Number(hint.dataset.minzoom);
    }
  }
}

/** The style layers drawing collection `id` (the shared style tags them). */
export function styleLayersOf(map, id) {
  return map.getStyle().layers
    .filter((layer) => (layer.metadata || {})["twin:collection"] === id || layer.source === id)
    .map((layer) => layer.id);
}

/** The AQI classes of scale `id` ("vn" or "us", `scale` its config) as the legend. */
export function showAqiLegend(id, scale) {
  document.getElementById("aqi-legend").hidden = false;
  document.getElementById("aqi-scale-name").textContent = scale.title;
  document.getElementById("aqi-classes").replaceChildren(...scale.classes.map((c, i) =>
    el("li", { "data-level": i + 1 },
       el("span", { class: "swatch point", style: { background: c.colour, border: "1px solid #333" } }),
       el("span", {}, aqiClassLabel(id, i + 1, c)))));
}
