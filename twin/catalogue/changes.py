"""A layer's changes in commit order, paged by a resumable cursor (issue 19, point 3).

``changes(conn, layer, names, after=cursor | since=time, bbox=, limit=)`` reads the
ordered change log (:mod:`twin.db.changelog`) and returns one :class:`ChangePage`: the
features created and updated, as they are now (GeoJSON text written by PostGIS), and
the deleted ones as tombstones (id and time), with the cursor to resume from. The route
``/collections/{id}/changes`` and any in-process reader (a subscription dispatcher) use
the same function, on a sync or an async psycopg connection (:func:`changes_async`).

Replaying pages in order onto a copy made before the first one (create/update: put the
feature; delete: remove it) gives exactly the layer: a feature changed twice is sent as
it is now both times, and a change to a feature deleted since is skipped (its deletion
follows). The cursor is ``(commit seq, log id)``: the log is ordered by commit, so a
change committed after a page was read is never behind the cursor.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from psycopg import sql

from twin.errors import TwinInputError
from twin.registry import Layer

END_OF_COMMIT = 2**63 - 1


class BadCursor(TwinInputError):
    """A cursor this server did not write (or a since/cursor pair)."""


@dataclass(frozen=True, order=True)
class Cursor:
    seq: int = 0    # the commit (change_commits.seq)
    id: int = 0     # the change within it (change_log.id); END_OF_COMMIT: the whole commit

    def encode(self) -> str:
        raw = f"{self.seq}.{self.id}".encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str) -> Cursor:
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode("ascii")
            seq, _, ident = raw.partition(".")
            cursor = cls(int(seq), int(ident))
        except (ValueError, binascii.Error, UnicodeDecodeError):
            raise BadCursor(f"cursor: {text[:60]!r} is not a cursor of this feed; use the "
                            "'next' link of a previous page") from None
        if not (0 <= cursor.seq < 2**63 and 0 <= cursor.id <= END_OF_COMMIT):
            raise BadCursor("cursor: out of range; use the 'next' link of a previous page")
        return cursor


@dataclass
class Change:
    action: str            # created, updated, deleted
    id: str                # the feature id
    time: datetime         # when the change was committed
    feature: str | None    # GeoJSON text of the feature as it is now; None: a tombstone

    def as_geojson(self) -> str:
        """The change as a GeoJSON feature with a ``change`` member (a tombstone has no
        geometry and no properties)."""
        change = json.dumps({"action": self.action, "time": _rfc3339(self.time)})
        if self.feature is None:
            return ('{"type":"Feature","id":' + json.dumps(self.id, ensure_ascii=False)
                    + ',"geometry":null,"properties":null,"change":' + change + "}")
        return self.feature[:-1] + ',"change":' + change + "}"


@dataclass
class ChangePage:
    changes: list[Change] = field(default_factory=list)
    cursor: Cursor = Cursor()   # resume from here (also when the page is empty)
    full: bool = False          # the page was filled: more may follow at once


def _rfc3339(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def default_feature(layer: Layer, names: list[str]) -> sql.Composable:
    """The feature of row ``t`` as GeoJSON text in CRS84 (7 decimals, as items)."""
    geom = sql.SQL("t.geom") if layer.srid == 4326 else sql.SQL("ST_Transform(t.geom, 4326)")
    pairs = sql.SQL(", ").join(sql.SQL("{}, t.{}").format(sql.Literal(n), sql.Identifier(n))
                               for n in names[:50])
    return sql.SQL(
        "'{{\"type\":\"Feature\",\"id\":' || to_json(t.external_id)::text || "
        "',\"geometry\":' || coalesce(ST_AsGeoJSON({}, 7), 'null') || "
        "',\"properties\":' || json_build_object({})::text || '}}'").format(geom, pairs)


def changes_sql(layer: Layer, feature: sql.Composable, *, after: Cursor,
                bbox: tuple[float, float, float, float] | None,
                limit: int) -> tuple[sql.Composable, dict]:
    """The query of one page after ``after``, and its parameters: rows (seq, log id,
    time, action, feature id, feature JSON or NULL). ``feature`` reads the current row
    ``t`` and may read ``e.old``, the version an update replaced (a subscription tests
    whether it matched its filter)."""
    params: dict = {"layer": layer.table, "limit": limit, "seq": after.seq, "id": after.id}
    where = sql.SQL("")
    if bbox is not None:
        params.update(x0=bbox[0], y0=bbox[1], x1=bbox[2], y1=bbox[3])
        where = sql.SQL(" AND l.env && ST_MakeEnvelope(%(x0)s, %(y0)s, %(x1)s, %(y1)s, 4326)")
    query = sql.SQL("""
