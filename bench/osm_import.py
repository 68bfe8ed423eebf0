"""OSM import: ``twin import osm`` against osm2pgsql on the same generated PBF, in one run.

The PBF is a grid of streets over Hà Nội's extent written with pyosmium's SimpleWriter
(``--ways`` highway ways, default 1,000,000; each runs 1-4 blocks, so ways share nodes at
every crossing and twin splits them into about 2.5 segments each), with bus stops, PTv2
bus routes with a route master, signals, QCVN 41 signs, cameras, car parks (points and
areas) and district and ward boundary relations. It is kept in bench/out/osm/ (not
committed) and reused.

Both tools write into fresh databases of the same PostgreSQL (the embedded cluster, or
``TWIN_BENCH_DATABASE_URL``'s server):

- twin: ``twin import osm FILE`` (its schema made first by ``twin db upgrade``): the road
  network split at its intersections with source/target nodes, every layer through the
  loaders' staging, merge and checks, history triggers, the OSM store a change file needs,
  one transaction.
- osm2pgsql (Debian package; installed with apt-get when missing): flex output with a Lua
  style writing the same tables and columns (roads one row per way: osm2pgsql does not
  split at intersections), ``--slim`` so that it too keeps what updates need.

Reported: wall time, highway ways per second, peak memory (max RSS of the importing
process; PostgreSQL's own memory is the same server for both and not counted), and
twin's time over osm2pgsql's. Goal: within 1.5x, under 2 GB.

    .venv/bin/python -m bench.osm_import [--ways 1000000] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

import osmium
from osmium.osm.mutable import Node, Relation, Way
from sqlalchemy.engine import make_url

from bench.common import ensure_out, libpq, scratch_database, table
from twin.config import REPO_ROOT

X0, Y0, STEP = 105.40, 20.60, 0.0006      # the grid's south-west corner and spacing (CRS84)
CLASSES = (["residential"] * 8 + ["service"] * 3 + ["tertiary", "secondary", "primary",
           "unclassified", "unclassified", "footway", "living_street", "primary_link"])
STYLE = Path(__file__).with_name("osm_import.lua")


# --- the generated extract ----------------------------------------------------------------

def _grid_side(ways: int) -> int:
    # about 2 * side^2 / 2.5 ways (rows and columns of ways of 1-4 blocks)
    return max(20, int((ways * 2.5 / 2) ** 0.5))


def _streets(side: int, rng: random.Random):
    """Rows then columns of ways, 1-4 blocks each: (way id, node ids, tags)."""
    def node(i: int, j: int) -> int:
        return 1 + i * side + j

    wid = 1
    for horizontal in (True, False):
        for a in range(side):
            b = 0
            while b < side - 1:
                span = min(rng.randint(1, 4), side - 1 - b)
                refs = [node(a, k) if horizontal else node(k, a)
                        for k in range(b, b + span + 1)]
                tags = {"highway": rng.choice(CLASSES), "name": f"Phố {a}-{b}"}
                if rng.random() < 0.3:
                    tags.update(lanes=rng.choice(["1", "2", "3", "two"]),
                                maxspeed=rng.choice(["30", "40", "50", "signals"]))
                if rng.random() < 0.1:
                    tags["oneway"] = rng.choice(["yes", "-1"])
                yield wid, refs, tags
                wid += 1
                b += span


def generate(path: Path, ways: int, seed: int = 15) -> dict:
    """Write the extract; returns its counts."""
    rng = random.Random(seed)
    side = _grid_side(ways)
    streets = list(_streets(side, rng))
    poi = 1 + side * side + 10
    with osmium.SimpleWriter(str(path), overwrite=True) as w:
        for i in range(side):
            for j in range(side):
                tags = {}
                if (i * 7 + j) % 53 == 0:
                    tags = {"highway": "traffic_signals"}
                w.add_node(Node(id=1 + i * side + j,
                                location=(X0 + j * STEP, Y0 + i * STEP), tags=tags))
        pois, after = _pois(w, side, poi, rng)
        boundary = _boundary_nodes(w, side, after)
        for wid, refs, tags in streets:
            w.add_way(Way(id=wid, nodes=refs, tags=tags))
        areas = _areas(w, boundary, len(streets) + 10)
        routes = _routes(w, side, streets, pois)
        for rid, members, tags in areas + routes:
            w.add_relation(Relation(id=rid, members=members, tags=tags))
    return {"ways": len(streets), "nodes": side * side, "side": side,
            "pois": len(pois), "relations": len(areas) + len(routes)}


def _pois(w, side: int, first: int, rng: random.Random) -> tuple[list, int]:
    """Bus stops beside every 10th intersection of every 40th row; signs, cameras and car
    parks scattered. Returns the stops as (node id, row, column), and the next node id."""
    stops, nid = [], first
    for i in range(0, side, 40):
        for j in range(0, side, 10):
            tags = {"highway": "bus_stop", "public_transport": "platform",
                    "name": f"Trạm {i}-{j}", "bus": "yes"}
            w.add_node(Node(id=nid, location=(X0 + j * STEP + STEP / 4,
                                              Y0 + i * STEP + STEP / 8), tags=tags))
            stops.append((nid, i, j))
            nid += 1
    for k in range(max(100, side * side // 400)):
        i, j = rng.randrange(side), rng.randrange(side)
        kind = k % 3
        tags = ({"traffic_sign": rng.choice(["VN:P.102", "VN:W.207a", "VN:R.302a"])},
                {"man_made": "surveillance", "surveillance:type": "camera"},
                {"amenity": "parking", "name": f"Bãi xe {k}", "capacity": "30"})[kind]
        w.add_node(Node(id=nid, location=(X0 + j * STEP + STEP / 3, Y0 + i * STEP + STEP / 3),
                        tags=tags))
        nid += 1
    return stops, nid


def _boundary_nodes(w, side: int, first: int) -> list[list[int]]:
    """Corners of a 4 x 4 grid of districts (node ids by row)."""
    corners, nid = [], first
    for a in range(5):
        row = []
        for b in range(5):
            w.add_node(Node(id=nid, location=(X0 + b * (side - 1) * STEP / 4 - STEP / 2,
                                              Y0 + a * (side - 1) * STEP / 4 - STEP / 2)))
            row.append(nid)
            nid += 1
        corners.append(row)
    return corners


def _areas(w, corners: list[list[int]], first_way: int) -> list:
    """One closed boundary way and one admin_level=6 relation (ids 1-16) per district."""
    out, wid = [], first_way
    for a in range(4):
        for b in range(4):
            ring = [corners[a][b], corners[a][b + 1], corners[a + 1][b + 1], corners[a + 1][b],
                    corners[a][b]]
            w.add_way(Way(id=wid, nodes=ring, tags={"boundary": "administrative",
                                                    "admin_level": "6"}))
            out.append((a * 4 + b + 1, [("w", wid, "outer")],
                        {"type": "boundary", "boundary": "administrative", "admin_level": "6",
                         "name": f"Quận {a * 4 + b + 1}"}))
            wid += 1
    return out


def _routes(w, side: int, streets: list, stops: list) -> list:
    """A PTv2 bus route along every 40th row (its ways, its stops), both directions under a
    route master."""
    by_row: dict[int, list[int]] = {}
    for wid, refs, _tags in streets:
        i = (refs[0] - 1) // side
        if (refs[1] - refs[0]) == 1 and i % 40 == 0:
            by_row.setdefault(i, []).append(wid)
    out, rid = [], 1000
    for i, ways in sorted(by_row.items()):
        platforms = [("n", nid, "platform") for nid, row, _ in stops if row == i]
        line = [("w", wid, "") for wid in ways]
        there, back = rid, rid + 1
        tags = {"type": "route", "route": "bus", "ref": str(i // 40 + 1),
                "public_transport:version": "2"}
        out.append((there, platforms + line, {**tags, "name": f"Tuyến {i // 40 + 1} đi"}))
        out.append((back, platforms[::-1] + line[::-1],
                    {**tags, "name": f"Tuyến {i // 40 + 1} về"}))
        out.append((rid + 2, [("r", there, ""), ("r", back, "")],
                    {"type": "route_master", "route_master": "bus", "ref": str(i // 40 + 1),
                     "name": f"Tuyến {i // 40 + 1}", "operator": "Hanoibus"}))
        rid += 3
    return out


# --- running the two importers ------------------------------------------------------------

def _run(cmd: list[str], env: dict) -> tuple[float, int, str]:
    """(wall seconds, peak RSS in MiB of the process and its children, output)."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{cmd[0]} failed:\n{out[-3000:]}")
    return seconds, usage.ru_maxrss // 1024, out


