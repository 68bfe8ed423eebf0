"""Readings as they arrive over HTTP and MQTT: JSON objects in, typed rows and refusals out.

Every path that streams readings (``POST /readings``, SensorThings ``Observations``,
MQTT payloads) turns its input into :class:`Reading` rows and :class:`DeadLetter`
refusals here, so that one set of rules decides what is storable and every refusal
carries a reason an operator can act on. Nothing in this module touches the database:
checks that need it (is the station known, does it observe this property) happen in
:mod:`twin.ingest.stream`, in the write transaction.

A reading is ``{station, property, time, value, unit?, quality?}``. ``time`` is ISO
8601; a time without a UTC offset is the city's local time (the window's ``tz``), as in
the CSV loader. ``value``
is a JSON number or ``null`` (a missing value); booleans, strings and non-finite numbers
are refused, as are times outside the window (:class:`twin.ingest.policy.Window`: by
default ten years back, five minutes ahead; every parser takes a ``window``).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from twin.ingest.policy import STREAMS, Window

QUALITIES = frozenset({"good", "suspect", "bad", "missing"})
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")
PROPERTY = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
UNIT_MAX = 32
PAYLOAD_MAX = 1 << 20  # characters of a refused message kept in the dead-letter table
KEYS = frozenset({"station", "station_code", "property", "time", "observed_at", "value",
                  "unit", "quality"})


class Refused(ValueError):
    """One reading or message cannot be stored; the message is the reason."""


@dataclass(slots=True)
class Reading:
    """One valid reading, and where it came from (for a refusal found later)."""
    station: str
    property: str
    time: datetime
    value: float | None
    unit: str | None
    quality: str | None
    index: int = 0            # position in the request or message
    topic: str | None = None  # MQTT topic or HTTP path
    raw: Any = None           # the item as received, for a dead letter
    agency: str | None = None  # the agency an MQTT topic names (checked against the station)

    def row(self) -> tuple:
        return (self.station, self.time, self.property, self.value, self.unit, self.quality)


@dataclass(slots=True)
class DeadLetter:
    """A refused reading or message: kept with the reason, never dropped."""
    reason: str
    payload: str
    topic: str | None = None
    index: int | None = None


@dataclass
class Parsed:
    """What a request or a batch of messages turned into."""
    readings: list[Reading] = field(default_factory=list)
    dead: list[DeadLetter] = field(default_factory=list)

    @property
    def received(self) -> int:
        return len(self.readings) + len(self.dead)

    def extend(self, other: Parsed) -> None:
        self.readings.extend(other.readings)
        self.dead.extend(other.dead)


# --- single values ----------------------------------------------------------------------

_TIMES: dict[tuple[str, str], datetime] = {}  # the readings of one moment share their time
_NAMES: dict[re.Pattern, set[str]] = {}  # names already checked, per pattern
CACHE_MAX = 4096


def parse_time(value: Any, now: datetime, name: str = "time",
               window: Window = STREAMS) -> datetime:
    """An aware datetime inside ``window`` at ``now``; naive times are local times of the
    window's zone (the city's)."""
    key = (value, window.tz) if isinstance(value, str) else None
    t = _TIMES.get(key) if key else None
    if t is None:
        t = _iso_time(value, name, window.tz)
        if len(_TIMES) >= CACHE_MAX:
            _TIMES.clear()
        _TIMES[key] = t
    reason = window.refusal(t, now)
    if reason:
        raise Refused(f"{name} {value[:60]!r} is out of range: {reason}")
    return t


def _iso_time(value: Any, name: str, tz: str) -> datetime:
    if not isinstance(value, str):
        raise Refused(f"{name} must be an ISO 8601 string, got {_kind(value)}")
    if "/" in value:
        raise Refused(f"{name} {value[:60]!r} is an interval; send the instant of the reading")
    try:
        t = datetime.fromisoformat(value.strip())
    except ValueError:
        raise Refused(f"{name} {value[:60]!r} is not an ISO 8601 date-time") from None
    return t.replace(tzinfo=ZoneInfo(tz)) if t.tzinfo is None else t


def parse_value(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise Refused(f"value must be a number or null, got {_kind(value)}")
    number = float(value)
    if not math.isfinite(number):
        raise Refused(f"value {value!r} is not a finite number")
    return number


def parse_quality(value: Any, reading_value: float | None) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or value.lower() not in QUALITIES:
        raise Refused(f"quality {_short(value)} is not one of good, suspect, bad, missing")
    quality = value.lower()
    if reading_value is None and quality != "missing":
        raise Refused(f"a reading without a value must have quality 'missing', not {quality!r}")
    return quality


def _name(value: Any, what: str, pattern: re.Pattern) -> str:
    seen = _NAMES.setdefault(pattern, set())
    if isinstance(value, str) and value in seen:
        return value
    if not isinstance(value, str) or not pattern.match(value):
        raise Refused(f"{what} {_short(value)} is not a valid {what} name")
    if len(seen) >= CACHE_MAX:
        seen.clear()
    seen.add(value)
    return value


def _unit(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > UNIT_MAX:
        raise Refused(f"unit {_short(value)} must be a string of at most {UNIT_MAX} characters")
    return value


def _kind(value: Any) -> str:
    return {bool: "a boolean", str: "a string", list: "an array", dict: "an object",
            type(None): "null"}.get(type(value), type(value).__name__)


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


# --- one reading ------------------------------------------------------------------------

def _given(item: dict, *names: str) -> Any:
    for n in names:
        if n in item:
            return item[n]
    return None


def _agrees(item: dict, names: tuple[str, ...], fixed: str | None, what: str) -> Any:
    """The item's value for a field the topic may also fix; both must agree."""
    value = _given(item, *names)
    if fixed is None:
        if value is None:
            raise Refused(f"{what} is missing")
        return value
    if value is not None and value != fixed:
        raise Refused(f"{what} {_short(value)} differs from the topic's {fixed!r}")
    return fixed


