"""Read replicas (PostgreSQL streaming replication): which server a statement goes to.

A request's route (:data:`ROUTE`, set by :mod:`twin.server.middleware.replicas` for every
request) says whether it only reads and, for read-your-writes, the WAL position (LSN) its
client has seen written. :class:`twin.server.db.Database` asks :meth:`ReplicaSet.pick`
for a replica when the route reads; everything else (writes, anything in a write
transaction, background work, which has no route) gets the primary.

A replica is eligible while the health task (:meth:`ReplicaSet.watch`, every
``interval`` seconds) finds it answering, still in recovery (a promoted replica is
dropped: it no longer follows the primary and is never written to) and close behind:
its ``pg_last_wal_replay_lsn()`` at most ``max_lag_bytes`` behind the primary's
``pg_current_wal_lsn()``, and nothing the primary had written more than ``max_lag_s``
ago still unreplayed (measured against the primary's positions of the last minute, so
an idle primary does not make a caught-up replica look late). A read that presents an
LSN goes only to a replica whose replay position has reached it, else to the primary.
A replica whose statement fails mid-request is dropped at once; the health task brings
it back when it answers again.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import re
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field

import psycopg
from psycopg_pool import AsyncConnectionPool, ConnectionPool, PoolTimeout
from sqlalchemy.engine import make_url

from twin.server.errors import Unavailable

log = logging.getLogger("twin.server.replicas")

LSN_HEADER = "X-Twin-LSN"
LSN_COOKIE = "twin_lsn"
PROBE_TIMEOUT_S = 2.0     # a replica that does not answer its probe within this is down
HISTORY_S = 120.0         # primary positions kept to measure lag in seconds
_LSN = re.compile(r"^([0-9A-Fa-f]{1,8})/([0-9A-Fa-f]{1,8})$")
PROBE_SQL = "SELECT pg_is_in_recovery(), pg_last_wal_replay_lsn()::text"
REPLICA_WAIT_S = 0.5      # a replica's pool gives a connection within this, or the primary


def parse_lsn(text: str | None) -> int | None:
    """``'16/B374D848'`` as a number, None when it is not an LSN."""
    match = _LSN.match((text or "").strip())
    if match is None:
        return None
    return (int(match.group(1), 16) << 32) + int(match.group(2), 16)


def format_lsn(value: int) -> str:
    return f"{value >> 32:X}/{value & 0xFFFFFFFF:X}"


@dataclass
class Route:
    """One request's database route. ``read``: the request only reads (GET, HEAD);
    ``min_lsn``: what its client has seen written; ``replica``: the replica it got
    (kept for the whole request, so its statements see one snapshot of history);
    ``failed``: a statement failed on that replica (the request may be retried on the
    primary); ``primary``: from now on, the primary only."""

    read: bool
    min_lsn: int | None = None
    replica: Replica | None = None
    failed: bool = False
    primary: bool = False

    def wants_replica(self) -> bool:
        return self.read and not self.primary


ROUTE: ContextVar[Route | None] = ContextVar("twin_db_route", default=None)


def current_route() -> Route | None:
    return ROUTE.get()


@dataclass
class Replica:
    """One replica: its URL, its pools (made when it is first found healthy) and what
    the last probe said."""

    index: int
    dsn: str
    label: str
    healthy: bool = False
    in_recovery: bool | None = None
    replay_lsn: int | None = None
    lag_bytes: int | None = None
    lag_s: float | None = None
    reason: str = "not yet probed"
    pool: AsyncConnectionPool | None = None
    sync_pool: ConnectionPool | None = None
    _probe: psycopg.AsyncConnection | None = field(default=None, repr=False)

    def describe(self) -> dict:
        return {"replica": self.label, "healthy": self.healthy, "reason": self.reason,
                "in_recovery": self.in_recovery, "lag_bytes": self.lag_bytes,
                "lag_s": None if self.lag_s is None else round(self.lag_s, 3),
                "replay_lsn": None if self.replay_lsn is None else format_lsn(self.replay_lsn)}

    def drop(self, reason: str) -> None:
        if self.healthy:
            log.warning("replica %s dropped: %s", self.label, reason)
        self.healthy = False
        self.reason = reason


def _label(dsn: str) -> str:
    """host:port/database of a replica, never its password (for logs and status)."""
    try:
        info = psycopg.conninfo.conninfo_to_dict(dsn)
    except psycopg.ProgrammingError:
        return "(unparsable URL)"
    return f"{info.get('host', '')}:{info.get('port', 5432)}/{info.get('dbname', '')}"


def replica_dsns(urls: str | None) -> list[str]:
    """``TWIN_REPLICA_URLS`` (comma-separated SQLAlchemy or libpq URLs) as libpq URLs."""
    out = []
    for part in (urls or "").split(","):
        if part.strip():
            out.append(make_url(part.strip()).set(drivername="postgresql")
                       .render_as_string(hide_password=False))
    return out


class ReplicaSet:
    """The replicas of one server process, their health and the choice among them."""

    def __init__(self, dsns: list[str], *, max_lag_s: float, max_lag_bytes: int,
                 interval: float = 0.5) -> None:
        self.replicas = [Replica(i, dsn, _label(dsn)) for i, dsn in enumerate(dsns)]
        self.max_lag_s = max_lag_s
        self.max_lag_bytes = max_lag_bytes
        self.interval = interval
        self.primary_lsn: int | None = None
        self._history: deque[tuple[float, int]] = deque()
        self._turn = itertools.count()
        self.make_pool = None  # set by Database: replica -> its AsyncConnectionPool

    def __bool__(self) -> bool:
        return bool(self.replicas)

    def pick(self, min_lsn: int | None) -> Replica | None:
        """A healthy replica that has replayed ``min_lsn`` (round robin), or None."""
        ready = [r for r in self.replicas if r.healthy and r.pool is not None
                 and (min_lsn is None or (r.replay_lsn or 0) >= min_lsn)]
        if not ready:
            return None
        return ready[next(self._turn) % len(ready)]

    def status(self) -> list[dict]:
        return [r.describe() for r in self.replicas]

    # -- health --------------------------------------------------------------------

    def note_primary(self, lsn: int, now: float) -> None:
        self.primary_lsn = lsn
        if not self._history or self._history[-1][1] != lsn:
            self._history.append((now, lsn))
        while len(self._history) > 2 and self._history[0][0] < now - HISTORY_S:
            self._history.popleft()

    def lag_seconds(self, replay: int, now: float) -> float:
        """How long ago the primary first held WAL the replica has not replayed: 0
        when the replica has everything the primary had written at the last sample."""
        oldest_missing = next((t for t, lsn in self._history if lsn > replay), None)
        return 0.0 if oldest_missing is None else max(0.0, now - oldest_missing)

    async def watch(self, primary_lsn: Callable[[], Awaitable[int | None]]) -> None:
        """The health loops, until cancelled: the primary's position and each replica,
        every ``interval`` seconds each (a replica that does not answer delays no other)."""
        async def primary() -> None:
            while True:
                lsn = await primary_lsn()
                if lsn is not None:
                    self.note_primary(lsn, time.monotonic())
                await asyncio.sleep(self.interval)

        async def replica(one: Replica) -> None:
            while True:
                try:
                    await self._check_one(one, time.monotonic())
                except Exception:
                    log.exception("replica %s: health check failed", one.label)
                await asyncio.sleep(self.interval)

        await asyncio.gather(primary(), *(replica(one) for one in self.replicas))

    async def _check_one(self, replica: Replica, now: float) -> None:
        try:
            in_recovery, replay_text = await asyncio.wait_for(self._probe(replica),
                                                              PROBE_TIMEOUT_S)
        except (psycopg.Error, OSError, TimeoutError) as exc:
            await self._close_probe(replica)
            replica.drop(f"does not answer ({type(exc).__name__})")
            return
        replica.in_recovery = bool(in_recovery)
        replica.replay_lsn = parse_lsn(replay_text)
        if not in_recovery:
            replica.drop("not in recovery (promoted): it no longer follows the primary")
            return
        if replica.replay_lsn is None:
            replica.drop("has replayed nothing yet")
            return
        primary = self.primary_lsn
        replica.lag_bytes = max(0, primary - replica.replay_lsn) if primary else None
        replica.lag_s = self.lag_seconds(replica.replay_lsn, now)
        if replica.lag_bytes is not None and replica.lag_bytes > self.max_lag_bytes:
            replica.drop(f"{replica.lag_bytes} bytes behind the primary")
        elif replica.lag_s > self.max_lag_s:
            replica.drop(f"{replica.lag_s:.1f} s behind the primary")
        elif replica.healthy:
            replica.reason = "ok"
        elif await self._fresh_pools(replica):
            log.warning("replica %s serving reads", replica.label)
            replica.healthy, replica.reason = True, "ok"
        else:
            replica.drop("answers its probe but its pool cannot connect")

    async def _fresh_pools(self, replica: Replica) -> bool:
        """New pools for a replica about to serve (again), connected before it does: the
        old ones may hold connections the replica's restart broke, or be waiting out
        psycopg_pool's backoff, so the first reads would fail over to the primary."""
        if self.make_pool is None:
            return True
        old, old_sync = replica.pool, replica.sync_pool
        replica.pool, replica.sync_pool = None, None
        if old is not None:
            await old.close(timeout=0)
        if old_sync is not None:
            await asyncio.to_thread(old_sync.close, 0)
        pool = self.make_pool(replica)
        try:
            await pool.open(wait=True, timeout=PROBE_TIMEOUT_S)
        except PoolTimeout:
            await pool.close(timeout=0)
            return False
        replica.pool = pool
        return True

    async def _probe(self, replica: Replica) -> tuple:
        if replica._probe is None or replica._probe.closed:
            replica._probe = await psycopg.AsyncConnection.connect(
                replica.dsn, autocommit=True, connect_timeout=int(PROBE_TIMEOUT_S),
                application_name="twin-replica-probe")
        cur = await replica._probe.execute(PROBE_SQL)
        return await cur.fetchone()

    async def _close_probe(self, replica: Replica) -> None:
        probe, replica._probe = replica._probe, None
        if probe is not None:
            with contextlib.suppress(Exception):
                await probe.close()

    async def close(self) -> None:
        for replica in self.replicas:
            await self._close_probe(replica)
            if replica.pool is not None:
                await replica.pool.close()
            if replica.sync_pool is not None:
                await asyncio.to_thread(replica.sync_pool.close)