def ensure_osm2pgsql() -> str:
    found = shutil.which("osm2pgsql")
    if found:
        return found
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    subprocess.run([*sudo, "apt-get", "install", "-y", "-q", "osm2pgsql"], check=True)
    return shutil.which("osm2pgsql") or "osm2pgsql"


def run_twin(pbf: Path, url: str) -> dict:
    twin = str(Path(sys.executable).with_name("twin"))
    env = {**os.environ, "TWIN_DATABASE_URL": url}
    subprocess.run([twin, "db", "upgrade"], env=env, check=True, capture_output=True)
    seconds, rss, out = _run([twin, "import", "osm", str(pbf)], env)
    roads = next(line for line in out.splitlines() if line.startswith("road_segments"))
    return {"seconds": seconds, "rss_mb": rss, "segments": int(roads.split()[1].replace(
        ",", "")), "output": out}


def run_osm2pgsql(binary: str, pbf: Path, url: str) -> dict:
    u = make_url(url)
    env = {**os.environ, "PGPASSWORD": u.password or ""}
    cmd = [binary, "--slim", "-O", "flex", "-S", str(STYLE), "-d", u.database,
           "-H", u.host or "127.0.0.1", "-P", str(u.port or 5432), "-U", u.username,
           "--number-processes", str(os.cpu_count() or 2), str(pbf)]
    seconds, rss, out = _run(cmd, env)
    import psycopg

    with psycopg.connect(libpq(url)) as conn:
        roads = conn.execute("SELECT count(*) FROM road_segments").fetchone()[0]
    return {"seconds": seconds, "rss_mb": rss, "segments": roads, "output": out[-2000:]}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ways", type=int, default=1_000_000)
    parser.add_argument("--keep", action="store_true", help="keep the scratch databases")
    args = parser.parse_args(argv)
    binary = ensure_osm2pgsql()
    folder = ensure_out() / "osm"
    folder.mkdir(parents=True, exist_ok=True)
    pbf = folder / f"grid-{args.ways}.osm.pbf"
    meta = folder / f"grid-{args.ways}.json"
    if not (pbf.exists() and meta.exists()):
        started = time.perf_counter()
        counts = generate(pbf, args.ways)
        counts["generated_s"] = round(time.perf_counter() - started, 1)
        meta.write_text(json.dumps(counts))
    counts = json.loads(meta.read_text())
    print(f"{pbf.name}: {counts['ways']:,} highway ways, {pbf.stat().st_size / 2**20:.0f} MiB")
    with scratch_database("twin_bench_osm_twin", keep=args.keep) as url:
        twin = run_twin(pbf, url)
    with scratch_database("twin_bench_osm_o2p", keep=args.keep) as url:
        o2p = run_osm2pgsql(binary, pbf, url)
    rows = [[name, f"{r['seconds']:.1f}", f"{counts['ways'] / r['seconds']:,.0f}",
             f"{r['rss_mb']:,}", f"{r['segments']:,}"]
            for name, r in (("twin import osm", twin), ("osm2pgsql --slim flex", o2p))]
    print(table(rows, ["importer", "seconds", "ways/s", "peak MiB", "road rows"]))
    ratio = twin["seconds"] / o2p["seconds"]
    print(f"twin / osm2pgsql time: {ratio:.2f}x (goal <= 1.5x); twin peak memory "
          f"{twin['rss_mb']:,} MiB (goal < 2048)")
    result = {"file": pbf.name, "counts": counts, "twin": twin, "osm2pgsql": o2p,
              "ratio": ratio, "cpus": os.cpu_count(), "repo": str(REPO_ROOT)}
    (ensure_out() / "osm_import.json").write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