def reading_from(item: Any, now: datetime, station: str | None = None,
                 prop: str | None = None, window: Window = STREAMS) -> Reading:
    """One reading object as a :class:`Reading`; raises :class:`Refused` with the reason.

    ``station`` and ``prop`` come from an MQTT topic when it names them."""
    if not isinstance(item, dict):
        raise Refused(f"a reading must be a JSON object, got {_kind(item)}")
    if not KEYS.issuperset(item):
        unknown = sorted(map(str, item.keys() - KEYS))
        raise Refused(f"unknown field(s) {', '.join(unknown)[:120]}")
    code = _name(_agrees(item, ("station", "station_code"), station, "station"),
                 "station", NAME)
    name = _name(_agrees(item, ("property",), prop, "property"), "property", PROPERTY)
    when = _given(item, "time", "observed_at")
    if when is None:
        raise Refused("time is missing")
    if "value" not in item:
        raise Refused("value is missing (send null for a missing value)")
    value = parse_value(item["value"])
    return Reading(code, name, parse_time(when, now, window=window), value,
                   _unit(item.get("unit")), parse_quality(item.get("quality"), value), raw=item)


# The shape the stations (and ``twin ingest replay``) send on a per-station topic:
# ``{property, time, value, unit?, quality?}``. Such a reading whose names and time text
# have been checked before needs no more than type and range checks; anything else goes
# through :func:`reading_from`, which words every refusal.
CANONICAL = frozenset({"property", "time", "value", "unit", "quality"})
_QUALITY = {q: q for q in QUALITIES}


def _known(item: Any, station: str | None, earliest: datetime,
           latest: datetime) -> Reading | None:
    """The reading, when ``item`` is the common shape and everything in it has passed
    before; None when anything is different (then :func:`reading_from` decides)."""
    if type(item) is not dict or station is None or not item.keys() <= CANONICAL:
        return None
    name, when, value = item.get("property"), item.get("time"), item.get("value", item)
    if (type(name) is not str or type(when) is not str or station not in _NAMES.get(NAME, ())
            or name not in _NAMES.get(PROPERTY, ())):
        return None
    t = _TIMES.get(when)
    if t is None or t < earliest or t > latest:
        return None
    kind = type(value)
    if kind is int or (kind is float and math.isfinite(value)):
        value = float(value)
    elif value is not None:
        return None  # booleans, strings, non-finite numbers, "value" missing (item)
    unit, quality = item.get("unit"), item.get("quality")
    if unit is not None and (type(unit) is not str or len(unit) > UNIT_MAX):
        return None
    if quality is not None and quality != "":
        quality = _QUALITY.get(quality) if type(quality) is str else None
        if quality is None or (value is None and quality != "missing"):
            return None
    return Reading(station, name, t, value, unit or None, quality or None, raw=item)


