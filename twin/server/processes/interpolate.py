"""The ``interpolate`` process: hourly air-quality surfaces of a pollutant, as
``twin interpolate`` makes them (:mod:`twin.surfaces`).

Each hour is stored as a COG in the raster catalogue, so it is then served like every
surface (``/collections/<pollutant>_surface/coverage?datetime=...``, maps, tiles, EDR).
One hour returns its GeoTIFF; several return a JSON summary linking each hour's
coverage. Up to ``SYNC_HOURS`` hours run synchronously; a longer period must be asked
for with ``Prefer: respond-async`` and runs as a job.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path
from typing import Any

from psycopg import Connection
from pydantic import ValidationError

from twin.errors import TwinInputError, validation_message
from twin.naming import scoped_name
from twin.rasters.series import collection_id
from twin.server.processes.access import ProcessAccess, check_publish
from twin.server.processes.base import TwinProcessor, process_input
from twin.surfaces.build import RunSummary
from twin.surfaces.region import Region, parse_bbox
from twin.surfaces.request import DEFAULT_RESOLUTION, SurfaceRequest
from twin.surfaces.run import make_surfaces, request_region
from twin.surfaces.source import POLLUTANTS

SYNC_HOURS = 6            # a few seconds: more must run as an asynchronous job
MAX_HOURS = 31 * 24       # a month of hours per job
GEOTIFF = "image/tiff; application=geotiff"

_TEXT = {"type": "string"}



PROCESS_METADATA: dict[str, Any] = {
    "version": "1.0.0",
    "id": "interpolate",
    "title": {"vi": "Bề mặt chất lượng không khí từ mạng lưới quan trắc",
              "en": "Air-quality surfaces from the monitoring network"},
    "description": {"vi": (
        "Nội suy giá trị trung bình giờ của PM2.5, PM10 hoặc NO2 tại các trạm lên lưới của "
        "thành phố (EPSG:3405, cắt theo ranh giới hành chính) bằng nghịch đảo khoảng cách "
        "có trọng số hoặc kriging thông thường, chọn theo từng giờ bằng kiểm định chéo bỏ "
        "một (LOOCV) nếu không chỉ định, và lưu mỗi giờ một GeoTIFF tối ưu cho đám mây "
        "(COG) cùng RMSE, MAE và sai lệch LOOCV. Một giờ trả về GeoTIFF; nhiều giờ trả về "
        f"bản tóm tắt kèm liên kết tới các lớp phủ. Tối đa {SYNC_HOURS} giờ khi chạy đồng "
        f"bộ, {MAX_HOURS} giờ mỗi công việc. Cần vai trò environment: bề mặt được lưu "
        "thành chuỗi riêng của người gọi; với publish=true (admin) chúng thay các bề mặt "
        "giờ đã công bố, có ghi nhật ký."), "en": (
        "Interpolates the hourly station means of PM2.5, PM10 or NO2 onto the city grid "
        "(EPSG:3405, clipped to the districts) by inverse distance weighting or ordinary "
        "kriging, chosen per hour by leave-one-out cross-validation unless given, and "
        "stores one Cloud-Optimized GeoTIFF per hour with its LOOCV RMSE, MAE and bias. "
        f"One hour returns the GeoTIFF; several return a summary with links to the "
        f"coverages. At most {SYNC_HOURS} hours synchronously, {MAX_HOURS} per job. "
        "Needs the environment role: surfaces are stored as the caller's own series "
        "(collection <pollutant>_surface_user_<owner>_<name>); with publish=true (admin) "
        "they replace the published hourly surfaces, with an audit row.")},
    "jobControlOptions": ["sync-execute", "async-execute"],
    "keywords": ["interpolation", "kriging", "IDW", "air quality", "PM2.5", "surface"],
    "links": [],
    "inputs": {
        "pollutant": process_input("Pollutant", "pm25, pm10 or no2.",
                            {**_TEXT, "enum": list(POLLUTANTS)}, required=True),
        "datetime": process_input(
            "Time", "An hour (RFC 3339 instant, floored to the UTC hour) or a closed "
            "interval 'start/end' of hours, both included.", _TEXT, required=True),
        "method": process_input("Method", "auto picks the lowest LOOCV RMSE per hour.",
                         {**_TEXT, "enum": ["auto", "idw", "kriging"], "default": "auto"}),
        "model": process_input("Variogram model", "Used when method is kriging.",
                        {**_TEXT, "enum": ["spherical", "exponential", "gaussian"],
                         "default": "spherical"}),
        "resolution": process_input("Resolution", "Cell size in metres.",
                             {"type": "number", "minimum": 20, "maximum": 5000,
                              "default": DEFAULT_RESOLUTION}),
        "bbox": process_input("Bounding box", "minlon, minlat, maxlon, maxlat (CRS84); default "
                       "the whole city.", {"type": "array", "minItems": 4, "maxItems": 4,
                                           "items": {"type": "number"}}),
        "name": process_input("Name", "Name of the caller's own series (default 'run').",
                       {**_TEXT, "minLength": 1, "maxLength": 60,
                        "pattern": r"^[\w .:-]+$", "default": "run"}),
        "publish": process_input("Publish", "Replace the published hourly surfaces (admin only).",
                          {"type": "boolean", "default": False}),
    },
    "outputs": {
        "surface": {"title": "Surface", "description": "The GeoTIFF of a single hour, or a "
                    "JSON summary of the hours stored with links to their coverages.",
                    "schema": {"oneOf": [
                        {"type": "string", "contentMediaType": GEOTIFF,
                         "contentEncoding": "binary"},
                        {"type": "object", "contentMediaType": "application/json"}]}},
    },
    "example": {"inputs": {"pollutant": "pm25", "datetime": "2026-10-01T03:00:00Z",
                           "method": "auto", "resolution": 150}},
}

_FIELDS = {"pollutant", "datetime", "method", "model", "resolution", "bbox", "name",
           "publish"}
_NOT_REQUEST = ("datetime", "bbox", "name", "publish")
_NAME = re.compile(r"^[\w .:-]{1,60}$")
_PUBLISHED = ("SELECT count(*) FROM rasters WHERE kind = 'air_quality' AND variable = %s "
              "AND scenario IS NULL AND valid_time BETWEEN %s AND %s")
_AUDIT = ("INSERT INTO process_audit (actor, agency, method, process_id, job_id, action, "
          "target, inputs, replaced) VALUES (%s, %s, %s, 'interpolate', %s, 'replace', %s, "
          "%s, %s)")


def _times(value: Any) -> tuple[datetime, datetime]:
    if not isinstance(value, str) or not value.strip():
        raise TwinInputError("datetime: give an instant or a closed interval 'start/end'")
    first, sep, second = value.strip().partition("/")
    if sep and ".." in (first, second):
        raise TwinInputError("datetime: the interval must be closed (no '..')")
    try:
        start = datetime.fromisoformat(first)
        end = datetime.fromisoformat(second) if sep else start
    except ValueError:
        raise TwinInputError(f"datetime: {value!r} is not an RFC 3339 instant or interval") \
            from None
    return start, end


def parse_inputs(inputs: dict) -> SurfaceRequest:
    """The request the inputs describe; TwinInputError names the input that is wrong."""
    unknown = set(inputs) - _FIELDS
    if unknown:
        raise TwinInputError(f"unknown input(s) {', '.join(sorted(unknown))}; the inputs are "
                             f"{', '.join(sorted(_FIELDS))}")
    start, end = _times(inputs.get("datetime"))
    fields = {k: v for k, v in inputs.items() if k not in _NOT_REQUEST}
    if inputs.get("bbox") is not None:
        fields["bbox"] = parse_bbox(inputs["bbox"])
    try:
        request = SurfaceRequest(start=start, end=end, **fields)
    except ValidationError as exc:
        first = exc.errors()[0]
        name = ".".join(str(p) for p in first["loc"]) or "datetime"
        raise TwinInputError(f"{name.replace('start', 'datetime').replace('end', 'datetime')}: "
                             f"{validation_message(first)}") from None
    if request.hours > MAX_HOURS:
        raise TwinInputError(f"datetime: {request.hours} hours; at most {MAX_HOURS} per job")
    return request


def target(inputs: dict) -> tuple[str, bool]:
    """(name, publish) of the run; TwinInputError names the input that is wrong."""
    name, publish = inputs.get("name", "run"), inputs.get("publish", False)
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise TwinInputError("name: 1 to 60 letters, digits, spaces or . : _ -")
    if not isinstance(publish, bool):
        raise TwinInputError("publish: true or false")
    return name, publish


def summary_document(run: RunSummary, base_url: str, scenario: str | None = None) -> dict:
    """The JSON result: what was stored, and where each hour's coverage is served."""
    collection = f"{base_url}/collections/" + \
        collection_id("air_quality", run.variable, scenario)
    doc = run.as_dict()
    doc["links"] = [{"rel": "http://www.opengis.net/def/rel/ogc/1.0/coverage",
                     "type": "image/tiff; application=geotiff", "title": hour,
                     "href": f"{collection}/coverage?datetime={hour}"} for hour in run.hours]
    doc["links"].append({"rel": "collection", "type": "application/json",
                         "href": f"{collection}?f=json"})
    return doc


