"""Connection pools for the server: async for twin's routes, sync for pygeoapi providers.

Both pools survive a PostgreSQL restart without a server restart. A connection is
checked when it leaves the pool, cheaply: only one whose socket has something to read
while idle (the server said goodbye: a restart, an administrator's kill) pays a round
trip, and a broken one is replaced. Reconnection attempts give up after
``RECONNECT_TIMEOUT_S`` and start again on the next request, so recovery follows the
database within seconds instead of psycopg_pool's exponential backoff of up to minutes.
A request that finds no connection within ``OUTAGE_WAIT_S`` while connecting fails
(or while the database is already known to be away) gets its 503 (with Retry-After)
then, instead of hanging for the full pool timeout; a pool that is merely busy lets it
wait the rest of ``POOL_TIMEOUT_S``.

With read replicas (``TWIN_REPLICA_URLS``, :mod:`twin.server.replicas`), the same calls
route by the request: a read-only request's statements go to a healthy replica that is
recent enough, everything else to the primary (``pool`` is always the primary's). A
replica that cannot give a connection within ``REPLICA_WAIT_S`` sends the request to the
primary; a statement that fails on a replica drops it and, in :meth:`Database.fetchrow`
and its siblings, runs again on the primary (other failures are retried whole by
:mod:`twin.server.middleware.replicas`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import select
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool, ConnectionPool, PoolTimeout
from sqlalchemy.engine import make_url

from twin.server.errors import UNAVAILABLE, APIError, InvalidParameter, Unavailable
from twin.server.replicas import (
    REPLICA_WAIT_S,
    ROUTE,
    Replica,
    ReplicaFailed,
    ReplicaSet,
    SyncRoute,
    parse_lsn,
    replica_fault,
)

log = logging.getLogger("twin.server.db")

POOL_TIMEOUT_S = 10.0       # wait for a free connection under load
OUTAGE_WAIT_S = 1.0         # ... when connecting fails: then answer 503
RECONNECT_TIMEOUT_S = 5.0   # a chain of reconnection attempts gives up after this
CONNECT_TIMEOUT_S = 5       # libpq connect_timeout: an unreachable host fails, not hangs


def libpq_url(url: str) -> str:
    """A SQLAlchemy URL as a libpq connection string."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _session_options(timeout_ms: int) -> str:
    return f"-c jit=off -c statement_timeout={int(timeout_ms)} -c TimeZone=UTC"


class DatabaseUnavailable(Unavailable, PoolTimeout):
    """No connection in time: both a 503 API error (so Starlette's exception middleware
    answers it like any other, keeping the client's connection open) and the
    ``PoolTimeout`` that code catching psycopg's errors expects."""

    def __init__(self, description: str = UNAVAILABLE):
        Unavailable.__init__(self, description)
        PoolTimeout.__init__(self, description)


BUSY = "every database connection is busy; retry shortly"


class Outage:
    """Whether this worker last found the database away; shared by its two pools."""

    def __init__(self) -> None:
        self.since: float | None = None

    @property
    def active(self) -> bool:
        return self.since is not None

    def begin(self) -> None:
        if self.since is None:
            self.since = time.monotonic()
            log.warning("database unreachable; requests get 503 until it is back")

    def end(self) -> None:
        if self.since is not None:
            log.warning("database reachable again after %.1f s", time.monotonic() - self.since)
            self.since = None

    def first_wait(self, total: float) -> float:
        return min(OUTAGE_WAIT_S, total)

    def gave_up(self, pool, failures_before: int, total: float) -> bool:
        """After a first wait of :meth:`first_wait` timed out: True (an outage, answer
        now) when the database is known to be away or connecting failed meanwhile;
        False when the pool is only busy and the request may wait the rest."""
        if self.active or _connect_failures(pool) > failures_before:
            self.begin()
            return True
        return total <= self.first_wait(total)