def parse_items(items: list, now: datetime, *, topic: str | None = None,
                station: str | None = None, prop: str | None = None,
                start: int = 0, window: Window = STREAMS) -> Parsed:
    """Each item of a list of readings: a row, or a dead letter naming its index."""
    out = Parsed()
    earliest, latest = window.bounds(now)
    for i, item in enumerate(items, start):
        try:
            r = (_known(item, station, earliest, latest) if prop is None else None) or \
                reading_from(item, now, station, prop, window)
        except Refused as exc:
            out.dead.append(DeadLetter(str(exc), dump(item), topic, i))
            continue
        r.index, r.topic = i, topic
        out.readings.append(r)
    return out


# --- documents --------------------------------------------------------------------------

def readings_of(doc: Any) -> list:
    """The list of readings of a ``POST /readings`` body: an array, or ``{"readings": [..]}``."""
    if isinstance(doc, dict) and set(doc) == {"readings"}:
        doc = doc["readings"]
    if not isinstance(doc, list):
        raise Refused("send a JSON array of readings {station, property, time, value, unit?, "
                      "quality?} or an object {\"readings\": [...]}")
    return doc


def parse_payload(payload: bytes, topic: str, station: str | None, prop: str | None,
                  now: datetime, window: Window = STREAMS) -> Parsed:
    """An MQTT message: one reading object, an array of them, or ``{"readings": [...]}``.

    A payload that is not JSON at all is one dead letter; a bad item in an array is a
    dead letter of its own while the others are kept."""
    try:
        doc = json.loads(payload.decode("utf-8"))  # bytes would let json guess UTF-16/32
    except UnicodeDecodeError:
        return _refused_message("the payload is not UTF-8 text", payload, topic)
    except ValueError as exc:
        return _refused_message(f"the payload is not JSON: {exc}"[:200], payload, topic)
    if isinstance(doc, dict) and set(doc) == {"readings"}:
        doc = doc["readings"]
    if isinstance(doc, dict):
        doc = [doc]
    if not isinstance(doc, list):
        return _refused_message(f"the payload must be a reading object or an array of them, "
                                f"got {_kind(doc)}", payload, topic)
    return parse_items(doc, now, topic=topic, station=station, prop=prop, window=window)


def _refused_message(reason: str, payload: bytes, topic: str) -> Parsed:
    return Parsed(dead=[DeadLetter(reason, payload_text(payload), topic)])


def payload_text(payload: bytes | str) -> str:
    """A message as text PostgreSQL can store: bytes that are not UTF-8 and NUL escaped,
    very long payloads cut (with a note of their size)."""
    text = payload if isinstance(payload, str) else payload.decode("utf-8", "backslashreplace")
    text = text.replace("\x00", "\\x00")
    if len(text) > PAYLOAD_MAX:
        text = text[:PAYLOAD_MAX] + f"... [cut; {len(text):,} characters in all]"
    return text


def dump(item: Any) -> str:
    """An item of a parsed document, back as JSON text for a dead letter."""
    try:
        return payload_text(json.dumps(item, ensure_ascii=False, allow_nan=True))
    except (TypeError, ValueError):
        return payload_text(repr(item))


def utcnow() -> datetime:
    return datetime.now(UTC)


# --- SensorThings-style observations ----------------------------------------------------
#
# A Datastream is identified as "<station_code>:<property>" (``"Datastream": {"@iot.id":
# "AQ-HK-01:pm25"}``); phenomenonTime, result and resultQuality map to time, value and
# quality; a unit may come with the Datastream as ``unitOfMeasurement.symbol``.

STA_KEYS = frozenset({"phenomenonTime", "result", "resultQuality", "resultTime", "validTime",
                      "parameters", "Datastream", "FeatureOfInterest", "@iot.id",
                      "@iot.selfLink"})


