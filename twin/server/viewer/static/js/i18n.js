// The viewer's two languages: every text a person reads, in Vietnamese and English, in one
// dictionary; which language the page speaks (?lang=, else the choice kept from the switch,
// else the server's Accept-Language decision, else the browser's languages, else the city
// default, Vietnamese); and how dates and numbers are written in each (dd/mm/yyyy HH:MM
// and a decimal comma in Vietnamese). Legend labels of coded values are in values.js.
// Texts from the server (layer titles, field titles) are requested with the same `lang`.

import { VALUE_LABELS } from "./values.js";

export const LANGUAGES = ["vi", "en"];
export const DEFAULT_LANGUAGE = "vi";
export const STORAGE_KEY = "twin.viewer.lang";

export const STRINGS = {
  vi: {
    "page.title": "twin — {city} · bản đồ thành phố",
    "map.aria": "Bản đồ {city}",
    "panel.subtitle": "Mô hình thành phố · chất lượng không khí trực tiếp · vùng ngập",
    "panel.attribution": "Dữ liệu bản đồ: twin — mô hình thành phố {city} (dữ liệu mẫu)",
    "lang.aria": "Ngôn ngữ",
    "layers.heading": "Lớp bản đồ",
    "layers.zoom": "từ mức phóng {zoom}",
    "layers.legend": "Chú giải",
    "group.administration": "Địa giới hành chính",
    "group.cadastre": "Đất đai",
    "group.transport": "Giao thông",
    "group.environment": "Môi trường",
    "group.other": "Khác",
    "aqi.aria": "Chú giải chất lượng không khí",
    "aqi.heading": "Chất lượng không khí",
    "aqi.scale": "Thang chỉ số AQI",
    "status.loading": "Đang tải…",
    "status.hours": "{count} giờ dữ liệu",
    "status.noTime": "Chưa có dữ liệu theo thời gian",
    "status.failed": "Không mở được bản đồ: {message}",
    "time.aria": "Thời gian",
    "time.play": "Phát",
    "time.pause": "Tạm dừng",
    "time.playPause": "Phát / tạm dừng",
    "time.back": "Lùi một giờ",
    "time.forward": "Tiến một giờ",
    "time.slider": "Giờ",
    "time.zone": "Giờ {city} ({offset})",
    "time.chartAxis": "giờ {city}",
    "frames.title": "Thời gian tải khung hình hiện tại",
    "frames.stats": "{stations} trạm · tải khung (trung vị) {load} ms · chờ (trung vị) {wait} ms · {cached} đã lưu",
    "popup.loading": "Đang tải chuỗi số liệu…",
    "popup.properties": "Thuộc tính",
    "chart.aria": "biểu đồ",
    "chart.empty": "Không có dữ liệu trong khoảng thời gian này",
    "station.hourly": "{scale} theo giờ",
    "station.pollutants": "Nồng độ chất ô nhiễm",
    "station.noReadings": "Không có số đo PM2.5, PM10 hay NO₂ trong khoảng thời gian này",
    "station.aqiFailed": "Không tải được AQI: {message}",
    "station.readingsFailed": "Không tải được số đo: {message}",
    "surface.heading": "Bề mặt nội suy",
    "surface.aria": "Bề mặt chất lượng không khí",
    "surface.select": "Chất ô nhiễm của bề mặt",
    "surface.off": "tắt",
    "error.http": "Lỗi {status}: {message}",
    "alerts.heading": "Cảnh báo",
    "alerts.now": "đang hiệu lực",
    "alerts.at": "hiệu lực lúc {time}",
    "alerts.none": "Không có cảnh báo nào.",
    "alerts.opened": "mở lúc {time}",
    "alerts.zoomTo": "Phóng tới vị trí cảnh báo",
    "alerts.acknowledge": "Xác nhận",
    "alerts.keyHeading": "Xác nhận cảnh báo (dành cho cơ quan)",
    "alerts.keyLabel": "Khóa API của cơ quan",
    "alerts.keyHint": "Khóa chỉ được giữ trong trang này, không được lưu lại.",
    "alerts.needKey": "Nhập khóa API của cơ quan để xác nhận cảnh báo.",
    "alerts.acknowledging": "Đang xác nhận cảnh báo số {id}…",
    "alerts.acknowledged": "Đã xác nhận cảnh báo số {id}.",
    "alerts.ack401": "Khóa API không hợp lệ: hãy kiểm tra lại khóa.",
    "alerts.ack403": "Khóa này không có quyền xác nhận cảnh báo số {id}: quy tắc của cảnh báo chỉ cho phép cơ quan khác.",
    "alerts.ack404": "Không tìm thấy cảnh báo số {id}.",
    "alerts.ack409": "Cảnh báo số {id} đã được xác nhận hoặc đã kết thúc, không cần xác nhận nữa.",
    "alerts.ackFailed": "Không xác nhận được cảnh báo (mã lỗi {status}).",
    "alerts.failed": "Không tải được cảnh báo: {message}",
    "severity.minor": "Nhẹ",
    "severity.moderate": "Vừa",
    "severity.severe": "Nghiêm trọng",
    "severity.extreme": "Đặc biệt nghiêm trọng",
    "alertState.open": "chưa xác nhận",
    "alertState.acknowledged": "đã xác nhận",
    "alertState.resolved": "đã kết thúc",
    "map.NavigationControl.ZoomIn": "Phóng to",
    "map.NavigationControl.ZoomOut": "Thu nhỏ",
    "map.NavigationControl.ResetBearing": "Kéo để xoay bản đồ, bấm để quay về hướng bắc",
    "map.AttributionControl.ToggleAttribution": "Hiện / ẩn nguồn dữ liệu",
    "map.AttributionControl.MapFeedback": "Góp ý về bản đồ",
    "map.Popup.Close": "Đóng",
    "map.Map.Title": "Bản đồ",
    "map.Marker.Title": "Điểm đánh dấu",
    "map.ScaleControl.Kilometers": "km",
    "map.ScaleControl.Meters": "m",
  },
  en: {
    "page.title": "twin — {city} · city map",
    "map.aria": "Map of {city}",
    "panel.subtitle": "City model · live air quality · flood extents",
    "panel.attribution": "Map data: twin — {city} city model (synthetic demo)",
    "lang.aria": "Language",
    "layers.heading": "Layers",
    "layers.zoom": "zoom ≥ {zoom}",
    "layers.legend": "Legend",
    "group.administration": "Administrative areas",
    "group.cadastre": "Land",
    "group.transport": "Transport",
    "group.environment": "Environment",
    "group.other": "Other",
    "aqi.aria": "Air quality legend",
    "aqi.heading": "Air quality",
    "aqi.scale": "AQI scale",
    "status.loading": "Loading…",
    "status.hours": "{count} hours of data",
    "status.noTime": "No time-aware data yet",
    "status.failed": "The viewer could not start: {message}",
    "time.aria": "Time",
    "time.play": "Play",
    "time.pause": "Pause",
    "time.playPause": "Play / pause",
    "time.back": "One hour back",
    "time.forward": "One hour forward",
    "time.slider": "Hour",
    "time.zone": "{city} time ({offset})",
    "time.chartAxis": "{city} time",
    "frames.title": "Time to load the current frame",
    "frames.stats": "{stations} stations · frame load median {load} ms · wait median {wait} ms · {cached} cached",
    "popup.loading": "Loading series…",
    "popup.properties": "Properties",
    "chart.aria": "chart",
    "chart.empty": "No data for this period",
    "station.hourly": "{scale} hourly",
    "station.pollutants": "Pollutant concentrations",
    "station.noReadings": "No PM2.5, PM10 or NO₂ readings in this period",
    "station.aqiFailed": "AQI unavailable: {message}",
    "station.readingsFailed": "Readings unavailable: {message}",
    "surface.heading": "Interpolated surface",
    "surface.aria": "Air-quality surface",
    "surface.select": "Surface pollutant",
    "surface.off": "off",
    "error.http": "Error {status}: {message}",
    "alerts.heading": "Alerts",
    "alerts.now": "active now",
    "alerts.at": "active at {time}",
    "alerts.none": "No alerts.",
    "alerts.opened": "opened {time}",
    "alerts.zoomTo": "Zoom to the alert",
    "alerts.acknowledge": "Acknowledge",
    "alerts.keyHeading": "Acknowledge alerts (agencies)",
    "alerts.keyLabel": "Agency API key",
    "alerts.keyHint": "The key stays in this page only; it is not stored.",
    "alerts.needKey": "Enter your agency's API key to acknowledge an alert.",
    "alerts.acknowledging": "Acknowledging alert {id}…",
    "alerts.acknowledged": "Alert {id} acknowledged.",
    "alerts.ack401": "The API key is not valid: check the key.",
    "alerts.ack403": "This key may not acknowledge alert {id}: its rule names another agency's role.",
    "alerts.ack404": "Alert {id} was not found.",
    "alerts.ack409": "Alert {id} is already acknowledged or resolved: nothing to acknowledge.",
    "alerts.ackFailed": "The alert could not be acknowledged (error {status}).",
    "alerts.failed": "Alerts unavailable: {message}",
    "severity.minor": "Minor",
    "severity.moderate": "Moderate",
    "severity.severe": "Severe",
    "severity.extreme": "Extreme",
    "alertState.open": "not acknowledged",
    "alertState.acknowledged": "acknowledged",
    "alertState.resolved": "resolved",
    "map.NavigationControl.ZoomIn": "Zoom in",
    "map.NavigationControl.ZoomOut": "Zoom out",
    "map.NavigationControl.ResetBearing": "Drag to rotate map, click to reset north",
    "map.AttributionControl.ToggleAttribution": "Toggle attribution",
    "map.AttributionControl.MapFeedback": "Map feedback",
    "map.Popup.Close": "Close popup",
    "map.Map.Title": "Map",
    "map.Marker.Title": "Map marker",
    "map.ScaleControl.Kilometers": "km",
    "map.ScaleControl.Meters": "m",
  },
};

