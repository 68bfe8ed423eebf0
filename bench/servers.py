"""The servers bench/features.py compares, each a subprocess on its own loopback port.

- twin: ``.venv/bin/twin serve --port P --workers N`` with ``TWIN_DATABASE_URL``;
- tipg 1.x: ``uvicorn tipg.main:app`` (1 worker) from ``bench/.venv-alt``;
- stock pygeoapi 0.24: ``uvicorn pygeoapi.starlette_app:APP`` (1 worker) from
  ``bench/.venv-alt``, with a config written to ``bench/out/`` (its ``PostgreSQL``
  feature provider and its ``MVT-postgresql`` tile provider on the same tables) and the
  OpenAPI document ``pygeoapi openapi generate`` makes from it.

Every process starts in its own session (process group); :class:`Fleet` ends the groups
it started, and only those, when its ``with`` block exits for any reason.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Self

import httpx
import yaml
from sqlalchemy.engine import make_url

from twin.config import REPO_ROOT

ALT_VENV = REPO_ROOT / "bench" / ".venv-alt"
TWIN_BIN = REPO_ROOT / ".venv" / "bin" / "twin"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ServerError(RuntimeError):
    """A server did not start; the message names it and ends with its log's tail."""


@dataclass
class Server:
    name: str
    argv: list[str]
    port: int
    ready_path: str                      # GET answering 200 once the server is usable
    env: dict[str, str] = field(default_factory=dict)
    cwd: Path = REPO_ROOT
    log_path: Path | None = None
    proc: subprocess.Popen | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        env = {**os.environ, **self.env}
        log = self.log_path or os.devnull
        with open(log, "wb") as out:    # the child keeps its own copy of the descriptor
            self.proc = subprocess.Popen(self.argv, cwd=self.cwd, env=env, stdout=out,
                                         stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                         start_new_session=True)

    def wait_ready(self, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        with httpx.Client(base_url=self.base, timeout=30) as client:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    raise ServerError(f"{self.name} exited with {self.proc.returncode}"
                                      f"{self._tail()}")
                try:
                    if client.get(self.ready_path).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                time.sleep(0.2)
        raise ServerError(f"{self.name} did not answer {self.ready_path} within {timeout:.0f} s"
                          f"{self._tail()}")

    def stop(self) -> None:
        """SIGTERM to this server's own process group, SIGKILL after 10 s."""
        if self.proc is None or self.proc.poll() is not None:
            return
        pgid = self.proc.pid    # start_new_session: the group id is the child's pid
        for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 5)):
            try:
                os.killpg(pgid, sig)
            except ProcessLookupError:
                return
            try:
                self.proc.wait(timeout=wait)
                break
            except subprocess.TimeoutExpired:
                continue
        # uvicorn's worker processes share the group; make sure none outlives the parent.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGKILL)

    def _tail(self) -> str:
        if not self.log_path or not self.log_path.exists():
            return ""
        lines = self.log_path.read_text(errors="replace").splitlines()[-25:]
        return f"; log {self.log_path}:\n    " + "\n    ".join(lines)


class Fleet:
    """Starts servers one after the other and always stops them (also on Ctrl-C and
    SIGTERM)."""

    def __init__(self, servers: list[Server]):
        self.servers = servers
        self._old_term = None

    def __enter__(self) -> Self:
        self._old_term = signal.signal(signal.SIGTERM, _raise_exit)
        try:
            # One at a time: `twin serve` upgrades the schema as it starts, and two doing
            # that at once collide in PostgreSQL ("tuple concurrently updated").
            for server in self.servers:
                server.start()
                server.wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def stop(self) -> None:
        for server in self.servers:
            server.stop()
        if self._old_term is not None:
            signal.signal(signal.SIGTERM, self._old_term)
            self._old_term = None


def _raise_exit(signum, frame):
    raise SystemExit(128 + signum)


# --- the servers ------------------------------------------------------------------------

def twin_server(url: str, workers: int, out: Path) -> Server:
    port = free_port()
    env = {"TWIN_DATABASE_URL": url, "TWIN_WORKERS": str(workers), "TWIN_PORT": str(port),
           "TWIN_HOST": "127.0.0.1", "TWIN_PUBLIC_URL": f"http://127.0.0.1:{port}"}
    return Server(f"twin({workers}w)", [str(TWIN_BIN), "serve", "--port", str(port),
                                         "--workers", str(workers)],
                  port, "/collections/road_segments/items?limit=1", env=env,
                  log_path=out / f"twin-{workers}w.log")


