"""Issue 13: a sweep that cannot miss a route. Every route and method is taken from the
application's router itself (not the OpenAPI document); each write method (POST, PUT,
PATCH, DELETE) is called anonymously, with a bad key and with every agency role, and
the answer is checked against the matrix read from the layer files' ``access:`` and the
processes' ``Processor.access``. A write route the matrix does not know fails the test,
and a refused call must change nothing: counts and checksums of every table a write
could touch are compared before and after.

A refused caller sends a request that would succeed with the right role (a real
feature id, a valid reading, a valid process input); an allowed caller sends one that
stops after the access check (an unknown feature, an empty body), so the sweep itself
changes nothing either way.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from starlette.routing import Mount, Route

from tests.conftest import _free_port, served
from twin.server.auth.policy import ADMIN, can_edit
from twin.server.auth.principal import ROLES, Principal

WRITES = ("POST", "PUT", "PATCH", "DELETE")
AGENCY_ROLES = [r for r in ROLES if r != "public"]
# Mounts serve files only (StaticFiles): no write method reaches a handler of ours.
STATIC_MOUNTS = {"/static", "/viewer/static"}
UNKNOWN_ID = "no-such-feature-sweep"
REPORT = {"area": "Hoàn Kiếm", "from": "2026-10-01", "to": "2026-10-01",
          "topics": ["assets"], "format": "html"}
ALERT_RULE = {"id": "sweep-rule", "agency": "Another agency",
              "condition": {"kind": "silence", "minutes": 30}}
VALID_INPUTS = {
    "map-report": REPORT,
    "flood-exposure": {"scenario": "none", "time": "2026-10-21T00:00:00Z"},
    "flood-scenario": {"name": "demo-event-2026-10", "rain_mm": 0, "hours": 1,
                       "stage_m": 3},
    "interpolate": {"pollutant": "pm25", "datetime": "2026-10-01T03:00:00Z"},
}


@dataclass
class Call:
    """One concrete request of a route: what a refused and an allowed caller send."""
    path: str
    allowed: set[str]                 # roles that may (admin included where it may)
    refused_body: object = None       # would succeed with the right role
    allowed_body: object = None       # stops right after the access check
    allowed_path: str | None = None
    owner_only: bool = False          # jobs: only the owner or an admin
    headers: dict = field(default_factory=dict)


@pytest.fixture(scope="module")
def app_and_url(settings, registry, city_url, tmp_path_factory):
    from twin.server.app import create_app

    port = _free_port()
    app = create_app(settings.model_copy(update={
        "port": port, "public_url": None, "data_dir": tmp_path_factory.mktemp("sweep")}),
        city_url, registry)
    with served(app, port) as url:
        yield app, url


@pytest.fixture(scope="module")
def keys(city_engine):
    from twin.server.auth.keys import create_key

    with city_engine.connect() as conn:
        agency = conn.execute(text("SELECT agency FROM sensor_stations WHERE agency IS NOT "
                                   "NULL ORDER BY external_id LIMIT 1")).scalar() or "Sở"
    return {role: create_key(city_engine, agency, role)[0] for role in AGENCY_ROLES}


def _tables(engine, registry) -> list[str]:
    names = [layer.table for layer in registry.tables()]
    names += ["sensor_readings", "rasters", "bus_route_stops", "audit_log", "api_keys",
              "process_audit", "scenario_archive"]
    with engine.connect() as conn:
        have = set(conn.execute(text(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")).scalars())
    return [n for n in names if n in have]


def snapshot(engine, tables: list[str]) -> dict[str, tuple]:
    """Count and checksum of every row of every table a write could change (an API key's
    ``last_used_at`` is bookkeeping that any authenticated call moves, so it is left
    out)."""
    out = {}
    row = "md5((to_jsonb(t) - 'last_used_at')::text)"
    with engine.connect() as conn:
        for table in tables:
            out[table] = tuple(conn.execute(text(
                f"SELECT count(*), md5(coalesce(string_agg({row}, '' ORDER BY {row}), '')) "
                f"FROM {table} t")).one())
    return out


def _one_id(engine, layer) -> str | None:
    with engine.connect() as conn:
        return conn.execute(text(f"SELECT external_id FROM {layer.table} "
                                 "ORDER BY id LIMIT 1")).scalar()


def _roles_may_edit(layer) -> set[str]:
    return {r for r in AGENCY_ROLES if can_edit(layer, Principal("x", roles={r}))}


def _reading(engine) -> list[dict]:
    with engine.connect() as conn:
        code, prop = conn.execute(text(
            "SELECT external_id, properties[1] FROM sensor_stations "
            "ORDER BY external_id LIMIT 1")).one()
    stamp = time.strftime("%Y-%m-%dT%H:00:00Z", time.gmtime(time.time() - 3600))
    return [{"station": code, "property": prop, "value": 12.5, "time": stamp}]


def calls_for(template: str, method: str, ctx) -> list[Call]:
    """The expected matrix for one route and method, from the declarations; an unknown
    write route raises KeyError (the sweep then fails)."""
    registry, engine = ctx["registry"], ctx["engine"]
    if template == "/collections/{collection_id}/items" and method == "POST":
        out = []
        for layer in registry:
            body = {"type": "Feature", "id": f"sweep-{layer.name}", "geometry": None,
                    "properties": {}}
            out.append(Call(f"/collections/{layer.name}/items", _roles_may_edit(layer),
                            refused_body=body, allowed_body={"type": "nonsense"}))
        return out
    if template == "/collections/{collection_id}/items/{item_id}":
        out = []
        for layer in registry:
            fid = (None if layer.is_view else _one_id(engine, layer)) or UNKNOWN_ID
            body = {"type": "Feature", "geometry": None, "properties": {}}
            out.append(Call(f"/collections/{layer.name}/items/{fid}", _roles_may_edit(layer),
                            refused_body=body if method != "DELETE" else None,
                            allowed_body=body if method != "DELETE" else None,
                            allowed_path=f"/collections/{layer.name}/items/{UNKNOWN_ID}"))
        return out
    if template in ("/readings", "/sta/v1.1/Observations", "/readings/corrections") \
            and method == "POST":
        stations = registry.get("sensor_stations")
        valid = _reading(engine)
        if template == "/sta/v1.1/Observations":
            r = valid[0]
            valid = {"Datastream": {"@iot.id": f"{r['station']}:{r['property']}"},
                     "phenomenonTime": r["time"], "result": r["value"]}
        elif template == "/readings/corrections":
            valid = {**valid[0], "value": 99.0, "reason": "sweep"}
        return [Call(template, _roles_may_edit(stations), refused_body=valid,
                     allowed_body=[] if template == "/readings" else {})]
    if template == "/processes/{process_id}/execution" and method == "POST":
        from twin.server.processes.config import process_modules

        out = []
        for module in process_modules():
            access = module.Processor.access
            pid = module.PROCESS_METADATA["id"]
            allowed = {r for r in AGENCY_ROLES if access.may_execute(Principal("x",
                                                                               roles={r}))}
            if access.public:
                allowed |= {"anonymous"}
            out.append(Call(f"/processes/{pid}/execution", allowed,
                            refused_body={"inputs": VALID_INPUTS[pid]},
                            allowed_body={"inputs": {"no_such_input": 1}}))
        return out
    if template == "/admin/deliveries/{delivery_id}/retry" and method == "POST":
        # admin only (twin.server.notify.admin); admin's call names no delivery: 404
        return [Call("/admin/deliveries/999999999/retry", {ADMIN})]
    if template == "/alerts/rules" and method == "POST":
        # an admin, or an agency for its own rules: this rule is another agency's
        return [Call(template, {ADMIN}, refused_body=ALERT_RULE, allowed_body={})]
    if template == "/alerts/rules/{id}":
        # a rule of config/alerts.yaml: changed in the file (403 to agencies); the admin's
        # call names no rule (404)
        body = None if method == "DELETE" else {"severity": "severe"}
        return [Call("/alerts/rules/pm25-high", {ADMIN}, refused_body=body, allowed_body=body,
                     allowed_path="/alerts/rules/no-such-rule-sweep")]
    if template == "/alerts/{id:int}/acknowledge" and method == "POST":
        # any agency role may try (the rule's ack_roles decide, per alert): no such alert
        return [Call("/alerts/999999999/acknowledge", set(AGENCY_ROLES),
                     refused_body={"note": "sweep"}, allowed_body={"note": "sweep"})]
    if template == "/subscriptions" and method == "POST":
        # any authenticated agency, for a layer it may read (the admin's call names none)
        return [Call(template, set(AGENCY_ROLES),
                     refused_body={"layer": "cameras", "webhook": "http://127.0.0.1:9/"},
                     allowed_body={})]
    if template == "/subscriptions/{sub_id}" and method == "DELETE":
        # the owner or an admin; nobody owns this one (404 to every agency)
        return [Call("/subscriptions/999999999", set(AGENCY_ROLES))]
    if template == "/jobs/{job_id}" and method == "DELETE":
        return [Call(f"/jobs/{ctx['job_id']}", {ADMIN}, owner_only=True,
                     allowed_path="/jobs/00000000-0000-0000-0000-000000000000")]
    raise KeyError(f"{method} {template}")


def write_routes(app) -> list[tuple[str, str]]:
    """(path template, method) of every write the router accepts, mounts checked."""
    out = []
    for route in app.routes:
        if isinstance(route, Mount):
            assert route.path in STATIC_MOUNTS, f"unknown mount {route.path}: add it to " \
                "the sweep's matrix"
            continue
        assert isinstance(route, Route), f"unknown kind of route {route!r}"
        for method in sorted((route.methods or set()) & set(WRITES)):
            out.append((route.path, method))
    return out


@pytest.fixture(scope="module")
def owner_key(city_engine):
    from twin.server.auth.keys import create_key

    return create_key(city_engine, "Sở Tài nguyên và Môi trường", "environment")[0]


@pytest.fixture(scope="module")
def owned_job(app_and_url, owner_key):
    """Another environment user's finished map-report job (its DELETE is swept: every
    swept caller, the environment role included, is someone else)."""
    _app, url = app_and_url
    headers = {"X-API-Key": owner_key}
    with httpx.Client(base_url=url, timeout=120, headers=headers) as http:
        r = http.post("/processes/map-report/execution", json={"inputs": REPORT},
                      headers={"Prefer": "respond-async"})
        assert r.status_code == 201, r.text
        job_id = r.headers["location"].rstrip("/").rsplit("/", 1)[-1]
        for _ in range(1200):
            if http.get(f"/jobs/{job_id}").json()["status"] not in ("accepted", "running"):
                break
            time.sleep(0.1)
    return job_id


def _callers(keys) -> dict[str, dict]:
    out = {"anonymous": {}, "bad-key": {"X-API-Key": "twin_zzzzzzzz_not-a-key"}}
    out.update({role: {"X-API-Key": key} for role, key in keys.items()})
    return out


def _send(http, method: str, path: str, body, headers: dict) -> httpx.Response:
    kwargs = {"headers": {**headers}}
    if body is not None:
        kwargs["json"] = body
        if method == "PATCH":
            kwargs["headers"]["Content-Type"] = "application/merge-patch+json"
    return http.request(method, path, **kwargs)


def test_every_write_route_follows_the_declared_matrix(app_and_url, keys, owned_job,
                                                       city_engine, registry):
    app, url = app_and_url
    routes = write_routes(app)
    assert ("/collections/{collection_id}/items", "POST") in routes
    ctx = {"registry": registry, "engine": city_engine, "job_id": owned_job}
    unknown = []
    plans = []
    for template, method in routes:
        try:
            plans += [(template, method, c) for c in calls_for(template, method, ctx)]
        except KeyError as exc:
            unknown.append(str(exc))
    assert not unknown, f"write routes the sweep's matrix does not know: {unknown}"

    tables = _tables(city_engine, registry)
    before = snapshot(city_engine, tables)
    matrix, wrong = [], []
    with httpx.Client(base_url=url, timeout=120) as http:
        for _template, method, call in plans:
            for who, headers in _callers(keys).items():
                allowed = who in call.allowed
                path = (call.allowed_path or call.path) if allowed else call.path
                body = call.allowed_body if allowed else call.refused_body
                r = _send(http, method, path, body, headers)
                matrix.append((method, path, who, r.status_code))
                if r.status_code >= 500:
                    wrong.append(f"{method} {path} as {who}: {r.status_code}")
                elif allowed and r.status_code in (401, 403):
                    wrong.append(f"{method} {path} as {who}: {r.status_code} but allowed")
                elif not allowed:
                    expected = {401} if who in ("anonymous", "bad-key") else {403, 405}
                    if call.path.startswith("/collections/") and r.status_code == 405:
                        expected = expected | {405}     # a view layer: nobody edits it
                    if r.status_code not in expected:
                        wrong.append(f"{method} {path} as {who}: {r.status_code}, "
                                     f"expected {sorted(expected)}: {r.text[:200]}")
                    elif r.headers.get("content-type", "").startswith("application/json"):
                        assert {"code", "description"} <= set(r.json())
    after = snapshot(city_engine, tables)
    write_matrix(matrix)
    changed = [t for t in tables if before[t] != after[t]]
    assert not wrong, "\n".join(wrong)
    assert not changed, f"refused or stopped calls changed {changed}"
    covered = {(m, t) for t, m, _c in plans}
    assert covered == {(m, t) for t, m in routes}


def write_matrix(matrix: list[tuple]) -> None:
    """With TWIN_SWEEP_MATRIX=<file>, the answers as a Markdown table (route x method x
    caller -> status), for the access matrix in a closing note or a review."""
    target = os.environ.get("TWIN_SWEEP_MATRIX")
    if not target:
        return
    callers = ["anonymous", "bad-key", *AGENCY_ROLES]
    rows: dict[tuple[str, str], dict[str, int]] = {}
    for method, path, who, status in matrix:
        rows.setdefault((method, path), {})[who] = status
    lines = ["| method | path | " + " | ".join(callers) + " |",
             "|---|---|" + "--:|" * len(callers)]
    for (method, path), got in sorted(rows.items(), key=lambda r: (r[0][1], r[0][0])):
        lines.append(f"| {method} | `{path}` | "
                     + " | ".join(str(got.get(c, "")) for c in callers) + " |")
    Path(target).write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_the_job_owner_may_dismiss_it(app_and_url, owner_key, owned_job):
    _app, url = app_and_url
    with httpx.Client(base_url=url, timeout=60) as http:
        r = http.delete(f"/jobs/{owned_job}", headers={"X-API-Key": owner_key})
        assert r.status_code == 200, r.text