// AQI class names per scale, level 1..6. VN_AQI: Decision 1459/QĐ-TCMT (Vietnamese are
// the official names); US AQI: EPA's names and the Vietnamese used by AirNow/IQAir.
export const AQI_NAMES = {
  vn: {
    vi: ["Tốt", "Trung bình", "Kém", "Xấu", "Rất xấu", "Nguy hại"],
    en: ["Good", "Moderate", "Poor", "Bad", "Very bad", "Hazardous"],
  },
  us: {
    vi: ["Tốt", "Trung bình", "Không lành mạnh cho nhóm nhạy cảm", "Không lành mạnh",
         "Rất không lành mạnh", "Nguy hiểm"],
    en: ["Good", "Moderate", "Unhealthy for Sensitive Groups", "Unhealthy", "Very Unhealthy",
         "Hazardous"],
  },
};

let current = DEFAULT_LANGUAGE;

export function normalise(tag) {
  const primary = String(tag || "").trim().replace("_", "-").split("-")[0].toLowerCase();
  return LANGUAGES.includes(primary) ? primary : null;
}

/** The page's language: ?lang=, the switch's stored choice, the server's decision (from
 * Accept-Language, on <html data-negotiated>), the browser's languages, the default. */
export function chooseLanguage({ search = "", stored = null, server = null, browser = [],
                                 fallback = DEFAULT_LANGUAGE } = {}) {
  const fromUrl = normalise(new URLSearchParams(search).get("lang"));
  const fromBrowser = browser.map(normalise).find(Boolean);
  return fromUrl || normalise(stored) || normalise(server) || fromBrowser
    || normalise(fallback) || DEFAULT_LANGUAGE;
}

