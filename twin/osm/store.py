"""The OSM store (migration 0009): node locations, way node lists and tags, relations.

A full import replaces it with what it read; a change file updates it and reads from it
what the file leaves out (the locations of untouched nodes, the ways sharing a node with a
changed one, the relations over a changed way).
"""

from __future__ import annotations

import json
from collections.abc import Iterable

import numpy as np
import psycopg

from twin.osm.read import Extract, Relation, Ways

_NODE_ROW = np.dtype([("n", ">i2"), ("l1", ">i4"), ("id", ">i8"), ("l2", ">i4"),
                      ("lon", ">f8"), ("l3", ">i4"), ("lat", ">f8")])
_HEADER = b"PGCOPY\n\xff\r\n\x00" + b"\x00" * 8
_TRAILER = b"\xff\xff"
SPLIT_LAYER = "road_segments"


def json_text(value) -> str:
    return json.dumps(value, ensure_ascii=False)


def _copy_text(value: str) -> str:
    return (value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")
            .replace("\r", "\\r"))


def copy_nodes(cur: psycopg.Cursor, ids: np.ndarray, lon: np.ndarray, lat: np.ndarray) -> None:
    """Binary COPY of node locations (numpy straight to PostgreSQL's wire format)."""
    rows = np.zeros(len(ids), dtype=_NODE_ROW)
    rows["n"], rows["l1"], rows["l2"], rows["l3"] = 3, 8, 8, 8
    rows["id"], rows["lon"], rows["lat"] = ids, lon, lat
    with cur.copy("COPY osm_nodes (id, lon, lat) FROM STDIN (FORMAT BINARY)") as copy:
        copy.write(_HEADER)
        step = 1_000_000
        for start in range(0, len(rows), step):
            copy.write(rows[start:start + step].tobytes())
        copy.write(_TRAILER)


def way_lines(ways: Ways, which: Iterable[int]) -> Iterable[str]:
    for i in which:
        nodes = ",".join(map(str, ways.nodes(i).tolist()))
        tags = _copy_text(json.dumps(ways.tags[i], ensure_ascii=False))
        road = "t" if SPLIT_LAYER in ways.layers[i] else "f"
        yield f"{int(ways.ids[i])}\t{{{nodes}}}\t{tags}\t{road}\n"


def copy_ways(cur: psycopg.Cursor, ways: Ways, which: Iterable[int]) -> None:
    with cur.copy("COPY osm_ways (id, nodes, tags, road) FROM STDIN") as copy:
        batch = []
        for line in way_lines(ways, which):
            batch.append(line)
            if len(batch) >= 20000:
                copy.write("".join(batch))
                batch.clear()
        copy.write("".join(batch))


def relation_rows(relations: dict[int, Relation]) -> list[tuple]:
    rows = []
    for rid, rel in sorted(relations.items()):
        members = [[k, ref, role] for k, ref, role in rel.members]
        rows.append((rid, json.dumps(rel.tags, ensure_ascii=False), json.dumps(members),
                     sorted({ref for k, ref, _ in rel.members if k == "w"}),
                     sorted({ref for k, ref, _ in rel.members if k == "n"}),
                     sorted({ref for k, ref, _ in rel.members if k == "r"})))
    return rows


def upsert_relations(cur: psycopg.Cursor, relations: dict[int, Relation]) -> None:
    cur.executemany(
        "INSERT INTO osm_relations (id, tags, members, ways, nodes, relations) "
        "VALUES (%s, %s, %s, %s::bigint[], %s::bigint[], %s::bigint[]) "
        "ON CONFLICT (id) DO UPDATE SET tags = EXCLUDED.tags, members = EXCLUDED.members, "
        "ways = EXCLUDED.ways, nodes = EXCLUDED.nodes, "
        "relations = EXCLUDED.relations", relation_rows(relations))


def replace_all(cur: psycopg.Cursor, extract: Extract, state: dict) -> None:
    """A full import: the store holds exactly what this file brought."""
    ways = extract.ways
    cur.execute("TRUNCATE osm_nodes, osm_ways, osm_relations")
    cur.execute("DROP INDEX IF EXISTS ix_osm_ways_nodes")
    ok = ~np.isnan(ways.lon)
    ids, first = np.unique(ways.refs[ok], return_index=True)
    copy_nodes(cur, ids, ways.lon[ok][first], ways.lat[ok][first])
    copy_ways(cur, ways, range(len(ways)))
    cur.execute("CREATE INDEX ix_osm_ways_nodes ON osm_ways USING gin (nodes)")
    upsert_relations(cur, extract.relations)
    cur.execute("DELETE FROM osm_state")
    cur.executemany("INSERT INTO osm_state (key, value) VALUES (%s, %s)",
                    [(k, json.dumps(v)) for k, v in state.items()])


def read_state(cur: psycopg.Cursor) -> dict:
    cur.execute("SELECT key, value FROM osm_state")
    return {k: v for k, v in cur.fetchall()}


# --- reading for a change file ------------------------------------------------------------

def ways_by(cur: psycopg.Cursor, ids: list[int], nodes: list[int], road_only: bool = False
            ) -> dict[int, tuple[list[int], dict, bool]]:
    """Stored ways with one of ``ids``, or using one of ``nodes``."""
    cur.execute("SELECT id, nodes, tags, road FROM osm_ways WHERE (id = ANY(%s::bigint[]) "
                "OR nodes && %s::bigint[])" + (" AND road" if road_only else ""), (ids, nodes))
    return {r[0]: (list(r[1]), r[2], r[3]) for r in cur.fetchall()}


def relations_by(cur: psycopg.Cursor, ids: list[int], ways: list[int], nodes: list[int]
                 ) -> dict[int, Relation]:
    """Stored relations with one of ``ids``, or one of ``ways``/``nodes``/``ids`` among
    their members (a route's master, an area's parent)."""
    cur.execute("SELECT id, tags, members FROM osm_relations WHERE id = ANY(%s::bigint[]) "
                "OR ways && %s::bigint[] OR nodes && %s::bigint[] OR relations && %s::bigint[]",
                (ids, ways, nodes, ids))
    return {r[0]: Relation(r[1], [(k, ref, role) for k, ref, role in r[2]])
            for r in cur.fetchall()}


def locations(cur: psycopg.Cursor, nodes: list[int]) -> dict[int, tuple[float, float]]:
    cur.execute("SELECT id, lon, lat FROM osm_nodes WHERE id = ANY(%s::bigint[])", (nodes,))
    return {r[0]: (r[1], r[2]) for r in cur.fetchall()}


def usage(cur: psycopg.Cursor, nodes: list[int]) -> dict[int, int]:
    """How many stored road ways use each of ``nodes`` (a node twice in one way: twice)."""
    cur.execute("SELECT n, count(*) FROM osm_ways w, unnest(w.nodes) n "
                "WHERE w.road AND w.nodes && %s::bigint[] AND n = ANY(%s::bigint[]) GROUP BY n",
                (nodes, nodes))
    return {r[0]: r[1] for r in cur.fetchall()}
