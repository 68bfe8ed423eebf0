// Flood extents at the slider's hour: the collection's vector tiles filtered by
// ``datetime`` (OGC API – Tiles with the Features API's datetime). MapLibre keeps tiles
// per URL, so hours already seen come back from its cache when the animation loops.

import { isoInstant } from "./util.js";

export class FloodLayer {
  constructor(map, sourceId) {
    this.map = map;
    this.sourceId = sourceId;
    this.template = null;
  }

  /** The tile URL template without a time filter, read from the style's source. */
  #baseTemplate() {
    if (this.template === null) {
      const source = this.map.getStyle().sources[this.sourceId];
      this.template = source && source.tiles ? source.tiles[0].split("?")[0] : "";
    }
    return this.template;
  }

  /** A tile URL template showing the extents valid at `ms`. */
  static tilesAt(template, ms) {
    return `${template.split("?")[0]}?datetime=${encodeURIComponent(isoInstant(ms))}`;
  }

  show(ms) {
    const source = this.map.getSource(this.sourceId);
    if (!source || !this.#baseTemplate()) return;
    source.setTiles([FloodLayer.tilesAt(this.#baseTemplate(), ms)]);
  }
}
