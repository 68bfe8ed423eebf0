"""Which PostgreSQL server binaries run the embedded cluster (Debian's layout)."""

from __future__ import annotations

from pathlib import Path

from twin.db.cluster.errors import ClusterError

PG_LIB_ROOT = Path("/usr/lib/postgresql")
PG_SHARE_ROOT = Path("/usr/share/postgresql")
DEFAULT_PG_VERSION = "15"


def postgis_package(version: str) -> str:
    """The Debian package that provides PostGIS (and, by dependency, the server)."""
    return f"postgresql-{version}-postgis-3"


def find_bin_dir(
    version: str | None = None,
    lib_root: Path = PG_LIB_ROOT,
    share_root: Path = PG_SHARE_ROOT,
) -> Path:
    """The newest ``<lib_root>/<ver>/bin`` with ``initdb`` whose share dir has PostGIS.

    With ``version``, only that major version qualifies (an existing data
    directory can only be run by the version that created it).
    """
    servers = sorted(
        (p.parent.parent for p in lib_root.glob("*/bin/initdb")),
        key=lambda d: _version_key(d.name),
        reverse=True,
    )
    if version is not None:
        servers = [d for d in servers if d.name == version]
    for server in servers:
        if (share_root / server.name / "extension" / "postgis.control").is_file():
            return server / "bin"
    wanted = version or (servers[0].name if servers else DEFAULT_PG_VERSION)
    found = ", ".join(d.name for d in servers)
    what = (
        f"PostgreSQL {found} is installed but without PostGIS "
        f"({share_root}/<version>/extension/postgis.control is missing)"
        if servers
        else f"No PostgreSQL {version or 'server'} found ({lib_root}/{version or '*'}/bin/initdb)"
    )
    raise ClusterError(
        f"{what}. Install the Debian package {postgis_package(wanted)} (it pulls in "
        f"postgresql-{wanted}), e.g. with scripts/install-deps.sh, or set "
        "TWIN_DATABASE_URL to an existing PostGIS database."
    )


def _version_key(name: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in name.split("."))
    except ValueError:
        return (-1,)
