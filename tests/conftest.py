"""Shared fixtures: a fresh PostGIS database for the whole run, real files on disk.

The database comes from ``TWIN_TEST_DATABASE_URL`` (a server where a fresh
database is created) or, by default, from twin's embedded cluster, exactly as
a user's ``make test`` gets it. Nothing is mocked.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from sqlalchemy import text
from sqlalchemy.engine import make_url

from twin.config import REPO_ROOT, Settings
from twin.db.engine import make_engine
from twin.db.schema import upgrade
from twin.registry import load_registry

TEST_DB = f"twin_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"


def _server_database(base_url: str, name: str = TEST_DB):
    url = make_url(base_url)
    admin = url.set(drivername="postgresql", database="postgres").render_as_string(False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    target = url.set(database=name).render_as_string(False)
    with psycopg.connect(target.replace("+psycopg", ""), autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")

    def drop():
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(name)))
    return url.set(database=name, drivername="postgresql+psycopg").render_as_string(False), drop


def pytest_configure(config):
    config.addinivalue_line("markers", "api_language(lang): the module's HTTP clients "
                            "(httpx) send Accept-Language: lang unless a request names one")


@pytest.fixture(scope="module", autouse=True)
def _api_language(request):
    """``pytestmark = pytest.mark.api_language("en")``: the module's httpx clients ask for
    that language, as an API client in an English locale does. The server answers a
    client that asks for none in the city's language (Vietnamese); a module whose
    assertions quote English descriptions or titles says so with this mark. A request
    that sets ``Accept-Language`` (or ``lang=``) itself gets what it asks for."""
    mark = request.node.get_closest_marker("api_language")
    if mark is None:
        yield
        return
    import httpx

    lang = mark.args[0]
    patched = []
    for cls in (httpx.Client, httpx.AsyncClient):
        original = cls.__init__

        def init(self, *args, headers=None, _original=original, **kwargs):
            merged = httpx.Headers(headers)
            merged.setdefault("Accept-Language", lang)
            _original(self, *args, headers=merged, **kwargs)

        cls.__init__ = init
        patched.append((cls, original))
    try:
        yield
    finally:
        for cls, original in patched:
            cls.__init__ = original


@pytest.fixture(autouse=True)
def _umask_restored():
    """twin's commands set the process umask to 077 (twin.datadir.protect); the tests run
    many commands in one process, so each test starts from the umask the run began with
    instead of inheriting the last command's."""
    before = os.umask(0o022)
    os.umask(before)
    yield
    os.umask(before)


@pytest.fixture(scope="session")
def settings() -> Settings:
    """Test settings: the embedded cluster in TWIN_DATA_DIR (default .twin/), never the
    user's TWIN_DATABASE_URL."""
    return Settings(database_url=None, layers_dir=REPO_ROOT / "layers", _env_file=None)


def fresh_database(settings: Settings, name: str):
    """(URL, drop) of a new database ``name``: on TWIN_TEST_DATABASE_URL's server when
    set, else on the embedded cluster, exactly as a user's ``make test`` gets it."""
    external = os.environ.get("TWIN_TEST_DATABASE_URL")
    if external:
        return _server_database(external, name)
    from twin.db.cluster import EmbeddedCluster

    cluster = EmbeddedCluster(settings.pgdata, settings.embedded_port)
    cluster.start()
    return cluster.ensure_database(name), lambda: cluster.drop_database(name)


@pytest.fixture(scope="session")
def database_url(settings):
    url, drop = fresh_database(settings, TEST_DB)
    yield url
    drop()


@pytest.fixture(scope="session")
def registry():
    return load_registry(REPO_ROOT / "layers")


@pytest.fixture(scope="session")
def engine(database_url, registry):
    eng = make_engine(database_url, pool_size=4)
    upgrade(eng, registry)
    yield eng
    eng.dispose()


@pytest.fixture()
def db(engine, registry):
    """The engine, with every table emptied before the test."""
    tables = [layer.table for layer in registry.tables()] + ["sensor_readings", "bus_route_stops",
                                                    "rasters", "load_runs"]
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
    return engine


