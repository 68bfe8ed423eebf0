"""Connection pools for the server: async for twin's routes, sync for pygeoapi providers."""

from __future__ import annotations

import threading
from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool, ConnectionPool
from sqlalchemy.engine import make_url

from twin.server.errors import APIError, InvalidParameter, Unavailable


def libpq_url(url: str) -> str:
    """A SQLAlchemy URL as a libpq connection string."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _session_options(timeout_ms: int) -> str:
    return f"-c jit=off -c statement_timeout={int(timeout_ms)} -c TimeZone=UTC"


class Database:
    """One async pool (opened in the app's lifespan) and one lazily opened sync pool."""

    def __init__(self, url: str, *, size: int = 8, statement_timeout_ms: int = 30000):
        self.dsn = libpq_url(url)
        kwargs = {"options": _session_options(statement_timeout_ms), "autocommit": True,
                  "application_name": "twin-server"}
        self.pool = AsyncConnectionPool(self.dsn, min_size=1, max_size=size, kwargs=kwargs,
                                        open=False, timeout=10)
        self._sync_kwargs = kwargs
        self._sync_size = size
        self._sync: ConnectionPool | None = None
        self._sync_lock = threading.Lock()

    async def open(self) -> None:
        await self.pool.open(wait=False)

    async def close(self) -> None:
        await self.pool.close()
        if self._sync is not None:
            self._sync.close()

    @property
    def sync(self) -> ConnectionPool:
        with self._sync_lock:
            if self._sync is None:
                self._sync = ConnectionPool(self.dsn, min_size=1, max_size=self._sync_size,
                                            kwargs=self._sync_kwargs, open=True, timeout=10)
            return self._sync

    async def fetchrow(self, sql, params: Any = None, prepare: bool = True) -> tuple | None:
        async with self.pool.connection() as conn:
            try:
                cur = await conn.execute(sql, params, prepare=prepare)
            except psycopg.Error as exc:
                raise translate(exc) from None
            return await cur.fetchone()

    async def fetchrow_within(self, sql, params: Any, budget_ms: int) -> tuple | None:
        """One row, or None when the statement needs more than ``budget_ms`` (for work
        worth doing only when cheap, such as an exact count)."""
        async with self.pool.connection() as conn:
            try:
                async with conn.transaction():
                    await conn.execute(f"SET LOCAL statement_timeout = {int(budget_ms)}")
                    # One core at most: work beside a request must not starve it.
                    await conn.execute("SET LOCAL max_parallel_workers_per_gather = 0")
                    cur = await conn.execute(sql, params, prepare=True)
                    return await cur.fetchone()
            except psycopg.errors.QueryCanceled:
                return None
            except psycopg.Error as exc:
                raise translate(exc) from None

    async def fetchall(self, sql, params: Any = None) -> list[tuple]:
        async with self.pool.connection() as conn:
            try:
                cur = await conn.execute(sql, params, prepare=True)
            except psycopg.Error as exc:
                raise translate(exc) from None
            return await cur.fetchall()


def translate(exc: psycopg.Error) -> APIError | psycopg.Error:
    """Database errors a client caused become 4xx; outages become 503; the rest re-raise."""
    if isinstance(exc, psycopg.errors.QueryCanceled):
        return InvalidParameter("the query took too long; narrow it (bbox, filter, limit)")
    if isinstance(exc, (psycopg.errors.DataException, psycopg.errors.InvalidParameterValue)):
        first = (exc.diag.message_primary or "invalid value").split("\n")[0]
        return InvalidParameter(f"invalid value in the request: {first}")
    if isinstance(exc, psycopg.OperationalError):
        return Unavailable("the database is unavailable; retry shortly",
                           headers={"Retry-After": "5"})
    return exc
