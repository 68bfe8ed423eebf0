"""A cache of made tiles, keyed so that a stale tile can never be served.

A key names the layer, the layer's version (advanced by the database on every statement
that writes its table: :mod:`twin.db.counts`), the tile matrix set, the tile and a hash
of whatever else shaped the tile (``datetime``). An edit, a load, an import or a
harvest moves the version, so the next request misses and makes the tile anew; the
tiles of older versions are never read again and are pruned.

The store is a directory by default (``TWIN_TILE_CACHE``, ``<data_dir>/tiles``), an
S3-compatible object store (``s3://bucket/prefix``: :mod:`twin.tilecache.s3`), or
``off``. A store that fails (a full disk, a read-only directory, an object store gone or
refusing) is never an error for a client: the tile is served uncached and the failure
counted.
"""

from twin.tilecache.keys import TileKey
from twin.tilecache.s3 import S3Store  # also makes s3:// known to open_store
from twin.tilecache.store import DiskStore, NoStore, TileStore, open_store

__all__ = ["DiskStore", "NoStore", "S3Store", "TileKey", "TileStore", "open_store"]