class Processor(TwinProcessor):
    metadata = PROCESS_METADATA
    # Stores surfaces: the environment department's; the published series: admin.
    access = ProcessAccess(execute=("environment",), publish=("admin",))

    def __init__(self, processor_def: dict):
        super().__init__(processor_def)
        self.raster_dir = processor_def.get("raster_dir")
        self.base_url = str(processor_def.get("base_url", "")).rstrip("/")
        self.scenario: str | None = None
        self.inputs: dict = {}

    def check(self, inputs: dict, conn: Connection) -> tuple[SurfaceRequest, Region]:
        """The request and its grid (a bbox off the city is refused here, not in a job)."""
        if self.raster_dir is None:
            raise TwinInputError("this server stores no surfaces (no raster directory is "
                                 "configured for the interpolate process)")
        inputs = inputs if isinstance(inputs, dict) else {}
        request = parse_inputs(inputs)
        name, publish = target(inputs)
        if publish:
            check_publish(self.access, self.caller, self.metadata["id"])
        self.scenario = None if publish else scoped_name(self.caller.subject, name)
        self.inputs = dict(inputs)
        with conn.transaction():
            return request, request_region(conn, request)

    def check_mode(self, checked: tuple[SurfaceRequest, Region], asynchronous: bool) -> None:
        """Refuse a long period asked for synchronously: it must run as a job."""
        request, _region = checked
        if not asynchronous and request.hours > SYNC_HOURS:
            raise TwinInputError(f"datetime: {request.hours} hours; more than {SYNC_HOURS} "
                                 "must run as a job (send 'Prefer: respond-async')")

    def run(self, checked: tuple[SurfaceRequest, Region], conn: Connection
            ) -> tuple[str, bytes | dict]:
        request, region = checked
        with conn.transaction():
            if self.scenario is None:
                self.audit_publish(conn, request)
            run = make_surfaces(conn, request, Path(self.raster_dir), region=region,
                                scenario=self.scenario)
        if request.hours == 1 and len(run.ids) == 1:
            with conn.transaction():
                path = conn.execute("SELECT path FROM rasters WHERE external_id = %s",
                                    (run.ids[0],)).fetchone()[0]
            return GEOTIFF, Path(path).read_bytes()
        return "application/json", summary_document(run, self.base_url, self.scenario)

    def audit_publish(self, conn: Connection, request: SurfaceRequest) -> None:
        """The audit row of a run that replaces published hourly surfaces (the same
        transaction as the surfaces: no replacement without its row)."""
        replaced = conn.execute(_PUBLISHED, (request.pollutant, request.start,
                                             request.end)).fetchone()[0]
        who = self.caller
        conn.execute(_AUDIT, (who.subject, who.agency, who.method, self.job_id,
                              f"air_quality:{request.pollutant}",
                              json.dumps(self.inputs, default=str),
                              json.dumps({"rasters": replaced})))