def datastream_of(value: Any) -> tuple[str, str, str | None]:
    """(station, property, unit) of a Datastream reference."""
    if not isinstance(value, dict) or "@iot.id" not in value:
        raise Refused('Datastream must be an object {"@iot.id": "<station_code>:<property>"}')
    ident = value["@iot.id"]
    station, sep, prop = ident.rpartition(":") if isinstance(ident, str) else ("", "", "")
    if not sep or not station or not prop:
        raise Refused(f"Datastream @iot.id {_short(ident)} is not '<station_code>:<property>'")
    uom = value.get("unitOfMeasurement")
    unit = uom.get("symbol") if isinstance(uom, dict) else None
    return station, prop, unit


def observation_reading(obs: Any, now: datetime,
                        stream: tuple[str, str, str | None] | None = None,
                        window: Window = STREAMS) -> Reading:
    """One Observation as a :class:`Reading` (``stream`` given for a dataArray row)."""
    if not isinstance(obs, dict):
        raise Refused(f"an Observation must be a JSON object, got {_kind(obs)}")
    unknown = obs.keys() - STA_KEYS
    if unknown:
        raise Refused(f"unknown Observation field(s) {', '.join(sorted(unknown))[:120]}")
    station, prop, unit = stream or datastream_of(obs.get("Datastream"))
    if "phenomenonTime" not in obs:
        raise Refused("phenomenonTime is missing")
    if "result" not in obs:
        raise Refused("result is missing (send null for a missing value)")
    item = {"station": station, "property": prop, "time": obs["phenomenonTime"],
            "value": obs["result"], "unit": unit, "quality": obs.get("resultQuality")}
    reading = reading_from(item, now, window=window)
    reading.raw = obs
    return reading


def _data_array(block: dict, now: datetime, topic: str | None, start: int,
                window: Window) -> Parsed:
    """A CreateObservations block: one Datastream, ``components`` and ``dataArray`` rows."""
    rows = block.get("dataArray")
    try:
        stream = datastream_of(block.get("Datastream"))
        components = block.get("components")
        if not isinstance(components, list) or not {"phenomenonTime", "result"} <= {
                c for c in components if isinstance(c, str)}:
            raise Refused("components must list at least phenomenonTime and result")
        if not isinstance(rows, list):
            raise Refused("dataArray must be an array of rows")
    except Refused as exc:
        return Parsed(dead=[DeadLetter(str(exc), dump(block), topic, start)])
    wanted = [c for c in components if c in ("phenomenonTime", "result", "resultQuality")]
    out = Parsed()
    for i, row in enumerate(rows, start):
        try:
            if not isinstance(row, list) or len(row) != len(components):
                raise Refused(f"a dataArray row must be an array of {len(components)} values "
                              "(one per component)")
            values = dict(zip(components, row, strict=False))
            r = observation_reading({c: values[c] for c in wanted}, now, stream, window)
        except Refused as exc:
            out.dead.append(DeadLetter(str(exc), dump(row), topic, i))
            continue
        r.index, r.topic, r.raw = i, topic, row
        out.readings.append(r)
    return out


def parse_observations(doc: Any, now: datetime, topic: str | None = None,
                       window: Window = STREAMS) -> Parsed:
    """An Observation, an array of Observations, or CreateObservations dataArray blocks
    (mixed freely). Indexes count the observations in order, dataArray rows included."""
    if not isinstance(doc, (dict, list)):
        raise Refused("send an Observation object, an array of Observations, or dataArray "
                      "blocks {Datastream, components, dataArray}")
    out, index = Parsed(), 0
    for item in doc if isinstance(doc, list) else [doc]:
        if isinstance(item, dict) and "dataArray" in item:
            part = _data_array(item, now, topic, index, window)
            index += part.received  # a refused block is one dead letter
        else:
            try:
                r = observation_reading(item, now, window=window)
                r.index, r.topic = index, topic
                part = Parsed(readings=[r])
            except Refused as exc:
                part = Parsed(dead=[DeadLetter(str(exc), dump(item), topic, index)])
            index += 1
        out.extend(part)
    return out
