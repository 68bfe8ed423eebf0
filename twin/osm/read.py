"""Read an OSM file with pyosmium, keeping what the layer files' ``osm:`` blocks ask for.

The relations are read first (pyosmium reads only the relation blocks; its own area
assembly does the same), to learn which ways the wanted relations need; then one pass over
nodes and ways with node locations kept by pyosmium's location handler: in memory
(``flex_mem``) for small files, in a sparse index file on disk for large ones. Untagged
nodes never reach Python (a C++ key filter); every way does, and is dropped at once unless
a layer or a wanted relation needs it.

Ways are kept column-wise (numpy), so a country's roads fit in memory: the node ids of all
kept ways in one array, their coordinates in two, ``offsets`` marking each way's run.
"""

from __future__ import annotations

import os
import tempfile
import threading
from array import array
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import osmium

from twin.ingest.errors import LoadError
from twin.osm.tags import Mapper

Progress = Callable[[int | None, int], None]   # (bytes read if known, objects seen)
UNDEFINED = 2147483647                    # libosmium's undefined coordinate
ON_DISK = 100 * 2**20                     # files larger than this keep node locations on disk
SUFFIXES = (".osm.pbf", ".pbf", ".osm", ".osm.gz", ".osm.bz2", ".osc", ".osc.gz", ".osc.bz2")


@dataclass
class Relation:
    tags: dict[str, str]
    members: list[tuple[str, int, str]]   # (n|w|r, ref, role), in order


@dataclass
class Ways:
    """Kept ways, column-wise. ``lon``/``lat`` are NaN where a node had no location."""
    ids: np.ndarray
    offsets: np.ndarray          # way i runs refs[offsets[i]:offsets[i + 1]]
    refs: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    tags: list[dict[str, str]]
    layers: list[tuple[str, ...]]   # the way layers that want each way

    def __len__(self) -> int:
        return len(self.ids)

    def index(self) -> dict[int, int]:
        return {int(w): i for i, w in enumerate(self.ids)}

    def nodes(self, i: int) -> np.ndarray:
        return self.refs[self.offsets[i]:self.offsets[i + 1]]

    def missing(self) -> np.ndarray:
        """For each way, how many of its nodes have no location (-1: fewer than 2 nodes)."""
        counts = np.diff(self.offsets)
        nan = np.r_[np.isnan(self.lon).astype(np.int64), 0]
        out = np.add.reduceat(nan, np.minimum(self.offsets[:-1], len(nan) - 1)) if len(
            counts) else np.zeros(0, dtype=np.int64)
        return np.where(counts < 2, -1, np.where(counts == 0, 0, out))

    def coords(self, i: int) -> np.ndarray:
        s = slice(self.offsets[i], self.offsets[i + 1])
        return np.column_stack([self.lon[s], self.lat[s]])


@dataclass
class Extract:
    nodes: dict[int, tuple[float, float, dict[str, str]]]   # the tagged nodes layers want
    ways: Ways
    relations: dict[int, Relation]
    objects: int = 0
    shared: np.ndarray | None = None   # intersection node ids (change files: the network's)
    node_layers: dict[int, tuple[str, ...]] = field(default_factory=dict)


def check_file(path: Path) -> None:
    if not path.exists():
        raise LoadError(f"{path}: no such file")
    if path.stat().st_size == 0:
        raise LoadError(f"{path}: the file is empty")
    if not path.name.lower().endswith(SUFFIXES):
        raise LoadError(f"{path}: not an OSM file (.osm.pbf, .osm, .osc or .osc.gz)")


def is_change_file(path: Path) -> bool:
    return ".osc" in "".join(Path(path).suffixes[-2:]).lower()


def _tagdict(tags, keys: list[str]) -> dict[str, str]:
    return {k: v for k in keys if (v := tags.get(k)) is not None}


class _Relations:
    """Pass 1: the relations the relation layers want, and the route masters over them."""

    def __init__(self, mappers: list[Mapper], masters: list[Mapper]):
        self.mappers, self.masters = mappers, masters
        self.keys = sorted({k for m in mappers + masters for k in m.keys}
                           | {"type", "route_master"})
        self.found: dict[int, Relation] = {}

    def relation(self, r) -> None:
        tags = _tagdict(r.tags, self.keys)
        wanted = any(m.wants(tags.get) for m in self.mappers) or any(
            m.master(tags.get) for m in self.masters)
        if wanted:
            self.found[r.id] = Relation(dict(r.tags),
                                        [(m.type, m.ref, m.role) for m in r.members])