def _told_something(conn: psycopg.Connection | psycopg.AsyncConnection) -> bool:
    """Whether an idle connection is closed or its socket is readable: PostgreSQL sends
    nothing unasked to an idle session of ours but its termination notice."""
    if conn.closed:
        return True
    try:
        fd = conn.pgconn.socket
    except psycopg.OperationalError:
        return True
    poller = select.poll()
    poller.register(fd, select.POLLIN | select.POLLERR | select.POLLHUP)
    return bool(poller.poll(0))


async def _check_async(conn: psycopg.AsyncConnection) -> None:
    if _told_something(conn):
        await AsyncConnectionPool.check_connection(conn)


def _check_sync(conn: psycopg.Connection) -> None:
    if _told_something(conn):
        ConnectionPool.check_connection(conn)


def _connect_failures(pool) -> int:
    return pool.get_stats().get("connections_errors", 0)


class ServerAsyncPool(AsyncConnectionPool):
    """The async pool, failing fast while the database is away (see the module doc)."""

    def __init__(self, *args, outage: Outage, **kwargs):
        self.outage = outage
        super().__init__(*args, **kwargs)

    async def getconn(self, timeout: float | None = None):
        total = self.timeout if timeout is None else timeout
        failures = _connect_failures(self)
        try:
            conn = await super().getconn(self.outage.first_wait(total))
        except PoolTimeout:
            if self.outage.gave_up(self, failures, total):
                raise DatabaseUnavailable() from None
            try:
                conn = await super().getconn(total - self.outage.first_wait(total))
            except PoolTimeout:
                raise DatabaseUnavailable(BUSY) from None
        self.outage.end()
        return conn


class ServerSyncPool(ConnectionPool):
    """The sync pool (pygeoapi providers, ingest on worker threads), same behaviour."""

    def __init__(self, *args, outage: Outage, **kwargs):
        self.outage = outage
        super().__init__(*args, **kwargs)

    def getconn(self, timeout: float | None = None):
        total = self.timeout if timeout is None else timeout
        failures = _connect_failures(self)
        try:
            conn = super().getconn(self.outage.first_wait(total))
        except PoolTimeout:
            if self.outage.gave_up(self, failures, total):
                raise DatabaseUnavailable() from None
            try:
                conn = super().getconn(total - self.outage.first_wait(total))
            except PoolTimeout:
                raise DatabaseUnavailable(BUSY) from None
        self.outage.end()
        return conn


def _pool_options(outage: Outage) -> dict[str, Any]:
    return {"min_size": 1, "timeout": POOL_TIMEOUT_S, "outage": outage,
            "reconnect_timeout": RECONNECT_TIMEOUT_S,
            "reconnect_failed": lambda _pool: outage.begin()}


