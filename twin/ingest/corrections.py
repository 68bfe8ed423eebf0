"""Corrections of stored readings: the one way a stored reading changes, always audited.

A reading sent again is a duplicate and never replaces the stored one (whoever wrote
first would otherwise decide, and a forger could overwrite the truth). Whoever owns the
station — a writer of its agency, or an admin (:class:`twin.ingest.policy.Scope`) —
corrects it instead: a new value and/or quality flag, or its deletion, with a reason.

A correction is ``{station, property, time, value?, quality?, delete?, reason}``;
``time`` is the stored reading's time (ISO 8601, naive = the city's local time). A value of
``null`` makes the reading missing (quality ``missing``); a new value of a missing
reading makes it ``good`` unless a quality is given. All corrections of a request are
one transaction: each is checked (known station, the writer's, an existing reading),
applied, written to ``reading_corrections`` (who, agency, station, property, time,
before, after, reason, when), and the derived tables are recomputed for the buckets
touched (:mod:`twin.ingest.derived_corrected`). Any refusal stores nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from twin.alerts import hook as alerts
from twin.ingest.derived import lock
from twin.ingest.derived_corrected import refresh_corrected
from twin.ingest.observations import (
    NAME,
    PROPERTY,
    QUALITIES,
    Refused,
    parse_time,
    parse_value,
)
from twin.ingest.policy import Scope, Window

MAX_CORRECTIONS = 1000
REASON_MAX = 1000
KEYS = frozenset({"station", "property", "time", "value", "quality", "delete", "reason"})
ANY_TIME = Window(max_age=None, ahead=timedelta(days=365 * 100))  # the reading must exist
_UNSET = object()


class NotOwner(PermissionError):
    """The writer may not correct readings of this station (403)."""


class NoSuchReading(LookupError):
    """The station or the reading does not exist (404)."""


@dataclass(frozen=True)
class Correction:
    index: int
    station: str
    property: str
    time: datetime
    reason: str
    delete: bool = False
    value: Any = _UNSET          # a float, None (missing), or _UNSET (keep)
    quality: str | None = None   # None: keep (or follow the value)


@dataclass(frozen=True)
class Writer:
    """Who corrects, for the rights check and the audit row."""
    subject: str
    agency: str | None
    method: str
    scope: Scope
    request_id: str | None = None


def parse_corrections(doc: Any, now: datetime | None = None, tz: str = "UTC"
                      ) -> list[Correction]:
    """A correction object, an array of them, or ``{"corrections": [...]}``; raises
    :class:`Refused` naming the correction and what is wrong with it. A time without an
    offset is local time of ``tz`` (the city's zone)."""
    now, window = now or datetime.now(UTC), replace(ANY_TIME, tz=tz)
    if isinstance(doc, dict) and set(doc) == {"corrections"}:
        doc = doc["corrections"]
    many = isinstance(doc, list)
    items = doc if many else [doc]
    if not items:
        raise Refused("send at least one correction")
    if len(items) > MAX_CORRECTIONS:
        raise Refused(f"at most {MAX_CORRECTIONS:,} corrections per request")
    out = []
    for i, item in enumerate(items):
        try:
            out.append(_correction(item, i, now, window))
        except Refused as exc:
            raise Refused(f"corrections[{i}]: {exc}" if many else str(exc)) from None
    return out


def _correction(item: Any, index: int, now: datetime, window: Window) -> Correction:
    if not isinstance(item, dict):
        raise Refused("a correction must be a JSON object {station, property, time, value?, "
                      "quality?, delete?, reason}")
    unknown = sorted(map(str, item.keys() - KEYS))
    if unknown:
        raise Refused(f"unknown field(s) {', '.join(unknown)[:120]}")
    station, prop = item.get("station"), item.get("property")
    if not isinstance(station, str) or not NAME.match(station):
        raise Refused("station must be a station code")
    if not isinstance(prop, str) or not PROPERTY.match(prop):
        raise Refused("property must be a property name")
    if "time" not in item:
        raise Refused("time is missing (the time of the stored reading)")
    when = parse_time(item["time"], now, window=window)
    reason = item.get("reason")
    if not isinstance(reason, str) or not reason.strip() or len(reason) > REASON_MAX:
        raise Refused(f"reason must say why, in 1 to {REASON_MAX} characters")
    delete = item.get("delete", False)
    if not isinstance(delete, bool):
        raise Refused("delete must be true or false")
    if delete and ("value" in item or "quality" in item):
        raise Refused("a deletion takes no value or quality")
    if not delete and "value" not in item and "quality" not in item:
        raise Refused("send a new value, a new quality, or \"delete\": true")
    quality = item.get("quality")
    if quality is not None and (not isinstance(quality, str) or quality not in QUALITIES):
        raise Refused("quality must be one of good, suspect, bad, missing")
    value = parse_value(item["value"]) if "value" in item else _UNSET
    return Correction(index, station, prop, when, reason.strip(), delete, value, quality)


def _after(c: Correction, before: dict) -> dict:
    """The reading after correction ``c`` of ``before``; raises :class:`Refused`."""
    value = before["value"] if c.value is _UNSET else c.value
    if c.quality is not None:
        quality = c.quality
    elif value is None:
        quality = "missing"
    else:
        quality = "good" if before["quality"] == "missing" else before["quality"]
    if value is None and quality != "missing":
        raise Refused(f"corrections[{c.index}]: a reading without a value must have quality "
                      f"'missing', not {quality!r}")
    return {"value": value, "unit": before["unit"], "quality": quality}


AUDIT = ("INSERT INTO reading_corrections (actor, agency, method, request_id, station_id, "
         "station, property, observed_at, action, before, after, reason) VALUES "
         "(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)")


def apply_corrections(conn: psycopg.Connection, corrections: list[Correction],
                      writer: Writer, tz: str = "UTC") -> list[dict]:
    """Apply, audit and propagate ``corrections`` in one transaction; what each did.
    ``tz``: the city's time zone, whose local days and months the rollups hold.

    Raises :class:`NotOwner`, :class:`NoSuchReading` or :class:`Refused` (nothing is
    stored then), or a database error."""
    done, touched = [], []
    with conn.transaction(), conn.cursor() as cur:
        lock(cur)  # one writer of the readings at a time, as every ingest transaction
        stations = _stations(cur, {c.station for c in corrections})
        for c in corrections:
            sid = _owned(c, stations, writer.scope)
            before = _reading(cur, c, sid)
            after = None if c.delete else _after(c, before)
            if after is None:
                cur.execute("DELETE FROM sensor_readings WHERE station_id = %s AND property = "
                            "%s AND observed_at = %s", (sid, c.property, c.time))
            else:
                cur.execute("UPDATE sensor_readings SET value = %s, quality = %s WHERE "
                            "station_id = %s AND property = %s AND observed_at = %s",
                            (after["value"], after["quality"], sid, c.property, c.time))
            action = "delete" if after is None else "update"
            cur.execute(AUDIT, (writer.subject, writer.agency, writer.method, writer.request_id,
                                sid, c.station, c.property, c.time, action, Jsonb(before),
                                None if after is None else Jsonb(after), c.reason))
            touched.append((sid, c.property, c.time))
            done.append({"index": c.index, "station": c.station, "property": c.property,
                         "time": c.time.astimezone(UTC).isoformat().replace("+00:00", "Z"),
                         "action": action, "before": before, "after": after})
        refresh_corrected(cur, touched, tz=tz)
    if touched:  # committed: the alert rules re-read the corrected hours
        alerts.after_commit(conn, (sorted({t[0] for t in touched}), min(t[2] for t in touched),
                                   {t[1] for t in touched}))
    return done


def _stations(cur: psycopg.Cursor, codes: set[str]) -> dict[str, tuple[int, str | None]]:
    cur.execute("SELECT external_id, id, agency FROM sensor_stations WHERE external_id = "
                "ANY(%s)", (list(codes),))
    return {code: (sid, agency) for code, sid, agency in cur.fetchall()}


def _owned(c: Correction, stations: dict, scope: Scope) -> int:
    """The station's id, if it exists and the writer may correct its readings."""
    if c.station not in stations:
        raise NoSuchReading(f"corrections[{c.index}]: unknown station {c.station!r}")
    sid, agency = stations[c.station]
    reason = scope.refusal(c.station, agency, "correct")
    if reason:
        raise NotOwner(f"corrections[{c.index}]: {reason}")
    return sid


def _reading(cur: psycopg.Cursor, c: Correction, sid: int) -> dict:
    """The stored reading, locked until the transaction ends."""
    cur.execute("SELECT value, unit, quality FROM sensor_readings WHERE station_id = %s AND "
                "property = %s AND observed_at = %s FOR UPDATE", (sid, c.property, c.time))
    row = cur.fetchone()
    if row is None:
        raise NoSuchReading(f"corrections[{c.index}]: no reading of {c.property!r} at "
                            f"{c.time.isoformat()} from station {c.station!r}")
    return {"value": row[0], "unit": row[1], "quality": row[2]}
