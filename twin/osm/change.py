"""Apply an OSM change file (.osc, .osc.gz) to what an earlier full import wrote.

A change file lists the objects created, modified and deleted since an extract, nothing
else: a moved node comes without the ways that use it, a modified way without its
unchanged nodes' locations. So the file first updates the OSM store (node locations, way
node lists and tags, relations: :mod:`twin.osm.store`), then exactly the features it
touches are rebuilt from the store: the touched nodes' features; the road ways that
changed, use a moved node or share a node with a changed way (their intersections may
have moved); the other ways that changed or use a moved node; the relations over any of
those (with a route's master and siblings, an area's parent and subareas). Their old
features that were not rebuilt are deleted; nothing else is touched. All in one
transaction with the layers.
"""

from __future__ import annotations

import time
from array import array
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import osmium
import psycopg
from sqlalchemy import Engine

from twin.config import Settings
from twin.ingest.errors import LoadError
from twin.osm import store
from twin.osm.apply import apply_in, check_strict, lock
from twin.osm.build import Mappers, build_all
from twin.osm.extent import city_extent
from twin.osm.read import UNDEFINED, Extract, Relation, Ways, apply_handlers, check_file
from twin.osm.report import ImportReport
from twin.registry import Registry


@dataclass
class Change:
    """The last version of each object in the file; ``None`` for a deletion."""
    nodes: dict[int, tuple[float, float, dict] | None] = field(default_factory=dict)
    ways: dict[int, tuple[list[int], dict] | None] = field(default_factory=dict)
    relations: dict[int, Relation | None] = field(default_factory=dict)
    versions: dict[tuple[str, int], int] = field(default_factory=dict)

    def _newer(self, kind: str, obj) -> bool:
        old = self.versions.get((kind, obj.id), -1)
        self.versions[(kind, obj.id)] = max(old, obj.version)
        return obj.version >= old

    def node(self, n) -> None:
        if self._newer("n", n):
            loc = n.location
            self.nodes[n.id] = None if n.deleted or loc.x == UNDEFINED else (
                loc.x / 1e7, loc.y / 1e7, dict(n.tags))

    def way(self, w) -> None:
        if self._newer("w", w):
            self.ways[w.id] = None if w.deleted else ([r.ref for r in w.nodes], dict(w.tags))

    def relation(self, r) -> None:
        if self._newer("r", r):
            self.relations[r.id] = None if r.deleted else Relation(
                dict(r.tags), [(m.type, m.ref, m.role) for m in r.members])


def read_change(path: Path) -> Change:
    check_file(path)
    change = Change()
    apply_handlers(path, osmium.osm.ALL, change)
    return change


def _known(cur: psycopg.Cursor, mappers: Mappers, change: Change) -> set[str]:
    """Keys (osm-n1, osm-w2, osm-r3) of the change's objects twin knows."""
    nodes, ways, rels = list(change.nodes), list(change.ways), list(change.relations)
    cur.execute("SELECT 'osm-n' || id FROM osm_nodes WHERE id = ANY(%s::bigint[]) UNION "
                "SELECT 'osm-w' || id FROM osm_ways WHERE id = ANY(%s::bigint[]) UNION "
                "SELECT 'osm-r' || id FROM osm_relations WHERE id = ANY(%s::bigint[])",
                (nodes, ways, rels))
    known = {r[0] for r in cur.fetchall()}
    ids = [f"osm-n{n}" for n in nodes]
    for m in mappers.nodes:
        cur.execute(f"SELECT external_id FROM {m.layer.table} WHERE external_id = ANY(%s::text[])",
                    (ids,))
        known |= {r[0] for r in cur.fetchall()}
    return known


def _skip_unknown_deletions(report: ImportReport, change: Change, known: set[str]) -> None:
    for kind, objects in (("n", change.nodes), ("w", change.ways), ("r", change.relations)):
        for oid, state in objects.items():
            if state is None and f"osm-{kind}{oid}" not in known:
                report.add("skipped", "osm", f"{kind}{oid}", "deleted in the change file, "
                           "but twin never imported it")


