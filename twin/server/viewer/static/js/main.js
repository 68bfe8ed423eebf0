// The viewer's start: read /viewer/config.json, frame the city, draw twin's own vector
// tiles with the shared style (no basemap, no glyphs, nothing from outside this server),
// then wire the layer switcher, popups, and the time slider over hourly AQI, floods and
// the interpolated pollutant surfaces.
// `window.twinViewer` exposes the map and frame statistics (for tests and the curious).

import { AqiFrames, AqiLayer } from "./aqi.js";
import { FloodLayer } from "./flood.js";
import { buildSwitcher, showAqiLegend, styleLayersOf } from "./layers.js";
import { installPopups } from "./popup.js";
import { availableSurfaces, SurfaceLayer } from "./surface.js";
import { hoursOf, Timeline } from "./timeline.js";
import { fetchJson, floorHour, HOUR_MS, timeFormats } from "./util.js";

const PREFETCH_HOURS = 6;
const status = (text) => { document.getElementById("status").textContent = text; };

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
  const flood = config.time.flood && style.sources[config.time.flood.collection];
  if (flood && hours.length) flood.tiles = [FloodLayer.tilesAt(flood.tiles[0], hours[hours.length - 1])];
  const [west, south, east, north] = config.bbox;
  const map = new maplibregl.Map({
    container: "map", style, bounds: [[west, south], [east, north]],
    fitBoundsOptions: { padding: { top: 30, bottom: 110, left: 330, right: 30 } },
    maxZoom: 20, attributionControl: { compact: true }, dragRotate: false,
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
async function surfaceLayer(map, config) {
  const spec = config.time.surface;
  const entries = spec ? await availableSurfaces(config.base_url, spec) : [];
  if (!entries.length) return null;
  const over = map.getStyle().layers.find((l) => ["line", "circle", "symbol"].includes(l.type));
  const layer = new SurfaceLayer(map, config.base_url, entries, spec.opacity, over?.id);
  await layer.panel();
  return layer;
}

function frameStats(frames, count) {
  const s = frames.stats();
  document.getElementById("frame-stats").textContent =
    `${count} stations · frame load median ${Math.round(s.median_ms ?? 0)} ms · ` +
    `wait median ${Math.round(s.wait_median_ms ?? 0)} ms · ${s.cached} cached`;
}

/** What happens when the slider lands on an hour: floods by tiles, AQI by frame. */
function onTimeHandler(ctx) {
  return async (ms, isCurrent) => {
    if (ctx.flood) ctx.flood.show(ms);
    if (ctx.surface) ctx.surface.show(ms);
    if (!ctx.aqi) return;
    const frame = await ctx.frames.show(ctx.scale, ms);
    if (!isCurrent()) return;
    ctx.aqi.show(frame);
    const i = ctx.hours.indexOf(ms);
    const ahead = [];
    for (let k = 1; k <= PREFETCH_HOURS; k += 1) ahead.push(ctx.hours[(i + k) % ctx.hours.length]);
    ctx.frames.prefetch(ctx.scale, ahead);
    frameStats(ctx.frames, frame.features.length);
  };
}

function startTimeline(map, config, ctx) {
  if (!ctx.hours.length) return null;
  const timeline = new Timeline({
    hours: ctx.hours, formats: ctx.formats, onTime: onTimeHandler(ctx),
    onScale: (scale) => {
      ctx.scale = scale;
      ctx.aqi?.setScale(scale);
      showAqiLegend(config.time.aqi.scales[scale]);
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

async function start() {
  // Tiles fill the Resource Timing buffer quickly; frames read their timing from it.
  performance.setResourceTimingBufferSize(2000);
  performance.addEventListener("resourcetimingbufferfull", () => performance.clearResourceTimings());
  const config = await fetchJson("viewer/config.json");
  const time = config.time;
  const hours = await sliderHours(config);
  const map = createMap(config, hours);
  await new Promise((resolve) => map.once("load", resolve));
  const ctx = {
    baseUrl: config.base_url, hours, formats: timeFormats(time.timezone), scale: "vn",
    flood: time.flood ? new FloodLayer(map, time.flood.collection) : null,
    aqi: time.aqi ? new AqiLayer(map, time.aqi.scales, time.aqi.source) : null,
    frames: time.aqi ? new AqiFrames(config.base_url, time.aqi.collection) : null,
  };
  if (ctx.aqi) { ctx.aqi.add("vn"); showAqiLegend(time.aqi.scales.vn); }
  ctx.surface = await surfaceLayer(map, config);
  const toggle = visibilityToggle(map, ctx.aqi, time.aqi?.collection);
  setInitialVisibility(map, config, toggle);
  buildSwitcher(map, config.groups, toggle);
  const titles = Object.fromEntries(config.groups.flatMap((g) => g.layers.map((l) => [l.id, l.title])));
  if (time.aqi) titles[time.aqi.source] = titles[time.aqi.collection];
  const timeline = startTimeline(map, config, ctx);
  installPopups(map, {
    baseUrl: config.base_url, aqiSource: time.aqi?.source, aqiCollection: time.aqi?.collection,
    scales: time.aqi?.scales, edr: config.services.edr, formats: ctx.formats, hours, titles,
    scale: () => ctx.scale, now: () => (timeline ? timeline.current : Date.now()),
    layerIds: () => map.getStyle().layers.filter((l) => l.type !== "background").map((l) => l.id),
  });
  if (timeline) await timeline.goTo(timeline.index);
  status(hours.length ? `${hours.length} hours of data` : "No time-aware data yet");
  return { map, config, timeline, frames: ctx.frames, ctx };
}

window.twinViewer = { ready: start() };
window.twinViewer.ready.then(
  (viewer) => Object.assign(window.twinViewer, viewer),
  (error) => { status(`The viewer could not start: ${error.message}`); throw error; },
);
