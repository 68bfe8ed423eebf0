// Small helpers shared by the viewer's modules: JSON fetching with OGC error texts,
// hour arithmetic, times shown in Hà Nội's time zone, and DOM building that never
// parses data as HTML (feature properties are set as text only).

export const HOUR_MS = 3600 * 1000;

/** GET a JSON document; an OGC exception document's description becomes the error. */
export async function fetchJson(url, init) {
  const response = await fetch(url, init);
  const body = await response.json().catch(() => null);
  if (!response.ok) {
    const why = body && body.description ? body.description : response.statusText;
    throw new Error(`${response.status} ${why}`);
  }
  return body;
}

export function floorHour(ms) {
  return Math.floor(ms / HOUR_MS) * HOUR_MS;
}

/** An instant as the API wants it: ISO 8601 in UTC, whole seconds. */
export function isoInstant(ms) {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** Formatters for one time zone (the city's), built once. */
export function timeFormats(timeZone) {
  const make = (options) => new Intl.DateTimeFormat("vi-VN", { timeZone, hour12: false, ...options });
  const full = make({ weekday: "short", day: "2-digit", month: "2-digit", year: "numeric",
                      hour: "2-digit", minute: "2-digit" });
  const hour = make({ hour: "2-digit", minute: "2-digit" });
  const day = make({ day: "2-digit", month: "2-digit" });
  const hourOfDay = make({ hour: "numeric" });
  return {
    full: (ms) => full.format(ms),
    hour: (ms) => hour.format(ms),
    day: (ms) => day.format(ms),
    hourOfDay: (ms) => Number(hourOfDay.formatToParts(ms).find((p) => p.type === "hour").value) % 24,
  };
}

/** Create an element with attributes and children (strings become text nodes). */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "style") Object.assign(node.style, value);
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** Black or white, whichever reads better on a background colour #rrggbb. */
export function inkOn(hex) {
  const n = parseInt(String(hex || "#888888").slice(1), 16);
  const [r, g, b] = [(n >> 16) & 255, (n >> 8) & 255, n & 255];
  return 0.299 * r + 0.587 * g + 0.114 * b > 150 ? "#1a1a1a" : "#ffffff";
}
