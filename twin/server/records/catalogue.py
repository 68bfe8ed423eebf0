"""What the catalogue lists to one caller, read live: the layers it may read (with their
counts, loads and last change), the raster series, the processes and the catalogue's
own description (``catalogue:`` of config/server.yaml)."""

from __future__ import annotations

from datetime import UTC, datetime

from twin.catalogue.live import read_facts
from twin.catalogue.records import SERIES_FREQUENCY, Subject, layer_subject
from twin.catalogue_model import CatalogueDefaults, CatalogueSpec
from twin.i18n import Text
from twin.rasters.series import SERIES_SQL, Series, group
from twin.server.auth.policy import can_read
from twin.server.auth.principal import Principal
from twin.server.pygeoapi.config import server_options
from twin.server.state import ServerState

COLLECTION = "catalogue"
GEOTIFF = "image/tiff; application=geotiff"
OGC_REL = "http://www.opengis.net/def/rel/ogc/1.0"


def defaults(state: ServerState) -> CatalogueDefaults:
    return server_options(state, "catalogue", CatalogueDefaults)


async def subjects(state: ServerState, who: Principal,
                   base: CatalogueDefaults) -> list[Subject]:
    """Every resource ``who`` may see, in a stable order: layers, series, processes;
    ``base``: the server's catalogue defaults (:func:`defaults`, read once)."""
    layers = [layer for layer in state.registry if can_read(layer, who)]
    facts = await read_facts(state.db, layers)
    out = [layer_subject(layer, base.merged(layer.catalogue), facts.get(layer.table),
                         state.extents.get(layer.name), state.url) for layer in layers]
    reserved = {layer.name for layer in state.registry} | {COLLECTION}
    series = group(await state.db.fetchall(SERIES_SQL), reserved)
    out += [series_subject(s, base, state) for s in series.values()]
    out += process_subjects(state, base)
    return out


def series_subject(series: Series, base: CatalogueDefaults, state: ServerState) -> Subject:
    spec = base.merged(CatalogueSpec(frequency=SERIES_FREQUENCY.get(series.kind)))
    times = series.times
    url = state.url
    cid = series.id
    links = [
        {"rel": "collection", "type": "application/json", "title": "OGC API - Coverages "
         "collection", "href": url(f"collections/{cid}")},
        {"rel": f"{OGC_REL}/coverage", "type": GEOTIFF, "title": "Coverage as GeoTIFF",
         "href": url(f"collections/{cid}/coverage?f=GeoTIFF")},
        {"rel": f"{OGC_REL}/map", "type": "image/png", "title": "Map (PNG)",
         "href": url(f"collections/{cid}/map?f=png")},
        {"rel": f"{OGC_REL}/tilesets-map", "type": "application/json",
         "title": "Map tiles", "href": url(f"collections/{cid}/map/tiles")},
    ]
    title = Text.of(series.title)
    described = Text.of({"en": f"{series.title}: {len(series.steps)} Cloud-Optimized "
                               f"GeoTIFF(s) catalogued by twin",
                         "vi": f"{series.title}: {len(series.steps)} tệp GeoTIFF "
                               f"(Cloud-Optimized) do twin lập danh mục"})
    keywords = [k for k in (series.kind, series.variable, series.scenario, "coverage") if k]
    return Subject(
        id=cid, type="coverage", title=title, description=described,
        keywords={"vi": keywords, "en": keywords}, spec=spec, links=links,
        bbox=tuple(float(v) for v in series.bbox),
        interval=(times[0].isoformat(), times[-1].isoformat()) if times else None,
        last=max(times) if times else None,
        formats=(("GeoTIFF", GEOTIFF), ("PNG", "image/png")))


def process_subjects(state: ServerState, base: CatalogueDefaults) -> list[Subject]:
    from twin.server.processes.config import process_modules

    out = []
    for module in process_modules():
        meta = module.PROCESS_METADATA
        pid = meta["id"]
        out.append(Subject(
            id=pid, type="process", title=Text.of(meta.get("title") or pid),
            description=Text.of(meta.get("description") or pid),
            keywords={"vi": list(meta.get("keywords", ())),
                      "en": list(meta.get("keywords", ()))},
            spec=base.merged(CatalogueSpec(frequency="never")),
            links=[{"rel": "describedby", "type": "application/json",
                    "title": "OGC API - Processes description",
                    "href": state.url(f"processes/{pid}")},
                   {"rel": f"{OGC_REL}/execute", "type": "application/json",
                    "title": "Execute", "href": state.url(f"processes/{pid}/execution")}],
            formats=(("JSON", "application/json"),)))
    return out


def now() -> datetime:
    return datetime.now(UTC)