def tipg_server(url: str, tables: list[str], out: Path) -> Server:
    port = free_port()
    dsn = make_url(url).set(drivername="postgresql").render_as_string(False)
    env = {
        "DATABASE_URL": dsn,
        "TIPG_DB_SCHEMAS": '["public"]',
        "TIPG_DB_TABLES": "[" + ",".join(f'"public.{t}"' for t in tables) + "]",
        # Same page ceiling as twin; tiles with every feature (its default cap is 10,000)
        # and the same 64-unit buffer as twin's tiles; no catalogue refresh mid-run.
        "TIPG_MAX_FEATURES_PER_QUERY": "10000",
        "TIPG_MAX_FEATURES_PER_TILE": "1000000",
        "TIPG_TILE_BUFFER": "64",
        "TIPG_CATALOG_TTL": "86400",
        "TIPG_DEBUG": "false",
    }
    argv = [str(ALT_VENV / "bin" / "uvicorn"), "tipg.main:app", "--host", "127.0.0.1",
            "--port", str(port), "--workers", "1", "--no-access-log", "--log-level", "warning"]
    # cwd bench/out: tipg's settings read a .env from the working directory.
    return Server("tipg", argv, port, "/collections/public.road_segments/items?limit=1",
                  env=env, cwd=out, log_path=out / "tipg.log")


def pygeoapi_config(url: str, port: int, tables: dict[str, str], with_tiles: bool) -> dict:
    """Stock pygeoapi on the benchmark tables: ``tables`` maps table -> title."""
    u = make_url(url)
    data = {"host": u.host or "127.0.0.1", "port": u.port or 5432, "dbname": u.database,
            "user": u.username or "postgres", "password": u.password or "",
            "search_path": ["public"]}
    resources = {}
    for table, title in tables.items():
        providers = [{"type": "feature", "name": "PostgreSQL", "data": data, "id_field": "id",
                      "table": table, "geom_field": "geom"}]
        if with_tiles:
            providers.append({
                "type": "tile", "name": "MVT-postgresql", "data": data, "id_field": "id",
                "table": table, "geom_field": "geom",
                # "schemes" (a list) breaks its cached get_engine
                "options": {"zoom": {"min": 0, "max": 22}},
                "format": {"name": "pbf", "mimetype": "application/vnd.mapbox-vector-tile"},
            })
        resources[table] = {
            "type": "collection", "title": title, "description": title,
            "keywords": ["bench"],
            "extents": {"spatial": {"bbox": [105.0, 20.5, 106.2, 21.5],
                                    "crs": "http://www.opengis.net/def/crs/OGC/1.3/CRS84"}},
            "providers": providers,
        }
    return {
        "server": {"bind": {"host": "127.0.0.1", "port": port},
                   "url": f"http://127.0.0.1:{port}",
                   "mimetype": "application/json; charset=UTF-8", "encoding": "utf-8",
                   "languages": ["en-US"], "gzip": False, "pretty_print": False,
                   "limits": {"default_items": 10, "max_items": 10000},
                   "map": {"url": "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
                           "attribution": "OpenStreetMap"}},
        "logging": {"level": "ERROR"},
        "metadata": {
            "identification": {"title": "bench", "description": "bench", "keywords": ["bench"],
                               "keywords_type": "theme", "terms_of_service": "none",
                               "url": "http://127.0.0.1"},
            "license": {"name": "CC-BY 4.0",
                        "url": "https://creativecommons.org/licenses/by/4.0/"},
            "provider": {"name": "bench", "url": "http://127.0.0.1"},
            "contact": {"name": "bench", "position": "bench", "address": "bench",
                        "city": "Hanoi", "stateorprovince": "Hanoi", "postalcode": "100000",
                        "country": "Vietnam", "phone": "+84-0", "fax": "+84-0",
                        "email": "bench@example.org", "url": "http://127.0.0.1",
                        "hours": "always", "instructions": "none", "role": "pointOfContact"},
        },
        "resources": resources,
    }


def pygeoapi_server(url: str, tables: dict[str, str], out: Path,
                    with_tiles: bool = True) -> Server:
    port = free_port()
    config_path = out / "pygeoapi-config.yml"
    openapi_path = out / "pygeoapi-openapi.yml"
    config_path.write_text(yaml.safe_dump(pygeoapi_config(url, port, tables, with_tiles),
                                          sort_keys=False))
    env = {"PYGEOAPI_CONFIG": str(config_path), "PYGEOAPI_OPENAPI": str(openapi_path)}
    result = subprocess.run([str(ALT_VENV / "bin" / "pygeoapi"), "openapi", "generate",
                             str(config_path), "--output-file", str(openapi_path)],
                            env={**os.environ, **env}, cwd=out, capture_output=True, text=True,
                            check=False)
    if result.returncode != 0:
        raise ServerError(f"pygeoapi openapi generate failed:\n{result.stderr[-3000:]}")
    argv = [str(ALT_VENV / "bin" / "uvicorn"), "pygeoapi.starlette_app:APP", "--host",
            "127.0.0.1", "--port", str(port), "--workers", "1", "--no-access-log",
            "--log-level", "warning"]
    first = next(iter(tables))
    return Server("pygeoapi", argv, port, f"/collections/{first}/items?limit=1&f=json",
                  env=env, cwd=out, log_path=out / "pygeoapi.log")
