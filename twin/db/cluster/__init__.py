"""The embedded PostgreSQL + PostGIS cluster used when ``TWIN_DATABASE_URL`` is unset.

The cluster lives in ``settings.pgdata`` and is created on first use with the
Debian server binaries (``/usr/lib/postgresql/<ver>/bin``). It listens on
127.0.0.1 only, without a Unix socket, and admits only its superuser role
``postgres`` (whatever OS user runs it) with a generated password kept beside the
data directory in a 0600 file; every URL twin builds for it carries that password
(:mod:`.auth` says why, and how an older cluster that trusted every local connection
is upgraded in place). The folder holding the data directory is made 0700.

PostgreSQL refuses to run as root. When twin runs as root, the data directory
is given to the ``postgres`` system user (created if missing) and ``initdb``
and ``pg_ctl`` run as that user through ``runuser`` or ``setpriv`` (:mod:`.location`).

The server outlives the Python process that started it: ``twin db stop`` (or
:meth:`EmbeddedCluster.stop`) shuts it down. Starting is serialised across
processes with a lock file beside the data directory, so several workers may
call :func:`resolve_database_url` at once.

Modules, by concern: :mod:`.binaries` (which server), :mod:`.location` (where, as
whom, who may enter), :mod:`.ports`, :mod:`.process` (is it running),
:mod:`.initdb` (creating it), :mod:`.auth` (password, pg_hba.conf, upgrade),
:mod:`.tuning` (twin.conf), :mod:`.runner` (running its binaries), :mod:`.embedded`
(the cluster), :mod:`.resolve` (the URL twin uses).
"""

from twin.db.cluster.auth import SUPERUSER, scram_verifier
from twin.db.cluster.binaries import (
    DEFAULT_PG_VERSION,
    PG_LIB_ROOT,
    PG_SHARE_ROOT,
    find_bin_dir,
    postgis_package,
)
from twin.db.cluster.embedded import EmbeddedCluster
from twin.db.cluster.errors import ClusterError
from twin.db.cluster.location import SHARED_ROOT, SYSTEM_USER, private_dir, reachable_pgdata
from twin.db.cluster.ports import DEFAULT_PORT
from twin.db.cluster.resolve import resolve_database_url
from twin.db.cluster.tuning import CONF_FILE, tuned_settings

__all__ = [
    "CONF_FILE",
    "DEFAULT_PG_VERSION",
    "DEFAULT_PORT",
    "PG_LIB_ROOT",
    "PG_SHARE_ROOT",
    "SHARED_ROOT",
    "SUPERUSER",
    "SYSTEM_USER",
    "ClusterError",
    "EmbeddedCluster",
    "find_bin_dir",
    "postgis_package",
    "private_dir",
    "reachable_pgdata",
    "resolve_database_url",
    "scram_verifier",
    "tuned_settings",
]
