"""An alert as an OASIS CAP 1.2 message, and the active alerts as an Atom feed of them.

One CAP message stands for an alert's latest transition: ``Alert`` when it has only
opened, ``Update`` after a change or an acknowledgement, ``Cancel`` once resolved; an
``Update`` or ``Cancel`` references the opening message (``sender,identifier,sent``).
Identifiers are ``<sender>.alert.<alert id>.<event id>``, so each transition has its
own, stable one. Two ``info`` blocks, ``vi-VN`` and ``en-US`` (the alert's title and
description in each). The area is the alert's geometry as CAP polygons (lat,lon pairs,
closed rings): a station point becomes a circle of ``POINT_RADIUS_KM`` and the same
circle as a polygon, a road or route its corridor (see :mod:`twin.server.notify.cap`).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

CAP_NS = "urn:oasis:names:tc:emergency:cap:1.2"
ATOM_NS = "http://www.w3.org/2005/Atom"
CAP_TYPE = "application/cap+xml"
POINT_RADIUS_KM = 1.0
LANGUAGES = (("vi", "vi-VN"), ("en", "en-US"))
MSG_TYPE = {"opened": "Alert", "updated": "Update", "acknowledged": "Update",
            "resolved": "Cancel"}
CATEGORY = {"threshold": "Env", "aqi_class": "Env", "aqi_area": "Env", "river_level": "Met",
            "rain": "Met", "flood_depth": "Met", "silence": "Infra", "stuck": "Infra"}
EVENT = {
    "threshold": ("Vượt ngưỡng quan trắc", "Monitoring threshold exceeded"),
    "aqi_class": ("Chất lượng không khí kém", "Poor air quality"),
    "aqi_area": ("Chất lượng không khí kém trên khu vực", "Poor air quality over an area"),
    "river_level": ("Mực nước sông vượt mức báo động", "River level above an alarm level"),
    "rain": ("Mưa lớn", "Heavy rain"),
    "flood_depth": ("Ngập úng", "Flooding"),
    "silence": ("Trạm quan trắc mất tín hiệu", "Monitoring station silent"),
    "stuck": ("Cảm biến báo giá trị không đổi", "Sensor stuck on one value"),
}
ET.register_namespace("", CAP_NS)


@dataclass(frozen=True)
class Area:
    description: str
    polygons: list[list[tuple[float, float]]]  # rings of (lon, lat), closed
    circle: tuple[float, float, float] | None = None  # lat, lon, radius km


def cap_time(at: datetime, zone: ZoneInfo) -> str:
    """CAP's dateTime: local time with its offset, whole seconds, no "Z"."""
    return at.astimezone(zone).replace(microsecond=0).isoformat()


def identifier(sender: str, alert_id: int, event_id: int) -> str:
    return f"{sender}.alert.{alert_id}.{event_id}"


def _sub(parent: ET.Element, tag: str, text: str | None = None) -> ET.Element:
    node = ET.SubElement(parent, f"{{{CAP_NS}}}{tag}")
    if text is not None:
        node.text = text
    return node


def _ring(ring: list[tuple[float, float]]) -> str:
    points = list(ring)
    if points[0] != points[-1]:
        points.append(points[0])
    return " ".join(f"{lat:.5f},{lon:.5f}" for lon, lat in points)


def _area(info: ET.Element, area: Area) -> None:
    node = _sub(info, "area")
    _sub(node, "areaDesc", area.description)
    for ring in area.polygons:
        if len(ring) >= 3:
            _sub(node, "polygon", _ring(ring))
    if area.circle:
        lat, lon, km = area.circle
        _sub(node, "circle", f"{lat:.5f},{lon:.5f} {km:g}")


def _info(root: ET.Element, alert: dict, lang: str, tag: str, resolved: bool,
          area: Area | None, web: str | None) -> None:
    info = _sub(root, "info")
    _sub(info, "language", tag)
    _sub(info, "category", CATEGORY.get(alert["kind"], "Other"))
    names = EVENT.get(alert["kind"], (alert["kind"], alert["kind"]))
    _sub(info, "event", names[0] if lang == "vi" else names[1])
    _sub(info, "urgency", "Past" if resolved else "Immediate")
    _sub(info, "severity", alert["severity"].capitalize())
    _sub(info, "certainty", "Observed")
    _sub(info, "senderName", "twin")
    title, description = alert.get("title") or {}, alert.get("description") or {}
    _sub(info, "headline", title.get(lang) or next(iter(title.values()), alert["subject"]))
    _sub(info, "description", description.get(lang) or next(iter(description.values()), ""))
    if web:
        _sub(info, "web", web)
    for name, value in (("alert_id", alert["id"]), ("rule", alert["rule"]),
                        ("subject", alert["subject"]), ("value", alert.get("value")),
                        ("unit", alert.get("unit")), ("level", alert.get("level"))):
        if value is not None:
            param = _sub(info, "parameter")
            _sub(param, "valueName", name)
            _sub(param, "value", str(value))
    if area is not None:
        _area(info, area)


def message(alert: dict, events: list[dict], *, sender: str, zone: ZoneInfo,
            area: Area | None, web: str | None = None) -> ET.Element:
    """The CAP ``alert`` element for ``alert``'s latest transition; ``events``: its
    events in order, each with ``id``, ``transition`` and ``at`` (a datetime)."""
    first, last = events[0], events[-1]
    root = ET.Element(f"{{{CAP_NS}}}alert")
    _sub(root, "identifier", identifier(sender, alert["id"], last["id"]))
    _sub(root, "sender", sender)
    _sub(root, "sent", cap_time(last["at"], zone))
    _sub(root, "status", "Actual")
    msg_type = MSG_TYPE[last["transition"]] if len(events) > 1 else "Alert"
    _sub(root, "msgType", msg_type)
    _sub(root, "scope", "Public")
    if msg_type != "Alert":
        _sub(root, "references", ",".join((sender, identifier(sender, alert["id"], first["id"]),
                                           cap_time(first["at"], zone))))
    for lang, tag in LANGUAGES:
        _info(root, alert, lang, tag, msg_type == "Cancel", area, web)
    return root


def document(root: ET.Element) -> bytes:
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def feed(entries: list[tuple[dict, ET.Element, str]], *, feed_id: str, self_url: str,
         title: str, updated: datetime, zone: ZoneInfo) -> bytes:
    """An Atom feed: one entry per (alert, its CAP message, the message's URL)."""
    ET.register_namespace("atom", ATOM_NS)
    atom = f"{{{ATOM_NS}}}"
    root = ET.Element(f"{atom}feed")
    for tag, text in (("id", feed_id), ("title", title), ("updated", cap_time(updated, zone))):
        ET.SubElement(root, atom + tag).text = text
    ET.SubElement(root, atom + "link", rel="self", href=self_url)
    ET.SubElement(ET.SubElement(root, atom + "author"), atom + "name").text = "twin"
    for alert, cap, url in entries:
        entry = ET.SubElement(root, atom + "entry")
        ET.SubElement(entry, atom + "id").text = url
        headline = (alert.get("title") or {}).get("vi") or alert["subject"]
        ET.SubElement(entry, atom + "title").text = headline
        ET.SubElement(entry, atom + "updated").text = cap_time(alert["updated_at"], zone)
        ET.SubElement(entry, atom + "link", rel="alternate", type=CAP_TYPE, href=url)
        ET.SubElement(entry, atom + "content", type=CAP_TYPE).append(cap)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)
