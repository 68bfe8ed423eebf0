"""The demo city's October 2026 storm as a flood event (``twin demo`` calls this).

The demo readings (:mod:`twin.demo.readings`) put ~350 mm of rain on the city on 20-21
October 2026 and take the Red River at Long Biên to ~11 m on the 22nd at 18:00. The
event runs the recorded gauges and rain gauges over the three local days 20-22 October
(72 hourly steps) on the catalogued DEM coarsened to 30 m (the 10 m demo DEM is
1775 x 1560 cells; at 30 m, 591 x 520: an hour of both models and its COG and extents
in a fraction of a second), then summarises the exposure at the peak hour (the hour
with the largest flooded area).
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Engine

from twin.config import Settings
from twin.flood.archive import Audit
from twin.flood.exposure import ExposureRequest, compute
from twin.flood.request import EventRequest, parse
from twin.flood.runner import run_flood

SCENARIO = "demo-event-2026-10"
WINDOW = ("2026-10-20T00:00:00+07:00", "2026-10-23T00:00:00+07:00")
RESOLUTION_M = 30.0
# Hà Nội's inner drains cope with about 50 mm per 2 h in a burst but were planned for
# 310 mm over 2 days (hanoi-facts): 6.5 mm/h sustained. The ponding model drains at a
# fixed rate every hour with no storage in the network, so over a two-day storm the
# sustained rate is the one that fits; at 25 mm/h nothing of this storm would pond
# (its wettest hour brings 19 mm on the city's mean).
DRAINAGE_MM_H = 6.5


def run_demo_flood_event(engine: Engine, settings: Settings,
                         progress: Callable[[str], None] | None = None) -> dict:
    """Store the event's hourly depth grids and extents; returns the run's summary with
    ``exposure``: the peak hour's exposure summary."""
    req = parse(EventRequest, {"name": SCENARIO, "start": WINDOW[0], "end": WINDOW[1],
                               "drainage_mm_h": DRAINAGE_MM_H, "resolution_m": RESOLUTION_M},
                settings.city.timezone)
    summary = run_flood(engine, settings.raster_dir, req, progress=progress,
                        audit=Audit(actor="twin demo", process_id="twin demo", method="cli"))
    with engine.connect() as conn:
        result = compute(conn, ExposureRequest.of(SCENARIO, summary["peak_time"], None))
    summary["exposure"] = result["summary"]
    if progress:
        e = result["summary"]
        progress(f"flood {SCENARIO}: peak {summary['peak_wet_km2']:.1f} km² at "
                 f"{summary['peak_time']}; {e['road_km_flooded']:.1f} km of road, "
                 f"{e['stops_flooded']} bus stops, {e['parcels_flooded']} parcels under water")
    return summary
