// A small SVG time-series chart, written here rather than vendored: the viewer needs one
// kind of chart (lines over hours, class colour bands behind, axes with units), which is
// ~150 lines, against a 200 KB charting library.

import { formatNumber, t } from "./i18n.js";

const SVG = "http://www.w3.org/2000/svg";
const MARGIN = { top: 26, right: 12, bottom: 30, left: 44 };

function svg(tag, attrs = {}, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, String(value));
  if (text !== undefined) node.textContent = text;
  return node;
}

/** Round-number ticks covering [lo, hi], about `count` of them. */
export function niceTicks(lo, hi, count = 5) {
  if (!(hi > lo)) hi = lo + 1;
  const raw = (hi - lo) / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((s) => s >= raw);
  const ticks = [];
  const last = Math.ceil(hi / step - 1e-9) * step;
  for (let v = Math.floor(lo / step) * step; v <= last + step * 1e-9; v += step) {
    ticks.push(Number(v.toFixed(10)));
  }
  return { ticks, step };
}

/** Hour ticks at whole local hours, spaced so about six fit. */
function timeTicks(t0, t1, formats) {
  const hours = (t1 - t0) / 3600000;
  const every = [1, 2, 3, 6, 12, 24, 48, 72, 168].find((h) => hours / h <= 6) || 336;
  const ticks = [];
  for (let t = Math.ceil(t0 / 3600000) * 3600000; t <= t1; t += 3600000) {
    const h = formats.hourOfDay(t);
    if (every < 24 ? h % every === 0 : h === 0 && ((t - t0) / 86400000) % (every / 24) < 1) {
      ticks.push(t);
    }
  }
  return ticks;
}

function scales(opts, width, height) {
  const all = opts.series.flatMap((s) => s.points);
  const t0 = opts.from ?? Math.min(...all.map((p) => p[0]));
  const t1 = opts.to ?? Math.max(...all.map((p) => p[0]));
  const values = all.map((p) => p[1]).filter(Number.isFinite);
  const hi = Math.max(opts.yMin ?? 0, ...values) * 1.08 || 1;
  const y = niceTicks(opts.yMin ?? 0, hi);
  const yTop = y.ticks[y.ticks.length - 1];
  const plotW = width - MARGIN.left - MARGIN.right;
  const plotH = height - MARGIN.top - MARGIN.bottom;
  return {
    t0, t1, yTicks: y.ticks, yTop,
    x: (t) => MARGIN.left + ((t - t0) / Math.max(t1 - t0, 1)) * plotW,
    y: (v) => MARGIN.top + plotH - ((v - (opts.yMin ?? 0)) / (yTop - (opts.yMin ?? 0))) * plotH,
    plotW, plotH,
  };
}

/** Path data for one series; a gap longer than `gapMs` starts a new subpath. */
export function pathData(points, sx, sy, gapMs) {
  let d = "";
  let last = null;
  for (const [t, v] of points) {
    if (!Number.isFinite(v)) { last = null; continue; }
    const command = last === null || t - last > gapMs ? "M" : "L";
    d += `${command}${sx(t).toFixed(1)},${sy(v).toFixed(1)}`;
    last = t;
  }
  return d;
}

function drawBands(root, opts, s) {
  for (const band of opts.bands || []) {
    if (band.lower >= s.yTop) continue;
    const top = s.y(Math.min(band.upper ?? s.yTop, s.yTop));
    const bottom = s.y(Math.max(band.lower, opts.yMin ?? 0));
    root.append(svg("rect", { x: MARGIN.left, y: top, width: s.plotW, height: Math.max(bottom - top, 0),
                              fill: band.colour, "fill-opacity": 0.22, class: "band" }));
  }
}

function drawAxes(root, opts, s, formats) {
  const axis = svg("g", { class: "axis" });
  for (const v of s.yTicks) {
    axis.append(svg("line", { x1: MARGIN.left, x2: MARGIN.left + s.plotW, y1: s.y(v), y2: s.y(v), class: "grid" }));
    axis.append(svg("text", { x: MARGIN.left - 5, y: s.y(v) + 3.5, "text-anchor": "end" }, formatNumber(v, 2)));
  }
  for (const t of timeTicks(s.t0, s.t1, formats)) {
    const x = s.x(t);
    axis.append(svg("line", { x1: x, x2: x, y1: MARGIN.top + s.plotH, y2: MARGIN.top + s.plotH + 4, class: "tick" }));
    const label = formats.hourOfDay(t) === 0 ? formats.day(t) : formats.hour(t);
    axis.append(svg("text", { x, y: MARGIN.top + s.plotH + 16, "text-anchor": "middle" }, label));
  }
  axis.append(svg("line", { x1: MARGIN.left, x2: MARGIN.left + s.plotW, y1: MARGIN.top + s.plotH,
                            y2: MARGIN.top + s.plotH, class: "baseline" }));
  axis.append(svg("text", { x: 4, y: 12, class: "unit" }, opts.yLabel || ""));
  axis.append(svg("text", { x: MARGIN.left + s.plotW, y: MARGIN.top + s.plotH + 28, "text-anchor": "end",
                            class: "unit" }, opts.xLabel || ""));
  root.append(axis);
}

function drawLegend(root, opts, width) {
  if (opts.series.length < 2) return;
  let x = width - MARGIN.right;
  for (const series of [...opts.series].reverse()) {
    const label = svg("text", { x, y: 12, "text-anchor": "end", class: "legend-label" }, series.label);
    root.append(label);
    x -= series.label.length * 6.2 + 4;
    root.append(svg("line", { x1: x - 14, x2: x - 2, y1: 8, y2: 8, stroke: series.colour, "stroke-width": 2.5 }));
    x -= 22;
  }
}

/**
 * An SVG chart of hourly series.
 * opts: {series: [{label, colour, points: [[ms, value], ...]}], yLabel, xLabel, bands:
 * [{lower, upper, colour}], marker: ms, from, to, yMin, formats (from util.timeFormats)}.
 */
export function lineChart(opts, width = 360, height = 170) {
  const root = svg("svg", { viewBox: `0 0 ${width} ${height}`, width, height, class: "chart",
                            role: "img", "aria-label": opts.title || opts.yLabel || t("chart.aria") });
  const points = opts.series.flatMap((s) => s.points);
  if (!points.length) {
    root.append(svg("text", { x: width / 2, y: height / 2, "text-anchor": "middle", class: "empty" },
                    opts.emptyText || t("chart.empty")));
    return root;
  }
  const s = scales(opts, width, height);
  drawBands(root, opts, s);
  drawAxes(root, opts, s, opts.formats);
  for (const series of opts.series) {
    const d = pathData(series.points, s.x, s.y, (opts.gapHours ?? 1.5) * 3600000);
    if (d) root.append(svg("path", { d, fill: "none", stroke: series.colour, "stroke-width": 1.8,
                                     "stroke-linejoin": "round", class: "series" }));
  }
  if (opts.marker >= s.t0 && opts.marker <= s.t1) {
    root.append(svg("line", { x1: s.x(opts.marker), x2: s.x(opts.marker), y1: MARGIN.top,
                              y2: MARGIN.top + s.plotH, class: "now" }));
  }
  drawLegend(root, opts, width);
  return root;
}
