"""Schemathesis over every operation of twin's own OpenAPI document (``/openapi``).

The document is fetched from the running server (the demo city of conftest.py), so the
fuzzing covers exactly what twin advertises. Two checks, the ones a client relies on:
no 5xx for any input, and every response that the document describes conforms to its
schema. Bounded: a few examples per operation, no shrinking beyond the first failure
report, so it fits a ``make test`` run (about a minute on two cores; more under load).
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import response_schema_conformance

from twin.server.pygeoapi.openapi_components import remote_refs

pytestmark = pytest.mark.fuzz

EXAMPLES_PER_OPERATION = 8
CHECKS = [not_a_server_error, response_schema_conformance]


@pytest.fixture(scope="session")
def openapi_doc(server):
    import httpx

    response = httpx.get(server + "/openapi", params={"f": "json"}, timeout=60)
    response.raise_for_status()
    return response.json()


@pytest.fixture(scope="session")
def api_schema(openapi_doc):
    """schemathesis' view of the document. Operations are driven one by one below, not
    with ``schema.parametrize()``: its lazy fixture loader does not run on pytest 9."""
    return schemathesis.openapi.from_dict(openapi_doc)


def test_document_is_self_contained(openapi_doc):
    """Offline clients and validators resolve every reference inside the document."""
    assert remote_refs(openapi_doc) == set()


def test_document_lists_every_collection_route(openapi_doc, registry):
    """The fuzzing below covers items and single items of every public layer."""
    paths = openapi_doc["paths"]
    for layer in registry:
        if f"/collections/{layer.name}" in paths:
            assert f"/collections/{layer.name}/items" in paths
            assert f"/collections/{layer.name}/items/{{featureId}}" in paths


def test_document_lists_twins_own_routes(openapi_doc, registry):
    """twin's own routes (tiles, styles, maps, ingest, probes, viewer) are fuzzed too; the
    ingest operations run without credentials here, so every write answers 401 and the
    shared city database is left as it was."""
    paths = openapi_doc["paths"]
    for path in ("/tileMatrixSets", "/tileMatrixSets/{tms}", "/styles", "/qgis/project.qgz",
                 "/metrics", "/health", "/ready", "/viewer"):
        assert set(paths[path]) == {"get"}, path
    for path in ("/readings", "/sta/v1.1/Observations"):
        assert set(paths[path]) == {"post"} and paths[path]["post"]["security"], path
    tiles = "/collections/{name}/tiles/{{tms}}/{{tileMatrix}}/{{tileRow}}/{{tileCol}}"
    for layer in registry:
        if f"/collections/{layer.name}" in paths:
            assert tiles.format(name=layer.name) in paths
            assert f"/collections/{layer.name}/styles/{{styleId}}" in paths
    assert {"apiKey", "bearer"} <= set(openapi_doc["components"]["securitySchemes"])


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
                         ids=["valid", "invalid"])
def test_every_operation(api_schema, server, mode):
    """No 5xx and no schema violation on any operation, for inputs the document allows
    (``valid``) and for inputs it forbids (``invalid``). Every failing operation is
    reported, each with the request that broke it."""
    failures = []
    for result in api_schema.get_all_operations():
        operation = result.ok()
        try:
            _fuzz(operation, mode, server)
        except Unsatisfiable:  # no input can break this operation's schema (no parameters)
            continue
        except FailureGroup as group:  # collected, then reported together
            requests = [line.strip() for line in str(group).splitlines()
                        if line.strip().startswith("curl ")]
            failures += [f"{operation.method.upper()} {operation.path}: {_describe(f)}"
                         for f in group.exceptions] + requests
    assert not failures, "\n\n".join(failures)


def _describe(failure: BaseException) -> str:
    """The failure's title, message and the request that caused it, in a few lines."""
    message = getattr(failure, "message", str(failure))
    lines = [line for line in message.splitlines() if line.strip()][:6]
    return f"{getattr(failure, 'title', type(failure).__name__)}\n  " + "\n  ".join(lines)


def _fuzz(operation, mode, server) -> None:
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, derandomize=True,
              phases=[Phase.explicit, Phase.generate], database=None,
              suppress_health_check=list(HealthCheck))
    def run(case):
        case.call_and_validate(base_url=server, checks=CHECKS, timeout=120)

    run()