export function storedLanguage() {
  try { return window.localStorage.getItem(STORAGE_KEY); } catch { return null; }
}

export function storeLanguage(lang) {
  try { window.localStorage.setItem(STORAGE_KEY, lang); } catch { /* private mode: not kept */ }
}

export function setLanguage(lang) {
  current = normalise(lang) || DEFAULT_LANGUAGE;
  document.documentElement.lang = current;
  return current;
}

export function language() {
  return current;
}

/** The text of `key` in the page's language with `{name}` filled from `vars`. */
export function t(key, vars = {}) {
  const text = STRINGS[current][key] ?? STRINGS[DEFAULT_LANGUAGE][key] ?? key;
  return text.replace(/\{(\w+)\}/g, (whole, name) => (name in vars ? String(vars[name]) : whole));
}

/** MapLibre's own control texts (its `locale` option) in the page's language. */
export function mapLocale() {
  const out = {};
  for (const [key, text] of Object.entries(STRINGS[current])) {
    if (key.startsWith("map.")) out[key.slice(4)] = text;
  }
  return out;
}

/** Fill the static page: elements carrying data-i18n (text) or data-i18n-title,
 * -aria-label, -placeholder (attributes) get their key's text. */
export function applyStatic(vars, root = document) {
  for (const node of root.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n, vars);
  for (const attr of ["title", "aria-label", "placeholder"]) {
    const data = `data-i18n-${attr}`;
    for (const node of root.querySelectorAll(`[${data}]`)) {
      node.setAttribute(attr, t(node.getAttribute(data), vars));
    }
  }
  for (const node of root.querySelectorAll("[data-city]")) node.textContent = vars.city ?? node.textContent;
  document.title = t("page.title", vars);
}