def _layers_of(mappers: Mappers, tags: dict) -> tuple[str, ...]:
    return tuple(m.layer.name for m in mappers.ways if m.wants(tags.get))


def _update_store(cur: psycopg.Cursor, mappers: Mappers, change: Change,
                  members: set[int]) -> None:
    """The store after the change: ways a layer or a relation wants, their nodes."""
    keys = sorted({k for m in mappers.ways for k in m.keys})
    rows, gone = [], [w for w, s in change.ways.items() if s is None]
    for wid, state in change.ways.items():
        if state is None:
            continue
        tags = {k: state[1][k] for k in keys if k in state[1]}
        layers = _layers_of(mappers, tags)
        if layers or wid in members:
            rows.append((wid, state[0], store.json_text(tags), "road_segments" in layers))
        else:
            gone.append(wid)
    cur.execute("DELETE FROM osm_ways WHERE id = ANY(%s::bigint[])", (gone,))
    cur.executemany("INSERT INTO osm_ways (id, nodes, tags, road) VALUES (%s, %s::bigint[], "
                    "%s, %s) "
                    "ON CONFLICT (id) DO UPDATE SET nodes = EXCLUDED.nodes, "
                    "tags = EXCLUDED.tags, road = EXCLUDED.road", rows)
    needed = {n for _, nodes, _, _ in rows for n in nodes}
    cur.execute("SELECT id FROM osm_nodes WHERE id = ANY(%s::bigint[])", (list(change.nodes),))
    needed |= {r[0] for r in cur.fetchall()}
    cur.execute("DELETE FROM osm_nodes WHERE id = ANY(%s::bigint[])",
                ([n for n, s in change.nodes.items() if s is None],))
    cur.executemany("INSERT INTO osm_nodes (id, lon, lat) VALUES (%s, %s, %s) ON CONFLICT (id) "
                    "DO UPDATE SET lon = EXCLUDED.lon, lat = EXCLUDED.lat",
                    [(n, s[0], s[1]) for n, s in change.nodes.items()
                     if s is not None and n in needed])
    wanted = {r: rel for r, rel in change.relations.items() if rel is not None and any(
        m.wants(rel.tags.get) or m.master(rel.tags.get) for m in mappers.relations)}
    cur.execute("DELETE FROM osm_relations WHERE id = ANY(%s::bigint[])",
                ([r for r in change.relations if r not in wanted],))
    store.upsert_relations(cur, wanted)


def _ways_table(mappers: Mappers, ways: dict[int, tuple[list[int], dict, bool]],
                locations: dict[int, tuple[float, float]]) -> Ways:
    ids = sorted(ways)
    counts = array("q", (len(ways[w][0]) for w in ids))
    refs = np.fromiter((n for w in ids for n in ways[w][0]), dtype=np.int64,
                       count=sum(counts))
    offsets = np.zeros(len(ids) + 1, dtype=np.int64)
    np.cumsum(np.frombuffer(counts, dtype=np.int64), out=offsets[1:])
    lon = np.array([locations.get(int(n), (np.nan, np.nan))[0] for n in refs], dtype=float)
    lat = np.array([locations.get(int(n), (np.nan, np.nan))[1] for n in refs], dtype=float)
    tags = [ways[w][1] for w in ids]
    return Ways(np.asarray(ids, dtype=np.int64), offsets, refs, lon, lat, tags,
                [_layers_of(mappers, t) for t in tags])


def _relations(cur: psycopg.Cursor, change: Change, ways: list[int], nodes: list[int]
               ) -> dict[int, Relation]:
    """The relations the change touches, with the masters and parents over them and the
    routes and subareas under those."""
    found = store.relations_by(cur, list(change.relations), ways, nodes)
    found.update(store.relations_by(cur, list(found), [], []))
    below = sorted({ref for rel in found.values() for k, ref, _ in rel.members
                    if k == "r"} - set(found))
    if below:
        found.update(store.relations_by(cur, below, [], []))
    return found


