"""The ``flood-scenario`` process: a "what if" flood run (rain, drainage, river stage) as
``twin flood scenario`` runs it (:mod:`twin.flood`), always as an asynchronous job: a
run takes seconds to minutes. The job's result links to the depth coverage and the
extents it stored.

The flood pipeline writes through SQLAlchemy (the raster catalogue does), so a run opens
its own connection with the server pool's connection settings (time zone, statement
timeout) and its own transactions; the pool's connections are autocommit.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

import psycopg
from psycopg import Connection
from sqlalchemy import Engine, create_engine
from sqlalchemy.pool import NullPool

from twin.flood.archive import Audit
from twin.flood.request import MAX_STEPS, FloodInputError, ScenarioRequest, parse
from twin.flood.runner import run_flood
from twin.naming import check_published_name, scoped_name
from twin.server.processes.access import ProcessAccess, check_publish
from twin.server.processes.base import TwinProcessor, process_input

_NUM = {"type": "number"}
_TIME = {"type": "string", "format": "date-time"}



PROCESS_METADATA: dict[str, Any] = {
    "version": "1.0.0",
    "id": "flood-scenario",
    "title": {"vi": "Kịch bản ngập", "en": "Flood scenario"},
    "description": {"vi": (
        "Chạy một kịch bản ngập trên mô hình số độ cao của thành phố: lượng mưa vượt khả "
        "năng tiêu thoát đọng lại ở các vùng trũng (lấp-tràn-nhập), và sông chính ở mực "
        "nước đã cho làm ngập các ô nối với lòng sông. Lưu lưới độ sâu theo giờ (COG, lớp "
        "phủ flood_depth_<tên>) và vùng ngập theo cấp độ sâu (flood_extents). Cần vai trò "
        "environment: một lần chạy được lưu dưới tên riêng của người gọi "
        "(user:<chủ>:<tên>), thay lần chạy trước cùng tên của chính người đó; với "
        "publish=true (admin) nó thay kịch bản đã công bố cùng tên, kịch bản cũ được lưu "
        "trữ và ghi nhật ký trước ('twin flood restore' khôi phục lại). Luôn chạy như một "
        "công việc không đồng bộ."), "en": (
        "Runs a flood scenario over the city's DEM: rain beyond the drains' capacity ponds "
        "in the depressions (fill-spill-merge), and the main river at the given stage floods "
        "the cells connected to its channel. Stores hourly depth grids (COGs, coverage "
        "flood_depth_<name>) and depth-class extents (flood_extents). Needs the environment "
        "role: a run is stored under the caller's own name (user:<owner>:<name>), "
        "replacing the caller's earlier run of that name; with publish=true (admin) it "
        "replaces the published scenario of that name, which is archived and audited "
        "first ('twin flood restore' puts it back). Always runs as an asynchronous job.")},
    "jobControlOptions": ["async-execute"],
    "keywords": ["flood", "scenario", "rain", "river", "inundation"],
    "links": [],
    "inputs": {
        "name": process_input("Name", "Scenario name.", {
            "type": "string", "minLength": 1, "maxLength": 100, "pattern": r"^[\w .:-]+$"},
            required=True),
        "rain_mm": process_input(
            "Rain", "Rain over 'hours' (mm), spread evenly; 2008: >350 mm in 2 days.",
            {**_NUM, "minimum": 0, "maximum": 2000, "default": 0}),
        "hours": process_input("Rain duration", "Hours.", {
            "type": "integer", "minimum": 1, "maximum": MAX_STEPS, "default": 48}),
        "drainage_mm_h": process_input("Drainage capacity", "What the drains take (mm/h).",
                                       {**_NUM, "minimum": 0, "maximum": 500,
                                        "default": 50}),
        "stage_m": process_input("River stage", "Main river's water level (m, the DEM's "
                                 "datum).", {**_NUM, "minimum": -10, "maximum": 40}),
        "from": process_input("Start", "Valid time of the first hour (default: this hour).",
                              _TIME),
        "to": process_input("End", "End of the run (default: start + hours).", _TIME),
        "resolution_m": process_input("Resolution", "Model cell size (m; default: the "
                                      "DEM's own).", {**_NUM, "minimum": 5, "maximum": 500}),
        "min_depth_m": process_input("Minimum depth", "Shallower cells are dry.",
                                     {**_NUM, "minimum": 0, "maximum": 1, "default": 0.05}),
        "publish": process_input("Publish", "Store under the published name (admin "
                                 "only), replacing the published scenario; default: under "
                                 "the caller's own name.", {"type": "boolean",
                                                            "default": False}),
    },
    "outputs": {
        "result": {"title": "Run summary", "description": "Steps, peak, areas by depth class, "
                   "timings and links to the coverage and the extents.",
                   "schema": {"type": "object", "contentMediaType": "application/json"}},
    },
    "example": {"inputs": {"name": "yagi", "rain_mm": 350, "hours": 48, "drainage_mm_h": 25,
                           "stage_m": 11.3, "from": "2026-10-20T00:00:00+07:00"}},
}
_KEYS = {"from": "start", "to": "end"}
_NOT_MODEL = {"publish"}
_GAUGED = ("SELECT 1 FROM sensor_stations s WHERE s.kind = 'water_level' AND EXISTS ("
           "SELECT 1 FROM reading_rollups r WHERE r.grain = 'hour' AND r.station_id = s.id "
           "AND r.property = 'water_level_m') LIMIT 1")


def scenario_request(inputs: dict, tz: str = "UTC") -> ScenarioRequest:
    """The inputs as a ScenarioRequest (times in the city's zone ``tz``); unknown inputs
    are refused by name."""
    unknown = sorted(set(inputs) - set(PROCESS_METADATA["inputs"]))
    if unknown:
        raise FloodInputError(f"unknown input(s): {', '.join(unknown)}")
    return parse(ScenarioRequest, {_KEYS.get(k, k): v for k, v in inputs.items()
                                   if v is not None and k not in _NOT_MODEL}, tz)


def publish_flag(inputs: dict) -> bool:
    value = inputs.get("publish", False)
    if not isinstance(value, bool):
        raise FloodInputError("publish: true or false")
    return value


def flood_engine(processor: TwinProcessor) -> Engine:
    """A SQLAlchemy engine opening connections like the server pool's, not autocommit."""
    pool = processor.source.pool()
    kwargs = {k: v for k, v in pool.kwargs.items() if k != "autocommit"}
    return create_engine("postgresql+psycopg://", poolclass=NullPool,
                         creator=lambda: psycopg.connect(pool.conninfo, **kwargs))


def raster_root(processor_def: dict, conn: Connection) -> Path:
    """Where runs write COGs: the configured raster folder, else the one holding the
    catalogued DEM (``<rasters>/dem/<file>``), so grids stay beside their DEM."""
    if processor_def.get("raster_dir"):
        return Path(processor_def["raster_dir"])
    row = conn.execute("SELECT path FROM rasters WHERE kind = 'dem' "
                       "ORDER BY created_at DESC, id DESC LIMIT 1").fetchone()
    if row is None:
        raise FloodInputError("no DEM in the raster catalogue; load one with "
                              "'twin load dem.tif --kind dem'")
    return Path(row[0]).parent.parent


def result_links(base: str, scenario: str, coverage: str) -> list[dict]:
    extents = f"{base}/collections/flood_extents/items?filter=" + \
        quote(f"scenario = '{scenario}'")
    return [{"rel": "coverage", "type": "image/tiff; application=geotiff",
             "title": "Depth grids", "href": f"{base}/collections/{coverage}/coverage"},
            {"rel": "collection", "type": "application/json", "title": "Depth coverage",
             "href": f"{base}/collections/{coverage}"},
            {"rel": "items", "type": "application/geo+json", "title": "Flood extents",
             "href": extents}]


class Processor(TwinProcessor):
    metadata = PROCESS_METADATA
    # Stores grids and extents: the environment department's; published names: admin.
    access = ProcessAccess(execute=("environment",), publish=("admin",))

    def __init__(self, processor_def: dict):
        super().__init__(processor_def)
        self.definition = processor_def
        self.inputs: dict = {}

    def check(self, inputs: dict, conn: Connection) -> tuple[ScenarioRequest, Path]:
        """Validated inputs, the name the run is stored under, and where to write; a
        missing DEM, or a stage without a gauge to place the river by, is refused here
        rather than in the job."""
        req = scenario_request(inputs, self.timezone)
        if publish_flag(inputs):
            check_publish(self.access, self.caller, self.metadata["id"])
            check_published_name(req.name)
        else:
            req = req.model_copy(update={"name": scoped_name(self.caller.subject, req.name)})
        self.inputs = dict(inputs)
        root = raster_root(self.definition, conn)
        if req.stage_m is not None and conn.execute(_GAUGED).fetchone() is None:
            raise FloodInputError("stage_m needs a water-level gauge with readings to tell "
                                  "where the river is")
        return req, root

    def run(self, parsed: tuple[ScenarioRequest, Path], conn: Connection) -> tuple[str, dict]:
        req, root = parsed
        engine = flood_engine(self)
        try:
            summary = run_flood(engine, root, req, audit=Audit(
                actor=self.caller.subject, agency=self.caller.agency,
                method=self.caller.method, process_id=self.metadata["id"],
                job_id=self.job_id, inputs=self.inputs))
        finally:
            engine.dispose()
        base = self.definition.get("base_url", "").rstrip("/")
        return "application/json", {**summary, "links": result_links(
            base, req.name, summary["coverage"])}
