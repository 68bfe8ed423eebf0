"""``twin serve``: the OGC API server."""

from __future__ import annotations

import click

from twin.cli.context import AppContext, handle_errors


def serve_app(app: AppContext, host: str | None = None, port: int | None = None,
              workers: int | None = None) -> None:
    from twin.server.run import run_server

    run_server(app.settings, app.url, host=host, port=port, workers=workers)


@click.command("serve")
@click.option("--host", help="Address to listen on (default TWIN_HOST, 127.0.0.1).")
@click.option("--port", type=int, help="Port (default TWIN_PORT, 5000).")
@click.option("--workers", type=int, help="Worker processes (default TWIN_WORKERS).")
@click.pass_obj
@handle_errors
def serve(app: AppContext, host: str | None, port: int | None, workers: int | None) -> None:
    """Serve the city through OGC APIs (Features, Tiles, ...)."""
    app.upgrade(quiet=True)
    serve_app(app, host, port, workers)


def register(main: click.Group) -> None:
    main.add_command(serve)
