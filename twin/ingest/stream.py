"""The one write path of streamed readings (HTTP batches and MQTT messages).

A batch is written in ONE transaction: the stations it names are looked up (readings
of unknown stations, or of a property a station does not observe, become dead
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

import psycopg

from twin.ingest.observations import DeadLetter, Parsed, Reading, dump, payload_text
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


def write_batch(conn: psycopg.Connection, parsed: Parsed, source: str) -> WriteResult:
    """Store a parsed batch and its dead letters in one transaction; see the module doc.

    Raises only database errors (psycopg.OperationalError when the database is out of
    reach): the caller keeps its input and retries."""
    if source not in SOURCES:
        raise ValueError(f"source must be one of {SOURCES}, got {source!r}")
    result = WriteResult(received=parsed.received)
    with conn.transaction(), conn.cursor() as cur:
        stations = _stations(cur, {r.station for r in parsed.readings})
        rows, refused = screen(parsed.readings, stations)
        result.dead = parsed.dead + refused
        if rows:
            result.inserted = _store(cur, rows)
        result.duplicates = len(rows) - result.inserted
        if result.dead:
            _dead_letters(cur, result.dead, source)
    return result


def _order(letter: DeadLetter) -> tuple:
    return (letter.index is None, letter.index or 0)


def _stations(cur: psycopg.Cursor, codes: set[str]) -> dict[str, frozenset[str]]:
    """Station code -> the properties it observes (empty: any) for the known ones."""
    if not codes:
        return {}
    cur.execute("SELECT external_id, properties FROM sensor_stations "
                "WHERE external_id = ANY(%s)", (list(codes),))
    return {code: frozenset(props or ()) for code, props in cur.fetchall()}


def screen(readings: list[Reading], stations: dict[str, frozenset[str]]
           ) -> tuple[list[Reading], list[DeadLetter]]:
    """Readings of known stations and observed properties; dead letters for the rest."""
    rows, refused = [], []
    for r in readings:
        props = stations.get(r.station)
        if props is None:
            reason = f"unknown station {r.station!r} (not in sensor_stations)"
        elif props and r.property not in props:
            reason = (f"station {r.station!r} does not observe {r.property!r} (it observes "
                      f"{', '.join(sorted(props))})")
        else:
            rows.append(r)
            continue
        refused.append(DeadLetter(reason, dump(r.raw), r.topic, r.index))
    return rows, refused


def _store(cur: psycopg.Cursor, rows: list[Reading]) -> int:
    """COPY the rows into the staging table and merge them: the number inserted."""
    cur.execute("CREATE TEMP TABLE _twin_readings (" + ", ".join(
        f"{c} {t}" for c, t in STAGE) + ") ON COMMIT DROP")
    with cur.copy("COPY _twin_readings (station_code, observed_at, property, value, unit, "
                  "quality) FROM STDIN") as copy:
        copy.write(copy_text(rows))
    _rows, inserted, _made = _merge(cur, STAGE)
    return inserted


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
