"""Shared fixtures: a fresh PostGIS database for the whole run, real files on disk.

The database comes from ``TWIN_TEST_DATABASE_URL`` (a server where a fresh
database is created) or, by default, from twin's embedded cluster, exactly as
a user's ``make test`` gets it. Nothing is mocked.
"""

from __future__ import annotations

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


def _server_database(base_url: str):
    url = make_url(base_url)
    admin = url.set(drivername="postgresql", database="postgres").render_as_string(False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(TEST_DB)))
    target = url.set(database=TEST_DB).render_as_string(False)
    with psycopg.connect(target.replace("+psycopg", ""), autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")

    def drop():
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(TEST_DB)))
    return url.set(database=TEST_DB, drivername="postgresql+psycopg").render_as_string(False), drop


@pytest.fixture(scope="session")
def settings() -> Settings:
    """Test settings: the embedded cluster in TWIN_DATA_DIR (default .twin/), never the
    user's TWIN_DATABASE_URL."""
    return Settings(database_url=None, layers_dir=REPO_ROOT / "layers", _env_file=None)


@pytest.fixture(scope="session")
def database_url(settings):
    external = os.environ.get("TWIN_TEST_DATABASE_URL")
    if external:
        url, drop = _server_database(external)
    else:
        from twin.db.cluster import EmbeddedCluster

        cluster = EmbeddedCluster(settings.pgdata, settings.embedded_port)
        cluster.start()
        url = cluster.ensure_database(TEST_DB)

        def drop():
            cluster.drop_database(TEST_DB)
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
    tables = [layer.table for layer in registry] + ["sensor_readings", "bus_route_stops",
                                                    "rasters", "load_runs"]
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
    return engine


@pytest.fixture()
def raster_dir(tmp_path) -> Path:
    return tmp_path / "rasters"