@pytest.fixture()
def raster_dir(tmp_path) -> Path:
    return tmp_path / "rasters"


# --- a small demo city, loaded once, served over real HTTP -------------------------

CITY_DB = TEST_DB + "_city"


@pytest.fixture(scope="session")
def city_url(settings, registry, tmp_path_factory):
    """A second fresh database holding a small demo Hanoi, loaded by the real loaders."""
    from twin.demo.generate import generate
    from twin.ingest.dispatch import load_demo

    url, drop = fresh_database(settings, CITY_DB)
    folder = tmp_path_factory.mktemp("city")
    generate(folder, scale=0.25, days=2)
    eng = make_engine(url, pool_size=2)
    upgrade(eng, registry)
    city_settings = settings.model_copy(update={"data_dir": folder / "data"})
    load_demo(eng, registry, city_settings, folder)
    eng.dispose()
    yield url
    drop()


@pytest.fixture(scope="session")
def city_engine(city_url):
    eng = make_engine(city_url, pool_size=2)
    yield eng
    eng.dispose()


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def oidc():
    """A local OpenID provider over real HTTP (discovery document and JWKS) with its
    private keys: ``keys["rsa-1"]`` (RS256) and ``keys["ec-1"]`` (ES256)."""
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    from types import SimpleNamespace

    from cryptography.hazmat.primitives.asymmetric import ec, rsa
    from jwt.algorithms import ECAlgorithm, RSAAlgorithm

    keys = {"rsa-1": rsa.generate_private_key(public_exponent=65537, key_size=2048),
            "ec-1": ec.generate_private_key(ec.SECP256R1())}
    port = _free_port()
    issuer = f"http://127.0.0.1:{port}"
    jwks = {"keys": [
        {**json.loads(RSAAlgorithm.to_jwk(keys["rsa-1"].public_key())), "kid": "rsa-1",
         "use": "sig", "alg": "RS256"},
        {**json.loads(ECAlgorithm.to_jwk(keys["ec-1"].public_key())), "kid": "ec-1",
         "use": "sig", "alg": "ES256"}]}
    documents = {"/.well-known/openid-configuration":
                 {"issuer": issuer, "jwks_uri": issuer + "/jwks.json"}, "/jwks.json": jwks}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            body = json.dumps(documents.get(self.path)).encode()
            self.send_response(200 if self.path in documents else 404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield SimpleNamespace(issuer=issuer, audience="twin-test", keys=keys)
    httpd.shutdown()
    httpd.server_close()


@contextlib.contextmanager
def served(app, port: int):
    """``app`` under uvicorn on 127.0.0.1:``port`` in a thread, started (lifespan run,
    socket bound) before the base URL is yielded, stopped after."""
    import threading
    import time

    import uvicorn

    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                        log_level="warning", lifespan="on"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    try:
        while not srv.started:
            if not thread.is_alive():
                raise RuntimeError(f"the test server on port {port} did not start")
            time.sleep(0.02)
        yield f"http://127.0.0.1:{port}"
    finally:
        srv.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def server(settings, registry, city_url, oidc, tmp_path_factory):
    """The real ASGI app under uvicorn on a free loopback port; yields its base URL.
    Bearer tokens of the ``oidc`` test provider are accepted (JWKS found by discovery)."""
    from twin.server.app import create_app

    port = _free_port()
    app_settings = settings.model_copy(update={"port": port, "public_url": None,
                                               # jobs, surfaces: this run's own folder
                                               "data_dir": tmp_path_factory.mktemp("served"),
                                               # counts within a budget are a matter of
                                               # machine load: the tests want them exact
                                               "count_budget_ms": 5000,
                                               "oidc_issuer": oidc.issuer,
                                               "oidc_audience": oidc.audience})
    with served(create_app(app_settings, city_url, registry), port) as base:
        yield base


@pytest.fixture()
def http(server):
    import httpx

    with httpx.Client(base_url=server, timeout=30) as client:
        yield client
