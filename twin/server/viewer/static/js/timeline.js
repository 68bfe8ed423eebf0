// The time slider: one step per hour across the time-aware layers' extent, play/pause,
// step buttons, the hour shown in the city's time zone, and the AQI scale switch.
// Playing waits for each frame to be drawn before pausing on it, so a slow frame delays
// the animation instead of skipping it.

import { t } from "./i18n.js";

const FRAME_PAUSE_MS = 600;

export class Timeline {
  /**
   * hours: sorted instants (ms) to step through; formats: util.timeFormats(zone);
   * onTime(ms) -> Promise resolved once that hour is drawn; onScale(scale).
   */
  constructor({ hours, formats, onTime, onScale }) {
    this.hours = hours;
    this.formats = formats;
    this.onTime = onTime;
    this.onScale = onScale;
    this.index = hours.length - 1;
    this.playing = false;
    this.request = 0;
    this.slider = document.getElementById("slider");
    this.label = document.getElementById("time-label");
    this.playButton = document.getElementById("play");
    this.#wire();
  }

  #wire() {
    document.getElementById("timebar").hidden = false;
    this.slider.max = String(this.hours.length - 1);
    this.slider.value = String(this.index);
    this.slider.addEventListener("input", () => this.goTo(Number(this.slider.value)));
    this.playButton.addEventListener("click", () => (this.playing ? this.pause() : this.play()));
    document.getElementById("step-back").addEventListener("click", () => this.step(-1));
    document.getElementById("step-forward").addEventListener("click", () => this.step(1));
    for (const radio of document.querySelectorAll('input[name="scale"]')) {
      radio.addEventListener("change", () => radio.checked && this.onScale(radio.value));
    }
    document.addEventListener("keydown", (event) => {
      if (event.target instanceof HTMLInputElement && event.target.type !== "range") return;
      if (event.key === " ") { event.preventDefault(); this.playing ? this.pause() : this.play(); }
    });
  }

  get current() {
    return this.hours[this.index];
  }

  /** Show hour `index`; the latest request wins if several are in flight. */
  async goTo(index) {
    this.index = Math.max(0, Math.min(this.hours.length - 1, index));
    this.slider.value = String(this.index);
    this.label.textContent = this.formats.full(this.current);
    const ticket = ++this.request;
    await this.onTime(this.current, () => ticket === this.request);
  }

  /** Rewrite the texts in the page's language with new `formats`. */
  relabel(formats) {
    this.formats = formats;
    this.label.textContent = this.formats.full(this.current);
    this.playButton.setAttribute("aria-label", t(this.playing ? "time.pause" : "time.play"));
  }

  step(delta) {
    this.pause();
    return this.goTo(this.index + delta);
  }

  async play() {
    if (this.playing || this.hours.length < 2) return;
    this.playing = true;
    this.playButton.textContent = "❚❚";
    this.playButton.setAttribute("aria-label", t("time.pause"));
    if (this.index === this.hours.length - 1) await this.goTo(0);
    while (this.playing) {
      await new Promise((resolve) => setTimeout(resolve, FRAME_PAUSE_MS));
      if (!this.playing) break;
      await this.goTo((this.index + 1) % this.hours.length);
    }
  }

  pause() {
    this.playing = false;
    this.playButton.textContent = "▶";
    this.playButton.setAttribute("aria-label", t("time.play"));
  }
}

/** Whole hours from the earliest begin to the latest end of the given intervals. */
export function hoursOf(intervals, floorHour, hourMs) {
  const begins = [];
  const ends = [];
  for (const [begin, end] of intervals) {
    if (begin) begins.push(Date.parse(begin));
    if (end) ends.push(Date.parse(end));
  }
  if (!begins.length && !ends.length) return [];
  const first = floorHour(Math.min(...(begins.length ? begins : ends)));
  const last = floorHour(Math.max(...(ends.length ? ends : begins)));
  const hours = [];
  for (let t = first; t <= last; t += hourMs) hours.push(t);
  return hours;
}
