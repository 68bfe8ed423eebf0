"""A response body fetched from PostgreSQL a piece at a time, so that a worker's memory
does not grow with the size of the answer.

A body is :class:`Parts`: a head, rows of text made by PostgreSQL (a GeoJSON feature, a
CoverageJSON coverage) joined by commas, and a tail; or, for CSV, the blocks of a
``COPY ... TO STDOUT``. :func:`pieces` yields it in chunks of about
:data:`CHUNK_BYTES`, reading rows through a server-side cursor (``FETCH`` of
``Parts.fetch`` rows at a time) inside a transaction.

:func:`open_stream` turns that into the iterator a ``StreamingResponse`` sends: it runs
the statement and reads the first chunk at once, so that a failing statement (a timeout)
is still an ordinary 4xx; the rest is read while the response is sent, on the same
pooled connection, which the iterator hands back when it ends, fails or is dropped. A
client that stops reading for longer than :data:`IDLE_S` loses the response (PostgreSQL
ends the idle transaction) rather than holding a connection of the pool.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import ExitStack, closing
from dataclasses import dataclass, field

import psycopg
from psycopg import sql

log = logging.getLogger("twin.server")

CHUNK_BYTES = 64 * 1024
IDLE_S = 60


@dataclass(frozen=True)
class Parts:
    """What a body is made of: ``statement`` returns one text column per row (joined by
    commas between ``head`` and ``tail``), or ``blocks`` yields the body's bytes from a
    connection (CSV's ``COPY``); ``empty`` is the body when nothing came."""
    statement: sql.Composable | None = None
    params: dict = field(default_factory=dict)
    head: bytes = b""
    tail: bytes = b""
    fetch: int = 200         # rows per FETCH (1 for rows that are large themselves)
    blocks: Callable[[psycopg.Connection], Iterator[bytes]] | None = None
    empty: bytes = b""


def _rows(conn: psycopg.Connection, parts: Parts) -> Iterator[bytes]:
    with conn.transaction(), conn.cursor(name="edr_body") as cur:
        # The whole result is read: plan for all of it, not for the first tenth (the
        # cursor default), and end the transaction if the client stops reading.
        conn.execute("SET LOCAL cursor_tuple_fraction = 1.0")
        conn.execute(sql.SQL("SET LOCAL idle_in_transaction_session_timeout = {}").format(
            sql.Literal(f"{IDLE_S}s")))
        cur.execute(parts.statement, parts.params)
        first = True
        while batch := cur.fetchmany(parts.fetch):
            out = bytearray()
            for (text,) in batch:
                if not first:
                    out += b","
                out += text.encode()
                first = False
            yield bytes(out)


def nothing(_conn: psycopg.Connection) -> Iterator[bytes]:
    """No rows (no station matched): the body is the head, ``empty`` and the tail."""
    yield from ()


def pieces(conn: psycopg.Connection, parts: Parts) -> Iterator[bytes]:
    """The whole body in chunks of about :data:`CHUNK_BYTES` (the head in the first, the
    tail in the last)."""
    source = parts.blocks(conn) if parts.blocks else _rows(conn, parts)
    out = bytearray(parts.head)
    empty = True
    with closing(source):
        for block in source:
            empty = empty and not block
            out += block
            if len(out) >= CHUNK_BYTES:
                yield bytes(out)
                out.clear()
    if empty:
        out += parts.empty
    out += parts.tail
    yield bytes(out)


def read(conn: psycopg.Connection, parts: Parts) -> bytes:
    """The whole body at once (for small ones)."""
    return b"".join(pieces(conn, parts))


class Stream:
    """The chunks of one body, for ``StreamingResponse``; owns what ``stack`` holds (the
    pooled connection) and releases it when the body ends, fails, or is dropped unsent."""

    def __init__(self, stack: ExitStack, source: Iterator[bytes], first: bytes):
        self._stack = stack
        self._source = source
        self._first: bytes | None = first

    def __iter__(self) -> Stream:
        return self

    def __next__(self) -> bytes:
        if self._first is not None:
            chunk, self._first = self._first, None
            return chunk
        try:
            return next(self._source)
        except StopIteration:
            self.close()
            raise
        except BaseException:
            # The status line has gone: the client sees a cut body, never a short one
            # that looks complete.
            log.warning("EDR response cut short while streaming", exc_info=True)
            self.close()
            raise

    def close(self) -> None:
        self._stack.close()

    def __del__(self) -> None:
        self.close()


def open_stream(conn: psycopg.Connection, parts: Parts, stack: ExitStack) -> Stream:
    """A :class:`Stream` of ``parts`` on ``conn``; ``stack`` holds the connection (and is
    closed here if the statement fails)."""
    with ExitStack() as guard:
        guard.push(stack)
        source = pieces(conn, parts)
        stack.callback(source.close)
        first = next(source)
        guard.pop_all()
    return Stream(stack, source, first)
