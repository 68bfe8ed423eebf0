"""``twin keys``: API keys for agencies (create, list, revoke)."""

from __future__ import annotations

import functools
from datetime import UTC, datetime, timedelta

import click

from twin.cli.context import AppContext, handle_errors


def _key_errors(func):
    """Key administration errors (unknown role or prefix) as clean CLI errors."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        from twin.server.auth.keys import KeyAdminError

        try:
            return func(*args, **kwargs)
        except KeyAdminError as exc:
            raise click.ClickException(str(exc)) from None

    return wrapper


@click.group("keys")
def keys() -> None:
    """Manage agencies' API keys (the server stores only a hash of each key)."""


@keys.command()
@click.option("--agency", required=True, help="Agency the key belongs to, e.g. 'Hanoi DOT'.")
@click.option("--role", required=True, help="Role the key grants, e.g. transport.")
@click.option("--expires", type=click.IntRange(min=1), metavar="DAYS",
              help="Expire the key after this many days (default: never).")
@click.pass_obj
@handle_errors
@_key_errors
def create(app: AppContext, agency: str, role: str, expires: int | None) -> None:
    """Create a key and print it, once."""
    from twin.server.auth.keys import create_key, known_roles

    roles = known_roles(app.registry)
    if role not in roles:
        raise click.BadParameter(f"unknown role {role!r}; known roles: "
                                 f"{', '.join(sorted(roles))}", param_hint="--role")
    app.upgrade(quiet=True)
    key, record = create_key(app.engine, agency, role,
                             timedelta(days=expires) if expires else None, roles=roles)
    click.echo(key)
    until = f", expires {_when(record.expires_at)}" if record.expires_at else ""
    click.echo(f"created key {record.prefix} for {record.agency} (role {record.role}{until}).\n"
               "Store it now: it is shown only this once and cannot be recovered.", err=True)


@keys.command("list")
@click.pass_obj
@handle_errors
def list_(app: AppContext) -> None:
    """List keys: prefix, agency, role, dates and state (never the key or its hash)."""
    from twin.server.auth.keys import list_keys

    app.upgrade(quiet=True)
    records = list_keys(app.engine)
    if not records:
        click.echo("no API keys")
        return
    now = datetime.now(UTC)
    click.echo(f"{'PREFIX':<9} {'AGENCY':<24} {'ROLE':<12} {'CREATED':<17} {'LAST USED':<17} "
               "STATE")
    for r in records:
        state = r.state(now)
        if state == "revoked":
            state = f"revoked {_when(r.revoked_at)}"
        elif r.expires_at is not None:
            state = f"{state} (expires {_when(r.expires_at)})" if state == "active" else \
                f"expired {_when(r.expires_at)}"
        click.echo(f"{r.prefix:<9} {r.agency[:24]:<24} {r.role:<12} {_when(r.created_at):<17} "
                   f"{_when(r.last_used_at):<17} {state}")


@keys.command()
@click.argument("prefix")
@click.pass_obj
@handle_errors
@_key_errors
def revoke(app: AppContext, prefix: str) -> None:
    """Revoke the key with PREFIX (servers stop accepting it within 30 seconds)."""
    from twin.server.auth.keys import CACHE_TTL_S, revoke_key

    app.upgrade(quiet=True)
    record = revoke_key(app.engine, prefix)
    click.echo(f"revoked key {record.prefix} of {record.agency} ({record.role}) at "
               f"{_when(record.revoked_at)}; servers refuse it within {CACHE_TTL_S:.0f} seconds")


def _when(moment: datetime | None) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%MZ") if moment else "-"


def register(main: click.Group) -> None:
    main.add_command(keys)
