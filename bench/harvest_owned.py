"""What a harvest source's ownership rule costs on a full compare (issue 19, point 5).

A full compare used to write through the loader's ``mode="replace"``: the staged
remote features replaced the whole layer (and deleted every feature the remote did not
serve: local ones, other sources'). It now upserts, first looks up which remote ids the
layer holds from elsewhere (:func:`twin.harvest.apply.taken`), and deletes only this
source's features the remote dropped. This script times both on the same data in the
same run, each in a transaction that is rolled back:

- a scratch database with ``--features`` road segments harvested by one source (their
  ``harvest_features`` rows) and ``--local`` features made locally;
- the remote's features: all the harvested ones, 1 % of them changed, 0.1 % dropped;
- ``owned``: :func:`twin.harvest.apply.write_batch` (the current path);
- ``replace``: the old path: :func:`twin.ingest.vector.prepare` +
  ``write_in(..., "replace")`` and its provenance statements (as in the commit before
  the ownership rule).

    .venv/bin/python -m bench.harvest_owned [--features 100000] [--local 1000] [--repeat 3]

Prints seconds, the ratio and the load average; writes bench/out/harvest_owned.md.
"""

from __future__ import annotations

import argparse
import json
import os
import time

import psycopg

from bench.common import ensure_out, libpq, scratch_database, table
from bench.harvest import LAYER, ROADS
from twin.config import REPO_ROOT, Settings
from twin.db.engine import make_engine
from twin.db.schema import upgrade
from twin.harvest.apply import ID, Batch, source_data, write_batch
from twin.ingest.vector import prepare, write_in
from twin.registry import load_registry

SOURCE = "http://agency.example/collections/roads/items"


def _setup(url: str, n: int, local: int) -> None:
    with psycopg.connect(libpq(url)) as conn:
        conn.execute(ROADS, (n + local,))
        conn.execute("UPDATE road_segments SET external_id = 'L-' || external_id "
                     "WHERE id > %s", (n,))
        conn.execute("INSERT INTO harvest_sources (url, collection, layer) "
                     "VALUES (%s, 'roads', %s)", (SOURCE, LAYER))
        conn.execute("INSERT INTO harvest_features (layer, external_id, source_id, "
                     "remote_id) SELECT %s, external_id, 1, external_id FROM road_segments "
                     "WHERE external_id LIKE 'R-%%'", (LAYER,))
    with psycopg.connect(libpq(url), autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE road_segments, harvest_features")


def _remote(url: str) -> list[dict]:
    """The remote's features: the harvested ones, 1 % changed, 0.1 % dropped."""
    with psycopg.connect(libpq(url)) as conn:
        rows = conn.execute(
            "SELECT external_id, name, road_class, lanes, "
            "ST_AsGeoJSON(ST_Transform(geom, 4326), 9) FROM road_segments "
            "WHERE external_id LIKE 'R-%' ORDER BY id").fetchall()
    out = []
    for n, (fid, name, road_class, lanes, geom) in enumerate(rows):
        if n % 1000 == 999:
            continue
        out.append({"type": "Feature", "id": fid, "geometry": json.loads(geom),
                    "properties": {"name": name + (" (sửa)" if n % 100 == 0 else ""),
                                   "road_class": road_class, "lanes": lanes}})
    return out


def _owned(cur, registry, layer, features, extent) -> tuple[int, int]:
    batch = Batch(full=True)
    for feature in features:
        batch.put(feature)
    counts = write_batch(cur, registry, layer, batch, source_id=1, source=SOURCE,
                         harvest={"mode": "compare"}, mapping=None, extent=extent)
    return counts["written"], counts["deleted"]


def _replace(cur, registry, layer, features, extent) -> tuple[int, int]:
    data = source_data(features, SOURCE)
    prepared = prepare(layer, data, crs=None, extent=extent, strict=False, id_column=ID,
                       mode="replace")
    summary = write_in(cur, prepared, registry, "replace")
    ids = prepared.ids
    cur.execute("DELETE FROM harvest_features h WHERE h.layer = %s AND h.source_id = 1 "
                "AND NOT (h.external_id = ANY(%s))", (layer.name, ids))
    cur.execute(
        "INSERT INTO harvest_features (layer, external_id, source_id, remote_id, run_id) "
        "SELECT %s, l, 1, r, %s FROM unnest(%s::text[], %s::text[]) AS u(l, r) "
        "ON CONFLICT (layer, external_id) DO UPDATE SET source_id = EXCLUDED.source_id, "
        "remote_id = EXCLUDED.remote_id, run_id = EXCLUDED.run_id, "
        "harvested_at = clock_timestamp()", (layer.name, summary.run_id, ids, ids))
    return summary.loaded, summary.deleted


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--features", type=int, default=100_000)
    parser.add_argument("--local", type=int, default=1_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    registry = load_registry(REPO_ROOT / "layers")
    extent = Settings(database_url=None, _env_file=None).plausible_extent
    layer = registry.get(LAYER)
    times: dict[str, list[float]] = {"owned": [], "replace": []}
    effect = {}
    with scratch_database("twin_bench_harvest_owned") as url:
        engine = make_engine(url, pool_size=1)
        upgrade(engine, registry)
        _setup(url, args.features, args.local)
        features = _remote(url)
        for _ in range(args.repeat):
            for name, fn in (("owned", _owned), ("replace", _replace)):
                with engine.connect() as conn:
                    raw = conn.connection.driver_connection
                    with raw.cursor() as cur:
                        t0 = time.perf_counter()
                        effect[name] = fn(cur, registry, layer, features, extent)
                        times[name].append(time.perf_counter() - t0)
                    raw.rollback()
        engine.dispose()
    best = {k: min(v) for k, v in times.items()}
    load = os.getloadavg()
    rows = [[name, f"{len(features):,}", f"{effect[name][0]:,} written",
             f"{effect[name][1]:,} deleted", f"{best[name]:.2f} s"] for name in best]
    text = table(rows, ["path", "remote features", "written", "deleted", "best time"])
    text += (f"\n\nowned / replace: {best['owned'] / best['replace']:.2f}x the time "
             f"(best of {args.repeat}); load average {load[0]:.2f} {load[1]:.2f} "
             f"{load[2]:.2f}; replace also deletes the {args.local:,} local features")
    (ensure_out() / "harvest_owned.md").write_text(
        f"# full compare: ownership rule vs the loader's replace\n\n{text}\n",
        encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
