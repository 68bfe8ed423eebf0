"""Path parameters of a tile, validated into plain values (or a 400). Query parameters
(``datetime``, ``f``) are read by the request-parameter library
(:mod:`twin.server.params`), as on every other route."""

from __future__ import annotations

import re

from twin.server.errors import InvalidParameter
from twin.server.tiles.tms import MAX_ZOOM

_INT = re.compile(r"^[0-9]{1,9}$")


def tile_address(tile_matrix: str, tile_row: str, tile_col: str) -> tuple[int, int, int]:
    """``(z, x, y)`` from the path's tileMatrix/tileRow/tileCol, in range for
    WebMercatorQuad, or :class:`InvalidParameter` naming the bad one."""
    values = {}
    for name, raw in (("tileMatrix", tile_matrix), ("tileRow", tile_row), ("tileCol", tile_col)):
        if not _INT.match(raw):
            raise InvalidParameter(f"{name} must be a non-negative integer, got {raw!r}")
        values[name] = int(raw)
    z = values["tileMatrix"]
    if z > MAX_ZOOM:
        raise InvalidParameter(f"tileMatrix {z} is not in WebMercatorQuad (0 to {MAX_ZOOM})")
    size = 2 ** z
    for name in ("tileRow", "tileCol"):
        if values[name] >= size:
            raise InvalidParameter(f"{name} {values[name]} is out of range for tileMatrix "
                                   f"{z} (0 to {size - 1})")
    return z, values["tileCol"], values["tileRow"]
