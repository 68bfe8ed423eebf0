"""Run the server: uvicorn workers under uvicorn's process supervisor.

Each worker builds the app from the environment (this is the app assembly,
the one place besides the CLI that reads it). The listening socket gets
TCP_NODELAY before the workers fork: accepted connections inherit it, which
avoids the ~40 ms Nagle/delayed-ACK stall seen with multi-worker uvicorn on
keep-alive connections.
"""

from __future__ import annotations

import logging
import os
import socket

import uvicorn
from uvicorn.supervisors import Multiprocess

from twin.config import Settings, load_settings

log = logging.getLogger("twin.server")


def app_factory():
    """Build the ASGI app in a worker (uvicorn calls this; settings from TWIN_*)."""
    from twin.server.app import create_app

    settings = load_settings()
    if not settings.database_url:
        from twin.db.cluster import resolve_database_url

        settings = settings.model_copy(update={"database_url": resolve_database_url(settings)})
    return create_app(settings, settings.database_url)


def run_server(settings: Settings, database_url: str, host: str | None = None,
               port: int | None = None, workers: int | None = None) -> None:
    host, port = host or settings.host, port or settings.port
    workers = workers or settings.workers
    os.environ["TWIN_DATABASE_URL"] = database_url
    os.environ["TWIN_HOST"], os.environ["TWIN_PORT"] = host, str(port)
    if settings.public_url is None:
        os.environ["TWIN_PUBLIC_URL"] = f"http://{host}:{port}"
    config = uvicorn.Config("twin.server.run:app_factory", factory=True, host=host, port=port,
                            workers=workers, proxy_headers=True, server_header=False,
                            timeout_keep_alive=30, log_level="info", access_log=False)
    print(f"twin is serving the city at http://{host}:{port}/  ({workers} workers; "
          "Ctrl-C stops)", flush=True)
    sock = config.bind_socket()
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    server = uvicorn.Server(config)
    if workers > 1:
        Multiprocess(config, sockets=[sock]).run()
    else:
        server.run(sockets=[sock])
