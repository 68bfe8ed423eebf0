"""``twin import osm FILE``: a full extract (.osm.pbf, .osm) or a change file (.osc)."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine

from twin.config import Settings
from twin.osm import store
from twin.osm.apply import apply
from twin.osm.build import Mappers, build_all
from twin.osm.extent import city_extent
from twin.osm.read import Progress, is_change_file, read_extract
from twin.osm.report import ImportReport
from twin.registry import Registry


def import_osm(engine: Engine, registry: Registry, settings: Settings, path: Path, *,
               clip: bool = False, strict: bool = False,
               progress: Progress | None = None) -> ImportReport:
    """Import an OSM file into every layer with an ``osm:`` block, in one transaction."""
    path = Path(path)
    if is_change_file(path):
        from twin.osm.change import apply_change

        return apply_change(engine, registry, settings, path, clip=clip, strict=strict)
    started = time.perf_counter()
    mappers = Mappers(registry)
    workdir = settings.data_dir / "osm"
    workdir.mkdir(parents=True, exist_ok=True)
    extract = read_extract(path, mappers.nodes, mappers.ways, mappers.relations,
                           mappers.masters, progress, workdir)
    report = ImportReport(str(path), "import", objects=extract.objects)
    extent = city_extent(settings)
    builts, links = build_all(mappers, extract, report, extent, clip, strict)
    state = {"source": str(path), "clip": list(extent) if clip else None,
             "imported_at": datetime.now(UTC).isoformat()}
    apply(engine, registry, builts, links,
          lambda cur: store.replace_all(cur, extract, state), report, strict)
    report.seconds = time.perf_counter() - started
    return report
