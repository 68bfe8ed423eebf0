"""The layers' features from what was read: one builder per kind of layer."""

from __future__ import annotations

from twin.osm.areas import area_features
from twin.osm.extent import Extent
from twin.osm.features import Built, finish, node_features, segment_features, way_features
from twin.osm.read import Extract
from twin.osm.relations import Links, route_features
from twin.osm.report import ImportReport
from twin.osm.tags import Mapper
from twin.registry import Registry


class Mappers:
    """The layers with an ``osm:`` block, compiled, in write order (a layer linked to its
    nearest feature of another layer after that layer)."""

    def __init__(self, registry: Registry):
        layers = [layer for layer in registry.tables() if layer.osm is not None]
        layers.sort(key=lambda layer: layer.nearest is not None)
        self.all = [Mapper(layer) for layer in layers]
        self.nodes = [m for m in self.all if "node" in m.osm.objects]
        self.ways = [m for m in self.all if "way" in m.osm.objects]
        self.relations = [m for m in self.all if "relation" in m.osm.objects]
        self.masters = [m for m in self.relations if m.osm.group]


def build(mapper: Mapper, extract: Extract, report: ImportReport, links: Links,
          only: dict[str, set[int] | None] | None = None, check=None) -> Built:
    """One layer's features; ``only`` limits each kind of object (a change file)."""
    only = only or {}
    built = Built(mapper.layer)
    report.counts(mapper.layer.name)
    objects = mapper.osm.objects
    if mapper.osm.split:
        segment_features(built, mapper, extract, report, only.get("way"), check)
    elif "relation" in objects and mapper.layer.geometry == "MultiLineString":
        route_features(built, mapper, extract, report, links, only.get("relation"))
    elif "relation" in objects:
        area_features(built, mapper, extract, report, only.get("relation"))
    if "node" in objects:
        node_features(built, mapper, extract, report, only.get("node"))
    if "way" in objects and not mapper.osm.split:
        way_features(built, mapper, extract, report, only.get("way"))
    return built


def build_all(mappers: Mappers, extract: Extract, report: ImportReport, extent: Extent,
              clip: bool, strict: bool, only=None) -> tuple[list[Built], Links]:
    links = Links()
    builts = []
    def check(built: Built) -> None:
        finish(built, report, extent, clip, strict)

    for mapper in mappers.all:
        built = build(mapper, extract, report, links, only, check)
        if built.pieces is None:
            check(built)
        builts.append(built)
    return builts, links