/** A number as people write it here: 12.345,6 (vi) or 12,345.6 (en). */
export function formatNumber(value, digits = 0) {
  if (value === null || value === undefined || !Number.isFinite(Number(value))) return "–";
  return new Intl.NumberFormat(current === "vi" ? "vi-VN" : "en-US", {
    maximumFractionDigits: digits, minimumFractionDigits: 0,
  }).format(Number(value));
}

/** Decimal points of a server's label as decimal commas in Vietnamese ("0–0.2 m"). */
export function localiseNumbers(text) {
  return current === "vi" ? String(text).replace(/(\d)\.(\d)/g, "$1,$2") : String(text);
}

/** A group of the layer switcher (a layer's first keyword). */
export function groupTitle(id, fallback) {
  const key = `group.${id}`;
  return STRINGS[current][key] ?? fallback ?? id;
}

/** The legend label of value `value` of field `field`, else the server's label. */
export function valueLabel(field, value, fallback) {
  const entry = (VALUE_LABELS[field] || {})[value];
  return entry?.[current] ?? localiseNumbers(fallback ?? value);
}

/** An AQI class's name on `scale` ("vn" or "us") with its range, e.g. "Tốt (0–50)". */
export function aqiClassLabel(scale, level, cls) {
  const names = (AQI_NAMES[scale] || AQI_NAMES.vn)[current];
  const range = /\(([^)]*)\)\s*$/.exec(cls.label || "");
  const span = range ? range[1] : (cls.upper === null ? `${cls.lower}+` : `${cls.lower}–${cls.upper - 1}`);
  return `${names[level - 1] ?? cls.label} (${span})`;
}

export function aqiClassNames(scale, lang) {
  return (AQI_NAMES[scale] || AQI_NAMES.vn)[lang];
}

/** The zone's offset from UTC as "UTC+7". */
function utcOffset(timeZone, ms) {
  const part = new Intl.DateTimeFormat("en-US", { timeZone, timeZoneName: "shortOffset" })
    .formatToParts(ms).find((p) => p.type === "timeZoneName");
  return part ? part.value.replace("GMT", "UTC") : "UTC";
}

/** Formatters of one time zone (the city's) in the page's language. */
export function timeFormats(timeZone) {
  const lang = current;
  const numeric = new Intl.DateTimeFormat("en-GB", {
    timeZone, year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit",
    minute: "2-digit", hourCycle: "h23" });
  const weekday = new Intl.DateTimeFormat(lang === "vi" ? "vi-VN" : "en-GB", { timeZone, weekday: "short" });
  const shortDay = new Intl.DateTimeFormat("en-GB", { timeZone, day: "numeric", month: "short" });
  const parts = (ms) => Object.fromEntries(numeric.formatToParts(ms).map((p) => [p.type, p.value]));
  return {
    full: (ms) => {
      const p = parts(ms);
      const date = lang === "vi" ? `${p.day}/${p.month}/${p.year}` : `${p.year}-${p.month}-${p.day}`;
      return `${weekday.format(ms)} ${date} ${p.hour}:${p.minute}`;
    },
    hour: (ms) => { const p = parts(ms); return `${p.hour}:${p.minute}`; },
    day: (ms) => { const p = parts(ms); return lang === "vi" ? `${p.day}/${p.month}` : shortDay.format(ms); },
    hourOfDay: (ms) => Number(parts(ms).hour) % 24,
    offset: (ms) => utcOffset(timeZone, ms),
  };
}
