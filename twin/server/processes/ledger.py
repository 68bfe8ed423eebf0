"""The ledger of process executions (table ``process_jobs``, migration 0007): whose job
each is, and the per-caller limits counted from it across every worker.

The execution route :func:`admit`s a request before pygeoapi makes a job: it counts
the caller's running jobs, the caller's executions in the last minute and the queue of
unfinished asynchronous jobs, refuses with 429 and ``Retry-After`` past a limit, and
otherwise writes a row keyed by a fresh ``ticket``. The processor binds the ticket to
pygeoapi's job id when the job starts (:func:`bind`) and marks it finished
(:func:`finish`). A row left unfinished by a killed worker stops counting after
``process_stale_s``.

A caller is its subject when signed in, else ``anonymous@<client address>``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import psycopg

from twin.server.auth.policy import ADMIN
from twin.server.auth.principal import Principal
from twin.server.errors import TooManyRequests
from twin.server.limits import LIMITS

_LOCK = "SELECT pg_advisory_xact_lock(hashtext('twin_process_admit'))"
_COUNTS = """
SELECT count(*) FILTER (WHERE caller_key = %(key)s AND finished_at IS NULL
                         AND created_at > now() - make_interval(secs => %(stale)s)),
       count(*) FILTER (WHERE caller_key = %(key)s
                         AND created_at > now() - interval '1 minute'),
       count(*) FILTER (WHERE asynchronous AND finished_at IS NULL
                         AND created_at > now() - make_interval(secs => %(stale)s))
FROM process_jobs
WHERE created_at > now() - make_interval(secs => greatest(%(stale)s, 60))
"""
_INSERT = """
INSERT INTO process_jobs (ticket, process_id, subject, agency, roles, method, client,
                          caller_key, asynchronous, public)
VALUES (%(ticket)s, %(pid)s, %(subject)s, %(agency)s, %(roles)s, %(method)s, %(client)s,
        %(key)s, %(asynchronous)s, %(public)s)
"""
_HIT = ("INSERT INTO limit_hits (name, hits) VALUES (%s, 1) "
        "ON CONFLICT (name) DO UPDATE SET hits = limit_hits.hits + 1 RETURNING hits")
_BIND = ("UPDATE process_jobs SET job_id = %s, started_at = clock_timestamp() "
         "WHERE ticket = %s RETURNING subject, agency, roles, method, client")
_FINISH = ("UPDATE process_jobs SET finished_at = clock_timestamp(), status = %s "
           "WHERE ticket = %s AND finished_at IS NULL")
_OWNER = ("SELECT subject, client, public, process_id, method FROM process_jobs "
          "WHERE job_id = %s")
_VISIBLE = "SELECT job_id FROM process_jobs WHERE job_id IS NOT NULL AND caller_key = %s"


@dataclass(frozen=True)
class JobOwner:
    subject: str
    client: str | None
    public: bool
    process_id: str
    method: str


def caller_key(who: Principal, client: str | None) -> str:
    return who.subject if who.authenticated else f"anonymous@{client or 'unknown'}"


def owns(owner: JobOwner | None, who: Principal, client: str | None) -> bool:
    """Whether ``who`` (from ``client``) is the owner of a job, or an admin."""
    if ADMIN in who.roles:
        return True
    if owner is None:
        return False
    if owner.method == "anonymous":
        return not who.authenticated and owner.client == client
    return who.authenticated and owner.subject == who.subject


async def admit(db, process_id: str, who: Principal, client: str | None,
                asynchronous: bool, public: bool) -> str:
    """A ticket for one execution, or :class:`TooManyRequests`."""
    key = caller_key(who, client)
    ticket = str(uuid.uuid4())
    async with db.pool.connection() as conn, conn.transaction():
        await conn.execute(_LOCK)
        cur = await conn.execute(_COUNTS, {"key": key, "stale": LIMITS.process_stale_s})
        running, last_minute, queued = await cur.fetchone()
        refusal = _refusal(who, running, last_minute, queued, asynchronous)
        if refusal is None:
            await conn.execute(_INSERT, {
                "ticket": ticket, "pid": process_id, "subject": who.subject,
                "agency": who.agency, "roles": sorted(who.roles), "method": who.method,
                "client": client, "key": key, "asynchronous": asynchronous,
                "public": public})
    if refusal is not None:
        name, message, retry = refusal
        await db.fetchrow(_HIT, (name,))
        raise TooManyRequests(message, retry_after=retry)
    return ticket


def _refusal(who: Principal, running: int, last_minute: int, queued: int,
             asynchronous: bool) -> tuple[str, str, int] | None:
    signed = who.authenticated
    concurrent = LIMITS.process_concurrent_signed_in if signed else \
        LIMITS.process_concurrent_anonymous
    rate = LIMITS.process_rate_signed_in if signed else LIMITS.process_rate_anonymous
    if running >= concurrent:
        return ("process_concurrent", (f"you have {running} process executions running; "
                                       f"at most {concurrent} at once: wait for one to "
                                       "finish"), 10)
    if last_minute >= rate:
        return ("process_rate", (f"at most {rate} process executions a minute; retry "
                                 "in a minute"), 60)
    if asynchronous and queued >= LIMITS.process_queue:
        return ("process_queue", (f"the job queue is full ({queued} jobs waiting or "
                                  "running); retry later"), 30)
    return None


def bind(conn: psycopg.Connection, ticket: str, job_id: str | None) -> tuple | None:
    """Bind a ticket to its pygeoapi job; returns (subject, agency, roles, method,
    client) of the caller who was admitted, or None for an unknown ticket."""
    return conn.execute(_BIND, (job_id, ticket)).fetchone()


async def bind_async(db, ticket: str, job_id: str) -> None:
    """Bind an asynchronous job as soon as pygeoapi has answered with its id, so its
    owner can read it before its thread starts (the processor binds it too)."""
    await db.fetchrow("UPDATE process_jobs SET job_id = %s WHERE ticket = %s "
                      "AND job_id IS NULL RETURNING 1", (job_id, ticket))


def finish(conn: psycopg.Connection, ticket: str, status: str) -> None:
    conn.execute(_FINISH, (status, ticket))


async def finish_async(db, ticket: str, status: str) -> None:
    await db.fetchrow(_FINISH + " RETURNING 1", (status, ticket))


async def owner_of(db, job_id: str) -> JobOwner | None:
    row = await db.fetchrow(_OWNER, (job_id,))
    return JobOwner(*row) if row else None


async def visible_jobs(db, who: Principal, client: str | None) -> set[str] | None:
    """The ids of the jobs ``who`` may list; None for all of them (admin)."""
    if ADMIN in who.roles:
        return None
    rows = await db.fetchall(_VISIBLE, (caller_key(who, client),))
    return {r[0] for r in rows}
