// The viewer's start: read /viewer/config.json, frame the city, draw twin's own vector
// tiles with the shared style (no basemap, no glyphs, nothing from outside this server),
// then wire the layer switcher, popups, and the time slider over hourly AQI, floods and
// the interpolated pollutant surfaces. Texts are in the page's language (i18n.js); the
// VI | EN switch rewrites them in place (language.js) and keeps the choice.
// `window.twinViewer` exposes the map and frame statistics (for tests and the curious).

import { alertsPanel } from "./alerts.js";
import { AqiFrames, AqiLayer } from "./aqi.js";
import { FloodLayer } from "./flood.js";
import { formatNumber, mapLocale, t, timeFormats } from "./i18n.js";
import { collectionNames, initialLanguage, LanguageSwitch } from "./language.js";
import { showAqiLegend, styleLayersOf, Switcher } from "./layers.js";
import { installPopups } from "./popup.js";
import { availableSurfaces, SurfaceLayer } from "./surface.js";
import { hoursOf, Timeline } from "./timeline.js";
import { fetchJson, floorHour, HOUR_MS } from "./util.js";

const PREFETCH_HOURS = 6;
let statusKey = ["status.loading", {}];
const status = (key, vars = {}) => {
  statusKey = [key, vars];
  document.getElementById("status").textContent = t(key, vars);
};

async function temporalInterval(config, collection) {
  const doc = await fetchJson(`${config.base_url}/collections/${collection}?f=json`);
  const intervals = ((doc.extent || {}).temporal || {}).interval || [];
  return intervals[0] || [null, null];
}

/** The slider's hours: the union of the AQI and flood collections' temporal extents. */
async function sliderHours(config) {
  const time = config.time;
  const names = [time.aqi?.collection, time.flood?.collection].filter(Boolean);
  const intervals = await Promise.all(names.map((name) => temporalInterval(config, name)));
  return hoursOf(intervals, floorHour, HOUR_MS);
}

function createMap(config, hours) {
  const style = structuredClone(config.style);
  // The sources' attribution is the panel's footer, written in the page's language.
  for (const source of Object.values(style.sources)) delete source.attribution;
  const flood = config.time.flood && style.sources[config.time.flood.collection];
  if (flood && hours.length) flood.tiles = [FloodLayer.tilesAt(flood.tiles[0], hours[hours.length - 1])];
  const [west, south, east, north] = config.bbox;
  const map = new maplibregl.Map({
    container: "map", style, bounds: [[west, south], [east, north]],
    fitBoundsOptions: { padding: { top: 30, bottom: 110, left: 330, right: 30 } },
    maxZoom: 20, attributionControl: { compact: true }, dragRotate: false, locale: mapLocale(),
  });
  map.addControl(new maplibregl.NavigationControl({ showCompass: false }), "top-right");
  map.addControl(new maplibregl.ScaleControl({ unit: "metric" }), "bottom-right");
  return map;
}

function visibilityToggle(map, aqiLayer, aqiCollection) {
  return (id, visible) => {
    if (id === aqiCollection && aqiLayer) {
      aqiLayer.setVisible(visible);
      return;
    }
    for (const layerId of styleLayersOf(map, id)) {
      map.setLayoutProperty(layerId, "visibility", visible ? "visible" : "none");
    }
  };
}

/** The pollutant surfaces this server has, drawn over fills and under lines and points. */
async function surfaceLayer(map, config, collections) {
  const spec = config.time.surface;
  const entries = spec ? availableSurfaces(collections, spec) : [];
  if (!entries.length) return null;
  const over = map.getStyle().layers.find((l) => ["line", "circle", "symbol"].includes(l.type));
  const layer = new SurfaceLayer(map, config.base_url, entries, spec.opacity, over?.id);
  await layer.panel();
  return layer;
}

function frameStats(frames, count) {
  const s = frames.stats();
  document.getElementById("frame-stats").textContent = t("frames.stats", {
    stations: formatNumber(count), load: formatNumber(Math.round(s.median_ms ?? 0)),
    wait: formatNumber(Math.round(s.wait_median_ms ?? 0)), cached: formatNumber(s.cached) });
}

/** What happens when the slider lands on an hour: floods by tiles, AQI by frame. */
function onTimeHandler(ctx) {
  return async (ms, isCurrent) => {
    if (ctx.flood) ctx.flood.show(ms);
    if (ctx.surface) ctx.surface.show(ms);
    if (ctx.alerts) ctx.alerts.show(ms, ms === ctx.hours[ctx.hours.length - 1]);
    if (!ctx.aqi) return;
    const frame = await ctx.frames.show(ctx.scale, ms);
    if (!isCurrent()) return;
    ctx.aqi.show(frame);
    const i = ctx.hours.indexOf(ms);
    const ahead = [];
    for (let k = 1; k <= PREFETCH_HOURS; k += 1) ahead.push(ctx.hours[(i + k) % ctx.hours.length]);
    ctx.frames.prefetch(ctx.scale, ahead);
    ctx.stations = frame.features.length;
    frameStats(ctx.frames, ctx.stations);
  };
}

