"""The one write path of streamed readings (HTTP batches and MQTT messages).

A batch is written in ONE transaction: the stations it names are looked up (readings
of unknown stations, of a property a station does not observe, of a station the writer
may not write (its agency: :class:`twin.ingest.policy.Scope`, or the agency an MQTT
topic names), or of a month beyond the batch's quota of new partitions become dead
letters), the valid rows are COPYed into the ``_twin_readings`` staging table the CSV
loader uses, :func:`twin.ingest.readings._merge` moves them into their monthly
partitions (creating a partition when a late or early reading needs one, skipping
duplicates), and the dead letters are inserted. Either all of it is stored or none,
so a caller that acknowledges its input only after :func:`write_batch` returns never
loses a reading, and input that is written twice (a redelivered MQTT message, a
retried HTTP request) is counted as duplicates.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC

import psycopg

from twin.alerts import hook as alerts
from twin.ingest.derived import lock
from twin.ingest.observations import DeadLetter, Parsed, Reading, dump, payload_text
from twin.ingest.policy import NEW_MONTHS_PER_BATCH, Scope, topic_names_agency
from twin.ingest.readings import _merge

STAGE = [("station_code", "text"), ("observed_at", "timestamptz"), ("property", "text"),
         ("value", "double precision"), ("unit", "text"), ("quality", "text")]
SOURCES = ("mqtt", "http", "csv")
AHEAD = "2 months"


@dataclass
class WriteResult:
    received: int = 0
    inserted: int = 0
    duplicates: int = 0
    dead: list[DeadLetter] = field(default_factory=list)

    def summary(self, letters: int = 1000) -> dict:
        """Counts for a client, with the first ``letters`` refusals and their reasons."""
        return {"received": self.received, "inserted": self.inserted,
                "duplicates": self.duplicates, "dead_lettered": len(self.dead),
                "dead_letters": [{"index": d.index, "reason": d.reason}
                                 for d in sorted(self.dead, key=_order)[:letters]]}


class NotYours(PermissionError):
    """Every reading of a request is of stations the writer may not write: nothing is
    stored (the caller answers 403)."""

    def __init__(self, reasons: list[str]):
        super().__init__("; ".join(dict.fromkeys(reasons)))
        self.reasons = list(dict.fromkeys(reasons))


def write_batch(conn: psycopg.Connection, parsed: Parsed, source: str,
                scope: Scope | None = None,
                new_months: int = NEW_MONTHS_PER_BATCH, tz: str = "UTC") -> WriteResult:
    """Store a parsed batch and its dead letters in one transaction; see the module doc.
    ``tz``: the city's time zone, whose local days and months the rollups hold.

    ``scope``: whose stations the writer may write (None: a trusted service, any
    station). When every reading received is refused by the scope, :class:`NotYours` is
    raised and nothing is stored. Otherwise raises only database errors
    (psycopg.OperationalError when the database is out of reach): the caller keeps its
    input and retries."""
    if source not in SOURCES:
        raise ValueError(f"source must be one of {SOURCES}, got {source!r}")
    result, batch = WriteResult(received=parsed.received), None
    with conn.transaction(), conn.cursor() as cur:
        lock(cur)  # batches one after another: the count of new months below is exact
        stations = _stations(cur, {r.station for r in parsed.readings})
        rows, refused, foreign = screen(parsed.readings, stations, scope)
        if foreign and foreign == parsed.received:
            raise NotYours([d.reason for d in refused])
        rows, capped = cap_new_months(cur, rows, new_months)
        result.dead = parsed.dead + refused + capped
        if rows:
            result.inserted, batch = _store(cur, rows, tz)
        result.duplicates = len(rows) - result.inserted
        if result.dead:
            _dead_letters(cur, result.dead, source)
    alerts.after_commit(conn, batch)  # committed: the alert rules on the touched stations
    return result


def _order(letter: DeadLetter) -> tuple:
    return (letter.index is None, letter.index or 0)


@dataclass(frozen=True, slots=True)
class Station:
    properties: frozenset[str]   # empty: any
    agency: str | None


def _stations(cur: psycopg.Cursor, codes: set[str]) -> dict[str, Station]:
    """Station code -> what it observes and who runs it, for the known ones."""
    if not codes:
        return {}
    cur.execute("SELECT external_id, properties, agency FROM sensor_stations "
                "WHERE external_id = ANY(%s)", (list(codes),))
    return {code: Station(frozenset(props or ()), agency)
            for code, props, agency in cur.fetchall()}


def screen(readings: list[Reading], stations: dict[str, Station], scope: Scope | None = None
           ) -> tuple[list[Reading], list[DeadLetter], int]:
    """Readings of known stations and observed properties that the writer (``scope``)
    and the MQTT topic's agency may write; dead letters for the rest; how many of those
    the scope refused."""
    rows, refused, foreign = [], [], 0
    verdicts: dict[tuple, tuple[str | None, bool]] = {}  # the same few stations, many rows
    for r in readings:
        key = (r.station, r.agency, r.property)
        verdict = verdicts.get(key)
        if verdict is None:
            verdict = verdicts[key] = _refusal(r, stations.get(r.station), scope)
        reason, by_scope = verdict
        if reason is None:
            rows.append(r)
        else:
            foreign += by_scope
            refused.append(DeadLetter(reason, dump(r.raw), r.topic, r.index))
    return rows, refused, foreign


def _refusal(r: Reading, station: Station | None, scope: Scope | None
             ) -> tuple[str | None, bool]:
    """Why the reading is refused (None: it is not), and whether the scope refused it."""
    if station is None:
        return f"unknown station {r.station!r} (not in sensor_stations)", False
    reason = scope.refusal(r.station, station.agency) if scope is not None else None
    if reason:
        return reason, True
    if r.agency is not None and not topic_names_agency(r.agency, station.agency):
        runs = repr(station.agency) if station.agency else "not set"
        return (f"the topic's agency {r.agency!r} does not run station {r.station!r} (its "
                f"agency: {runs})"), False
    if station.properties and r.property not in station.properties:
        return (f"station {r.station!r} does not observe {r.property!r} (it observes "
                f"{', '.join(sorted(station.properties))})"), False
    return None, False


def _month(r: Reading) -> str:
    t = r.time.astimezone(UTC)
    return f"{t.year:04d}_{t.month:02d}"


def cap_new_months(cur: psycopg.Cursor, rows: list[Reading], limit: int
                   ) -> tuple[list[Reading], list[DeadLetter]]:
    """The rows of months that exist, and of the earliest ``limit`` months that have no
    partition yet; dead letters for the rows of later new months."""
    months = sorted({_month(r) for r in rows})
    if len(months) <= limit:
        return rows, []
    cur.execute("SELECT m FROM unnest(%s::text[]) m WHERE to_regclass("
                "'sensor_readings_' || m) IS NULL ORDER BY m", (months,))
    new = [m for (m,) in cur.fetchall()]
    refused_months = set(new[limit:])
    if not refused_months:
        return rows, []
    kept, refused = [], []
    for r in rows:
        month = _month(r)
        if month in refused_months:
            refused.append(DeadLetter(
                f"a reading of {month.replace('_', '-')} would make this batch create more "
                f"than {limit} new monthly partitions; send it again in a later batch",
                dump(r.raw), r.topic, r.index))
        else:
            kept.append(r)
    return kept, refused


def _store(cur: psycopg.Cursor, rows: list[Reading], tz: str
           ) -> tuple[int, alerts.Touched | None]:
    """COPY the rows into the staging table and merge them: the number inserted, and what
    the alert rules must look at."""
    cur.execute("CREATE TEMP TABLE _twin_readings (" + ", ".join(
        f"{c} {t}" for c, t in STAGE) + ") ON COMMIT DROP")
    with cur.copy("COPY _twin_readings (station_code, observed_at, property, value, unit, "
                  "quality) FROM STDIN") as copy:
        copy.write(copy_text(rows))
    _rows, inserted, _made, batch = _merge(cur, STAGE, tz)
    return inserted, batch


NULL = "\\N"
_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def copy_text(rows: list[Reading]) -> str:
    """The rows in COPY's text format, built in one pass (several times cheaper than
    ``write_row`` per row); the readings of one moment share one datetime, so each
    time is formatted once."""
    times: dict[int, str] = {}
    lines = []
    for r in rows:
        when = times.get(id(r.time))
        if when is None:
            when = times[id(r.time)] = r.time.isoformat()
        lines.append("\t".join((
            r.station.translate(_ESCAPES), when, r.property.translate(_ESCAPES),
            NULL if r.value is None else repr(r.value),
            NULL if r.unit is None else r.unit.translate(_ESCAPES), r.quality or NULL)))
    lines.append("")
    return "\n".join(lines)


def _dead_letters(cur: psycopg.Cursor, letters: list[DeadLetter], source: str) -> None:
    with cur.copy("COPY ingest_dead_letters (source, topic, payload, reason) "
                  "FROM STDIN") as copy:
        for d in letters:
            copy.write_row((source, payload_text(d.topic) if d.topic else None,
                            d.payload, payload_text(d.reason)))


def ensure_partitions(conn: psycopg.Connection, ahead: str = AHEAD) -> int:
    """Create the monthly partitions from this month to ``ahead`` from now (an interval,
    e.g. '2 months'), so that the coming months exist before their first reading (for
    queries and every writer alike); the number created."""
    with conn.transaction(), conn.cursor() as cur:
        cur.execute("SELECT twin_ensure_reading_partitions(now(), now() + %s::interval)",
                    (ahead,))
        return cur.fetchone()[0]