def _gather(cur: psycopg.Cursor, mappers: Mappers, change: Change,
            old: dict[int, tuple[list[int], dict, bool]]):
    """(extract to build from, object ids to rebuild, keys whose features may change)."""
    moved = sorted(change.nodes)
    changed = sorted(change.ways)
    near = {n for nodes, _, road in old.values() if road for n in nodes}
    near |= {n for s in change.ways.values() if s is not None for n in s[0]}
    roads = store.ways_by(cur, changed, sorted(near | set(moved)), road_only=True)
    others = store.ways_by(cur, changed, moved)
    rels = _relations(cur, change, sorted(set(changed) | set(others)), moved)
    members = {ref for rel in rels.values() for k, ref, _ in rel.members if k == "w"}
    ways = {**store.ways_by(cur, sorted(members - set(roads) - set(others)), []),
            **others, **roads}
    usage = store.usage(cur, sorted({n for nodes, _, _ in roads.values() for n in nodes}))
    locations = store.locations(cur, sorted({n for nodes, _, _ in ways.values()
                                             for n in nodes}))
    pois = {n: s for n, s in change.nodes.items() if s is not None}
    node_layers = {n: hits for n, s in pois.items()
                   if (hits := tuple(m.layer.name for m in mappers.nodes
                                     if m.wants(s[2].get)))}
    extract = Extract(pois, _ways_table(mappers, ways, locations), rels,
                      len(change.nodes) + len(change.ways) + len(change.relations),
                      shared=np.array(sorted(n for n, k in usage.items() if k > 1),
                                      dtype=np.int64), node_layers=node_layers)
    only = {"node": set(pois), "way": set(roads) | set(others), "relation": set(rels)}
    keys = {"node": {f"osm-n{n}" for n in change.nodes},
            "way": {f"osm-w{w}" for w in only["way"] | set(change.ways)},
            "relation": {f"osm-r{r}" for r in set(rels) | set(change.relations)}}
    return extract, only, keys


def _member_ways(cur: psycopg.Cursor, change: Change) -> set[int]:
    """The changed ways that a stored or changed relation uses."""
    found = {ref for rel in change.relations.values() if rel is not None
             for k, ref, _ in rel.members if k == "w"}
    cur.execute("SELECT DISTINCT unnest(ways) FROM osm_relations WHERE ways && %s::bigint[]",
                (list(change.ways),))
    return (found | {r[0] for r in cur.fetchall()}) & set(change.ways)


def apply_change(engine: Engine, registry: Registry, settings: Settings, path: Path, *,
                 clip: bool = False, strict: bool = False) -> ImportReport:
    """Apply a change file in one transaction: the store, then the touched features."""
    started = time.perf_counter()
    change = read_change(path)
    mappers = Mappers(registry)
    report = ImportReport(str(path), "change",
                          objects=len(change.nodes) + len(change.ways) + len(change.relations))
    with engine.begin() as conn, conn.connection.driver_connection.cursor() as cur:
        lock(cur)
        state = store.read_state(cur)
        if not state:
            raise LoadError(f"{path}: a change file applies to an earlier import; import an "
                            "extract first (twin import osm city.osm.pbf)")
        extent = tuple(state["clip"]) if state.get("clip") else city_extent(settings)
        clip = clip or state.get("clip") is not None
        _skip_unknown_deletions(report, change, _known(cur, mappers, change))
        old = store.ways_by(cur, sorted(change.ways), [])
        _update_store(cur, mappers, change, _member_ways(cur, change))
        extract, only, keys = _gather(cur, mappers, change, old)
        builts, links = build_all(mappers, extract, report, extent, clip, strict, only)
        for built in builts:
            built.scope = set().union(*(keys[k] for k in built.layer.osm.objects))
        check_strict(report, strict)
        apply_in(cur, registry, builts, links, report, strict)
    report.seconds = time.perf_counter() - started
    return report
