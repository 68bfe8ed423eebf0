"""Where cached tiles live: a directory (the default), or nowhere.

Writes are atomic (a temporary file in the same directory, then ``os.replace``), so a
reader sees a whole tile or none, across processes. A failed write (ENOSPC, EROFS,
EACCES, a path that is not a directory) is logged once per kind and counted; the caller
serves the tile it made. Reads that fail are misses.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from pathlib import Path

from twin.tilecache.keys import TileKey

log = logging.getLogger(__name__)


class TileStore(ABC):
    """What the tile routes and ``twin tiles seed`` ask of a cache."""

    @abstractmethod
    def get(self, key: TileKey) -> bytes | None:
        """The tile's bytes, or None on a miss (or an unreadable entry)."""

    @abstractmethod
    def put(self, key: TileKey, body: bytes) -> bool:
        """Store the tile; False when the store could not (the tile is still served)."""

    @abstractmethod
    def prune(self, layer: str, keep_version: str) -> int:
        """Remove the tiles of ``layer``'s other versions; returns the versions removed."""

    @property
    def enabled(self) -> bool:
        return True


class NoStore(TileStore):
    """``TWIN_TILE_CACHE=off``: every tile is made."""

    def get(self, key: TileKey) -> bytes | None:
        return None

    def put(self, key: TileKey, body: bytes) -> bool:
        return False

    def prune(self, layer: str, keep_version: str) -> int:
        return 0

    @property
    def enabled(self) -> bool:
        return False


class PrunedStore(TileStore):
    """A store that keeps tiles: the first tile a process stores at a new version of a
    layer removes the layer's other versions, in the background (another worker may be
    storing one it read earlier: it is removed at the next change)."""

    def __init__(self) -> None:
        self._pruned: dict[str, str] = {}
        self._lock = threading.Lock()

    def _prune_once(self, layer: str, version: str) -> None:
        with self._lock:
            if self._pruned.get(layer) == version:
                return
            self._pruned[layer] = version
        threading.Thread(target=self.prune, args=(layer, version), daemon=True,
                         name="tile-cache-prune").start()


class DiskStore(PrunedStore):
    def __init__(self, root: Path):
        super().__init__()
        self.root = Path(root)
        self._warned: set[str] = set()

    def get(self, key: TileKey) -> bytes | None:
        try:
            return (self.root / key.path).read_bytes()
        except OSError:
            return None

    def put(self, key: TileKey, body: bytes) -> bool:
        target = self.root / key.path
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tile-")
            try:
                with os.fdopen(fd, "wb") as out:
                    out.write(body)
                os.replace(tmp, target)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except OSError as exc:
            self._warn(exc)
            return False
        self._prune_once(key.layer, key.version)
        return True

    def prune(self, layer: str, keep_version: str) -> int:
        removed = 0
        try:
            entries = list((self.root / layer).iterdir())
        except OSError:
            return 0
        for entry in entries:
            if entry.name != keep_version and not entry.name.startswith("."):
                shutil.rmtree(entry, ignore_errors=True)
                removed += 1
        return removed

    def _warn(self, exc: OSError) -> None:
        kind = exc.__class__.__name__ + str(exc.errno)
        if kind not in self._warned:
            self._warned.add(kind)
            log.warning("tile cache %s: cannot store tiles (%s); serving them uncached",
                        self.root, exc.strerror or exc)


# Stores kept in modules of their own, by URL scheme (twin.tilecache.s3 adds "s3" when the
# package is imported): they import this module for TileStore, so it cannot import them.
OPENERS: dict[str, Callable[[str, str | None], TileStore]] = {}


def open_store(setting: str | None, data_dir: Path, *,
               endpoint: str | None = None) -> TileStore:
    """The store a ``TWIN_TILE_CACHE`` value names: ``off``, a directory, unset
    (``<data_dir>/tiles``), or an object store's URL (``s3://bucket/prefix``, reached at
    ``endpoint``: ``TWIN_TILE_S3_ENDPOINT``)."""
    if setting is not None and setting.strip().lower() in ("off", "none", "false", "0"):
        return NoStore()
    if setting and "://" in setting:
        scheme = setting.strip().split("://", 1)[0].lower()
        if scheme not in OPENERS:
            raise ValueError(f"TWIN_TILE_CACHE={setting!r}: no store for {scheme}://; "
                             f"use a directory, 'off' or one of "
                             f"{', '.join(s + '://' for s in sorted(OPENERS))}")
        return OPENERS[scheme](setting.strip(), endpoint)
    return DiskStore(Path(setting) if setting else Path(data_dir) / "tiles")
