"""Creating the cluster: its data directory, ``initdb`` with a password, twin's settings."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from twin.db.cluster.auth import SUPERUSER, write_hba, write_pwfile
from twin.db.cluster.errors import ClusterError
from twin.db.cluster.location import blocking_parent, ensure_system_user
from twin.db.cluster.runner import Runner
from twin.db.cluster.tuning import CONF_FILE


def make_parents(path: Path) -> None:
    """Create the missing ancestors of ``path`` with mode 0755 whatever the umask, so the
    server's user (twin as root) can pass through them; :func:`private_dir` then closes
    the one twin owns."""
    missing = [p for p in path.parents if not p.exists()]
    for parent in reversed(missing):
        parent.mkdir(exist_ok=True)
        parent.chmod(0o755)


def prepare_data_dir(data_dir: Path) -> None:
    """An empty 0700 data directory, owned by the ``postgres`` system user when we are
    root (made if missing); refused when that user could not reach it."""
    make_parents(data_dir)
    data_dir.mkdir(exist_ok=True)
    if any(data_dir.iterdir()):
        raise ClusterError(
            f"{data_dir} is not empty and holds no PostgreSQL cluster; "
            "remove it or set TWIN_DATA_DIR to another directory."
        )
    data_dir.chmod(0o700)
    if os.geteuid() != 0:
        return
    user = ensure_system_user()
    blocked = blocking_parent(data_dir, user)
    if blocked is not None:
        raise ClusterError(
            f"The {user.pw_name} system user, which runs the embedded PostgreSQL when "
            f"twin runs as root, cannot enter {blocked} (mode "
            f"{stat.S_IMODE(blocked.stat().st_mode):o}). Run `chmod o+x {blocked}` or "
            f"set TWIN_DATA_DIR to a directory it can reach (e.g. /var/lib/twin)."
        )
    os.chown(data_dir, user.pw_uid, user.pw_gid)


def run_initdb(runner: Runner, bin_dir: Path, data_dir: Path, password: str) -> None:
    """``initdb`` with SCRAM for local and host connections and the superuser's password
    (given as its verifier), then twin's ``pg_hba.conf`` and the include of twin.conf."""
    owner = runner.owner()
    pwfile = write_pwfile(data_dir, password, (owner.st_uid, owner.st_gid) if owner else None)
    initdb = [
        str(bin_dir / "initdb"), "-D", str(data_dir), "-U", SUPERUSER, f"--pwfile={pwfile}",
        "--auth-local=scram-sha-256", "--auth-host=scram-sha-256", "--encoding=UTF8",
    ]
    try:
        try:
            runner.run([*initdb, "--locale=C.UTF-8"], "initdb")
        except ClusterError as exc:
            if "locale" not in str(exc).lower():
                raise
            runner.run([*initdb, "--no-locale"], "initdb")  # no C.UTF-8 (old glibc)
    finally:
        pwfile.unlink(missing_ok=True)
    write_hba(data_dir, owner)  # loopback TCP only: no Unix socket, no replication
    with (data_dir / "postgresql.conf").open("a") as conf:
        conf.write(f"\n# Settings managed by twin (twin/db/cluster)\n"
                   f"include_if_exists = '{CONF_FILE}'\n")
