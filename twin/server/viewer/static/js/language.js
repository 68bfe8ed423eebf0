// The page's language at start and the VI | EN switch: the choice is kept in localStorage
// (and replaces a ?lang= in the address, so a reload keeps it), and every text is
// rewritten in place: the page's own (i18n.js), MapLibre's controls, and the server's
// (collection titles, requested again with the new `lang`). The map, the hour and the
// layers switched on stay as they are.

import {
  applyStatic, chooseLanguage, language, mapLocale, normalise, setLanguage, storedLanguage,
  storeLanguage, t, timeFormats,
} from "./i18n.js";
import { fetchJson } from "./util.js";

/** The language to start in (see i18n.chooseLanguage for the order). */
export function initialLanguage() {
  return chooseLanguage({
    search: window.location.search, stored: storedLanguage(),
    server: document.documentElement.dataset.negotiated,
    browser: [...(navigator.languages || [])],
  });
}

/** The city's name in the page's language (the server writes both on <html>). */
export function cityName() {
  const data = document.documentElement.dataset;
  return (language() === "en" ? data.cityEn : data.cityVi) || data.cityVi || "";
}

/** The server's collections in the page's language: the document and {id: {title,
 * description}}. */
export async function collectionNames(baseUrl) {
  const q = new URLSearchParams({ f: "json", lang: language() });
  const doc = await fetchJson(`${baseUrl}/collections?${q}`);
  const names = Object.fromEntries((doc.collections || []).map((c) => [c.id, {
    title: c.title ?? c.id, description: c.description ?? "" }]));
  return { doc, names };
}

/** MapLibre's control texts: its locale for controls made later, and those on the page. */
function relocaliseMap(map) {
  map._locale = { ...map._locale, ...mapLocale() };
  const label = (selector, key, title = true) => {
    for (const node of document.querySelectorAll(selector)) {
      node.setAttribute("aria-label", t(`map.${key}`));
      if (title) node.title = t(`map.${key}`);
    }
  };
  label(".maplibregl-ctrl-zoom-in", "NavigationControl.ZoomIn");
  label(".maplibregl-ctrl-zoom-out", "NavigationControl.ZoomOut");
  label(".maplibregl-ctrl-attrib-button", "AttributionControl.ToggleAttribution");
  label(".maplibregl-popup-close-button", "Popup.Close", false);
  label(".maplibregl-marker[aria-label]", "Marker.Title", false);
  map.getCanvas().setAttribute("aria-label", t("map.Map.Title"));
}

export class LanguageSwitch {
  constructor(lang) {
    this.buttons = [...document.querySelectorAll("#lang-switch button[data-lang]")];
    this.viewer = null;
    this.switchedEarly = false;
    this.#show(lang);
    for (const button of this.buttons) {
      button.addEventListener("click", () => this.switchTo(button.dataset.lang));
    }
  }

  #show(lang) {
    setLanguage(lang);
    applyStatic({ city: cityName() });
    for (const button of this.buttons) {
      button.setAttribute("aria-pressed", String(button.dataset.lang === language()));
    }
    if (this.viewer) this.#timeZone();
  }

  #timeZone() {
    const { config, timeline } = this.viewer;
    const at = timeline ? timeline.current : Date.now();
    const offset = timeFormats(config.time.timezone).offset(at);
    document.getElementById("time-zone").textContent = t("time.zone", { city: cityName(), offset });
  }

  /** The axis title of charts over local hours. */
  timeAxis() {
    return t("time.chartAxis", { city: cityName() });
  }

  /** Once the map is up: `onChange(names)` rewrites the texts made from data. */
  attach(map, config, onChange, timeline) {
    this.viewer = { map, config, onChange, timeline };
    this.#timeZone();
    // Switched while the page was starting: what was built from data is rewritten too.
    if (this.switchedEarly) return this.#rewrite();
    return Promise.resolve();
  }

  async #rewrite() {
    relocaliseMap(this.viewer.map);
    const { names } = await collectionNames(this.viewer.config.base_url);
    await this.viewer.onChange(names);
    this.#timeZone();
  }

  /** Speak `lang` from now on (kept for the next visit); resolves once all is rewritten. */
  async switchTo(lang) {
    const chosen = normalise(lang);
    if (!chosen) return;
    storeLanguage(chosen);
    const url = new URL(window.location.href);
    if (url.searchParams.has("lang")) {
      url.searchParams.set("lang", chosen);
      window.history.replaceState(null, "", url);
    }
    if (chosen === language()) return;
    this.#show(chosen);
    if (!this.viewer) { this.switchedEarly = true; return; }
    await this.#rewrite();
  }
}
