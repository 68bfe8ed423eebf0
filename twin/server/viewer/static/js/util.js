// Small helpers shared by the viewer's modules: JSON fetching with OGC error texts,
// hour arithmetic, and DOM building that never parses data as HTML (feature properties
// are set as text only). Times and numbers are written by i18n.js.

import { language, t } from "./i18n.js";

export const HOUR_MS = 3600 * 1000;

/** GET a JSON document; an OGC exception document's description becomes the error.
 * The server answers in the page's language (its error descriptions too). */
export async function fetchJson(url, init = {}) {
  const headers = { "Accept-Language": language(), ...(init.headers || {}) };
  const response = await fetch(url, { ...init, headers });
  const body = await response.json().catch(() => null);
  if (!response.ok) {
    const why = body && body.description ? body.description : response.statusText;
    throw new Error(t("error.http", { status: response.status, message: why }));
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
