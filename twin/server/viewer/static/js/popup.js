// Popups on click: the top feature's properties as a table, and for an air-quality
// station its charts. Properties are written as text (never parsed as HTML); private
// fields are not in the public tiles to begin with.

import { stationCharts } from "./station.js";
import { el } from "./util.js";

const HIDDEN_PROPERTIES = new Set(["colour"]);
const TOLERANCE_PX = 4;  // lines are a pixel wide at city zooms: a click near one hits it

function around(point) {
  return [[point.x - TOLERANCE_PX, point.y - TOLERANCE_PX], [point.x + TOLERANCE_PX, point.y + TOLERANCE_PX]];
}

function propertyTable(properties) {
  const rows = Object.entries(properties)
    .filter(([key, value]) => !HIDDEN_PROPERTIES.has(key) && value !== null && value !== "")
    .map(([key, value]) => el("tr", {}, el("th", {}, key.replace(/_/g, " ")), el("td", {}, String(value))));
  return el("table", { class: "props" }, el("tbody", {}, rows));
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
  const head = el("header", {}, el("strong", {}, title),
                  el("span", { class: "layer-name" }, ctx.titles[feature.source] || feature.source));
  const content = el("div", { class: "popup" }, head);
  const code = airStation(feature, ctx);
  if (code) {
    const charts = el("div", { class: "charts", "data-station": code }, el("p", { class: "loading" }, "Loading series…"));
    content.append(charts);
    stationCharts(ctx, code, charts).then(onResize);
  }
  content.append(el("details", { open: code ? null : true }, el("summary", {}, "Properties"), propertyTable(p)));
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
