"""A month of sensor readings, October 2026, driven by one synthetic weather story.

Air monitors report every 10 minutes, gauges every 5. PM2.5 follows the Hanoi
daily cycle (high 02-08 h, low 14-15 h) with multi-day episodes and rain
wash-out; ozone peaks mid-afternoon. A ~350 mm storm on 20-21 October makes
the Tô Lịch rise within hours, while an upstream flood wave takes the Red
River at Long Biên past alarm levels I and II to about 11 m on the 22nd. The
first air monitor is silent for 90 minutes on the morning of the 27th.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np

from twin.demo.sensors import Station

START = datetime(2026, 10, 1, tzinfo=timezone(timedelta(hours=7)))
STEP_MIN = 5
HORIZON_DAYS = 31                 # drivers always span the month; output is cut to ``days``
STORM_START_H = 19 * 24           # 2026-10-20 00:00
STORM_BURSTS = [(6, 1.5, 55.0), (14, 2.5, 95.0), (20, 1.2, 60.0), (29, 2.0, 70.0),
                (38, 3.0, 45.0)]  # hours after the start, spread (h), mm
STORM_BACKGROUND = 25.0           # mm spread over the 48 h
RED_PEAK_H = STORM_START_H + 66   # 2026-10-22 18:00 at Long Biên
RED_PEAK_M = 11.0
# One air monitor falls silent for 90 minutes in the late-October pollution episode (the
# alert rules' silence demo): 2026-10-27 08:00-09:30 local, its rows written as missing.
SILENT_FROM_H = 26 * 24 + 8
SILENT_MINUTES = 90
UNITS = {"pm25": "µg/m³", "pm10": "µg/m³", "no2": "µg/m³", "o3": "µg/m³", "co": "µg/m³",
         "so2": "µg/m³", "temperature": "°C", "humidity": "%", "water_level_m": "m",
         "rain_mm": "mm"}
PM_DIURNAL = [1.12, 1.18, 1.26, 1.32, 1.36, 1.38, 1.36, 1.30, 1.20, 1.06, 0.92, 0.82, 0.74,
              0.69, 0.66, 0.67, 0.72, 0.82, 0.94, 1.03, 1.07, 1.09, 1.10, 1.11]


def exp_filter(x: np.ndarray, a: float) -> np.ndarray:
    """y[t] = a*y[t-1] + x[t] along the last axis (y starts from rest), via FFT."""
    n = x.shape[-1]
    k = np.arange(min(n, int(np.ceil(-40 / np.log(a))) if a > 0 else 1))
    size = 1 << int(np.ceil(np.log2(n + len(k))))
    kernel = np.fft.rfft(a ** k, size)
    return np.fft.irfft(np.fft.rfft(x, size, axis=-1) * kernel, size, axis=-1)[..., :n]


def ar1(rng: np.random.Generator, n: int, tau_steps: float, sigma: float, k: int = 1
        ) -> np.ndarray:
    """k stationary AR(1) series of length n (shape (k, n)) with std ``sigma``."""
    phi = np.exp(-1.0 / tau_steps)
    warm = int(min(10 * tau_steps, 20 * n)) + 1
    shocks = rng.standard_normal((k, n + warm)) * sigma * np.sqrt(1 - phi ** 2)
    return exp_filter(shocks, phi)[:, warm:]


@dataclass
class Weather:
    hours: np.ndarray       # hours since START on the 5-minute axis
    events: list            # rain events: (centre h, spread h, city-mean mm, storm?)
    rain: np.ndarray        # city-mean rain, mm per 5 minutes
    wet: np.ndarray         # 0..1, recent rain
    episode: np.ndarray     # pollution multiplier (mean about 1)
    temperature: np.ndarray


def _gauss(h: np.ndarray, centre: float, spread: float) -> np.ndarray:
    """Share of an event falling in each 5-minute step."""
    return np.exp(-0.5 * ((h - centre) / spread) ** 2) / (spread * np.sqrt(2 * np.pi)) * \
        (STEP_MIN / 60)


def _rain_events(rng: np.random.Generator, horizon_h: float) -> list:
    events = [(STORM_START_H + c, s, mm, True) for c, s, mm in STORM_BURSTS]
    events += [(STORM_START_H + 24, 14.0, STORM_BACKGROUND, True)]
    for _ in range(7):
        centre = rng.uniform(12, horizon_h - 12)
        if abs(centre - STORM_START_H - 24) > 40:
            events.append((centre, rng.uniform(0.3, 1.2), rng.uniform(2, 28), False))
    return events


def _lagged_sum(x: np.ndarray, steps: int) -> np.ndarray:
    c = np.concatenate([[0.0], np.cumsum(x)])
    idx = np.arange(1, len(x) + 1)
    return c[idx] - c[np.maximum(idx - steps, 0)]


def build_weather(rng: np.random.Generator, days: int) -> Weather:
    n = max(days, HORIZON_DAYS) * 24 * 60 // STEP_MIN
    hours = np.arange(n) * STEP_MIN / 60
    events = _rain_events(rng, hours[-1])
    rain = sum(mm * _gauss(hours, c, s) for c, s, mm, _ in events)
    recent = _lagged_sum(rain, 72)                                    # last 6 h
    wet = 1 - np.exp(-recent / 5.0)
    day = hours / 24
    log_ep = ar1(rng, n, 36 * 12, 0.28)[0] + 0.45 * np.exp(-0.5 * ((day - 8.5) / 1.2) ** 2) \
        + 0.6 * np.exp(-0.5 * ((day - 26.5) / 1.5) ** 2)
    episode = np.exp(log_ep) / (1 + 0.05 * recent)
    temperature = 26.0 - 2.0 * day / 31 + 3.5 * np.cos(2 * np.pi * (hours % 24 - 14) / 24) \
        + ar1(rng, n, 48 * 12, 1.0)[0] - 3.0 * wet
    return Weather(hours, events, rain, wet, episode / episode.mean(), temperature)


def _diurnal(table: list[float], hours: np.ndarray) -> np.ndarray:
    t = np.asarray(table + table[:1]) / np.mean(table)
    return np.interp(hours % 24, np.arange(25), t)


def rain_gauge(w: Weather, rng: np.random.Generator) -> dict[str, np.ndarray]:
    total = np.zeros(len(w.hours))
    for centre, spread, mm, storm in w.events:
        scale = rng.uniform(0.85, 1.15) if storm else rng.lognormal(0, 0.6) * (rng.random() > 0.25)
        part = _gauss(w.hours, centre + rng.normal(0, 0.3 if storm else 0.5), spread)
        part *= rng.gamma(2.0, 0.5, len(part))
        if part.sum() > 0:
            total += part * mm * scale / part.sum()
    return {"rain_mm": np.round(total, 1)}


def air_monitor(w: Weather, rng: np.random.Generator) -> dict[str, np.ndarray]:
    h, ep, wet, temp = w.hours[::2], w.episode[::2], w.wet[::2], w.temperature[::2]
    n, hh = len(h), h % 24
    site = rng.uniform(0.85, 1.2)

    def wobble(sigma: float, tau: float = 6) -> np.ndarray:
        return np.exp(ar1(rng, n, tau, sigma)[0])
    pm25 = 40 * site * _diurnal(PM_DIURNAL, h) * ep * wobble(0.12)
    traffic = 0.55 + 0.6 * np.exp(-0.5 * ((hh - 8) / 1.5) ** 2) + \
        0.7 * np.exp(-0.5 * ((hh - 18.5) / 2) ** 2)
    no2 = 32 * rng.uniform(0.8, 1.3) * traffic * ep ** 0.5 * wobble(0.15)
    sun = np.clip(np.sin(np.pi * (hh - 8.0) / 13), 0, None)
    o3 = np.clip((12 + 95 * sun ** 1.5 * (1 - 0.6 * wet)) * rng.uniform(0.85, 1.15) *
                 wobble(0.1) - 0.15 * no2, 2, None)
    temperature = temp + rng.normal(0, 0.4) + ar1(rng, n, 12, 0.25)[0]
    return {
        "pm25": pm25, "pm10": pm25 * rng.uniform(1.5, 1.8) * np.exp(rng.normal(0, 0.05, n)),
        "no2": no2, "o3": o3, "co": (650 + 900 * traffic * ep ** 0.7) * site * wobble(0.1),
        "so2": (9 + 9 * ep ** 0.6) * rng.uniform(0.7, 1.3) * wobble(0.15),
        "temperature": temperature,
        "humidity": np.clip(78 - 3.2 * (temperature - 25) + 18 * wet + ar1(rng, n, 12, 3.0)[0],
                            35, 100),
    }


def red_river(w: Weather, st: Station, reference: float, rng: np.random.Generator
              ) -> dict[str, np.ndarray]:
    """Stage (m) of the Red River; ``reference`` is the Long Biên gauge's position."""
    def base(h):
        return 4.0 - 0.6 * h / (HORIZON_DAYS * 24) + 0.12 * np.sin(2 * np.pi * h / (6.5 * 24))
    tp, lag = 54.0, (st.position - reference) / 4000.0
    tau = w.hours - (RED_PEAK_H - tp) - lag
    wave = np.where(tau > 0, (np.maximum(tau, 0) / tp) ** 3 * np.exp(3 * (1 - tau / tp)), 0.0)
    level = base(w.hours) + (RED_PEAK_M - base(RED_PEAK_H)) * wave \
        - (st.position - reference) * 4e-5 + ar1(rng, len(w.hours), 24, 0.012)[0]
    return {"water_level_m": level}


