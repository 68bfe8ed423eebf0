"""Issue 19, point 1: the catalogue as OGC API - Records, read and searched by OWSLib's
Records client over real HTTP against the demo city: every layer, raster series and
process is a record with its owner, contact, licence, frequency, bilingual texts,
extents, lineage, live freshness and quality figures; q, bbox, datetime, type,
keywords, externalIds and sortby; HTML pages; a layer a caller may not read is not
listed to it; a layer left unchanged past its declared frequency is overdue."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from owslib.ogcapi.records import Records
from sqlalchemy import text

from tests.conftest import _free_port, served
from twin.registry import Access, Registry
from twin.server.auth.keys import create_key
from twin.server.params.negotiate import GPKG
from twin.server.processes.config import process_modules

CATALOGUE = "catalogue"
PROCESSES = {m.PROCESS_METADATA["id"] for m in process_modules()}


def records(client: Records, **params) -> list[dict]:
    return client.collection_items(CATALOGUE, limit=1000, **params)["features"]


def ids(client: Records, **params) -> list[str]:
    return [r["id"] for r in records(client, **params)]


@pytest.fixture(scope="module")
def owslib(server) -> Records:
    return Records(server)


def test_owslib_finds_the_catalogue_and_reads_every_resource(owslib, registry, city_engine):
    assert CATALOGUE in owslib.records()
    assert owslib.collection(CATALOGUE)["itemType"] == "record"
    found = {r["id"]: r for r in records(owslib, lang="vi")}
    assert set(registry.names()) | PROCESSES <= set(found)
    assert "dem" in found and found["dem"]["properties"]["type"] == "coverage"
    roads = found["road_segments"]
    p = roads["properties"]
    assert p["type"] == "dataset" and p["owner"] == "Sở Giao thông Vận tải Hà Nội"
    assert p["translations"]["en"]["title"] == "Road segments"
    assert p["translations"]["vi"]["title"] == "Đoạn đường"
    assert "road network" in p["translations"]["en"]["keywords"]
    assert {"pointOfContact", "owner", "publisher"} <= {
        role for c in p["contacts"] for role in c["roles"]}
    assert p["license"] == "CC-BY 4.0" and p["updateFrequency"] == "weekly"
    with city_engine.connect() as conn:
        count = conn.execute(text("SELECT n FROM layer_counts WHERE layer = "
                                  "'road_segments'")).scalar()
        last_load = conn.execute(text("SELECT source, loaded, repaired, rejected FROM "
                                      "load_runs WHERE layer = 'road_segments' ORDER BY "
                                      "finished_at DESC, id DESC LIMIT 1")).one()
    assert p["quality"]["features"] == count
    assert p["quality"]["repairedInLastLoad"] == last_load.repaired
    assert p["quality"]["refusedInLastLoad"] == last_load.rejected
    assert p["lineage"]["loads"][0]["source"] == Path(last_load.source).name  # no folders
    assert p["lineage"]["loads"][0]["loaded"] == last_load.loaded
    assert p["freshness"]["lastChange"] and p["freshness"]["overdue"] is False
    assert roads["geometry"]["type"] == "Polygon" and roads["time"]["interval"][1] == ".."
    rels = {(link["rel"], link["type"]) for link in roads["links"]}
    assert {("items", "application/geo+json"), ("enclosure", "text/csv"),
            ("enclosure", "application/flatgeobuf"),
            ("enclosure", GPKG.media[0])} <= rels
    hrefs = [link["href"] for link in roads["links"]]
    assert any(h.endswith("/collections/road_segments/changes") for h in hrefs)
    assert any(h.endswith("/collections/road_segments/tiles") for h in hrefs)
    one = owslib.collection_item(CATALOGUE, "road_segments")
    assert one["id"] == "road_segments" and one["properties"]["quality"]["features"] == count


def test_text_search_in_either_language_with_or_without_diacritics(owslib):
    assert "road_segments" in ids(owslib, q="duong")        # Đoạn đường, no diacritics
    assert "road_segments" in ids(owslib, q="Road segments")
    assert "cameras" in ids(owslib, q="camera")
    assert ids(owslib, q="no such words anywhere") == []
    both = set(ids(owslib, q="kriging,camera"))              # a comma: either term
    assert {"interpolate", "cameras"} <= both


def test_type_keywords_and_external_ids(owslib):
    assert set(ids(owslib, type="process")) == PROCESSES
    assert "road_segments" not in ids(owslib, type="process,coverage")
    assert ids(owslib, keywords="road network") == ["road_segments"]
    assert ids(owslib, externalIds="cameras") == ["cameras"]
    assert ids(owslib, externalIds="urn:x-twin:collection:cameras") == ["cameras"]


def test_bbox_and_datetime(owslib):
    assert ids(owslib, bbox=[0, 0, 1, 1]) == []
    city = set(ids(owslib, bbox=[105.7, 20.9, 106.0, 21.1]))
    assert {"road_segments", "cameras"} <= city and not city & PROCESSES
    future = ids(owslib, datetime_="2999-01-01T00:00:00Z")
    assert "road_segments" in future            # history: an open temporal extent
    assert "cameras" not in future              # no time dimension: no temporal extent
    assert "road_segments" not in ids(owslib, datetime_="1990-01-01/1990-12-31")


def test_sortby_and_paging(owslib, server):
    titles = [r["properties"]["title"] for r in records(owslib, sortby=("id", "desc"))]
    by_id = ids(owslib, sortby=("id", "desc"))
    assert by_id == sorted(by_id, reverse=True) and len(titles) == len(by_id)
    first = httpx.get(f"{server}/collections/catalogue/items",
                      params={"sortby": "id", "limit": 2}).json()
    assert [r["id"] for r in first["features"]] == sorted(by_id)[:2]
    nxt = next(link["href"] for link in first["links"] if link["rel"] == "next")
    second = httpx.get(nxt).json()
    assert [r["id"] for r in second["features"]] == sorted(by_id)[2:4]
    assert first["numberMatched"] == len(by_id)


def test_html_pages(server):
    r = httpx.get(f"{server}/collections/catalogue/items", params={"f": "html", "lang": "en"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert "Road segments" in r.text and "<script" not in r.text
    r = httpx.get(f"{server}/collections/catalogue/items/road_segments",
                  headers={"Accept": "text/html", "Accept-Language": "vi"})
    assert r.status_code == 200 and "Đoạn đường" in r.text and "/changes" in r.text
    r = httpx.get(f"{server}/collections/catalogue/items", params={"f": "csv", "lang": "en"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert r.text.startswith("id,type,title,owner") and "\r\nroad_segments,dataset," in r.text


@pytest.mark.parametrize("params, words", [
    ({"sortby": "colour"}, "sortby"), ({"bbox": "1,2"}, "bbox"), ({"limit": "0"}, "limit"),
    ({"datetime": "soon"}, "datetime"), ({"flavour": "x"}, "flavour"),
])
def test_bad_parameters_are_400(server, params, words):
    r = httpx.get(f"{server}/collections/catalogue/items", params=params)
    assert r.status_code == 400 and words in r.json()["description"]


def test_unknown_record_is_404(server):
    r = httpx.get(f"{server}/collections/catalogue/items/nothing_here")
    assert r.status_code == 404 and set(r.json()) >= {"code", "description"}


def test_conformance_declares_records(server):
    classes = httpx.get(f"{server}/conformance").json()["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-records-1/1.0/conf/record-core" in classes
    assert "http://www.opengis.net/spec/ogcapi-records-1/1.0/conf/sorting" in classes


@pytest.fixture(scope="module")
def private_server(settings, registry, city_url, tmp_path_factory):
    """The demo city served with land parcels readable by the land office only."""
    from twin.server.app import create_app

    private = Registry([
        layer.model_copy(update={"access": Access(read=("land_office",),
                                                  edit=layer.access.edit)})
        if layer.name == "land_parcels" else layer for layer in registry])
    port = _free_port()
    app = create_app(settings.model_copy(update={
        "port": port, "public_url": None, "data_dir": tmp_path_factory.mktemp("private")}),
        city_url, private)
    with served(app, port) as url:
        yield url


def test_a_private_layer_is_listed_only_to_its_readers(private_server, city_engine):
    key, _ = create_key(city_engine, "test catalogue", "land_office")
    anonymous = Records(private_server)
    assert "land_parcels" not in ids(anonymous)
    assert "land_parcels" not in ids(anonymous, q="parcel")
    r = httpx.get(f"{private_server}/collections/catalogue/items/land_parcels")
    assert r.status_code == 404
    office = Records(private_server, headers={"X-API-Key": key})
    assert "land_parcels" in ids(office)
    transport, _ = create_key(city_engine, "test catalogue", "transport")
    assert "land_parcels" not in ids(Records(private_server,
                                             headers={"X-API-Key": transport}))


def test_freshness_is_overdue_past_the_declared_frequency(owslib, city_engine):
    def signs() -> dict:
        return owslib.collection_item(CATALOGUE, "traffic_signs")["properties"]["freshness"]

    assert signs()["frequency"] == "monthly" and signs()["overdue"] is False
    age = ("UPDATE load_runs SET started_at = started_at {op} interval '400 days', "
           "finished_at = finished_at {op} interval '400 days' WHERE layer = 'traffic_signs';"
           "UPDATE change_commits SET at = at {op} interval '400 days' WHERE xid IN "
           "(SELECT xid FROM change_log WHERE layer = 'traffic_signs')")
    with city_engine.begin() as conn:
        conn.exec_driver_sql(age.format(op="-"))
    try:
        fresh = signs()
        assert fresh["overdue"] is True
        assert fresh["dueBy"] < datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    finally:
        with city_engine.begin() as conn:
            conn.exec_driver_sql(age.format(op="+"))
    assert signs()["overdue"] is False


def test_queryables_and_dcat_formats(server):
    base = f"{server}/collections/catalogue/queryables"
    assert "q" in httpx.get(base).json()["properties"]
    assert httpx.get(base, params={"f": "html"}).headers["content-type"].startswith("text/html")
    assert httpx.get(base, params={"f": "x"}).status_code == 400
    assert httpx.get(f"{server}/catalogue/dcat", params={"f": "x"}).status_code == 400
