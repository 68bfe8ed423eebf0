"""``twin serve`` started while PostgreSQL is down (a host reboot where the database
comes up after the application, a compose file without a health check): it waits for
the database (``--wait-db``), says so, then brings the schema up to date and serves,
the config's alert rules loaded; a database that never comes is a clean error. Before,
``twin serve`` died with a traceback. And a server whose database goes away between
that check and its start (the alert rules loaded at start) keeps running, answers
503s with Retry-After, and loads the rules once the database answers."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time

import httpx
import psycopg
import pytest

from tests.test_faults import WAIT_S, _env, _twin, city, free_port, pg  # noqa: F401
from twin.server.db import libpq_url


def _wait(predicate, what: str):
    deadline = time.monotonic() + WAIT_S
    while not predicate():
        assert time.monotonic() < deadline, what
        time.sleep(0.2)


def _status(base: str, path: str) -> int | None:
    try:
        return httpx.get(base + path, timeout=5).status_code
    except httpx.TransportError:
        return None


def _config_rules(dsn: str) -> int:
    with psycopg.connect(dsn) as conn:
        return conn.execute("SELECT count(*) FROM alert_rules WHERE source = 'config'"
                            ).fetchone()[0]


def _serve(pg, port: int, log_path, *extra: str) -> subprocess.Popen:  # noqa: F811
    with open(log_path, "wb") as log:
        return subprocess.Popen(_twin("serve", "--host", "127.0.0.1", "--port", str(port),
                                      "--workers", "1", *extra),
                                env=_env(pg), stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


@pytest.mark.usefixtures("city")
def test_serve_waits_for_a_database_that_comes_up_later(pg, tmp_path):  # noqa: F811
    dsn = libpq_url(pg.url)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("DELETE FROM alert_rules")
    pg.cluster.stop()
    port, log = free_port(), tmp_path / "serve.log"
    proc = _serve(pg, port, log)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait(lambda: "waiting up to 120 s for the database" in log.read_text(),
              "no word of the wait")
        assert proc.poll() is None and _status(base, "/health") is None
        pg.cluster.start()
        _wait(lambda: _status(base, "/ready") == 200, "the server did not follow the database")
        assert _status(base, "/collections/sensor_stations/items") == 200
        _wait(lambda: _config_rules(dsn) > 0, "the config's alert rules were not loaded")
        assert "Traceback" not in log.read_text()
    finally:
        if not pg.cluster.is_running():
            pg.cluster.start()
        _stop(proc)


@pytest.mark.usefixtures("city")
def test_a_database_that_never_comes_is_a_clean_error(pg, tmp_path):  # noqa: F811
    pg.cluster.stop()
    try:
        proc = _serve(pg, free_port(), tmp_path / "serve.log", "--wait-db", "2")
        assert proc.wait(timeout=WAIT_S) == 1
        text = (tmp_path / "serve.log").read_text()
        assert "the database did not answer within 2 s" in text and "Traceback" not in text
    finally:
        pg.cluster.start()


@pytest.mark.usefixtures("city")
def test_rules_are_loaded_once_the_database_answers(pg, tmp_path):  # noqa: F811
    """The database goes away between the start-up check and the app's start: the server
    keeps running, answers 503s, and loads the alert rules once it is back."""
    dsn = libpq_url(pg.url)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("DELETE FROM alert_rules")
    from twin.config import load_settings
    from twin.server.app import create_app

    settings = load_settings().model_copy(update={"data_dir": tmp_path})
    app = create_app(settings, pg.url)
    pg.cluster.stop()
    try:
        async def run() -> tuple[int, int]:
            async with app.router.lifespan_context(app):
                transport = httpx.ASGITransport(app=app)
                async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
                    down = await c.get("/collections/sensor_stations/items")
                    pg.cluster.start()
                    deadline = time.monotonic() + WAIT_S
                    while _config_rules(dsn) == 0 and time.monotonic() < deadline:
                        await asyncio.sleep(0.5)
                    up = await c.get("/collections/sensor_stations/items")
                    return down.status_code, up.status_code

        assert asyncio.run(run()) == (503, 200)
        assert _config_rules(dsn) > 0
    finally:
        if not pg.cluster.is_running():
            pg.cluster.start()
