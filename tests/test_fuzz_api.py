"""Schemathesis over every operation of twin's own OpenAPI document (``/openapi``).

The document is fetched from the running server (the demo city of conftest.py), so the
fuzzing covers exactly what twin advertises, with every check schemathesis 4 offers that
applies to one request of a read and guarded-write API (:data:`CHECKS`): no 5xx, status
codes, content types, response headers and bodies as documented, invalid input refused
with a 4xx (negative data), missing required headers refused, unsupported methods
answered 405 with ``Allow``, ``Allow`` of OPTIONS equal to the documented methods, and
secured operations that do not ignore credentials. Left out, each for a reason:

- ``positive_data_acceptance`` (every schema-valid request gets a 2xx): the document
  cannot express what makes a CQL2 filter, a WKT geometry, an RFC 3339 interval or a
  bbox valid, so schema-valid but meaningless input rightly gets the documented 400;
- ``use_after_free``, ``ensure_resource_availability``, ``object_level_authorization``:
  stateful, they need create-then-read sequences under two identities, and the fuzzing
  runs without write credentials so that the shared city database stays as it was.

Reproducible: hypothesis is derandomized (a fixed seed per operation) with no example
database. Bounded: a few examples per operation, no shrinking, so it fits a ``make test``
run (about a minute on two cores; more under load).
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import CHECKS as REGISTRY
from schemathesis.checks import load_all_checks
from schemathesis.core.failures import FailureGroup

from twin.server.pygeoapi.openapi_components import remote_refs

pytestmark = pytest.mark.fuzz

EXAMPLES_PER_OPERATION = 8
STATEFUL = {"use_after_free", "ensure_resource_availability", "object_level_authorization"}
NOT_EXPRESSIBLE = {"positive_data_acceptance"}
# Documented, not fuzzed: each with the reason.
NOT_FUZZED = {
    ("GET", "/alerts/stream"): "Server-Sent Events: the response never ends (heartbeats "
                               "until the client leaves), so it cannot be read and "
                               "validated as one response; tests/test_alert_delivery_http.py "
                               "and the viewer's Chromium test exercise it",
}
load_all_checks()
CHECKS = [c for c in REGISTRY.get_all() if c.__name__ not in STATEFUL | NOT_EXPRESSIBLE]


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
    schemes = openapi_doc["components"]["securitySchemes"]
    assert {"apiKey", "basic", "bearer"} <= set(schemes)
    assert schemes["basic"] == {**schemes["basic"], "type": "http", "scheme": "basic"}


def test_what_is_not_fuzzed_is_documented(openapi_doc):
    """The operations left out of the fuzzing are still described, with their media type."""
    for method, path in NOT_FUZZED:
        assert method.lower() in openapi_doc["paths"][path], path
    stream = openapi_doc["paths"]["/alerts/stream"]["get"]["responses"]["200"]
    assert set(stream["content"]) == {"text/event-stream"}


def test_every_check_runs():
    """The check list is schemathesis' own registry less the documented exclusions, so a
    check added by a schemathesis upgrade runs without a change here."""
    names = {c.__name__ for c in CHECKS}
    assert {"not_a_server_error", "status_code_conformance", "content_type_conformance",
            "response_headers_conformance", "response_schema_conformance",
            "negative_data_rejection", "missing_required_header", "unsupported_method",
            "allow_header_conformance", "ignored_auth"} <= names
    assert not names & (STATEFUL | NOT_EXPRESSIBLE)


@pytest.fixture(scope="session")
def admin_key(city_engine):
    """OPTIONS answers the methods the caller may use (QGIS decides from it whether to
    offer editing): an admin's key makes it list every documented method. Only OPTIONS
    is sent with it; every write is fuzzed anonymously."""
    from twin.server.auth.keys import create_key

    key, _ = create_key(city_engine, "fuzzing (OPTIONS only)", "admin")
    return key


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
                         ids=["valid", "invalid"])
def test_every_operation(api_schema, server, mode, admin_key):
    """Every check on every operation, for inputs the document allows (``valid``) and for
    inputs it forbids (``invalid``, which must be refused). Every failing operation is
    reported, each with the request that broke it."""
    failures = []
    for result in api_schema.get_all_operations():
        if not hasattr(result, "ok"):  # the document itself is broken there
            failures.append(f"unusable operation: {result.err()}")
            continue
        operation = result.ok()
        if (operation.method.upper(), operation.path) in NOT_FUZZED:
            continue
        headers = {"X-API-Key": admin_key} if operation.method.upper() == "OPTIONS" else None
        try:
            _fuzz(operation, mode, server, headers)
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


def _fuzz(operation, mode, server, headers: dict | None) -> None:
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, derandomize=True,
              phases=[Phase.explicit, Phase.generate], database=None,
              suppress_health_check=list(HealthCheck))
    def run(case):
        case.call_and_validate(base_url=server, checks=CHECKS, timeout=120, headers=headers)

    run()
