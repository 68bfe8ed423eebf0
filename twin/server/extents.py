"""Spatial and temporal extents of each layer, read once at start-up (cheap: index-assisted)."""

from __future__ import annotations

from twin.server.state import ServerState


async def load_extents(state: ServerState) -> dict[str, dict]:
    out = {}
    for layer in state.registry:
        geom = "geom" if layer.srid == 4326 else "ST_Transform(geom, 4326)"
        row = await state.db.fetchrow(
            f"SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
            f"(SELECT ST_Extent({geom}) AS e FROM {layer.table}) s")
        bbox = list(row) if row and row[0] is not None else list(state.settings.plausible_extent)
        interval = [None, None]
        if layer.time_field:
            t = await state.db.fetchrow(
                f"SELECT min({layer.time_field}), max({layer.time_field}) FROM {layer.table}")
            interval = [v.isoformat() if v is not None else None for v in t]
        out[layer.name] = {"bbox": bbox, "interval": interval}
    return out
