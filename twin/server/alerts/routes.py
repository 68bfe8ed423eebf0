"""Alerts and their rules over HTTP.

- ``GET /alerts``: alerts, newest first, filtered by ``state``, ``severity``, ``kind``,
  ``rule_id``, ``area``, ``agency``, ``subject`` (comma-separated values) and
  ``datetime`` (those active at some moment of it); ``limit`` (100, at most 1,000).
- ``GET /alerts/{id}``: one alert with its transitions (``events``).
- ``POST /alerts/{id}/acknowledge`` ``{"note"?}``: by a role the rule names in
  ``ack_roles`` (or admin): 401 anonymous, 403 another role, 404 unknown, 409 resolved
  or already acknowledged.
- ``GET /alerts/rules``, ``GET /alerts/rules/{id}``: the rules (public).
- ``POST /alerts/rules`` (create), ``PUT``/``PATCH`` (JSON merge patch) and ``DELETE
  /alerts/rules/{id}``: an admin, or a user of the rule's agency for the API's own rules
  (``source: api``); rules of ``config/alerts.yaml`` are changed in that file (403 for
  agencies, 409 for an admin). A rule that raised alerts is disabled, not deleted.

In the lifespan: the config rules are loaded, and the silence timer runs every minute
(one process at a time, by advisory lock).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from twin.alerts import engine, loader
from twin.alerts.rules import RuleError, parse_rule, webhook_names
from twin.server.alerts import store
from twin.server.auth.policy import ADMIN
from twin.server.auth.principal import Principal, principal_of
from twin.server.errors import (
    AuthenticationRequired,
    Conflict,
    Forbidden,
    InvalidParameter,
    NotFound,
    RequestTooLarge,
    Unavailable,
)
from twin.server.params.values import parse_datetime
from twin.server.readings.common import decode, read_body
from twin.server.state import ServerState

log = logging.getLogger("twin.alerts")
TIMER_S = 60.0
RULES_RETRY_S = 5.0   # the config rules, while the database is away at start
BODY_BYTES = 64 * 1024
VALUES = {"state": ("open", "acknowledged", "resolved"),
          "severity": ("minor", "moderate", "severe", "extreme"),
          "kind": ("threshold", "aqi_class", "river_level", "rain", "silence", "stuck")}
NO_STORE = {"Cache-Control": "no-store"}


def _json(body, status: int = 200) -> Response:
    return Response(store.dumps(body), status_code=status, media_type="application/json",
                    headers=NO_STORE)


def _refused(exc: store.AckRefused):
    return Forbidden(str(exc)) if exc.status == 403 else Conflict(str(exc))


class Alerts:
    def __init__(self, state: ServerState):
        self.state = state
        self.rules_file = loader.rules_path(state.settings.city_profile)
        self.gauges = loader.gauge_levels(state.settings.city)

    def _sync(self, fn, *args, **kwargs):
        with self.state.db.sync.connection() as conn:
            return fn(conn, *args, **kwargs)

    async def list(self, request: Request) -> Response:
        q = request.query_params
        unknown = set(q) - {*store.FILTERS, "datetime", "limit", "f"}
        if unknown:
            raise InvalidParameter(f"unknown parameter {sorted(unknown)[0]!r}")
        where = {}
        for name in store.FILTERS:
            if q.get(name):
                values = [v.strip() for v in q[name].split(",") if v.strip()]
                bad = [v for v in values if name in VALUES and v not in VALUES[name]]
                if bad:
                    raise InvalidParameter(f"{name}: {bad[0]!r} is not one of "
                                           f"{', '.join(VALUES[name])}")
                where[name] = values
        limit = q.get("limit", "100")
        if not (limit.isascii() and limit.isdigit()) or not 1 <= int(limit) <= 1000:
            raise InvalidParameter("limit must be a whole number from 1 to 1000")
        at = None
        if q.get("datetime"):
            t = parse_datetime(q["datetime"])
            at = (t.start, t.end)
        rows = await run_in_threadpool(self._sync, store.list_alerts, where, at, int(limit))
        return _json({"alerts": rows, "numberReturned": len(rows)})

    async def one(self, request: Request) -> Response:
        _alert_id(request)
        alert = await run_in_threadpool(self._sync, store.one_alert,
                                        request.path_params["id"])
        if alert is None:
            raise NotFound(f"no alert {request.path_params['id']}")
        return _json(alert)

    async def acknowledge(self, request: Request) -> Response:
        who = _signed_in(request, "acknowledging an alert")
        _alert_id(request)
        body = await self._body(request, required=False) or {}
        note = body.get("note") if isinstance(body, dict) else None
        if not isinstance(body, dict) or (note is not None and not isinstance(note, str)):
            raise InvalidParameter('send {"note": "..."} (the note is optional)')
        try:
            alert = await run_in_threadpool(self._sync, store.acknowledge,
                                            request.path_params["id"], who.roles,
                                            who.agency or who.subject, (note or "")[:2000])
        except store.AckRefused as exc:
            raise _refused(exc) from None
        if alert is None:
            raise NotFound(f"no alert {request.path_params['id']}")
        return _json(alert)

    async def _body(self, request: Request, required: bool = True):
        raw = await read_body(request, BODY_BYTES, lambda: RequestTooLarge(
            f"the body is larger than {BODY_BYTES // 1024} KiB"))
        if not raw.strip() and not required:
            return None
        return decode(raw, "a JSON object")

    async def rules(self, _request: Request) -> Response:
        return _json({"rules": await run_in_threadpool(self._sync, store.list_rules)})

    async def rule(self, request: Request) -> Response:
        rule = await run_in_threadpool(self._sync, store.one_rule, request.path_params["id"])
        if rule is None:
            raise NotFound(f"no rule {request.path_params['id']!r}")
        return _json(rule)

    async def create(self, request: Request) -> Response:
        who = _signed_in(request, "creating a rule")
        body = await self._body(request)
        if not isinstance(body, dict):
            raise InvalidParameter("send the rule as a JSON object")
        if ADMIN not in who.roles:
            body.setdefault("agency", who.agency)
            _owner(who, body.get("agency"), "api")
        rule = self._parse(body)
        saved = await self._save(rule, who, create=True)
        return _json(saved, 201)

    async def replace(self, request: Request) -> Response:
        who, current = await self._editable(request)
        body = await self._body(request)
        if not isinstance(body, dict):
            raise InvalidParameter("send the rule as a JSON object")
        if request.method == "PATCH":
            body = _merge(current["spec"], body)
        body.setdefault("id", current["id"])
        if body["id"] != current["id"]:
            raise InvalidParameter("id: a rule keeps its id (create another instead)")
        if ADMIN not in who.roles:
            body.setdefault("agency", who.agency)
            _owner(who, body.get("agency"), "api")
        return _json(await self._save(self._parse(body), who, create=False))

    async def delete(self, request: Request) -> Response:
        _who, current = await self._editable(request)
        return _json(await run_in_threadpool(self._sync, store.delete_rule, current["id"]))

    async def _editable(self, request: Request) -> tuple[Principal, dict]:
        who = _signed_in(request, "changing a rule")
        current = await run_in_threadpool(self._sync, store.one_rule, request.path_params["id"])
        if current is None:
            if ADMIN in who.roles:
                raise NotFound(f"no rule {request.path_params['id']!r}")
            raise Forbidden("rules are changed by an admin or the rule's agency")
        _owner(who, current["agency"], current["source"])
        if current["source"] == "config":
            raise Conflict(f"rule {current['id']!r} is declared in config/alerts.yaml: "
                           "change it there")
        return who, current

    def _parse(self, body: dict):
        return parse_rule(body, webhooks=webhook_names(self.rules_file), gauges=self.gauges)

    async def _save(self, rule, who: Principal, *, create: bool) -> dict:
        try:
            return await run_in_threadpool(self._sync, store.save_rule, rule,
                                           who.agency or who.subject, create=create)
        except store.AckRefused as exc:
            raise _refused(exc) from None

    @contextlib.asynccontextmanager
    async def background(self):
        """Load the config rules, then run the silence timer until shutdown. A database
        that is away at start does not stop the server (every request gets its 503
        meanwhile): the rules are loaded as soon as it answers."""
        tasks = [asyncio.create_task(self._timer())]
        if not await self._load_rules():
            tasks.append(asyncio.create_task(self._load_rules_later()))
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    async def _load_rules(self) -> bool:
        """Load config/alerts.yaml; False when the database did not answer."""
        try:
            await run_in_threadpool(self._sync, loader.load_file, self.rules_file, self.gauges)
        except RuleError as exc:
            log.error("config/alerts.yaml not loaded: %s", exc)
        except Unavailable:
            log.warning("alert rules not loaded: the database is unavailable; trying again "
                        "every %s s", RULES_RETRY_S)
            return False
        return True

    async def _load_rules_later(self) -> None:
        while not await self._load_rules():
            await asyncio.sleep(RULES_RETRY_S)

    async def _timer(self) -> None:
        while True:
            await asyncio.sleep(TIMER_S)
            try:
                await run_in_threadpool(self._sync, engine.tick, datetime.now(UTC))
            except Exception:  # the next tick tries again
                log.exception("the alerts' silence timer failed")


def _alert_id(request: Request) -> int:
    alert_id = request.path_params["id"]
    if alert_id >= 2**63:
        raise NotFound(f"no alert {alert_id}")
    return alert_id


def _signed_in(request: Request, doing: str) -> Principal:
    who = principal_of(request)
    if not who.authenticated:
        raise AuthenticationRequired(f"{doing} needs credentials: an API key (X-API-Key) "
                                     "or a bearer token")
    return who


def _owner(who: Principal, agency: str | None, source: str) -> None:
    if ADMIN in who.roles:
        return
    if source == "config":
        raise Forbidden("rules of config/alerts.yaml are changed in that file by an admin")
    if not who.agency or agency != who.agency:
        raise Forbidden(f"a rule of {agency or 'no agency'} is changed by that agency or an "
                        "admin")


def _merge(target, patch):
    """RFC 7396 JSON merge patch."""
    if not isinstance(patch, dict):
        return patch
    out = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = _merge(out.get(key), value)
    return out


def routes(state: ServerState) -> list[BaseRoute]:
    alerts = Alerts(state)
    state.background.append(alerts.background)
    return [Route("/alerts/rules", alerts.rules, methods=["GET"]),
            Route("/alerts/rules", alerts.create, methods=["POST"]),
            Route("/alerts/rules/{id}", alerts.rule, methods=["GET"]),
            Route("/alerts/rules/{id}", alerts.replace, methods=["PUT", "PATCH"]),
            Route("/alerts/rules/{id}", alerts.delete, methods=["DELETE"]),
            Route("/alerts", alerts.list, methods=["GET"]),
            Route("/alerts/{id:int}", alerts.one, methods=["GET"]),
            Route("/alerts/{id:int}/acknowledge", alerts.acknowledge, methods=["POST"])]