WITH e AS (
  SELECT c.seq, l.id, c.at, l.action, l.row_id, l.external_id, l.old
  FROM change_commits c JOIN change_log l ON l.xid = c.xid AND l.layer = %(layer)s
  WHERE c.seq >= %(seq)s::bigint
    AND l.id > CASE WHEN c.seq = %(seq)s::bigint THEN %(id)s::bigint ELSE 0 END{where}
  ORDER BY c.seq, l.id LIMIT %(limit)s)
SELECT e.seq, e.id, e.at, e.action, e.external_id,
       CASE WHEN e.action <> 'deleted' THEN {feature} END
FROM e LEFT JOIN {table} t ON t.id = e.row_id AND e.action <> 'deleted'
ORDER BY e.seq, e.id""").format(where=where, feature=feature,
                                table=sql.Identifier(layer.table))
    return query, params


def start_sql(since: datetime) -> tuple[str, dict]:
    """The last commit at or before ``since``: the feed resumes after it."""
    return ("SELECT coalesce(max(seq), 0) FROM change_commits WHERE at <= %(since)s",
            {"since": since})


def as_change(action: str, fid: str, at: datetime, feature: str | None) -> Change | None:
    """A row's change; None for a change to a feature deleted since (its tombstone
    follows)."""
    if action != "deleted" and feature is None:
        return None
    return Change(action, fid, at, feature)


def page_of(rows: list[tuple], start: Cursor, limit: int,
            change: Callable[[str, str, datetime, str | None], Change | None] = as_change
            ) -> ChangePage:
    """Rows of :func:`changes_sql` as a page, each made a change by ``change`` (None:
    not in the page); the cursor moves past every row."""
    page = ChangePage(cursor=start, full=len(rows) >= limit)
    for seq, ident, at, action, fid, column in rows:
        page.cursor = Cursor(seq, ident)
        made = change(action, fid, at, column)
        if made is not None:
            page.changes.append(made)
    return page


def _start(after: Cursor | None, since_seq: int | None) -> Cursor:
    if since_seq is not None:
        return Cursor(since_seq, END_OF_COMMIT)
    return after or Cursor()


def _check(after: Cursor | None, since: datetime | None) -> None:
    if after is not None and since is not None:
        raise BadCursor("give either since or cursor, not both: the cursor already says "
                        "where the feed resumes")


def changes(conn, layer: Layer, names: list[str], *, after: Cursor | None = None,
            since: datetime | None = None, bbox=None, limit: int = 1000,
            feature: sql.Composable | None = None) -> ChangePage:
    """One page of ``layer``'s changes after ``after`` (or committed after ``since``), on
    a psycopg connection; ``names``: the properties to include."""
    _check(after, since)
    feature = feature if feature is not None else default_feature(layer, names)
    since_seq = conn.execute(*start_sql(since)).fetchone()[0] if since else None
    start = _start(after, since_seq)
    query, params = changes_sql(layer, feature, after=start, bbox=bbox, limit=limit)
    rows = conn.execute(query, params).fetchall()
    return page_of(rows, start, limit)


async def changes_async(conn, layer: Layer, names: list[str], *, after: Cursor | None = None,
                        since: datetime | None = None, bbox=None, limit: int = 1000,
                        feature: sql.Composable | None = None) -> ChangePage:
    """:func:`changes` on an async psycopg connection."""
    _check(after, since)
    feature = feature if feature is not None else default_feature(layer, names)
    since_seq = None
    if since is not None:
        since_seq = (await (await conn.execute(*start_sql(since))).fetchone())[0]
    start = _start(after, since_seq)
    query, params = changes_sql(layer, feature, after=start, bbox=bbox, limit=limit)
    rows = await (await conn.execute(query, params)).fetchall()
    return page_of(rows, start, limit)
