"""The OpenAPI document cannot drift from the router (issue 17 point 6).

Every route of the application and every method it takes is read from the router
itself (as tests/test_route_sweep.py does), and each must be an operation of ``/openapi``:
a route added without its documentation is not fuzzed by tests/test_fuzz_api.py, so it
fails here. A route's ``{parameter}`` matches a documented parameter or a documented
collection name (pygeoapi documents one path item per collection). HEAD is implied by
GET; mounts serve static files only.
"""

from __future__ import annotations

import re

import httpx
import pytest
from starlette.routing import Mount, Route

pytestmark = pytest.mark.fuzz

STATIC_MOUNTS = {"/static", "/viewer/static"}
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


@pytest.fixture(scope="module")
def doc(server):
    response = httpx.get(server + "/openapi", params={"f": "json"}, timeout=60)
    response.raise_for_status()
    return response.json()


@pytest.fixture(scope="module")
def app(settings, registry, city_url, tmp_path_factory):
    """The application as the server builds it (not served: only its router is read)."""
    from twin.server.app import create_app

    return create_app(settings.model_copy(update={
        "public_url": None, "data_dir": tmp_path_factory.mktemp("routes")}),
        city_url, registry)


def routes(app) -> list[tuple[str, str]]:
    """(path template, method) of every route the router accepts."""
    out = []
    for route in app.routes:
        if isinstance(route, Mount):
            assert route.path in STATIC_MOUNTS, f"unknown mount {route.path}"
            continue
        assert isinstance(route, Route), f"unknown kind of route {route!r}"
        out += [(route.path, m) for m in sorted(set(route.methods or ("GET",)) & set(METHODS))]
    return out


def _pattern(template: str) -> re.Pattern:
    """A router template as a regex over documented paths: each ``{name}`` or
    ``{name:convertor}`` matches one segment, a documented ``{param}`` included."""
    parts = re.split(r"\{[^}]+\}", template)
    return re.compile("[^/]+".join(map(re.escape, parts)))


def undocumented(doc: dict, pairs: list[tuple[str, str]]) -> list[str]:
    paths = doc["paths"]
    missing = []
    for template, method in pairs:
        pattern = _pattern(template)
        if not any(pattern.fullmatch(p) and method.lower() in item
                   for p, item in paths.items()):
            missing.append(f"{method} {template}")
    return missing


def test_every_route_is_documented(app, doc):
    pairs = routes(app)
    assert len(pairs) > 50
    missing = undocumented(doc, pairs)
    assert not missing, "routes missing from /openapi:\n" + "\n".join(missing)


def test_the_check_sees_a_missing_route(doc):
    """The matching itself: a documented route is found, an invented one is not."""
    assert undocumented(doc, [("/collections/{collection_id}/items", "GET"),
                              ("/tileMatrixSets/{tms}", "GET")]) == []
    assert undocumented(doc, [("/no/such/{route}", "GET"),
                              ("/collections/{collection_id}/items", "TRACE")]) \
        == ["GET /no/such/{route}", "TRACE /collections/{collection_id}/items"]


def test_per_collection_routes_cover_their_collections(doc, registry):
    """A route of every collection is documented for each collection it answers: the
    change feed for every public table layer (a view has none: 404)."""
    from twin.server.auth.policy import can_read
    from twin.server.auth.principal import ANONYMOUS

    paths = doc["paths"]
    for layer in registry:
        if not can_read(layer, ANONYMOUS):
            continue
        documented = f"/collections/{layer.name}/changes" in paths
        assert documented == (not layer.is_view), layer.name