function startTimeline(map, config, ctx) {
  if (!ctx.hours.length) return null;
  const timeline = new Timeline({
    hours: ctx.hours, formats: ctx.formats, onTime: onTimeHandler(ctx),
    onScale: (scale) => {
      ctx.scale = scale;
      ctx.aqi?.setScale(scale);
      showAqiLegend(scale, config.time.aqi.scales[scale]);
      timeline.goTo(timeline.index);
    },
  });
  return timeline;
}

function setInitialVisibility(map, config, toggle) {
  for (const group of config.groups) {
    for (const layer of group.layers) if (!layer.visible) toggle(layer.id, false);
  }
}

/** Layer titles for popups: {source id: title} in the page's language (kept in place). */
function fillTitles(titles, config, names) {
  for (const group of config.groups) {
    for (const layer of group.layers) titles[layer.id] = names[layer.id]?.title ?? layer.title;
  }
  if (config.time.aqi) titles[config.time.aqi.source] = titles[config.time.aqi.collection];
  return titles;
}

/** Everything written in words, again in the page's language (after the switch). */
async function relabel(viewer, names) {
  const { ctx, config, switcher, timeline } = viewer;
  ctx.formats = timeFormats(config.time.timezone);
  switcher.render(names);
  fillTitles(ctx.titles, config, names);
  if (ctx.aqi) showAqiLegend(ctx.scale, config.time.aqi.scales[ctx.scale]);
  if (timeline) timeline.relabel(ctx.formats);
  if (ctx.stations !== undefined) frameStats(ctx.frames, ctx.stations);
  status(...statusKey);
  ctx.popup.remove();
  if (ctx.alerts) ctx.alerts.render();
  if (ctx.surface) await ctx.surface.relabel();
}

async function start() {
  // Tiles fill the Resource Timing buffer quickly; frames read their timing from it.
  performance.setResourceTimingBufferSize(2000);
  performance.addEventListener("resourcetimingbufferfull", () => performance.clearResourceTimings());
  const languages = new LanguageSwitch(initialLanguage());
  const config = await fetchJson("viewer/config.json");
  const time = config.time;
  const [hours, collections] = await Promise.all([sliderHours(config),
                                                  collectionNames(config.base_url)]);
  const map = createMap(config, hours);
  await new Promise((resolve) => map.once("load", resolve));
  const ctx = {
    baseUrl: config.base_url, hours, formats: timeFormats(time.timezone), scale: "vn",
    flood: time.flood ? new FloodLayer(map, time.flood.collection) : null,
    aqi: time.aqi ? new AqiLayer(map, time.aqi.scales, time.aqi.source) : null,
    frames: time.aqi ? new AqiFrames(config.base_url, time.aqi.collection) : null,
  };
  if (ctx.aqi) { ctx.aqi.add("vn"); showAqiLegend("vn", time.aqi.scales.vn); }
  ctx.surface = await surfaceLayer(map, config, collections.doc);
  ctx.alerts = await alertsPanel(map, { baseUrl: config.base_url, formats: () => ctx.formats });
  if (ctx.alerts && !hours.length) await ctx.alerts.show(null, true);
  const toggle = visibilityToggle(map, ctx.aqi, time.aqi?.collection);
  setInitialVisibility(map, config, toggle);
  const switcher = new Switcher(map, config.groups, toggle);
  switcher.render(collections.names);
  ctx.titles = fillTitles({}, config, collections.names);
  const timeline = startTimeline(map, config, ctx);
  ctx.popup = installPopups(map, {
    baseUrl: config.base_url, aqiSource: time.aqi?.source, aqiCollection: time.aqi?.collection,
    scales: time.aqi?.scales, edr: config.services.edr, formats: () => ctx.formats, hours,
    titles: ctx.titles, timeAxis: () => languages.timeAxis(),
    scale: () => ctx.scale, now: () => (timeline ? timeline.current : Date.now()),
    layerIds: () => map.getStyle().layers.filter((l) => l.type !== "background").map((l) => l.id),
  });
  if (timeline) { timeline.relabel(ctx.formats); await timeline.goTo(timeline.index); }
  if (hours.length) status("status.hours", { count: formatNumber(hours.length) });
  else status("status.noTime");
  const viewer = { map, config, timeline, frames: ctx.frames, ctx, switcher, languages };
  await languages.attach(map, config, (names) => relabel(viewer, names), timeline);
  return viewer;
}

window.twinViewer = { ready: start() };
window.twinViewer.ready.then(
  (viewer) => Object.assign(window.twinViewer, viewer),
  (error) => { status("status.failed", { message: error.message }); throw error; },
);
