"""Spatial and temporal extents of each layer, read at start-up (cheap: index-assisted)
and again for a layer after edits (:mod:`twin.server.edit`)."""

from __future__ import annotations

from twin.db.history import first_version_sql
from twin.registry import Layer
from twin.server.state import ServerState


async def layer_extent(state: ServerState, layer: Layer) -> dict:
    """``{"bbox": CRS84 bbox, "interval": [begin, end]}`` of one layer."""
    geom = "geom" if layer.srid == 4326 else "ST_Transform(geom, 4326)"
    row = await state.db.fetchrow(
        f"SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
        f"(SELECT ST_Extent({geom}) AS e FROM {layer.table}) s")
    bbox = list(row) if row and row[0] is not None else list(state.settings.plausible_extent)
    interval = [None, None]
    if layer.history:  # from the first version on, still open
        (first,) = await state.db.fetchrow(first_version_sql(layer))
        interval = [first.isoformat() if first is not None else None, None]
    if layer.time_field:
        t = await state.db.fetchrow(
            f"SELECT min({layer.time_field}), max({layer.time_field}) FROM {layer.table}")
        interval = [v.isoformat() if v is not None else None for v in t]
    return {"bbox": bbox, "interval": interval}


async def load_extents(state: ServerState) -> dict[str, dict]:
    return {layer.name: await layer_extent(state, layer) for layer in state.registry}
