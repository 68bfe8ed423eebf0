"""Errors say only what is safe (issue 14, item 6).

- A domain error (:class:`twin.errors.TwinInputError`) is a 400 with its words; any
  other exception, a stray numpy/pyproj ``ValueError`` included, a plain 500 that says
  nothing internal, on a connection that stays open.
- PostgreSQL's own message about a refused value never reaches a client: the real
  database refuses real values and the client sees fixed words by kind of error.
- Every 503 says the same ``Retry-After``, from one definition.
- Process inputs that used to overflow Python's dates inside a check are 400s.

Real PostgreSQL (the test database), the real app over HTTP under uvicorn.
"""

from __future__ import annotations

import ast
import asyncio
import json
from pathlib import Path

import httpx
import psycopg
import pytest
from starlette.requests import Request
from starlette.routing import Route

from tests.conftest import _free_port, served
from tests.test_auth import bearer, token
from twin.errors import TwinInputError, validation_text
from twin.server.auth.keys import create_key
from twin.server.db import INVALID_VALUE, Database, DatabaseUnavailable, libpq_url
from twin.server.errors import (
    INTERNAL,
    RETRY_AFTER_S,
    InvalidParameter,
    Unavailable,
    api_error_handler,
    input_error_handler,
    problem,
    unexpected_error_handler,
)

pytestmark = pytest.mark.api_language("en")  # its assertions quote English descriptions

SERVER_CODE = Path(__file__).resolve().parent.parent / "twin" / "server"
STRAY = "could not convert string to float: '/srv/twin/secret.tif' (numpy internals)"


def _request(path: str = "/somewhere") -> Request:
    return Request({"type": "http", "method": "GET", "path": path, "headers": [],
                    "query_string": b""})


def _body(response) -> dict:
    return json.loads(response.body)


# --- the handlers ---------------------------------------------------------------------

def test_a_stray_value_error_is_a_plain_500():
    response = asyncio.run(unexpected_error_handler(_request(), ValueError(STRAY)))
    assert response.status_code == 500
    assert _body(response) == {"code": "ServerError", "description": INTERNAL}
    assert "numpy" not in response.body.decode() and "secret" not in response.body.decode()


def test_a_domain_error_is_a_400_with_its_words():
    response = asyncio.run(input_error_handler(_request(), TwinInputError("bbox: empty")))
    assert response.status_code == 400
    assert _body(response) == {"code": "InvalidParameterValue", "description": "bbox: empty"}


def test_pydantic_messages_keep_only_safe_words():
    from pydantic import BaseModel, ValidationError, field_validator

    class Model(BaseModel):
        n: int
        a: str
        b: str

        @field_validator("a")
        @classmethod
        def _a(cls, value):
            raise TwinInputError("a: give a district name")

        @field_validator("b")
        @classmethod
        def _b(cls, value):
            raise ValueError(STRAY)  # a library's words inside a validator

    with pytest.raises(ValidationError) as caught:
        Model(n="x", a="?", b="?")
    text = validation_text(caught.value.errors())
    assert text.startswith("n: Input should be a valid integer")
    assert "a: a: give a district name" in text and "b: invalid value" in text
    assert "numpy" not in text and "secret" not in text


# --- PostgreSQL's words never reach a client ------------------------------------------

REFUSED = [  # SQL, value, what the client is told
    ("SELECT %s::date", "2026-02-30", "a value in the request is not a valid date or time"),
    ("SELECT %s::timestamptz", "yesterday-ish",
     "a value in the request is not a valid date or time"),
    ("SELECT %s::int4 * 2", 2**31 - 1, "a number in the request is out of range"),
    ("SELECT %s::integer", "twelve", "a value in the request has the wrong type"),
    ("SELECT substring('abc' from 1 for %s::int)", -1, INVALID_VALUE),
]


def _postgresql_says(database_url: str, query: str, value) -> str:
    with psycopg.connect(libpq_url(database_url), autocommit=True) as conn, \
            pytest.raises(psycopg.DataError) as caught:
        conn.execute(query, (value,))
    return caught.value.diag.message_primary


def _served_error(database_url: str, query: str, value) -> tuple[int, dict]:
    """What the server's pool answers for ``query``: the API error it raised, rendered
    as the client would get it."""
    async def run():
        db = Database(database_url, size=1)
        await db.open()
        try:
            await db.fetchrow(query, (value,))
        except InvalidParameter as exc:
            return await api_error_handler(_request(), exc)
        finally:
            await db.close()
        raise AssertionError(f"{query} with {value!r} was not refused")

    response = asyncio.run(run())
    return response.status_code, _body(response)


@pytest.mark.parametrize(("query", "value", "told"), REFUSED)
def test_postgresql_messages_never_reach_the_body(database_url, query, value, told):
    said = _postgresql_says(database_url, query, value)
    status, body = _served_error(database_url, query, value)
    assert status == 400
    assert body == {"code": "InvalidParameterValue", "description": told}
    assert said not in json.dumps(body) and said.split(":")[0] not in body["description"]


def test_text_postgresql_cannot_hold_is_a_400(database_url):
    status, body = _served_error(database_url, "SELECT %s::text", "nul \x00 byte")
    assert (status, body) == (400, {"code": "InvalidParameterValue",
                                    "description": INVALID_VALUE})


