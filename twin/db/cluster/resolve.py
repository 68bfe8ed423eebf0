"""The database URL twin uses: the configured one, else the embedded cluster's."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from twin.db.cluster.embedded import EmbeddedCluster


class ClusterSettings(Protocol):
    """What :func:`resolve_database_url` reads of :class:`twin.config.Settings` (a
    protocol, so that this package never imports the settings, which import it)."""

    database_url: str | None
    embedded_port: int | None
    embedded_database: str

    @property
    def pgdata(self) -> Path: ...


def resolve_database_url(settings: ClusterSettings, create: bool = True) -> str:
    """``settings.database_url`` when set; else the embedded cluster's database.

    With ``create`` (the default) the embedded cluster is created and started
    as needed and ``settings.embedded_database`` is created with PostGIS;
    without it, only the URL is computed (and the password made, when new).
    """
    if settings.database_url:
        return settings.database_url
    cluster = EmbeddedCluster(settings.pgdata, settings.embedded_port)
    if not create:
        return cluster.url(settings.embedded_database)
    cluster.start()
    return cluster.ensure_database(settings.embedded_database)
