"""The ``flood-exposure`` process: what a stored flood scenario floods at a time (roads
by class, bus stops and the routes losing them, signs, stations, parcels by land use),
as GeoJSON features with a summary, computed as ``twin flood exposure`` does
(:mod:`twin.flood.exposure`). Synchronous: one grid and one query per asset layer."""

from __future__ import annotations

from typing import Any

from psycopg import Connection

from twin.flood.exposure import ExposureRequest, compute, depth_step
from twin.flood.request import FloodInputError
from twin.server.processes.access import ProcessAccess
from twin.server.processes.base import TwinProcessor
from twin.server.processes.flood_scenario import flood_engine

PROCESS_METADATA: dict[str, Any] = {
    "version": "1.0.0",
    "id": "flood-exposure",
    "title": {"vi": "Tài sản bị ngập", "en": "Flood exposure"},
    "description": {"vi": (
        "Những đoạn đường (chiều dài bị ngập theo cấp đường), điểm dừng xe buýt, tuyến xe "
        "buýt (số điểm dừng mất), biển báo, trạm quan trắc và thửa đất (số lượng và diện "
        "tích theo loại đất) bị ngập theo lưới độ sâu của một kịch bản ngập đã lưu tại một "
        "thời điểm: bước của kịch bản có hiệu lực tại thời điểm đó (bước gần nhất không "
        "muộn hơn)."), "en": (
        "Which road segments (flooded length by road class), bus stops, bus routes (stops "
        "lost), traffic signs, sensor stations and land parcels (count and area by land "
        "use) a stored flood scenario's depth grid floods at a time. The grid is the "
        "scenario's step valid at that time (the latest at or before it).")},
    "jobControlOptions": ["sync-execute", "async-execute"],
    "keywords": ["flood", "exposure", "roads", "bus", "parcels"],
    "links": [],
    "inputs": {
        "scenario": {"title": "Scenario", "description": "Scenario or event name.",
                     "schema": {"type": "string", "minLength": 1, "maxLength": 100},
                     "minOccurs": 1, "maxOccurs": 1},
        "time": {"title": "Time", "description": "Valid time (local when without offset).",
                 "schema": {"type": "string", "format": "date-time"},
                 "minOccurs": 1, "maxOccurs": 1},
        "threshold": {"title": "Depth threshold", "description": (
            "Depth (m) above which an asset counts as flooded; default 0.15 m for roads, "
            "0.10 m for points and parcels."),
            "schema": {"type": "number", "minimum": 0, "maximum": 5},
            "minOccurs": 0, "maxOccurs": 1},
    },
    "outputs": {
        "exposure": {"title": "Exposure", "description": "GeoJSON FeatureCollection of the "
                     "flooded assets (property 'layer' names each one's layer) with a "
                     "'summary' member.",
                     "schema": {"type": "object", "contentMediaType": "application/geo+json"}},
    },
    "example": {"inputs": {"scenario": "demo-event-2026-10",
                           "time": "2026-10-22T18:00:00+07:00", "threshold": 0.2}},
}


class Processor(TwinProcessor):
    metadata = PROCESS_METADATA
    # Reads only: anyone may run it.
    access = ProcessAccess()

    def check(self, inputs: dict, conn: Connection) -> ExposureRequest:
        """Validated inputs; an unknown scenario or a time before it is refused here."""
        unknown = sorted(set(inputs) - set(PROCESS_METADATA["inputs"]))
        if unknown:
            raise FloodInputError(f"unknown input(s): {', '.join(unknown)}")
        for key in ("scenario", "time"):
            if not isinstance(inputs.get(key), str):
                raise FloodInputError(f"{key}: a string is required")
        threshold = inputs.get("threshold")
        if threshold is not None and (isinstance(threshold, bool)
                                      or not isinstance(threshold, (int, float))):
            raise FloodInputError("threshold: a number is required")
        req = ExposureRequest.of(inputs["scenario"], inputs["time"], threshold, self.timezone)
        engine = flood_engine(self)
        try:
            with engine.connect() as sa:
                depth_step(sa, req.scenario, req.time)
        finally:
            engine.dispose()
        return req

    def run(self, req: ExposureRequest, conn: Connection) -> tuple[str, dict]:
        engine = flood_engine(self)
        try:
            with engine.connect() as sa:
                return "application/json", compute(sa, req)
        finally:
            engine.dispose()
