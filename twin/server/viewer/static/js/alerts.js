// Alerts in the viewer (issue 18, point 5): the alerts active at the slider's hour as a
// list coloured by CAP severity, their stations, areas and roads highlighted on the map,
// kept live by /alerts/stream (Server-Sent Events), and acknowledged by an agency with
// its API key. At the slider's latest hour the list is live (the open and acknowledged
// alerts now); at an earlier hour it replays what was active then (/alerts?datetime=,
// the alerts layer's validity: opened_at <= t < resolved_at).
// Server texts (an alert's title and subject) are set as text only and marked
// data-server-text; every other word is the viewer's dictionary's (i18n.js).

import { formatNumber, language, t } from "./i18n.js";
import { el, fetchJson, isoInstant } from "./util.js";

/** CAP 1.2 severities, gravest first, and their colours (the reports use the same). */
export const SEVERITIES = ["extreme", "severe", "moderate", "minor"];
export const SEVERITY_COLOURS = {
  minor: "#f2c500", moderate: "#f57c00", severe: "#d32f2f", extreme: "#6a1b9a",
};
export const SOURCE = "twin-alerts";
const LIMIT = 1000;
const REFRESH_MS = 250;          // stream events arriving together refresh the list once
const COLOUR = ["match", ["get", "severity"],
  ...Object.entries(SEVERITY_COLOURS).flat(), "#888888"];

function mapLayers() {
  const polygons = ["==", ["geometry-type"], "Polygon"];
  return [
    { id: `${SOURCE}-fill`, type: "fill", source: SOURCE, filter: polygons,
      paint: { "fill-color": COLOUR, "fill-opacity": 0.3 } },
    { id: `${SOURCE}-line`, type: "line", source: SOURCE,
      filter: ["in", ["geometry-type"], ["literal", ["Polygon", "LineString"]]],
      paint: { "line-color": COLOUR, "line-width": 4, "line-opacity": 0.9 } },
    { id: `${SOURCE}-circle`, type: "circle", source: SOURCE,
      filter: ["==", ["geometry-type"], "Point"],
      paint: { "circle-radius": 11, "circle-color": COLOUR, "circle-opacity": 0.35,
               "circle-stroke-color": COLOUR, "circle-stroke-width": 3 } },
  ];
}

function gravity(alert) {
  const i = SEVERITIES.indexOf(alert.severity);
  return i < 0 ? SEVERITIES.length : i;
}

/** An alert's title in the page's language (the server sends both). */
function titleOf(alert) {
  const title = alert.title || {};
  return title[language()] || title.vi || title.en || alert.rule_id;
}

function centreOf(geometry) {
  const points = [];
  const walk = (c) => (typeof c[0] === "number" ? points.push(c) : c.forEach(walk));
  walk(geometry.coordinates);
  const sum = points.reduce((acc, [x, y]) => [acc[0] + x, acc[1] + y], [0, 0]);
  return [sum[0] / points.length, sum[1] / points.length];
}

export class AlertsPanel {
  /** map: the MapLibre map (loaded); baseUrl; formats(): the page's time formats. */
  constructor(map, { baseUrl, formats }) {
    Object.assign(this, { map, baseUrl, formats });
    this.alerts = [];
    this.at = null;              // the hour shown (ms), null: now
    this.live = true;
    this.request = 0;
    this.root = document.getElementById("alerts");
    this.list = document.getElementById("alerts-list");
    this.heading = document.getElementById("alerts-when");
    this.message = document.getElementById("alerts-message");
    this.key = document.getElementById("alerts-api-key");
    this.messageKey = null;
    map.addSource(SOURCE, { type: "geojson", data: { type: "FeatureCollection", features: [] } });
    for (const layer of mapLayers()) map.addLayer(layer);
    this.root.hidden = false;
  }

  /** Listen to /alerts/stream: every event refreshes the hour shown. */
  listen() {
    if (!window.EventSource) return;
    this.events = 0;             // events received (for the curious and the tests)
    this.stream = new EventSource(`${this.baseUrl}/alerts/stream`);
    this.stream.addEventListener("alert", () => { this.events += 1; this.#soon(); });
  }

  #soon() {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.refresh(), REFRESH_MS);
  }

  /** Show the alerts active at hour `ms`; `live`: the latest hour, so the ones active now. */
  async show(ms, live) {
    this.at = ms;
    this.live = live || ms === null || ms === undefined;
    await this.refresh();
  }

  async refresh() {
    const ticket = ++this.request;
    const params = new URLSearchParams({ limit: String(LIMIT) });
    if (this.live) params.set("state", "open,acknowledged");
    else params.set("datetime", isoInstant(this.at));
    let body;
    try {
      body = await fetchJson(`${this.baseUrl}/alerts?${params}`);
    } catch (error) {
      if (ticket === this.request) this.#say("alerts.failed", { message: error.message });
      return;
    }
    if (ticket !== this.request) return;
    this.alerts = body.alerts.slice().sort((a, b) => gravity(a) - gravity(b)
      || Date.parse(b.opened_at) - Date.parse(a.opened_at));
    this.#draw();
    this.render();
  }

  #draw() {
    const features = this.alerts.filter((a) => a.geometry).map((a) => ({
      type: "Feature", geometry: a.geometry,
      properties: { id: a.id, severity: a.severity, state: a.state } }));
    this.map.getSource(SOURCE).setData({ type: "FeatureCollection", features });
  }