class Database:
    """One async pool (opened in the app's lifespan), one lazily opened sync pool, and
    the replicas' pools when there are replicas."""

    def __init__(self, url: str, *, size: int = 8, statement_timeout_ms: int = 30000,
                 replicas: ReplicaSet | None = None):
        self.dsn = libpq_url(url)
        self.outage = Outage()
        kwargs = {"options": _session_options(statement_timeout_ms), "autocommit": True,
                  "application_name": "twin-server", "connect_timeout": CONNECT_TIMEOUT_S}
        self.pool = ServerAsyncPool(self.dsn, max_size=size, kwargs=kwargs, open=False,
                                    check=_check_async, name="async",
                                    **_pool_options(self.outage))
        self._sync_kwargs = kwargs
        self._sync_size = size
        self._sync: ConnectionPool | None = None
        self._sync_lock = threading.Lock()
        self.replicas = replicas or ReplicaSet([], max_lag_s=0, max_lag_bytes=0)
        self.replicas.make_pool = self._replica_pool
        self._replica_kwargs = {**kwargs, "application_name": "twin-server-replica",
                                "options": kwargs["options"]
                                + " -c default_transaction_read_only=on"}
        self._watcher: asyncio.Task | None = None

    async def open(self) -> None:
        await self.pool.open(wait=False)
        if self.replicas:
            self._watcher = asyncio.create_task(self._watch(), name="twin-replica-health")

    async def close(self) -> None:
        if self._watcher is not None:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher
        await self.replicas.close()
        await self.pool.close()
        if self._sync is not None:
            self._sync.close()

    @property
    def sync_opened(self) -> ConnectionPool | None:
        """The sync pool when something has used it (for metrics), else None."""
        return self._sync

    @property
    def sync(self) -> ConnectionPool:
        """The sync pool for this request: a replica's for a read, else the primary's."""
        replica = self._reader()
        if replica is None:
            return self.primary_sync()
        return SyncRoute(self, replica)  # type: ignore[return-value]  # .connection() only

    def primary_sync(self) -> ConnectionPool:
        with self._sync_lock:
            if self._sync is None:
                self._sync = ServerSyncPool(self.dsn, max_size=self._sync_size,
                                            kwargs=self._sync_kwargs, open=True,
                                            check=_check_sync, name="sync",
                                            **_pool_options(self.outage))
            return self._sync

    # -- replicas ------------------------------------------------------------------

    def _replica_pool(self, replica: Replica) -> AsyncConnectionPool:
        return AsyncConnectionPool(replica.dsn, min_size=1, max_size=self._sync_size,
                                   kwargs=self._replica_kwargs, open=False,
                                   check=_check_async, timeout=REPLICA_WAIT_S,
                                   reconnect_timeout=RECONNECT_TIMEOUT_S,
                                   name=f"replica-{replica.index}")

    def replica_sync_pool(self, replica: Replica) -> ConnectionPool:
        with self._sync_lock:
            if replica.sync_pool is None:
                replica.sync_pool = ConnectionPool(
                    replica.dsn, min_size=1, max_size=self._sync_size,
                    kwargs=self._replica_kwargs, open=True, check=_check_sync,
                    timeout=REPLICA_WAIT_S, reconnect_timeout=RECONNECT_TIMEOUT_S,
                    name=f"replica-{replica.index}-sync")
            return replica.sync_pool

    def _reader(self) -> Replica | None:
        """The replica the current request reads from, or None for the primary."""
        route = ROUTE.get()
        if route is None or not route.wants_replica() or not self.replicas:
            return None
        if route.replica is None or not route.replica.healthy:
            route.replica = self.replicas.pick(route.min_lsn)
        return route.replica

    def replica_failed(self, replica: Replica, exc: BaseException | None) -> None:
        """The current request goes to the primary from now on; a replica that lost its
        connection (rather than refusing one statement) is dropped until it answers."""
        route = ROUTE.get()
        if route is not None:
            route.failed = route.failed or exc is not None
            route.primary = True
        if isinstance(exc, psycopg.OperationalError):
            replica.drop(f"a statement failed ({type(exc).__name__})")

    async def _watch(self) -> None:
        await self.replicas.watch(self._primary_lsn)

    async def _primary_lsn(self) -> int | None:
        return parse_lsn(await self.write_lsn())

    async def write_lsn(self) -> str | None:
        """The primary's current WAL position (after a commit: at or past it), or None
        when the primary cannot say now."""
        try:
            async with self.pool.connection(timeout=2.0) as conn:
                cur = await conn.execute("SELECT pg_current_wal_lsn()::text")
                return (await cur.fetchone())[0]
        except (psycopg.Error, PoolTimeout, APIError):
            return None

    # -- statements ----------------------------------------------------------------

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[psycopg.AsyncConnection]:
        """A pooled connection whose database errors leave as :func:`translate` says:
        a replica's for a read-only request when one is fit, else the primary's."""
        replica = self._reader()
        pool = None if replica is None else replica.pool  # it may be renewed meanwhile
        conn = None
        if pool is not None:
            try:
                conn = await pool.getconn(REPLICA_WAIT_S)
            except (PoolTimeout, psycopg.Error):
                self.replica_failed(replica, None)  # busy or away: the primary answers
        if conn is None:
            async with self.pool.connection() as conn:
                try:
                    yield conn
                except psycopg.Error as exc:
                    raise translate(exc) from None
            return
        try:
            yield conn
        except psycopg.Error as exc:
            if not replica_fault(exc):
                raise translate(exc) from None
            self.replica_failed(replica, exc)
            raise ReplicaFailed() from None
        finally:
            await pool.putconn(conn)

    async def _read(self, work: Callable[[psycopg.AsyncConnection], Awaitable[Any]]) -> Any:
        """``work`` on a connection; once more, on the primary, if a replica failed it."""
        try:
            async with self.connection() as conn:
                return await work(conn)
        except ReplicaFailed:
            async with self.connection() as conn:
                return await work(conn)

    async def fetchrow(self, sql, params: Any = None, prepare: bool = True) -> tuple | None:
        async def work(conn):
            cur = await conn.execute(sql, params, prepare=prepare)
            return await cur.fetchone()
        return await self._read(work)

    async def fetchrow_within(self, sql, params: Any, budget_ms: int) -> tuple | None:
        """One row, or None when the statement needs more than ``budget_ms`` (for work
        worth doing only when cheap, such as an exact count)."""
        async def work(conn):
            try:
                async with conn.transaction():
                    # set_config(..., true) is SET LOCAL with the value bound.
                    await conn.execute("SELECT set_config('statement_timeout', %s, true)",
                                       (str(int(budget_ms)),))
                    # One core at most: work beside a request must not starve it.
                    await conn.execute("SET LOCAL max_parallel_workers_per_gather = 0")
                    cur = await conn.execute(sql, params, prepare=True)
                    return await cur.fetchone()
            except psycopg.errors.QueryCanceled:
                return None
        return await self._read(work)

    async def fetchall(self, sql, params: Any = None) -> list[tuple]:
        async def work(conn):
            cur = await conn.execute(sql, params, prepare=True)
            return await cur.fetchall()
        return await self._read(work)