def test_fetch_helpers_share_one_wrapper(database_url):
    """fetchall translates like fetchrow; fetchrow_within still gives None when the
    statement outruns its budget (its own cancel is not the client's error)."""
    async def run():
        db = Database(database_url, size=1)
        await db.open()
        try:
            with pytest.raises(InvalidParameter, match="not a valid date or time"):
                await db.fetchall("SELECT %s::date", ("2026-13-01",))
            assert await db.fetchrow_within("SELECT pg_sleep(30)", None, 50) is None
            assert await db.fetchall("SELECT 1") == [(1,)]
        finally:
            await db.close()

    asyncio.run(run())


# --- one Retry-After --------------------------------------------------------------------

def test_every_503_built_in_code_has_the_one_retry_after():
    from twin.server.auth.jwt import _unavailable
    from twin.server.auth.middleware import _failed

    made = [Unavailable(), Unavailable("the identity provider is away",
                                       headers={"Retry-After": "10"}),
            DatabaseUnavailable(), _unavailable(), _failed(psycopg.OperationalError("x"))]
    for err in made:
        assert err.status == 503
        assert {k.lower(): v for k, v in err.headers.items()}["retry-after"] == \
            str(RETRY_AFTER_S), err
    for response in (problem(503, "ServiceUnavailable", "away"),
                     problem(503, "ServiceUnavailable", "away", {"retry-after": "60"}),
                     asyncio.run(unexpected_error_handler(
                         _request(), psycopg.OperationalError("server closed")))):
        assert response.status_code == 503
        assert response.headers["retry-after"] == str(RETRY_AFTER_S)


def test_retry_after_is_written_in_one_place():
    """No module of the server names the header but twin/server/errors.py."""
    named = []
    for path in SERVER_CODE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and \
                    node.value.lower() == "retry-after":
                named.append(str(path.relative_to(SERVER_CODE)))
    assert set(named) == {"errors.py"}, named


# --- over HTTP: the real app -----------------------------------------------------------

@pytest.fixture(scope="module")
def app_client(settings, registry, city_url, oidc, tmp_path_factory):
    """The real app, its identity provider's JWKS unreachable, with two routes added
    that fail as a stray library error and as a domain error would."""
    from twin.server.app import create_app

    async def stray(_request):
        raise ValueError(STRAY)

    async def domain(_request):
        raise TwinInputError("area: no district or ward is named 'x'")

    port = _free_port()
    dead = f"http://127.0.0.1:{_free_port()}/jwks.json"  # nothing listens there
    url = city_url + ("&" if "?" in city_url else "?") + "application_name=twin-test-errors"
    app = create_app(settings.model_copy(update={
        "port": port, "public_url": None, "data_dir": tmp_path_factory.mktemp("errors"),
        "oidc_issuer": oidc.issuer, "oidc_audience": oidc.audience,
        "oidc_jwks_url": dead}), url, registry)
    app.router.routes[:0] = [Route("/test-errors/stray", stray),
                             Route("/test-errors/domain", domain)]
    with served(app, port) as base, httpx.Client(base_url=base, timeout=60) as client:
        yield client


def test_stray_error_over_http_is_plain_and_keeps_the_connection(app_client):
    r = app_client.get("/test-errors/stray")
    assert r.status_code == 500
    assert r.json() == {"code": "ServerError", "description": INTERNAL}
    assert "numpy" not in r.text and "secret" not in r.text
    r = app_client.get("/test-errors/domain")  # the same keep-alive connection
    assert r.status_code == 400
    assert r.json() == {"code": "InvalidParameterValue",
                        "description": "area: no district or ward is named 'x'"}


def test_identity_provider_503_has_the_one_retry_after(app_client, oidc):
    r = app_client.get("/auth/whoami", headers=bearer(token(oidc)))
    assert r.status_code == 503, r.text
    assert r.headers["retry-after"] == str(RETRY_AFTER_S)


@pytest.fixture(scope="module")
def environment_key(city_engine) -> dict[str, str]:
    key, _ = create_key(city_engine, "test errors", "environment")
    return {"X-API-Key": key}


@pytest.mark.parametrize(("process", "inputs", "words"), [
    # Each of these overflowed Python's datetime inside the check: a 500 on a dropped
    # connection (exposure, interpolate) or a failed job (report).
    ("flood-exposure", {"scenario": "x", "time": "0001-01-01T00:00:00"}, "out of range"),
    ("interpolate", {"pollutant": "pm25", "datetime": "0001-01-01T00:00:00+07:00"},
     "out of range"),
    ("map-report", {"area": "hoan kiem", "from": "0001-01-01", "to": "0001-01-02"},
     "the period must lie between 1900-01-01 and 2999-12-31"),
    ("map-report", {"area": "hoan kiem", "from": "9999-12-30", "to": "9999-12-31"},
     "the period must lie between"),
])
def test_process_inputs_at_the_ends_of_time_are_400(http, environment_key, process, inputs,
                                                    words):
    r = http.post(f"/processes/{process}/execution", json={"inputs": inputs},
                  headers=environment_key)
    assert r.status_code == 400, r.text
    body = r.json()
    assert body["code"] == "InvalidParameterValue" and words in body["description"], body
    assert "Traceback" not in r.text and "Error" not in body["description"]
