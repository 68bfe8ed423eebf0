"""Shared state for commands: settings (read once, here), registry, engine."""

from __future__ import annotations

import functools
import sys
from dataclasses import dataclass

import click
from sqlalchemy import Engine

from twin.config import Settings, load_settings
from twin.registry import Registry, RegistryError, load_registry


def _user_errors() -> tuple[type[Exception], ...]:
    from twin.db.cluster import ClusterError
    from twin.db.schema import SchemaError
    from twin.ingest.errors import LoadError

    return (RegistryError, ClusterError, LoadError, SchemaError)


def handle_errors(func):
    """Turn domain errors into a clean message and exit status 1 (no traceback)."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except _user_errors() as exc:
            raise click.ClickException(str(exc)) from None

    return wrapper


@dataclass
class AppContext:
    _settings: Settings | None = None
    _registry: Registry | None = None
    _engine: Engine | None = None
    _url: str | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            from twin.datadir import protect

            self._settings = load_settings()
            protect(self._settings)  # umask 077, the data directory private
        return self._settings

    @property
    def registry(self) -> Registry:
        if self._registry is None:
            self._registry = load_registry(self.settings.layers_dir)
        return self._registry

    @property
    def url(self) -> str:
        if self._url is None:
            from twin.db.cluster import resolve_database_url

            self._url = resolve_database_url(self.settings)
        return self._url

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            from twin.db.engine import make_engine

            self._engine = make_engine(self.url, pool_size=2)
        return self._engine

    def upgrade(self, quiet: bool = False) -> None:
        from twin.db.schema import upgrade

        report = upgrade(self.engine, self.registry)
        if quiet:
            return
        for table in report.created:
            click.echo(f"created table {table}")
        for column in report.added_columns:
            click.echo(f"added column {column}")
        for index in report.added_indexes:
            click.echo(f"added index {index}")
        for line in report.drift:
            click.echo(f"warning: {line} (write a migration to drop or change it)", err=True)


def progress_bar(total: int | None, desc: str, unit: str = "B"):
    """A tqdm bar on a terminal, nothing otherwise."""
    if not sys.stderr.isatty():
        return None
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit=unit, unit_scale=unit == "B", leave=False)
