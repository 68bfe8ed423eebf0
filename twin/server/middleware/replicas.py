"""The request side of read replicas: each request's database route, the commit LSN on
write responses, and one retry on the primary of a read a replica failed.

Only in effect when the server has replicas (``TWIN_REPLICA_URLS``); without them it
passes every request straight through.

- GET and HEAD requests read: their statements may go to a replica
  (:mod:`twin.server.replicas`). A client that presents the LSN of its last write, in
  the ``X-Twin-LSN`` header or the ``twin_lsn`` cookie, is read from a replica that has
  replayed that far, else from the primary; an LSN that is not one sends the request to
  the primary (the safe reading). ``/alerts/stream`` (LISTEN/NOTIFY, which a standby
  cannot do, and events it must see the moment they are notified) stays on the primary.
- Every other method writes, on the primary; a successful answer carries the primary's
  WAL position after the write in ``X-Twin-LSN`` and in the ``twin_lsn`` cookie.
- A read whose statement failed on a replica and that would answer 5xx (nothing sent
  yet) is run once more, on the primary; the client sees only the second answer.
"""

from __future__ import annotations

from http.cookies import CookieError, SimpleCookie

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from twin.server.replicas import LSN_COOKIE, LSN_HEADER, ROUTE, Route, parse_lsn

READ_METHODS = frozenset({"GET", "HEAD"})
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
PRIMARY_PATHS = ("/alerts/stream",)
COOKIE_MAX_AGE_S = 600  # long past any healthy replica's lag


def presented_route(scope: Scope) -> Route:
    """The route of a read: the LSN its client presents (header first, then cookie)."""
    header = cookie = None
    for name, value in scope.get("headers", ()):
        if name == LSN_HEADER.lower().encode():
            header = value.decode("latin-1")
        elif name == b"cookie":
            try:
                jar = SimpleCookie(value.decode("latin-1"))
            except CookieError:
                continue
            if LSN_COOKIE in jar:
                cookie = jar[LSN_COOKIE].value
    text = header if header is not None else cookie
    if text is None:
        return Route(read=True)
    lsn = parse_lsn(text)
    return Route(read=True, min_lsn=lsn, primary=lsn is None)


class _HeldSend:
    """Forwards a response, except a 5xx after a replica failed: that one is held back
    (dropped) so the request can be answered again from the primary."""

    def __init__(self, send: Send, route: Route):
        self.send = send
        self.route = route
        self.started = False
        self.dropped = False

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            if self.route.failed and message["status"] >= 500:
                self.dropped = True
                return
            self.started = True
        elif self.dropped:
            return
        await self.send(message)


def _replayed(receive: Receive) -> Receive:
    """A GET's (empty) body for the second run, then the client's own messages."""
    sent = False

    async def again() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": b"", "more_body": False}
        return await receive()
    return again


class ReplicaRoutingMiddleware:
    def __init__(self, app: ASGIApp, state):
        self.app = app
        self.db = state.db

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.db.replicas:
            await self.app(scope, receive, send)
            return
        if scope["method"] in READ_METHODS and not scope["path"].startswith(PRIMARY_PATHS):
            await self._read(scope, receive, send)
            return
        token = ROUTE.set(Route(read=False))
        try:
            stamp = scope["method"] in WRITE_METHODS
            await self.app(scope, receive, self._stamping(send) if stamp else send)
        finally:
            ROUTE.reset(token)

    async def _read(self, scope: Scope, receive: Receive, send: Send) -> None:
        route = presented_route(scope)
        token = ROUTE.set(route)
        try:
            held = _HeldSend(send, route)
            try:
                await self.app(scope, receive, held)
            except Exception:
                if not route.failed or held.started:
                    raise
                held.dropped = True
            if not held.dropped:
                return
            ROUTE.set(Route(read=True, primary=True))
            await self.app(scope, _replayed(receive), send)
        finally:
            ROUTE.reset(token)

    def _stamping(self, send: Send) -> Send:
        async def stamped(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] < 400:
                lsn = await self.db.write_lsn()
                if lsn is not None:
                    cookie = (f"{LSN_COOKIE}={lsn}; Path=/; Max-Age={COOKIE_MAX_AGE_S}; "
                              "HttpOnly; SameSite=Lax")
                    message = {**message, "headers": [
                        *message.get("headers", []), (LSN_HEADER.lower().encode(), lsn.encode()),
                        (b"set-cookie", cookie.encode())]}
            await send(message)
        return stamped
