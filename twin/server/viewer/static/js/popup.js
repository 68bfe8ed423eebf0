// Popups on click: the top feature's properties as a table, and for an air-quality
// station its charts. Properties are written as text (never parsed as HTML); private
// fields are not in the public tiles to begin with. Field names show as the collection
// schema's titles in the page's language (requested with its `lang`), once per layer.

import { language, t } from "./i18n.js";
import { stationCharts } from "./station.js";
import { el, fetchJson } from "./util.js";

const HIDDEN_PROPERTIES = new Set(["colour"]);
const TOLERANCE_PX = 4;  // lines are a pixel wide at city zooms: a click near one hits it

function around(point) {
  return [[point.x - TOLERANCE_PX, point.y - TOLERANCE_PX], [point.x + TOLERANCE_PX, point.y + TOLERANCE_PX]];
}

const fieldTitleCache = new Map();  // "lang/collection" -> Promise<{field: title}>

/** The collection's field titles in the page's language ({} if it has no schema). */
function fieldTitles(baseUrl, collection) {
  const key = `${language()}/${collection}`;
  if (!fieldTitleCache.has(key)) {
    const q = new URLSearchParams({ f: "json", lang: language() });
    const url = `${baseUrl}/collections/${encodeURIComponent(collection)}/schema?${q}`;
    fieldTitleCache.set(key, fetchJson(url).then((doc) => Object.fromEntries(
      Object.entries(doc.properties || {}).map(([name, spec]) => [name, spec.title || name]),
    )).catch(() => ({})));
  }
  return fieldTitleCache.get(key);
}

function propertyTable(properties, titles) {
  const rows = Object.entries(properties)
    .filter(([key, value]) => !HIDDEN_PROPERTIES.has(key) && value !== null && value !== "")
    .map(([key, value]) => el("tr", { "data-field": key },
      el("th", { "data-server-text": "" }, key.replace(/_/g, " ")),
      el("td", { "data-server-text": "" }, String(value))));
  const table = el("table", { class: "props" }, el("tbody", {}, rows));
  titles.then((names) => {
    for (const row of table.querySelectorAll("tr[data-field]")) {
      const name = names[row.dataset.field];
      if (name && name !== row.dataset.field) row.querySelector("th").textContent = name;
    }
  });
  return table;
}

/** The collection a clicked feature belongs to (the AQI frame's is the AQI layer). */
function collectionOf(feature, ctx) {
  return feature.source === ctx.aqiSource ? ctx.aqiCollection : (feature.sourceLayer || feature.source);
}

/** The station code of an AQI frame feature or of an air sensor station, else null. */
function airStation(feature, ctx) {
  const p = feature.properties;
  if (feature.source === ctx.aqiSource) return p.station_code;
  if (feature.sourceLayer === "sensor_stations" && p.kind === "air") return p.code ?? p.external_id;
  return null;
}

/** Pan the map so the popup is clear of the panel, the time bar and the edges. */
function keepInView(map, popup) {
  const box = popup.getElement()?.getBoundingClientRect();
  if (!box) return;
  const frame = map.getContainer().getBoundingClientRect();
  const panel = document.getElementById("panel").getBoundingClientRect();
  const timebar = document.getElementById("timebar");
  const bottom = timebar.hidden ? frame.bottom : timebar.getBoundingClientRect().top;
  const left = panel.right + 10;
  let dx = 0;
  let dy = 0;
  if (box.left < left) dx = box.left - left;
  else if (box.right > frame.right - 10) dx = box.right - frame.right + 10;
  if (box.top < frame.top + 10) dy = box.top - frame.top - 10;
  else if (box.bottom > bottom - 10) dy = Math.min(box.bottom - bottom + 10, box.top - frame.top - 10);
  if (dx || dy) map.panBy([dx, dy], { duration: 300 });
}

function popupContent(feature, ctx, onResize) {
  const p = feature.properties;
  const title = p.station_name || p.name || p.code || p.external_id || ctx.titles[feature.source] || "";
  const head = el("header", {}, el("strong", { "data-server-text": "" }, title),
                  el("span", { class: "layer-name", "data-server-text": "" },
                     ctx.titles[feature.source] || feature.source));
  const content = el("div", { class: "popup" }, head);
  const code = airStation(feature, ctx);
  if (code) {
    const charts = el("div", { class: "charts", "data-station": code }, el("p", { class: "loading" }, t("popup.loading")));
    content.append(charts);
    stationCharts(ctx, code, charts).then(onResize);
  }
  const titles = fieldTitles(ctx.baseUrl, collectionOf(feature, ctx));
  content.append(el("details", { open: code ? null : true }, el("summary", {}, t("popup.properties")),
                    propertyTable(p, titles)));
  return content;
}

/** Click handling for the given style layer ids, with a pointer cursor over features. */
export function installPopups(map, ctx) {
  const popup = new maplibregl.Popup({ maxWidth: "420px", closeButton: true, focusAfterOpen: false });
  const interactive = () => ctx.layerIds().filter((id) => map.getLayer(id)
    && map.getLayoutProperty(id, "visibility") !== "none");
  map.on("click", (event) => {
    const features = map.queryRenderedFeatures(around(event.point), { layers: interactive() });
    if (!features.length) return;
    const top = features.find((f) => f.source === ctx.aqiSource) || features[0];
    const content = popupContent(top, ctx, () => keepInView(map, popup));
    popup.setLngLat(event.lngLat).setDOMContent(content).addTo(map);
    keepInView(map, popup);
  });
  map.on("mousemove", (event) => {
    const hit = map.queryRenderedFeatures(around(event.point), { layers: interactive() }).length > 0;
    map.getCanvas().style.cursor = hit ? "pointer" : "";
  });
  return popup;
}