def to_lich(w: Weather, st: Station, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Stage (m) of the Tô Lịch: a fast linear-reservoir response to the city's rain."""
    a = np.exp(-1.0 / ((1.5 + 2.5 * st.position) * 12))
    q = exp_filter(w.rain * 12 * (1 - a), a)             # mm/h through a linear reservoir
    hh = w.hours % 24
    base = st.bed + 0.5 + 0.05 * np.sin(2 * np.pi * (hh - 8) / 12)
    rise = (st.elevation - st.bed - 0.5) * (0.9 + 0.25 * st.position)
    return {"water_level_m": base + rise * (1 - np.exp(-q / 6.0)) +
            ar1(rng, len(q), 12, 0.01)[0]}


def _series(st: Station, w: Weather, reference: float, rng: np.random.Generator
            ) -> dict[str, np.ndarray]:
    if st.kind == "air":
        return air_monitor(w, rng)
    if st.kind == "rain":
        return rain_gauge(w, rng)
    return red_river(w, st, reference, rng) if st.river == "red" else to_lich(w, st, rng)


def _flags(n: int, rng: np.random.Generator) -> np.ndarray:
    """Missing rows shared by all properties of a station: stray gaps and one outage."""
    missing = rng.random(n) < 0.001
    if rng.random() < 0.4:
        start = rng.integers(0, max(n - 150, 1))
        missing[start:start + rng.integers(24, 144)] = True
    return missing


def _lines(code: str, prop: str, values: np.ndarray, stamps: list[str], outage: np.ndarray,
           rng: np.random.Generator) -> list[str]:
    """CSV lines for one property: suspect spikes and missing values flagged."""
    n = len(stamps)
    values = values[:n].copy()
    suspect = rng.random(n) < 0.003
    if prop in ("water_level_m", "temperature", "humidity"):
        values[suspect] += rng.choice([-1, 1], suspect.sum()) * rng.uniform(0.5, 2.0, suspect.sum())
    else:
        values[suspect] *= rng.uniform(2.5, 4.0, suspect.sum())
    if prop == "humidity":
        values = np.clip(values, 0, 100)
    missing = outage[:n] | (rng.random(n) < 0.001)
    digits = 2 if prop == "water_level_m" else 0 if prop == "co" else 1
    texts = [f"{v:.{digits}f}" for v in np.round(values, digits).tolist()]
    head, unit = f"{code},", f",{prop},"
    tail = {"good": f",{UNITS[prop]},good\n", "suspect": f",{UNITS[prop]},suspect\n",
            "missing": f",{UNITS[prop]},missing\n"}
    return [f"{head}{ts}{unit}{tail['missing']}" if m else
            f"{head}{ts}{unit}{t}{tail['suspect'] if s else tail['good']}"
            for ts, t, m, s in zip(stamps, texts, missing, suspect, strict=False)]


def _silent_hour(outage: np.ndarray) -> np.ndarray:
    """The first air monitor's outage, every 10 minutes (no randomness is drawn)."""
    step = 2 * STEP_MIN
    first = SILENT_FROM_H * 60 // step
    out = outage.copy()
    out[first:first + SILENT_MINUTES // step] = True
    return out


def write_readings(path: Path, stations: list[Station], days: int, rng: np.random.Generator
                   ) -> tuple[Path, int]:
    """Write readings.csv; returns the path and the number of rows."""
    w = build_weather(rng, days)
    n5 = days * 24 * 60 // STEP_MIN
    stamps = [(START + timedelta(minutes=STEP_MIN * k)).isoformat() for k in range(n5)]
    red = [s for s in stations if s.river == "red"]
    reference = next((s.position for s in red if s.code.startswith("WL-LB")), red[0].position
                     if red else 0.0)
    rows, silenced = 0, False
    with open(path, "w", encoding="utf-8", newline="") as fh:
        fh.write("station_code,observed_at,property,value,unit,quality\n")
        for st in stations:
            series = _series(st, w, reference, rng)
            own = stamps[::2] if st.kind == "air" else stamps
            outage = _flags(len(own), rng)
            if st.kind == "air" and not silenced:
                outage, silenced = _silent_hour(outage), True
            per_prop = [_lines(st.code, p, series[p], own, outage, rng) for p in st.properties]
            fh.writelines("".join(group) for group in zip(*per_prop, strict=False))
            rows += len(own) * len(per_prop)
    return path, rows
