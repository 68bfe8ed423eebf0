"""``twin db``: the embedded cluster and the schema."""

from __future__ import annotations

import json

import click

from twin.cli.context import AppContext, handle_errors


@click.group("db")
def db() -> None:
    """Manage the database: the embedded PostGIS cluster and the schema."""


def _cluster(app: AppContext):
    from twin.db.cluster import EmbeddedCluster

    if app.settings.database_url:
        raise click.ClickException("TWIN_DATABASE_URL is set: twin uses that database and "
                                   "does not manage a cluster")
    return EmbeddedCluster(app.settings.pgdata, app.settings.embedded_port)


@db.command()
@click.pass_obj
@handle_errors
def start(app: AppContext) -> None:
    """Start the embedded cluster (created on first use)."""
    cluster = _cluster(app)
    cluster.start()
    url = cluster.ensure_database(app.settings.embedded_database)
    click.echo(f"embedded PostGIS running: {_redact(url)} (password in "
               f"{cluster.password_file}; `twin db url` prints the whole URL)")


@db.command()
@click.pass_obj
@handle_errors
def stop(app: AppContext) -> None:
    """Stop the embedded cluster."""
    stopped = _cluster(app).stop()
    click.echo("embedded PostGIS stopped" if stopped else "embedded PostGIS was not running")


@db.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
@handle_errors
def status(app: AppContext, as_json: bool) -> None:
    """Show where the database is and whether it runs."""
    if app.settings.database_url:
        info = {"mode": "external", "url": _redact(app.settings.database_url)}
    else:
        info = {"mode": "embedded", **_cluster(app).status()}
    if as_json:
        click.echo(json.dumps(info, default=str, indent=2))
    else:
        for key, value in info.items():
            click.echo(f"{key:>10}: {value}")


@db.command()
@click.pass_obj
@handle_errors
def upgrade(app: AppContext) -> None:
    """Apply migrations and create or extend layer tables from layers/*.yaml; load the
    alert rules of config/alerts.yaml."""
    app.upgrade()
    from twin.cli.alerts import load_rules
    from twin.db.schema import current_revision

    click.echo(f"schema at revision {current_revision(app.engine)}, "
               f"{len(app.registry)} layers")
    load_rules(app)


@db.command()
@click.pass_obj
@handle_errors
def url(app: AppContext) -> None:
    """Print the database URL (starting the embedded cluster if needed)."""
    click.echo(app.url)


@db.group()
def replica() -> None:
    """Streaming read replicas of the embedded cluster (serve them: TWIN_REPLICA_URLS)."""


@replica.command("create")
@click.option("--port", type=click.IntRange(1024, 65535), default=None,
              help="Port of the replica (default: any free one).")
@click.pass_obj
@handle_errors
def replica_create(app: AppContext, port: int | None) -> None:
    """Make a streaming replica (pg_basebackup, a replication slot) and start it."""
    from twin.db.cluster.replica import create_replica, replica_url

    cluster = _cluster(app)
    cluster.start()
    cluster.ensure_database(app.settings.embedded_database)  # so the replica has it too
    info = create_replica(cluster, port)
    url = replica_url(cluster, info, app.settings.embedded_database)
    click.echo(f"replica {info.index} streaming on port {info.port} ({info.data_dir}); "
               f"serve reads from it with TWIN_REPLICA_URLS={_redact(url)} "
               "(`twin db replica list --urls` prints the whole URL)")


@replica.command("list")
@click.option("--urls", is_flag=True, help="Print each replica's URL, password included.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
@handle_errors
def replica_list(app: AppContext, urls: bool, as_json: bool) -> None:
    """The replicas, their ports and whether they run."""
    from twin.db.cluster.replica import list_replicas, replica_url

    cluster = _cluster(app)
    rows = []
    for info in list_replicas(cluster):
        url = replica_url(cluster, info, app.settings.embedded_database)
        rows.append({**info.describe(), "url": url if urls else _redact(url)})
    if as_json:
        click.echo(json.dumps(rows, indent=2))
    elif urls:
        click.echo(",".join(row["url"] for row in rows))
    else:
        for row in rows:
            state = "running" if row["running"] else "stopped"
            click.echo(f"{row['replica']:>3}  port {row['port']}  {state}  {row['url']}")


@replica.command("drop")
@click.argument("index", type=int)
@click.pass_obj
@handle_errors
def replica_drop(app: AppContext, index: int) -> None:
    """Stop replica INDEX, delete its files and its slot on the primary."""
    from twin.db.cluster.replica import drop_replica, find_replica

    cluster = _cluster(app)
    find_replica(cluster, index)
    drop_replica(cluster, index)
    click.echo(f"replica {index} dropped")


def _redact(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def register(main: click.Group) -> None:
    main.add_command(db)
