"""Who may connect to the embedded cluster: TCP from the loopback only, as the superuser,
with its password (SCRAM-SHA-256).

Why a password and not peer authentication on a 0700 socket directory: every client of
the cluster gets a TCP ``host:port`` URL (the server's workers, ``twin ingest``, GDAL,
QGIS, the tests), and when twin runs as root the server runs as ``postgres``, so peer
authentication would need an ident map from each OS user to the superuser role and a
socket directory both users can enter. A generated password in a 0600 file beside the
data directory, carried in every URL :meth:`EmbeddedCluster.url` builds, works the same
for every client, and a process of another local user cannot read it. ``pg_hba.conf``
admits nothing but ``host`` connections from 127.0.0.1 and ::1 with SCRAM.

The password (32 random bytes, URL-safe base64) is made once, in
``<parent>/.<data dir name>.password``. The server is only ever given its SCRAM
verifier (initdb's ``--pwfile``, ``ALTER ROLE``), so the password appears in no server
log and no statement.

A cluster made before twin set a password (``initdb --auth=trust``) is upgraded in
place when it is next started:

- running: connect (trust still admits us), ``ALTER ROLE ... PASSWORD '<verifier>'``,
  rewrite ``pg_hba.conf``, ``pg_reload_conf()``; no restart, and from then on only
  connections that bring the password get in (twin's own do);
- stopped: the password is set in single-user mode (no network at all), then
  ``pg_hba.conf`` is rewritten and the server started: there is no moment of trust.

A password file newer than ``pg_hba.conf`` (lost and made anew) is applied the same way
on the next start of a stopped cluster.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import os
import secrets
import time
from pathlib import Path

from twin.db.cluster.errors import ClusterError

SUPERUSER = "postgres"  # database role, the same whoever runs the server
HBA_FILE = "pg_hba.conf"
HBA = """\
# Written by twin (twin/db/cluster/auth.py) on every start: TCP from this machine only,
# with the superuser's password (SCRAM-SHA-256), which twin keeps beside the data
# directory in .<name>.password (mode 0600). No Unix socket, no trust.
# TYPE  DATABASE  USER  ADDRESS        METHOD
host    all       all   127.0.0.1/32   scram-sha-256
host    all       all   ::1/128        scram-sha-256
"""
# A cluster replicas stream from (twin db replica create, twin.db.cluster.replica) has
# this file in its data directory, and its pg_hba.conf also admits the replication role.
REPLICATION_MARK = "twin.replication"
REPLICATION_USER = "twin_replicator"
REPLICATION_HBA = f"""\
# Streaming replicas (twin db replica create): the replication role, with its password.
host    replication  {REPLICATION_USER}  127.0.0.1/32   scram-sha-256
host    replication  {REPLICATION_USER}  ::1/128        scram-sha-256
"""
SCRAM_ITERATIONS = 4096
_PASSWORD_CHARS = frozenset(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~")


def password_file(data_dir: Path) -> Path:
    """Beside the data directory (never in it: the server's user need not read it)."""
    return data_dir.parent / f".{data_dir.name}.password"


def read_password(data_dir: Path) -> str:
    """The superuser's password, made (0600, atomically) the first time it is asked for."""
    path = password_file(data_dir)
    with contextlib.suppress(FileNotFoundError):
        return _checked(path, path.read_text().strip())
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(32) + "\n")
        with contextlib.suppress(FileExistsError):  # another process was first: use its
            os.link(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return _checked(path, path.read_text().strip())


def _checked(path: Path, password: str) -> str:
    if not password or not set(password) <= _PASSWORD_CHARS:
        raise ClusterError(
            f"{path} must hold one line of letters, digits, '-', '_', '.' or '~' (the "
            "embedded cluster's password); remove it and restart the stopped cluster "
            "(twin db stop; twin db start) to have a new one made.")
    return password


def scram_verifier(password: str, salt: bytes | None = None,
                   iterations: int = SCRAM_ITERATIONS) -> str:
    """The SCRAM-SHA-256 verifier PostgreSQL stores for ``password`` (RFC 5802, 7677;
    the password is ASCII, which SASLprep leaves as it is)."""
    salt = salt if salt is not None else secrets.token_bytes(16)
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    client_key = hmac.digest(salted, b"Client Key", "sha256")
    server_key = hmac.digest(salted, b"Server Key", "sha256")
    stored_key = hashlib.sha256(client_key).digest()
    salt_b64, stored_b64, server_b64 = (base64.b64encode(raw).decode()
                                        for raw in (salt, stored_key, server_key))
    return f"SCRAM-SHA-256${iterations}:{salt_b64}${stored_b64}:{server_b64}"


def alter_role_sql(password: str) -> str:
    """``ALTER ROLE`` giving the superuser ``password``, by its verifier (the verifier's
    alphabet, base64 and ``$:``, needs no quoting)."""
    return f"ALTER ROLE {SUPERUSER} PASSWORD '{scram_verifier(password)}'"


def hba_text(data_dir: Path) -> str:
    """twin's ``pg_hba.conf`` for this cluster: with the replication lines when replicas
    stream from it."""
    return HBA + (REPLICATION_HBA if (data_dir / REPLICATION_MARK).is_file() else "")


def hba_current(data_dir: Path) -> bool:
    """Whether ``pg_hba.conf`` is twin's and no newer password waits to be applied."""
    hba = data_dir / HBA_FILE
    try:
        if hba.read_text() != hba_text(data_dir):
            return False
        return password_file(data_dir).stat().st_mtime_ns <= hba.stat().st_mtime_ns
    except FileNotFoundError:
        return False


def write_hba(data_dir: Path, owner: os.stat_result | None) -> None:
    """Replace ``pg_hba.conf`` atomically (0600, owned like the data directory)."""
    tmp = data_dir / f"{HBA_FILE}.tmp"
    tmp.write_text(hba_text(data_dir))
    tmp.chmod(0o600)
    if owner is not None:
        os.chown(tmp, owner.st_uid, owner.st_gid)
    tmp.replace(data_dir / HBA_FILE)


def write_pwfile(data_dir: Path, password: str, owner: tuple[int, int] | None) -> Path:
    """A file for ``initdb --pwfile`` holding the password's verifier (the caller removes
    it), readable by the user who runs initdb alone."""
    path = data_dir.parent / f".{data_dir.name}.pwfile"
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(scram_verifier(password) + "\n")
    if owner is not None:
        os.chown(path, *owner)
    return path


def wait_until_refused(probe, timeout: float = 30.0) -> None:
    """After ``pg_reload_conf()``: until the postmaster has reloaded ``pg_hba.conf``,
    that is until ``probe()`` (a connection with a wrong password) is refused."""
    deadline = time.monotonic() + timeout
    while probe():
        if time.monotonic() > deadline:
            raise ClusterError("The embedded cluster still admits connections without its "
                               "password after pg_reload_conf(); see its log.")
        time.sleep(0.05)