class _Collector:
    """Pass 2: wanted tagged nodes, and every way a layer or a relation needs."""

    def __init__(self, node_mappers: list[Mapper], way_mappers: list[Mapper],
                 member_ways: set[int]):
        self.node_mappers, self.way_mappers, self.member_ways = (
            node_mappers, way_mappers, member_ways)
        self.node_keys = sorted({k for m in node_mappers for k in m.keys})
        self.node_triggers = sorted({k for m in node_mappers for k in m.triggers})
        self.way_keys = sorted({k for m in way_mappers for k in m.keys})
        self.triggers = sorted({k for m in way_mappers for k in m.triggers})
        self.nodes: dict[int, tuple[float, float, dict]] = {}
        self.node_layers: dict[int, tuple[str, ...]] = {}
        self.ids, self.counts = array("q"), array("q")
        self.refs, self.xs, self.ys = array("q"), array("i"), array("i")
        self.tags: list[dict] = []
        self.layers: list[tuple[str, ...]] = []
        self.seen = 0
        self._layer_sets: dict[tuple, tuple] = {}

    def node(self, n) -> None:
        self.seen += 1
        tags = _tagdict(n.tags, self.node_keys)
        hits = tuple(m.layer.name for m in self.node_mappers if m.wants(tags.get))
        if hits:   # the raw coordinates: one out of range fails the extent check, named
            loc = n.location
            self.nodes[n.id] = (loc.x / 1e7, loc.y / 1e7, dict(n.tags))
            self.node_layers[n.id] = hits

    def way(self, w) -> None:
        self.seen += 1
        tags = w.tags
        hits: tuple = ()
        kept: dict = {}
        if any(k in tags for k in self.triggers):
            kept = _tagdict(tags, self.way_keys)
            hits = tuple(m.layer.name for m in self.way_mappers if m.wants(kept.get))
        if not hits and w.id not in self.member_ways:
            return
        hits = self._layer_sets.setdefault(hits, hits)
        refs, xs, ys = self.refs, self.xs, self.ys
        nodes = w.nodes
        for ref in nodes:
            loc = ref.location
            refs.append(ref.ref)
            xs.append(loc.x)
            ys.append(loc.y)
        self.ids.append(w.id)
        self.counts.append(len(nodes))
        self.tags.append(kept)
        self.layers.append(hits)

    def ways(self) -> Ways:
        counts = np.frombuffer(self.counts, dtype=np.int64)
        offsets = np.zeros(len(counts) + 1, dtype=np.int64)
        np.cumsum(counts, out=offsets[1:])
        x = np.frombuffer(self.xs, dtype=np.int32)
        y = np.frombuffer(self.ys, dtype=np.int32)
        missing = (x == UNDEFINED) | (y == UNDEFINED)
        lon = np.where(missing, np.nan, x / 1e7)
        lat = np.where(missing, np.nan, y / 1e7)
        return Ways(np.frombuffer(self.ids, dtype=np.int64).copy(), offsets,
                    np.frombuffer(self.refs, dtype=np.int64).copy(), lon, lat, self.tags,
                    self.layers)


class _Poller:
    """Reports (bytes read, objects) twice a second from a thread, reading the file
    position of pyosmium's reader from /proc (Linux); nothing elsewhere."""

    def __init__(self, path: Path, seen: Callable[[], int], progress: Progress | None):
        self.real, self.seen, self.progress = os.path.realpath(path), seen, progress
        self.stop = threading.Event()
        self.fd: str | None = None

    def position(self) -> int | None:
        try:
            if self.fd is None:
                self.fd = next(fd for fd in os.listdir("/proc/self/fd")
                               if os.path.realpath(f"/proc/self/fd/{fd}") == self.real)
            with open(f"/proc/self/fdinfo/{self.fd}") as info:
                return int(info.readline().split()[1])
        except (OSError, StopIteration, ValueError, IndexError):
            self.fd = None
            return None

    def run(self) -> None:
        size = os.path.getsize(self.real)
        while not self.stop.wait(0.5):
            pos = self.position()
            if pos is None and os.path.isdir("/proc/self/fd"):
                pos = size   # pyosmium has read it all and closed it: the rest is in memory
            self.progress(pos, self.seen())

    def __enter__(self):
        if self.progress:
            threading.Thread(target=self.run, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()


def apply_handlers(path: Path, entities, *handlers) -> None:
    try:
        with osmium.io.Reader(str(path), entities) as reader:
            osmium.apply(reader, *handlers)
    except (RuntimeError, ValueError, osmium.InvalidLocationError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise LoadError(f"{path}: not a readable OSM file (truncated or corrupt?): "
                        f"{first}") from None


def read_extract(path: Path, node_mappers: list[Mapper], way_mappers: list[Mapper],
                 relation_mappers: list[Mapper], masters: list[Mapper],
                 progress: Progress | None = None, workdir: Path | None = None) -> Extract:
    """Everything the mappers want from a full extract (.osm.pbf or .osm)."""
    check_file(path)
    rels = _Relations(relation_mappers, masters)
    if relation_mappers:
        apply_handlers(path, osmium.osm.RELATION, rels)
    members = {ref for r in rels.found.values() for kind, ref, _ in r.members if kind == "w"}
    collector = _Collector(node_mappers, way_mappers, members)
    keys = collector.node_triggers or ["__no_node_layer__"]
    node_filter = osmium.filter.KeyFilter(*keys)
    node_filter.enable_for(osmium.osm.NODE)
    with tempfile.TemporaryDirectory(dir=workdir, prefix="osm-nodes-") as tmp:
        index = ("flex_mem" if path.stat().st_size < ON_DISK
                 else f"sparse_file_array,{Path(tmp) / 'locations.idx'}")
        locations = osmium.NodeLocationsForWays(osmium.index.create_map(index))
        locations.ignore_errors()
        with _Poller(path, lambda: collector.seen, progress):
            apply_handlers(path, osmium.osm.NODE | osmium.osm.WAY, locations, node_filter,
                           collector)
    return Extract(collector.nodes, collector.ways(), rels.found,
                   collector.seen + len(rels.found), node_layers=collector.node_layers)
