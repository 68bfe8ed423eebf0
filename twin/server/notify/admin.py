"""``GET /admin/deliveries`` (admin): the deliveries, newest first, filtered by
``status`` (pending, delivered, dead) and ``channel`` (mqtt, webhook), paged with
``limit`` (1..1000, default 100) and ``offset``; each with its last attempts.
``POST /admin/deliveries/{id}/retry`` (admin): a dead letter becomes pending, due now,
with its attempts counted afresh (409 for a delivery that is not dead)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse

from twin.notify.outbox import CHANNELS, COLUMNS, RETRY_NOTICE, STATUSES, row_json
from twin.server.errors import Conflict, InvalidParameter, NotFound
from twin.server.notify.access import check_admin
from twin.server.state import ServerState

KNOWN = {"status", "channel", "limit", "offset"}
NO_STORE = {"Cache-Control": "no-store"}


def _int(params, name: str, default: int, low: int, high: int) -> int:
    raw = params.get(name)
    if raw is None:
        return default
    if not (raw.isascii() and raw.isdigit()) or not low <= int(raw) <= high:
        raise InvalidParameter(f"{name} must be an integer from {low} to {high}")
    return int(raw)


def _filters(request: Request) -> tuple[str, list]:
    params = request.query_params
    unknown = sorted(set(params) - KNOWN)
    if unknown:
        raise InvalidParameter(f"unknown parameter {unknown[0]!r}; known: "
                               f"{', '.join(sorted(KNOWN))}")
    where, args = [], []
    for name, allowed in (("status", STATUSES), ("channel", CHANNELS)):
        value = params.get(name)
        if value is not None:
            if value not in allowed:
                raise InvalidParameter(f"{name} must be one of {', '.join(allowed)}")
            where.append(f"{name} = %s")
            args.append(value)
    return (" WHERE " + " AND ".join(where)) if where else "", args


def admin_routes(state: ServerState):
    async def listing(request: Request) -> JSONResponse:
        check_admin(request, "the delivery listing")
        where, args = _filters(request)
        limit = _int(request.query_params, "limit", 100, 1, 1000)
        offset = _int(request.query_params, "offset", 0, 0, 10_000_000)
        async with state.db.connection() as conn:
            cur = await conn.execute(f"SELECT {COLUMNS} FROM deliveries{where} "
                                     "ORDER BY id DESC LIMIT %s OFFSET %s",
                                     (*args, limit, offset))
            rows = [row_json(r) for r in await cur.fetchall()]
            cur = await conn.execute(f"SELECT count(*) FROM deliveries{where}", args)
            matched = (await cur.fetchone())[0]
        return JSONResponse({"deliveries": rows, "numberReturned": len(rows),
                             "numberMatched": matched}, headers=NO_STORE)

    async def retry(request: Request) -> JSONResponse:
        check_admin(request, "retrying a delivery")
        raw = request.path_params["delivery_id"]
        if not (raw.isascii() and raw.isdigit()) or len(raw) > 18:
            raise InvalidParameter(f"a delivery id is a positive integer, not {raw[:40]!r}")
        async with state.db.connection() as conn, conn.transaction():
            cur = await conn.execute("SELECT status FROM deliveries WHERE id = %s FOR UPDATE",
                                     (int(raw),))
            row = await cur.fetchone()
            if row is None:
                raise NotFound(f"no delivery {raw}")
            if row[0] != "dead":
                raise Conflict(f"delivery {raw} is {row[0]}; only a dead letter is retried")
            cur = await conn.execute(
                "UPDATE deliveries SET status = 'pending', attempts = 0, "
                "next_attempt_at = clock_timestamp(), updated_at = clock_timestamp() "
                f"WHERE id = %s RETURNING {COLUMNS}", (int(raw),))
            body = row_json(await cur.fetchone())
            await conn.execute("SELECT pg_notify(%s, %s)", (RETRY_NOTICE, raw))
        return JSONResponse(body, status_code=202, headers=NO_STORE)

    return listing, retry
