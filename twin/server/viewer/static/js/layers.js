// The layer switcher: groups of collections with a checkbox each (and one per group),
// each layer's legend from the shared styles under it, and a hint when a layer only
// draws from a closer zoom.

import { el } from "./util.js";

function swatch(entry, geometry) {
  const style = geometry === "line"
    ? { background: "transparent", borderTop: `3px solid ${entry.stroke || entry.fill}`, height: "0", marginTop: "6px" }
    : { background: entry.fill || "transparent", border: `1.5px solid ${entry.stroke || entry.fill || "#666"}` };
  return el("span", { class: `swatch ${geometry}`, style });
}

function legendList(layer) {
  return el("ul", { class: "legend" }, layer.legend.map((entry) =>
    el("li", {}, swatch(entry, layer.geometry), el("span", {}, entry.label))));
}

function layerRow(layer, toggle) {
  const box = el("input", { type: "checkbox", checked: layer.visible, "data-layer": layer.id,
                            onchange: (event) => toggle(layer.id, event.target.checked) });
  const first = layer.legend[0] || {};
  const label = el("label", { title: layer.description }, box,
                   swatch(first, layer.geometry), el("span", { class: "layer-title" }, layer.title),
                   el("small", { class: "zoom-hint", "data-minzoom": layer.minzoom }, `zoom ≥ ${layer.minzoom}`));
  const row = el("li", { class: "layer", "data-layer": layer.id }, label);
  if (layer.legend.length > 1) {
    row.append(el("details", { class: "layer-legend" }, el("summary", {}, "Legend"), legendList(layer)));
  }
  return row;
}

function groupBlock(group, toggle) {
  const boxes = () => [...block.querySelectorAll("li.layer input[type=checkbox]")];
  const all = el("input", { type: "checkbox", checked: group.layers.some((l) => l.visible),
                            onchange: (event) => boxes().forEach((box) => {
                              box.checked = event.target.checked;
                              toggle(box.dataset.layer, box.checked);
                            }) });
  const block = el("fieldset", { class: "group", "data-group": group.id },
                   el("legend", {}, el("label", {}, all, group.title)),
                   el("ul", { class: "layers" }, group.layers.map((layer) => layerRow(layer, toggle))));
  block.addEventListener("change", () => { all.checked = boxes().some((box) => box.checked); });
  return block;
}

/** Build the switcher into #layer-groups; `toggle(id, visible)` shows or hides a layer. */
export function buildSwitcher(map, groups, toggle) {
  const root = document.getElementById("layer-groups");
  root.replaceChildren(...groups.map((group) => groupBlock(group, toggle)));
  const hints = () => {
    for (const hint of root.querySelectorAll(".zoom-hint")) {
      hint.hidden = map.getZoom() >= Number(hint.dataset.minzoom);
    }
  };
  map.on("zoomend", hints);
  hints();
}

/** The style layers drawing collection `id` (the shared style tags them). */
export function styleLayersOf(map, id) {
  return map.getStyle().layers
    .filter((layer) => (layer.metadata || {})["twin:collection"] === id || layer.source === id)
    .map((layer) => layer.id);
}

/** The AQI classes of the current scale as the air-quality legend. */
export function showAqiLegend(scale) {
  document.getElementById("aqi-legend").hidden = false;
  document.getElementById("aqi-scale-name").textContent = scale.title;
  document.getElementById("aqi-classes").replaceChildren(...scale.classes.map((c) =>
    el("li", {}, el("span", { class: "swatch point", style: { background: c.colour, border: "1px solid #333" } }),
       el("span", {}, c.label))));
}
