"""Harvested features are read-only locally unless their source says ``editable``
(``twin harvest --editable``): an edit of one is a 409 naming the source it comes from,
since the next run would undo it."""

from __future__ import annotations

from twin.registry import Layer
from twin.server.errors import Conflict

SQL = ("SELECT s.url, s.collection FROM harvest_features h "
       "JOIN harvest_sources s ON s.id = h.source_id "
       "WHERE h.layer = %s AND h.external_id = %s AND NOT s.editable")


async def check_editable(conn, layer: Layer, fid: str) -> None:
    """Raise :class:`Conflict` when ``fid`` of ``layer`` is a read-only harvested feature."""
    row = await (await conn.execute(SQL, (layer.name, fid))).fetchone()
    if row is not None:
        raise Conflict(f"feature {fid!r} of {layer.name} is harvested from {row[0]} "
                       f"(collection {row[1]}) and is read-only here: edit it at its source; "
                       "the next harvest brings the change")