# What a client is told about a value PostgreSQL refused: fixed words by kind, never
# PostgreSQL's own message (it can quote internals: types, functions, columns).
_DATA_ERRORS: tuple[tuple[tuple[type[psycopg.Error], ...], str], ...] = (
    ((psycopg.errors.InvalidDatetimeFormat, psycopg.errors.DatetimeFieldOverflow,
      psycopg.errors.InvalidTimeZoneDisplacementValue, psycopg.errors.IntervalFieldOverflow),
     "a value in the request is not a valid date or time"),
    ((psycopg.errors.NumericValueOutOfRange, psycopg.errors.DivisionByZero),
     "a number in the request is out of range"),
    ((psycopg.errors.InvalidTextRepresentation, psycopg.errors.InvalidBinaryRepresentation),
     "a value in the request has the wrong type"),
)
INVALID_VALUE = "a value in the request is invalid"
TOO_LONG = "the query took too long; narrow it (bbox, filter, limit)"


def translate(exc: psycopg.Error) -> APIError | psycopg.Error:
    """Database errors a client caused become 4xx with a fixed description (the
    database's own message is logged, never sent); outages become 503; the rest are
    returned as they are, to be raised (a logged 500)."""
    if isinstance(exc, psycopg.errors.QueryCanceled):
        return InvalidParameter(TOO_LONG)
    if isinstance(exc, psycopg.DataError):
        log.info("refused value (%s): %s", exc.sqlstate or type(exc).__name__,
                 str(exc).strip().split("\n")[0][:300])
        description = next((text for kinds, text in _DATA_ERRORS if isinstance(exc, kinds)),
                           INVALID_VALUE)
        return InvalidParameter(description)
    if isinstance(exc, psycopg.OperationalError):
        return Unavailable()
    return exc
