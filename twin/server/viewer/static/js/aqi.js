// Hourly station AQI frames: fetched from OGC API – Features items (one request per hour
// and scale), cached, prefetched ahead of the animation, and drawn as a GeoJSON circle
// layer (the shared style's class colours) with the index written on each station.

import { el, fetchJson, inkOn, isoInstant } from "./util.js";

const PREFETCH_PARALLEL = 3;

/** The frames of one collection, cached per scale and hour; load times are measured. */
export class AqiFrames {
  constructor(baseUrl, collection) {
    this.items = `${baseUrl}/collections/${collection}/items`;
    this.cache = new Map();
    this.loadTimes = [];     // fetch start to parsed JSON, as the page experiences it
    this.networkTimes = [];  // request start to response end (Resource Timing)
    this.waits = [];         // how long the slider waited for a frame it asked for
    this.queue = [];
    this.running = 0;
  }

  url(scale, ms) {
    const q = new URLSearchParams({ datetime: isoInstant(ms), scale, period: "hour",
                                    limit: "1000", f: "json" });
    return `${this.items}?${q}`;
  }

  /** The frame's FeatureCollection (a promise, shared by every caller asking for it). */
  get(scale, ms) {
    const key = `${scale}/${ms}`;
    if (!this.cache.has(key)) {
      const started = performance.now();
      const url = this.url(scale, ms);
      const promise = fetchJson(url).then((body) => {
        this.loadTimes.push(performance.now() - started);
        const entry = performance.getEntriesByName(url).pop();
        if (entry) this.networkTimes.push(entry.responseEnd - entry.startTime);
        return body;
      });
      promise.catch(() => this.cache.delete(key));  // a failed frame is retried next time
      this.cache.set(key, promise);
    }
    return this.cache.get(key);
  }

  isCached(scale, ms) {
    return this.cache.has(`${scale}/${ms}`);
  }

  /** Load the given hours in the background, a few at a time, nearest first. */
  prefetch(scale, hours) {
    this.queue = hours.filter((ms) => !this.isCached(scale, ms)).map((ms) => [scale, ms]);
    while (this.running < PREFETCH_PARALLEL && this.queue.length) this.#next();
  }

  #next() {
    const job = this.queue.shift();
    if (!job) return;
    this.running += 1;
    this.get(...job).catch(() => null).finally(() => {
      this.running -= 1;
      this.#next();
    });
  }

  /** The frame for the slider: like get(), and the wait is recorded (0 if prefetched). */
  async show(scale, ms) {
    const started = performance.now();
    const frame = await this.get(scale, ms);
    this.waits.push(performance.now() - started);
    return frame;
  }

  stats() {
    const q = (values, p) => {
      const sorted = [...values].sort((a, b) => a - b);
      return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] : null;
    };
    return {
      frames: this.loadTimes.length, cached: this.cache.size,
      median_ms: q(this.loadTimes, 0.5), p95_ms: q(this.loadTimes, 0.95),
      network_median_ms: q(this.networkTimes, 0.5), network_p95_ms: q(this.networkTimes, 0.95),
      shown: this.waits.length, wait_median_ms: q(this.waits, 0.5), wait_p95_ms: q(this.waits, 0.95),
    };
  }
}

/** The AQI layer on the map: circles coloured by class, the index as a label. */
export class AqiLayer {
  constructor(map, scales, sourceId) {
    this.map = map;
    this.sourceId = sourceId;
    this.scales = scales;        // {vn: {title, classes, layer}, us: {...}}
    this.labels = new Map();     // station_code -> maplibregl.Marker
    this.data = { type: "FeatureCollection", features: [] };
    this.scale = "vn";
  }

  /** Add the source and layer (on top of the city) for `scale`. */
  add(scale) {
    this.scale = scale;
    this.map.addSource(this.sourceId, { type: "geojson", data: this.data });
    this.map.addLayer({ ...this.scales[scale].layer, id: this.layerId(), source: this.sourceId });
  }

  layerId() {
    return `${this.sourceId}-circle`;
  }

  setScale(scale) {
    this.scale = scale;
    const paint = this.scales[scale].layer.paint;
    this.map.setPaintProperty(this.layerId(), "circle-color", paint["circle-color"]);
  }

  setVisible(visible) {
    this.map.setLayoutProperty(this.layerId(), "visibility", visible ? "visible" : "none");
    for (const marker of this.labels.values()) marker.getElement().hidden = !visible;
  }

  show(collection) {
    this.data = collection;
    this.map.getSource(this.sourceId).setData(collection);
    this.#updateLabels(collection.features);
  }

  #updateLabels(features) {
    const seen = new Set();
    const hidden = this.map.getLayoutProperty(this.layerId(), "visibility") === "none";
    for (const f of features) {
      const code = f.properties.station_code;
      seen.add(code);
      let marker = this.labels.get(code);
      if (!marker) {
        marker = new maplibregl.Marker({ element: el("div", { class: "aqi-label", "aria-hidden": "true" }) })
          .setLngLat(f.geometry.coordinates).addTo(this.map);
        this.labels.set(code, marker);
      }
      const node = marker.getElement();
      node.textContent = f.properties.aqi ?? "–";
      node.style.color = inkOn(f.properties.colour);
      node.hidden = hidden;
    }
    for (const [code, marker] of this.labels) {
      if (!seen.has(code)) { marker.remove(); this.labels.delete(code); }
    }
  }
}
