// A station's popup: its hourly AQI over the days around the slider's hour (Features
// items, sorted by time) on the class colour bands, and its PM2.5, PM10 and NO2 from
// OGC API – EDR (CoverageJSON) when the server has EDR.

import { lineChart } from "./chart.js";
import { t } from "./i18n.js";
import { el, fetchJson, HOUR_MS, isoInstant } from "./util.js";

const DAYS_BEFORE = 6;
const DAYS_AFTER = 1;
const POLLUTANTS = [
  { id: "pm25", label: "PM2.5", colour: "#7b3294" },
  { id: "pm10", label: "PM10", colour: "#c2a5cf" },
  { id: "no2", label: "NO₂", colour: "#008837" },
];

/** The chart window around `at`, inside the slider's hours. */
export function chartWindow(at, hours) {
  const from = Math.max(hours[0] ?? at, at - DAYS_BEFORE * 24 * HOUR_MS);
  const to = Math.min(hours[hours.length - 1] ?? at, at + DAYS_AFTER * 24 * HOUR_MS);
  return { from, to };
}

async function aqiSeries(ctx, code, scale, win) {
  const q = new URLSearchParams({ station_code: code, scale, period: "hour",
                                  datetime: `${isoInstant(win.from)}/${isoInstant(win.to)}`,
                                  sortby: "observed_at", limit: "1000", f: "json" });
  const body = await fetchJson(`${ctx.baseUrl}/collections/${ctx.aqiCollection}/items?${q}`);
  return body.features.map((f) => [Date.parse(f.properties.observed_at), f.properties.aqi]);
}

/** A unit as people write it (EDR symbols are often ASCII, e.g. ug/m3). */
function prettyUnit(unit) {
  return { "ug/m3": "µg/m³", "ug m-3": "µg/m³", "mg/m3": "mg/m³" }[unit] || unit;
}

/** {parameter: {unit, points}} from a CoverageJSON Coverage or CoverageCollection. */
export function coverageSeries(doc) {
  const coverages = doc.type === "CoverageCollection" ? doc.coverages : [doc];
  const parameters = doc.parameters || {};
  const out = {};
  for (const coverage of coverages) {
    const domain = coverage.domain || {};
    const times = ((domain.axes || {}).t || {}).values || [];
    for (const [name, range] of Object.entries(coverage.ranges || {})) {
      const spec = (coverage.parameters || parameters)[name] || {};
      const unit = spec.unit ? (spec.unit.symbol?.value ?? spec.unit.symbol ?? spec.unit.label?.en ?? "") : "";
      const series = (out[name] ||= { unit: prettyUnit(unit), points: [] });
      times.forEach((t, i) => series.points.push([Date.parse(t), range.values[i]]));
    }
  }
  for (const series of Object.values(out)) series.points.sort((a, b) => a[0] - b[0]);
  return out;
}

async function pollutantSeries(ctx, code, win) {
  const q = new URLSearchParams({ "parameter-name": POLLUTANTS.map((p) => p.id).join(","),
                                  datetime: `${isoInstant(win.from)}/${isoInstant(win.to)}`, f: "json" });
  const url = `${ctx.baseUrl}/collections/sensor_readings/locations/${encodeURIComponent(code)}?${q}`;
  return coverageSeries(await fetchJson(url));
}

function aqiChart(ctx, points, scale, win) {
  const spec = ctx.scales[scale];
  return lineChart({
    title: t("station.hourly", { scale: spec.title }), yLabel: spec.title, xLabel: ctx.timeAxis(),
    series: [{ label: spec.title, colour: "#222222", points }],
    bands: spec.classes, marker: ctx.now(), from: win.from, to: win.to, formats: ctx.formats(),
  });
}

function pollutantChart(ctx, series, win) {
  const present = POLLUTANTS.filter((p) => series[p.id]);
  const unit = present.length ? series[present[0].id].unit || "µg/m³" : "µg/m³";
  return lineChart({
    title: t("station.pollutants"), yLabel: unit, xLabel: ctx.timeAxis(),
    series: present.map((p) => ({ label: p.label, colour: p.colour, points: series[p.id].points })),
    marker: ctx.now(), from: win.from, to: win.to, formats: ctx.formats(),
    emptyText: t("station.noReadings"),
  });
}

/** Fill `body` with the station's charts; errors show in the popup, never silently. */
export async function stationCharts(ctx, code, body) {
  const scale = ctx.scale();
  const win = chartWindow(ctx.now(), ctx.hours);
  const jobs = [aqiSeries(ctx, code, scale, win)];
  if (ctx.edr) jobs.push(pollutantSeries(ctx, code, win));
  const [aqi, pollutants] = await Promise.allSettled(jobs);
  body.replaceChildren();
  body.append(el("h4", {}, t("station.hourly", { scale: ctx.scales[scale].title })));
  body.append(aqi.status === "fulfilled" ? aqiChart(ctx, aqi.value, scale, win)
                                         : el("p", { class: "error" }, t("station.aqiFailed", { message: aqi.reason.message })));
  if (pollutants) {
    body.append(el("h4", {}, "PM2.5 · PM10 · NO₂"));
    body.append(pollutants.status === "fulfilled" ? pollutantChart(ctx, pollutants.value, win)
                                                  : el("p", { class: "error" },
                                                         t("station.readingsFailed", { message: pollutants.reason.message })));
  }
}
