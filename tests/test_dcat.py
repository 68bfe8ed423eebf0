"""Issue 19, point 2: the catalogue as DCAT (JSON-LD) for national portals, validated
with pyshacl against the DCAT-AP 2.1.1 SHACL shapes and their range shapes (vendored in
tests/data/dcat-ap/, no network). The demo city is read over real HTTP."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

pyshacl = pytest.importorskip("pyshacl")
rdflib = pytest.importorskip("rdflib")

SHAPES = Path(__file__).parent / "data" / "dcat-ap"
DCAT = rdflib.Namespace("http://www.w3.org/ns/dcat#")
DCT = rdflib.Namespace("http://purl.org/dc/terms/")


@pytest.fixture(scope="module")
def document(server) -> httpx.Response:
    return httpx.get(f"{server}/catalogue/dcat")


@pytest.fixture(scope="module")
def graph(document) -> rdflib.Graph:
    return rdflib.Graph().parse(data=document.text, format="json-ld")


@pytest.fixture(scope="module")
def shapes() -> rdflib.Graph:
    g = rdflib.Graph()
    for name in ("dcat-ap_2.1.1_shacl_shapes.ttl", "dcat-ap_2.1.1_shacl_range.ttl"):
        g.parse(SHAPES / name, format="turtle")
    return g


def test_the_dcat_conforms_to_dcat_ap(document, graph, shapes):
    assert document.status_code == 200
    assert document.headers["content-type"].startswith("application/ld+json")
    conforms, _, report = pyshacl.validate(graph, shacl_graph=shapes, inference="none",
                                           advanced=True)
    assert conforms, report


def test_a_non_conforming_catalogue_is_caught(graph, shapes):
    """The shapes do check: without its publisher the catalogue fails."""
    broken = rdflib.Graph()
    for triple in graph:
        broken.add(triple)
    broken.remove((None, DCT.publisher, None))
    conforms, _, report = pyshacl.validate(broken, shacl_graph=shapes, inference="none")
    assert not conforms and "publisher" in report


def test_every_layer_is_a_dataset_with_its_distributions(graph, registry):
    catalogs = list(graph.subjects(rdflib.RDF.type, DCAT.Catalog))
    assert len(catalogs) == 1
    datasets = set(graph.objects(catalogs[0], DCAT.dataset))
    ids = {str(graph.value(d, DCT.identifier)) for d in datasets}
    assert set(registry.names()) <= ids
    roads = next(d for d in datasets if str(graph.value(d, DCT.identifier)) == "road_segments")
    titles = {(str(t), t.language) for t in graph.objects(roads, DCT.title)}
    assert {lang for _, lang in titles} == {"vi", "en"}
    assert str(graph.value(roads, DCT.accrualPeriodicity)).endswith("/frequency/WEEKLY")
    urls = {str(graph.value(d, DCAT.accessURL)) for d in graph.objects(roads, DCAT.distribution)}
    assert any(u.endswith("/collections/road_segments/items?f=json") for u in urls)
    assert any(u.endswith("/collections/road_segments/changes") for u in urls)
    owner = graph.value(roads, DCT.publisher)
    names = {str(n) for n in graph.objects(owner, rdflib.URIRef("http://xmlns.com/foaf/0.1/name"))}
    assert "Hanoi Department of Transport" in names