  /** (Re)write the list and its heading in the page's language. */
  render() {
    const f = this.formats();
    this.heading.textContent = this.live ? t("alerts.now")
      : t("alerts.at", { time: f.full(this.at) });
    document.getElementById("alerts-count").textContent = formatNumber(this.alerts.length);
    this.list.replaceChildren(...this.alerts.map((a) => this.#item(a, f)));
    document.getElementById("alerts-empty").hidden = this.alerts.length > 0;
    if (this.messageKey) this.#say(...this.messageKey);
  }

  #item(alert, f) {
    const colour = SEVERITY_COLOURS[alert.severity] || "#888888";
    const value = alert.value === null || alert.value === undefined ? null
      : `${formatNumber(alert.value, 2)}${alert.unit ? ` ${alert.unit}` : ""}`;
    const ack = alert.state === "open"
      ? el("button", { type: "button", class: "alert-ack", "data-alert": alert.id,
                       onclick: (event) => { event.stopPropagation(); this.acknowledge(alert.id); } },
           t("alerts.acknowledge"))
      : null;
    return el("li", { class: "alert", "data-alert": alert.id, "data-severity": alert.severity,
                      "data-state": alert.state, tabindex: "0", style: { borderLeftColor: colour },
                      title: t("alerts.zoomTo"), onclick: () => this.zoomTo(alert) },
      el("div", { class: "alert-head" },
         el("span", { class: "alert-severity", style: { background: colour,
                                                        color: alert.severity === "minor" ? "#1a1a1a" : "#ffffff" } },
            t(`severity.${alert.severity}`)),
         el("span", { class: "alert-title", "data-server-text": "" }, titleOf(alert))),
      el("div", { class: "alert-meta" },
         el("span", { "data-server-text": "" }, alert.subject),
         value ? el("span", { class: "alert-value" }, value) : null,
         el("span", {}, t("alerts.opened", { time: f.full(Date.parse(alert.opened_at)) })),
         el("span", { class: "alert-state" }, t(`alertState.${alert.state}`))),
      ack);
  }

  zoomTo(alert) {
    if (!alert.geometry) return;
    this.map.easeTo({ center: centreOf(alert.geometry), zoom: Math.max(this.map.getZoom(), 14) });
  }

  /** POST /alerts/{id}/acknowledge with the API key typed in the panel. */
  async acknowledge(id) {
    const key = this.key.value.trim();
    if (!key) {
      this.#say("alerts.needKey");
      this.key.closest("details").open = true;
      this.key.focus();
      return;
    }
    this.#say("alerts.acknowledging", { id });
    let response;
    try {
      response = await fetch(`${this.baseUrl}/alerts/${id}/acknowledge`, {
        method: "POST", body: "{}",
        headers: { "X-API-Key": key, "Content-Type": "application/json",
                   "Accept-Language": language() } });
    } catch {
      this.#say("alerts.ackFailed", { status: "–" });
      return;
    }
    if (response.ok) {
      this.#say("alerts.acknowledged", { id });
      await this.refresh();
      return;
    }
    const known = { 401: "alerts.ack401", 403: "alerts.ack403", 404: "alerts.ack404",
                    409: "alerts.ack409" };
    this.#say(known[response.status] || "alerts.ackFailed", { id, status: response.status });
    // resolved, acknowledged or gone meanwhile: show the list as it is now
    if (response.status === 404 || response.status === 409) await this.refresh();
  }

  #say(key, vars = {}) {
    this.messageKey = [key, vars];
    this.message.textContent = t(key, vars);
    this.message.dataset.key = key;
    this.message.hidden = false;
  }
}

/** The panel, or null when this server serves no alerts (no /alerts). */
export async function alertsPanel(map, options) {
  try {
    await fetchJson(`${options.baseUrl}/alerts?limit=1`);
  } catch {
    return null;
  }
  const panel = new AlertsPanel(map, options);
  panel.listen();
  return panel;
}
