"""GTFS feeds: stops -> bus_stops, routes + shapes -> bus_routes, stop_times -> the
ordered route-stop links. One transaction for the whole feed."""

from __future__ import annotations

import csv
import io
import zipfile
from collections import defaultdict
from pathlib import Path

import numpy as np
import shapely
from sqlalchemy import Engine

from twin.ingest.analyze import vacuum_analyze
from twin.ingest.errors import LoadError, check_utf8
from twin.ingest.readers import SourceData
from twin.ingest.vector import LoadSummary, Mode, prepare, touched_tables, write_in
from twin.registry import Registry

REQUIRED_FILES = ("stops.txt", "routes.txt", "trips.txt", "stop_times.txt")


def is_gtfs(path: Path) -> bool:
    try:
        with zipfile.ZipFile(path) as archive:
            return "stops.txt" in {Path(n).name for n in archive.namelist()}
    except (zipfile.BadZipFile, OSError):
        return False


def _table(archive: zipfile.ZipFile, path: Path, name: str) -> list[dict[str, str]]:
    member = next((n for n in archive.namelist() if Path(n).name == name), None)
    if member is None:
        return []
    data = archive.read(member)
    check_utf8(f"{path}!{name}", data)
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    return [{(k or "").strip(): (v or "").strip() for k, v in r.items()} for r in rows]


def read_feed(path: Path) -> dict[str, list[dict[str, str]]]:
    try:
        with zipfile.ZipFile(path) as archive:
            feed = {n: _table(archive, path, n) for n in (*REQUIRED_FILES, "shapes.txt")}
    except zipfile.BadZipFile:
        raise LoadError(f"{path}: not a valid zip archive (truncated?)") from None
    missing = [n for n in REQUIRED_FILES if not feed[n]]
    if missing:
        raise LoadError(f"{path}: GTFS feed lacks {', '.join(missing)}")
    return feed


def stops_source(path: Path, stops: list[dict]) -> SourceData:
    bad = []
    xs, ys = np.full(len(stops), np.nan), np.full(len(stops), np.nan)
    for i, s in enumerate(stops):
        try:
            xs[i], ys[i] = float(s["stop_lon"]), float(s["stop_lat"])
        except (KeyError, ValueError):
            bad.append(f"stops.txt row {i + 2}: stop_lon/stop_lat missing or not numbers")
    if bad:
        raise LoadError(f"{path}: bad stops", bad)
    cols = {k: [s.get(k, "") for s in stops] for k in stops[0]}
    if "stop_code" in cols:  # GTFS stop_code is optional: fall back to stop_id
        cols["stop_code"] = [c or i for c, i in
                             zip(cols["stop_code"], cols["stop_id"], strict=False)]
    if "wheelchair_boarding" in cols:  # 1 = accessible, 2 = not, 0/empty = unknown
        cols["wheelchair_boarding"] = [{"1": "1", "2": "0"}.get(v, "") for v in
                                       cols["wheelchair_boarding"]]
    return SourceData(f"{path}!stops.txt", cols, np.asarray(shapely.points(xs, ys)),
                      None, [f"stops.txt row {i + 2}" for i in range(len(stops))])


def routes_source(path: Path, feed: dict) -> SourceData:
    shapes = defaultdict(list)
    for p in feed["shapes.txt"]:
        shapes[p["shape_id"]].append((int(p["shape_pt_sequence"]), float(p["shape_pt_lon"]),
                                      float(p["shape_pt_lat"])))
    by_route = defaultdict(set)
    for t in feed["trips.txt"]:
        if t.get("shape_id") in shapes:
            by_route[t["route_id"]].add(t["shape_id"])
    routes = [r for r in feed["routes.txt"] if r["route_id"] in by_route]
    if len(routes) < len(feed["routes.txt"]):
        raise LoadError(f"{path}: routes without shapes in shapes.txt",
                        [r["route_id"] for r in feed["routes.txt"]
                         if r["route_id"] not in by_route])
    geoms = []
    for r in routes:
        lines = [shapely.linestrings([(x, y) for _, x, y in sorted(shapes[s])])
                 for s in sorted(by_route[r["route_id"]])]
        geoms.append(shapely.multilinestrings(lines))
    cols = {k: [r.get(k, "") for r in routes] for k in routes[0]}
    return SourceData(f"{path}!routes.txt", cols, np.asarray(geoms), None,
                      [f"route {r['route_id']}" for r in routes])


def route_stop_rows(feed: dict) -> list[tuple[str, int, int, str]]:
    """(route_id, direction, sequence, stop_id) from the longest trip per route and direction."""
    trips = {t["trip_id"]: (t["route_id"], int(t.get("direction_id") or 0))
             for t in feed["trips.txt"]}
    times = defaultdict(list)
    for st in feed["stop_times.txt"]:
        times[st["trip_id"]].append((int(st["stop_sequence"]), st["stop_id"]))
    best: dict[tuple[str, int], list] = {}
    for trip, seq in times.items():
        key = trips.get(trip)
        if key and len(seq) > len(best.get(key, [])):
            best[key] = sorted(seq)
    return [(route, direction, n, stop) for (route, direction), seq in sorted(best.items())
            for n, (_, stop) in enumerate(seq, start=1)]


def load_gtfs(engine: Engine, registry: Registry, path: Path, *, extent, mode: Mode = "upsert",
              strict: bool = False) -> list[LoadSummary]:
    path = Path(path)
    feed = read_feed(path)
    stops = prepare(registry.get("bus_stops"), stops_source(path, feed["stops.txt"]),
                    crs="EPSG:4326", extent=extent, strict=strict, id_column="stop_id", mode=mode)
    routes = prepare(registry.get("bus_routes"), routes_source(path, feed), crs="EPSG:4326",
                     extent=extent, strict=strict, id_column="route_id", mode=mode)
    links = route_stop_rows(feed)
    with engine.begin() as conn, conn.connection.driver_connection.cursor() as cur:
        done = [write_in(cur, stops, registry, mode), write_in(cur, routes, registry, mode)]
        cur.execute("DELETE FROM bus_route_stops WHERE route_id IN (SELECT id FROM bus_routes "
                    "WHERE external_id = ANY(%s))", (routes.ids,))
        cur.execute("CREATE TEMP TABLE _twin_links (route text, direction int, seq int, "
                    "stop text) ON COMMIT DROP")
        with cur.copy("COPY _twin_links FROM STDIN") as copy:
            for row in links:
                copy.write_row(row)
        cur.execute("INSERT INTO bus_route_stops (route_id, direction, sequence, stop_id) "
                    "SELECT r.id, l.direction, l.seq, s.id FROM _twin_links l "
                    "JOIN bus_routes r ON r.external_id = l.route "
                    "JOIN bus_stops s ON s.external_id = l.stop")
        linked = cur.rowcount
        if linked != len(links):
            raise LoadError(f"{path}: {len(links) - linked} stop_times refer to unknown stops")
        done.append(LoadSummary("bus_route_stops", str(path), mode, loaded=linked))
    vacuum_analyze(engine, [*touched_tables(stops.layer), *touched_tables(routes.layer),
                            "bus_route_stops"])
    return done
