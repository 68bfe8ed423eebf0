"""``twin serve``: the OGC API server."""

from __future__ import annotations

import time

import click

from twin.cli.context import AppContext, handle_errors


def serve_app(app: AppContext, host: str | None = None, port: int | None = None,
              workers: int | None = None) -> None:
    from twin.server.run import run_server

    run_server(app.settings, app.url, host=host, port=port, workers=workers)


def wait_for_database(url: str, seconds: float) -> None:
    """Return once PostgreSQL at ``url`` answers: the schema is brought up to date before
    serving, so a database that comes up after the server (a host's boot order, a
    compose file without a health check) is waited for, with one line saying so, up to
    ``seconds``; then a clean error, never a traceback."""
    import psycopg

    from twin.server.db import libpq_url

    dsn, started, told = libpq_url(url), time.monotonic(), False
    while True:
        try:
            psycopg.connect(dsn, connect_timeout=3).close()
            return
        except psycopg.OperationalError as exc:
            reason = str(exc).strip().splitlines()[0]
            if time.monotonic() - started >= seconds:
                raise click.ClickException(f"the database did not answer within "
                                           f"{seconds:g} s: {reason}") from None
            if not told:
                click.echo(f"twin serve: waiting up to {seconds:g} s for the database "
                           f"({reason})", err=True)
                told = True
        time.sleep(1.0)


@click.command("serve")
@click.option("--host", help="Address to listen on (default TWIN_HOST, 127.0.0.1).")
@click.option("--port", type=int, help="Port (default TWIN_PORT, 5000).")
@click.option("--workers", type=int, help="Worker processes (default TWIN_WORKERS).")
@click.option("--wait-db", type=click.FloatRange(min=0), default=120.0, show_default=True,
              help="Seconds to wait at start for a database that is not up yet.")
@click.pass_obj
@handle_errors
def serve(app: AppContext, host: str | None, port: int | None, workers: int | None,
          wait_db: float) -> None:
    """Serve the city through OGC APIs (Features, Tiles, ...)."""
    wait_for_database(app.url, wait_db)
    app.upgrade(quiet=True)
    serve_app(app, host, port, workers)


def register(main: click.Group) -> None:
    main.add_command(serve)
