"""Breakpoint tables of the two AQI scales and the piecewise-linear sub-index.

Both scales share one equation, I = I_lo + (I_hi - I_lo) / (C_hi - C_lo) * (C - C_lo),
so one table type describes both: rows of (C_lo, C_hi, I_lo, I_hi) in the scale's
native unit, plus how to get there from µg/m³ (every reading in twin is µg/m³) and
how the scale cleans a concentration before the lookup. VN_AQI's rows join end to
end (Decision 1459/QĐ-TCMT, 2019); the US rows leave gaps (9.0 | 9.1) that the EPA
closes by truncating first (EPA-454/B-24-002, Table 6, 2024 PM2.5 revision).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np

ScaleName = Literal["vn", "us"]


@dataclass(frozen=True)
class Breakpoints:
    """One column of a breakpoint table.

    ``rows``: (C_lo, C_hi, I_lo, I_hi) in ``unit``, ascending. ``ugm3_per_unit``
    converts µg/m³ to that unit (1.88 µg/m³ per ppb NO₂ → 1.88). ``truncate``: the
    decimals the scale truncates to before the lookup (None: no truncation).
    ``open_top``: above the last row the top row is extended linearly (EPA: "use the
    last two breakpoints"); when False the column is undefined there and another
    averaging time takes over (US O₃ 8 h, US SO₂ 1 h, VN O₃ 8 h).
    """

    rows: tuple[tuple[float, float, float, float], ...]
    unit: str = "µg/m³"
    ugm3_per_unit: float = 1.0
    truncate: int | None = None
    open_top: bool = True

    @classmethod
    def joined(cls, conc: tuple[float, ...], index: tuple[float, ...], **kw) -> Breakpoints:
        """Rows from a column whose segments join (VN_AQI's BP_i / I_i layout)."""
        rows = tuple(zip(conc[:-1], conc[1:], index[:-1], index[1:], strict=False))
        return cls(rows=rows, **kw)

    def native(self, ugm3: np.ndarray) -> np.ndarray:
        """µg/m³ → the table's unit, truncated the way the scale prescribes."""
        c = np.asarray(ugm3, dtype=float) / self.ugm3_per_unit
        if self.truncate is None:
            return c
        step = 10.0 ** self.truncate
        # Round at 9 decimals first so that 137.2 µg/m³ O₃ (0.0700 ppm) is not
        # truncated to 0.069 by a binary-fraction residue.
        return np.floor(np.round(c * step, 9)) / step


_VN_INDEX = (0, 50, 100, 150, 200, 300, 400, 500)

VN_BREAKPOINTS: Mapping[str, Breakpoints] = {
    "o3": Breakpoints.joined((0, 160, 200, 300, 400, 800, 1000, 1200), _VN_INDEX),
    "o3_8h": Breakpoints.joined((0, 100, 120, 170, 210, 400), _VN_INDEX[:6], open_top=False),
    "co": Breakpoints.joined((0, 10_000, 30_000, 45_000, 60_000, 90_000, 120_000, 150_000),
                             _VN_INDEX),
    "so2": Breakpoints.joined((0, 125, 350, 550, 800, 1600, 2100, 2630), _VN_INDEX),
    "no2": Breakpoints.joined((0, 100, 200, 700, 1200, 2350, 3100, 3850), _VN_INDEX),
    "pm10": Breakpoints.joined((0, 50, 150, 250, 350, 420, 500, 600), _VN_INDEX),
    "pm25": Breakpoints.joined((0, 25, 50, 80, 150, 250, 350, 500), _VN_INDEX),
}
"""Decision 1459/QĐ-TCMT, Table 2, all in µg/m³; ``o3`` is the 1-hour column."""

_US_STEPS = ((0, 50), (51, 100), (101, 150), (151, 200), (201, 300), (301, 500))


def _us(conc: tuple[tuple[float, float], ...], first_step: int = 0, **kw) -> Breakpoints:
    steps = _US_STEPS[first_step:first_step + len(conc)]
    rows = tuple((c[0], c[1], i[0], i[1]) for c, i in zip(conc, steps, strict=False))
    return Breakpoints(rows=rows, **kw)


US_BREAKPOINTS: Mapping[str, Breakpoints] = {
    "pm25": _us(((0.0, 9.0), (9.1, 35.4), (35.5, 55.4), (55.5, 125.4), (125.5, 225.4),
                 (225.5, 325.4)), truncate=1),
    "pm10": _us(((0, 54), (55, 154), (155, 254), (255, 354), (355, 424), (425, 604)),
                truncate=0),
    "o3_8h": _us(((0.000, 0.054), (0.055, 0.070), (0.071, 0.085), (0.086, 0.105),
                  (0.106, 0.200)), unit="ppm", ugm3_per_unit=1960.0, truncate=3,
                 open_top=False),
    "o3_1h": _us(((0.125, 0.164), (0.165, 0.204), (0.205, 0.404), (0.405, 0.604)),
                 first_step=2, unit="ppm", ugm3_per_unit=1960.0, truncate=3),
    "co": _us(((0.0, 4.4), (4.5, 9.4), (9.5, 12.4), (12.5, 15.4), (15.5, 30.4), (30.5, 50.4)),
              unit="ppm", ugm3_per_unit=1145.0, truncate=1),
    "so2_1h": _us(((0, 35), (36, 75), (76, 185), (186, 304)), unit="ppb", ugm3_per_unit=2.62,
                  truncate=0, open_top=False),
    "so2_24h": _us(((305, 604), (605, 1004)), first_step=4, unit="ppb", ugm3_per_unit=2.62,
                   truncate=0),
    "no2": _us(((0, 53), (54, 100), (101, 360), (361, 649), (650, 1249), (1250, 2049)),
               unit="ppb", ugm3_per_unit=1.88, truncate=0),
}
"""EPA-454/B-24-002 Table 6 (2024). Conversions at 25 °C: NO₂ 1.88, O₃ 1.96, SO₂ 2.62
µg/m³ per ppb, CO 1.145 mg/m³ per ppm. CO is the 8-hour column, NO₂ and SO₂ 1-hour."""

TABLES: Mapping[str, Mapping[str, Breakpoints]] = {"vn": VN_BREAKPOINTS, "us": US_BREAKPOINTS}


def sub_index(value, pollutant: str, table: ScaleName | Mapping[str, Breakpoints]):
    """Sub-index (unrounded float) of concentration(s) ``value`` in µg/m³.

    ``table`` is "vn", "us" or a mapping like ``VN_BREAKPOINTS``; ``pollutant`` is a
    column of it ("pm25", "o3_8h", "so2_24h", ...). The value is converted to the
    column's unit and truncated as the scale prescribes, then interpolated inside
    its row. NaN where the column is undefined: missing input, below the first
    breakpoint (US O₃ 1 h under 0.125 ppm, negative readings) or above the last
    one of a closed column. Scalars give a float, arrays an array.
    """
    columns = TABLES[table] if isinstance(table, str) else table
    try:
        bp = columns[pollutant]
    except KeyError:
        raise ValueError(f"no breakpoint column {pollutant!r}; have {sorted(columns)}") from None
    c = bp.native(value)
    rows = np.asarray(bp.rows, dtype=float)
    lo, hi, i_lo, i_hi = rows.T
    row = np.clip(np.searchsorted(lo, c, side="right") - 1, 0, len(rows) - 1)
    with np.errstate(invalid="ignore"):
        index = i_lo[row] + (i_hi[row] - i_lo[row]) / (hi[row] - lo[row]) * (c - lo[row])
        undefined = np.isnan(c) | (c < lo[0])
        if not bp.open_top:
            undefined |= c > hi[-1]
    index = np.where(undefined, np.nan, index)
    return float(index) if index.ndim == 0 else index