class ReplicaFailed(Unavailable):
    """A statement failed on a replica (which is dropped): the read is run again on the
    primary, here or by the routing middleware; a 503 if it ever reached a client."""


def replica_fault(exc: psycopg.Error) -> bool:
    """Whether an error says the replica, not the request, is at fault: a lost or
    refused connection, a recovery conflict, a write tried on a read-only server."""
    if isinstance(exc, psycopg.errors.QueryCanceled):
        return False  # statement_timeout: the request's own doing (a 400 either way)
    return isinstance(exc, (psycopg.OperationalError, psycopg.errors.ReadOnlySqlTransaction))


class SyncRoute:
    """What ``Database.sync`` gives a read-only request while a replica is fit: its
    ``connection()`` is the replica's (the primary's when the replica has none to give
    in time); a failure drops the replica and marks the request for a retry."""

    def __init__(self, db, replica: Replica):
        self.db = db
        self.replica = replica

    @contextlib.contextmanager
    def connection(self, timeout: float | None = None) -> Iterator[psycopg.Connection]:
        pool = self.db.replica_sync_pool(self.replica)
        try:
            conn = pool.getconn(REPLICA_WAIT_S)
        except (PoolTimeout, psycopg.Error):
            self.db.replica_failed(self.replica, None)
            conn = None
        if conn is None:
            with self.db.primary_sync().connection(timeout=timeout) as conn:
                yield conn
            return
        try:
            yield conn
        except psycopg.Error as exc:
            if replica_fault(exc):
                self.db.replica_failed(self.replica, exc)
            raise
        finally:
            pool.putconn(conn)
