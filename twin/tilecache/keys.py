"""The key of a cached tile, its path in a store and its ETag."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass


@dataclass(frozen=True)
class TileKey:
    layer: str
    version: str    # the layer's version and the time it moved (twin.db.counts)
    tms: str
    z: int
    x: int
    y: int
    variant: str = ""   # the normalised filter (e.g. "datetime=2026-10-01T00:00:00Z"), or ""
    fmt: str = "mvt"    # the file suffix: "mvt" for vector tiles, "png" for map tiles

    @property
    def variant_hash(self) -> str:
        if not self.variant:
            return "all"
        return hashlib.sha256(self.variant.encode()).hexdigest()[:16]

    @property
    def path(self) -> str:
        """``layer/version/tms/z/x/y-variant.<fmt>``: one directory per layer version,
        so a whole old version is pruned by removing one directory."""
        return (f"{self.layer}/{self.version}/{self.tms}/{self.z}/{self.x}/"
                f"{self.y}-{self.variant_hash}.{self.fmt}")

    @property
    def etag(self) -> str:
        """The version is the ETag: a CDN or a browser revalidates a tile for the price
        of one primary-key lookup, and any change of the layer changes it. Weak, as the
        bytes differ once the app's gzip middleware compresses them."""
        return f'W/"{self.layer}.{self.version}.{self.variant_hash}"'
