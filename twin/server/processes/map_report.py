"""The ``map-report`` process: the PDF or HTML map report of a district over a period,
as ``twin report`` writes it (:mod:`twin.reports`)."""

from __future__ import annotations

from typing import Any

from psycopg import Connection

from twin.i18n import DEFAULT
from twin.reports.areas import resolve_area
from twin.reports.build import build_report
from twin.reports.request import MAX_DAYS, ReportRequest, parse_request
from twin.server.processes.access import ProcessAccess
from twin.server.processes.base import TwinProcessor

_TEXT = {"type": "string"}
PROCESS_METADATA: dict[str, Any] = {
    "version": "1.0.0",
    "id": "map-report",
    "title": {"vi": "Báo cáo bản đồ của một quận, phường",
              "en": "Map report of a district"},
    "description": {"vi": (
        "Báo cáo cho người làm quy hoạch về một quận, huyện hoặc phường, xã trong một "
        "khoảng thời gian: bản đồ tổng quan (chú giải, thước tỷ lệ, mũi tên chỉ hướng "
        "bắc, EPSG:3405) và các bảng về đường và tài sản giao thông, chất lượng không khí "
        "(VN_AQI theo ngày), ngập lụt và các cảnh báo trong kỳ. Trả về tệp PDF (khổ A4 "
        "hoặc A3 ngang) hoặc một trang HTML tương tác độc lập."), "en": (
        "A planner's report on one district or ward of Hà Nội over a period: overview maps "
        "(legend, scale bar, north arrow, EPSG:3405) and tables for road and transport "
        "assets, air quality (daily VN_AQI), flooding and the alerts active in the period. "
        "Returns the PDF (A4 or A3 "
        "landscape) or a self-contained interactive HTML page.")},
    "jobControlOptions": ["sync-execute", "async-execute"],
    "keywords": ["report", "map", "district", "assets", "air quality", "flood"],
    "links": [],
    "inputs": {
        "area": {"title": "Area", "description": "District or ward name, with or without "
                 "diacritics, e.g. 'Hoàn Kiếm' or 'hoan kiem'.",
                 "schema": {**_TEXT, "minLength": 1, "maxLength": 200},
                 "minOccurs": 1, "maxOccurs": 1},
        "from": {"title": "From", "description": "First day of the period (local date).",
                 "schema": {**_TEXT, "format": "date"}, "minOccurs": 1, "maxOccurs": 1},
        "to": {"title": "To", "description": "Last day of the period, inclusive; at most "
               f"{MAX_DAYS} days after 'from'.",
               "schema": {**_TEXT, "format": "date"}, "minOccurs": 1, "maxOccurs": 1},
        "topics": {"title": "Topics", "description": "Topics to include (default: all).",
                   "schema": {"type": "array", "minItems": 1, "uniqueItems": True,
                              "items": {**_TEXT, "enum": ["assets", "air", "flood",
                                                           "alerts"]}},
                   "minOccurs": 0, "maxOccurs": 1},
        "format": {"title": "Format", "schema": {**_TEXT, "enum": ["pdf", "html"],
                                                 "default": "pdf"},
                   "minOccurs": 0, "maxOccurs": 1},
        "paper": {"title": "Paper", "description": "PDF paper size, landscape.",
                  "schema": {**_TEXT, "enum": ["a4", "a3"], "default": "a4"},
                  "minOccurs": 0, "maxOccurs": 1},
        "lang": {"title": "Language", "description": "Language of the report: 'vi' "
                 "(Vietnamese) or 'en' (English); default: the city profile's language.",
                 "schema": {**_TEXT, "enum": ["vi", "en"]}, "minOccurs": 0, "maxOccurs": 1},
    },
    "outputs": {
        "report": {"title": "Report", "description": "The report file.",
                   "schema": {"oneOf": [
                       {"type": "string", "contentMediaType": "application/pdf",
                        "contentEncoding": "binary"},
                       {"type": "string", "contentMediaType": "text/html"}]}},
    },
    "example": {"inputs": {"area": "Hoàn Kiếm", "from": "2026-10-01", "to": "2026-10-31",
                           "topics": ["assets", "air", "flood", "alerts"], "format": "pdf",
                           "paper": "a4", "lang": "vi"}},
}


class Processor(TwinProcessor):
    metadata = PROCESS_METADATA
    # Reads only: anyone may run it.
    access = ProcessAccess()

    def __init__(self, processor_def: dict):
        super().__init__(processor_def)
        # The city profile's language and name per language (the server's process config).
        self.language: str = processor_def.get("language", DEFAULT)
        self.place: dict[str, str] = dict(processor_def.get("city_names") or {})

    def check(self, inputs: dict, conn: Connection) -> ReportRequest:
        """Validated inputs; an unknown area is refused here, with close names."""
        request = parse_request(inputs if isinstance(inputs, dict) else {}, self.timezone,
                                self.language, self.place)
        resolve_area(conn, request.area)
        return request

    def run(self, request: ReportRequest, conn: Connection) -> tuple[str, bytes]:
        media = "application/pdf" if request.format.value == "pdf" else "text/html"
        return media, build_report(conn, request)
