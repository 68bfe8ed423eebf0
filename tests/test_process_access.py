"""Issue 13: processes that store data are closed to callers without the owning role,
published scenarios are never replaced by a user's run, an admin's replacement is
audited and can be undone, jobs belong to their caller, and public processes are
limited per caller (429 + Retry-After). Everything over real HTTP on the small demo
city, against real PostGIS."""

from __future__ import annotations

import time
import uuid

import httpx
import pytest
from click.testing import CliRunner
from sqlalchemy import text

from twin.flood.archive import Audit
from twin.flood.request import ScenarioRequest, parse
from twin.flood.runner import run_flood
from twin.naming import scoped_name
from twin.server.auth.keys import create_key

pytestmark = pytest.mark.api_language("en")  # its assertions quote English descriptions

PUBLISHED = "demo-event-2026-10"
ATTACK = {"name": PUBLISHED, "rain_mm": 0, "hours": 1, "stage_m": 3}
RUN = {"name": PUBLISHED, "rain_mm": 120, "hours": 2, "drainage_mm_h": 25,
       "from": "2026-10-21T00:00:00Z", "resolution_m": 60}
REPORT = {"area": "Hoàn Kiếm", "from": "2026-10-01", "to": "2026-10-01",
          "topics": ["assets"], "format": "html"}
AGENCY = "Sở Tài nguyên và Môi trường"


def fingerprint(engine, scenario: str) -> tuple:
    """Counts and checksums of a scenario's extents and depth grids."""
    with engine.connect() as conn:
        return conn.execute(text(
            "SELECT (SELECT count(*) FROM flood_extents WHERE scenario = :s), "
            "(SELECT md5(coalesce(string_agg(md5(ST_AsBinary(geom)::text || depth_class "
            "|| valid_time::text), '' ORDER BY external_id), '')) FROM flood_extents "
            "WHERE scenario = :s), "
            "(SELECT count(*) FROM rasters WHERE kind = 'flood_depth' AND scenario = :s), "
            "(SELECT md5(coalesce(string_agg(external_id || path || stats::text, '' "
            "ORDER BY external_id), '')) FROM rasters WHERE kind = 'flood_depth' "
            "AND scenario = :s)"), {"s": scenario}).one()


@pytest.fixture(scope="module")
def published(city_engine, tmp_path_factory):
    """The city's published storm scenario, stored as the demo stores it."""
    req = parse(ScenarioRequest, {**RUN, "rain_mm": 250})
    run_flood(city_engine, tmp_path_factory.mktemp("published"), req,
                 audit=Audit(actor="test", process_id="test"))
    before = fingerprint(city_engine, PUBLISHED)
    assert before[0] > 0 and before[2] == 2
    return before


@pytest.fixture(scope="module")
def keys(city_engine):
    """One key per role, and the environment department's second key."""
    out = {role: create_key(city_engine, AGENCY, role) for role in
           ("transport", "environment", "land_office", "admin")}
    out["environment-2"] = create_key(city_engine, AGENCY, "environment")
    return {name: (key, record.prefix) for name, (key, record) in out.items()}


def _as(keys, name):
    return {"X-API-Key": keys[name][0]}


def _wait(http, job_id: str, headers: dict) -> str:
    for _ in range(1200):   # polls as a client does
        status = http.get(f"/jobs/{job_id}", headers=headers).json()["status"]
        if status not in ("accepted", "running"):
            return status
        time.sleep(0.1)
    raise AssertionError("the job never finished")


def _job_id(response) -> str:
    return response.headers["location"].rstrip("/").rsplit("/", 1)[-1]


def test_anonymous_attack_is_refused_and_changes_nothing(http, published, city_engine):
    r = http.post("/processes/flood-scenario/execution", json={"inputs": ATTACK})
    assert r.status_code == 401, r.text
    assert r.json()["code"] == "AuthenticationRequired"
    assert "environment" in r.json()["description"]
    assert fingerprint(city_engine, PUBLISHED) == published
    with city_engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM process_jobs "
                                 "WHERE process_id = 'flood-scenario' "
                                 "AND subject = 'anonymous'")).scalar() == 0


@pytest.mark.parametrize("role", ["transport", "land_office"])
def test_other_roles_are_forbidden(http, keys, role, published, city_engine):
    r = http.post("/processes/flood-scenario/execution", json={"inputs": ATTACK},
                  headers=_as(keys, role))
    assert r.status_code == 403 and r.json()["code"] == "Forbidden"
    r = http.post("/processes/interpolate/execution", headers=_as(keys, role),
                  json={"inputs": {"pollutant": "pm25", "datetime": "2026-10-01T03:00:00Z"}})
    assert r.status_code == 403
    assert fingerprint(city_engine, PUBLISHED) == published


def test_a_bad_key_is_401(http):
    r = http.post("/processes/flood-scenario/execution", json={"inputs": ATTACK},
                  headers={"X-API-Key": "twin_zzzzzzzz_nope"})
    assert r.status_code == 401


def test_descriptions_say_who_may_run(http):
    storing = http.get("/processes/flood-scenario").json()
    assert storing["twin:access"] == {"execute": ["admin", "environment"],
                                      "publish": ["admin"], "stores": True}
    public = http.get("/processes/map-report").json()
    assert public["twin:access"]["execute"] == ["public"]
    assert public["twin:access"]["stores"] is False


def test_environment_run_is_its_own_and_leaves_the_published_event(http, keys, published,
                                                                  city_engine):
    headers = _as(keys, "environment")
    r = http.post("/processes/flood-scenario/execution", json={"inputs": RUN},
                  headers=headers)
    assert r.status_code == 201, r.text
    job_id = _job_id(r)
    assert _wait(http, job_id, headers) == "successful"
    result = http.get(f"/jobs/{job_id}/results", params={"f": "json"}, headers=headers).json()
    own = scoped_name(keys["environment"][1], PUBLISHED)
    assert result["scenario"] == own and result["coverage"].startswith("flood_depth_user_")
    assert fingerprint(city_engine, PUBLISHED) == published
    assert fingerprint(city_engine, own)[0] > 0
    # Publishing needs admin: 403 before any job, nothing changes.
    r = http.post("/processes/flood-scenario/execution", headers=headers,
                  json={"inputs": {**RUN, "publish": True}})
    assert r.status_code == 403 and "publish" in r.json()["description"]
    assert fingerprint(city_engine, PUBLISHED) == published


def test_user_names_cannot_be_published(http, keys):
    r = http.post("/processes/flood-scenario/execution", headers=_as(keys, "admin"),
                  json={"inputs": {**RUN, "name": "user:abc:storm", "publish": True}})
    assert r.status_code == 400 and "reserved" in r.json()["description"]


def test_admin_replacement_is_audited_and_restored(http, keys, published, city_engine,
                                                   city_url):
    headers = _as(keys, "admin")
    r = http.post("/processes/flood-scenario/execution", headers=headers,
                  json={"inputs": {**RUN, "publish": True}})
    assert r.status_code == 201, r.text
    job_id = _job_id(r)
    assert _wait(http, job_id, headers) == "successful"
    replaced = fingerprint(city_engine, PUBLISHED)
    assert replaced != published
    with city_engine.connect() as conn:
        audit = conn.execute(text(
            "SELECT actor, agency, method, process_id, job_id, inputs, replaced, archive_id "
            "FROM process_audit WHERE action = 'replace' AND target = :t "
            "ORDER BY id DESC LIMIT 1"), {"t": f"flood_depth:{PUBLISHED}"}).one()
    assert audit.actor == keys["admin"][1] and audit.agency == AGENCY
    assert (audit.method, audit.process_id, audit.job_id) == ("api_key", "flood-scenario",
                                                              job_id)
    assert audit.inputs["rain_mm"] == 120 and audit.inputs["publish"] is True
    assert audit.replaced == {"flood_extents": published[0], "rasters": published[2]}

    runner = CliRunner()
    env = {"TWIN_DATABASE_URL": city_url}
    from twin.cli import main

    listed = runner.invoke(main, ["flood", "versions", PUBLISHED], env=env)
    assert listed.exit_code == 0 and f"{audit.archive_id:>5}" in listed.output
    done = runner.invoke(main, ["flood", "restore", PUBLISHED], env=env)
    assert done.exit_code == 0, done.output
    assert fingerprint(city_engine, PUBLISHED) == published
    assert f"restored archive {audit.archive_id}" in done.output
    # The restored grids are served again (the files were kept).
    with city_engine.connect() as conn:
        paths = conn.execute(text("SELECT path FROM rasters WHERE kind = 'flood_depth' "
                                  "AND scenario = :s"), {"s": PUBLISHED}).scalars().all()
    from pathlib import Path

    assert paths and all(Path(p).exists() for p in paths)
    # And the restore can itself be undone.
    again = runner.invoke(main, ["flood", "restore", PUBLISHED], env=env)
    assert again.exit_code == 0, again.output
    assert fingerprint(city_engine, PUBLISHED) == replaced
    runner.invoke(main, ["flood", "restore", PUBLISHED], env=env)
    assert fingerprint(city_engine, PUBLISHED) == published
    nothing = runner.invoke(main, ["flood", "restore", "never-stored"], env=env)
    assert nothing.exit_code != 0 and "no archived version" in nothing.output


def test_interpolate_stores_the_callers_own_series(http, keys, city_engine):
    headers = _as(keys, "environment")
    hour = "2026-10-01T04:00:00Z"
    with city_engine.connect() as conn:
        before = conn.execute(text(
            "SELECT count(*), md5(coalesce(string_agg(external_id || stats::text, '' "
            "ORDER BY external_id), '')) FROM rasters WHERE kind = 'air_quality' "
            "AND scenario IS NULL")).one()
    r = http.post("/processes/interpolate/execution", headers=headers, json={"inputs": {
        "pollutant": "pm25", "datetime": hour, "method": "idw", "resolution": 400,
        "name": "trial"}})
    assert r.status_code == 200, r.text
    with city_engine.connect() as conn:
        after = conn.execute(text(
            "SELECT count(*), md5(coalesce(string_agg(external_id || stats::text, '' "
            "ORDER BY external_id), '')) FROM rasters WHERE kind = 'air_quality' "
            "AND scenario IS NULL")).one()
        own = conn.execute(text("SELECT count(*) FROM rasters WHERE scenario = :s"),
                           {"s": scoped_name(keys["environment"][1], "trial")}).scalar()
    assert tuple(after) == tuple(before) and own == 1
    r = http.post("/processes/interpolate/execution", headers=headers, json={"inputs": {
        "pollutant": "pm25", "datetime": hour, "publish": True}})
    assert r.status_code == 403


# --- jobs belong to their caller ------------------------------------------------------

@pytest.fixture(scope="module")
def module_http(server):
    with httpx.Client(base_url=server, timeout=60) as client:
        yield client


@pytest.fixture(scope="module")
def report_job(module_http, keys):
    """An environment user's asynchronous map report, finished."""
    http, headers = module_http, _as(keys, "environment")
    r = http.post("/processes/map-report/execution", json={"inputs": REPORT},
                  headers={**headers, "Prefer": "respond-async"})
    assert r.status_code == 201, r.text
    job_id = _job_id(r)
    assert _wait(http, job_id, headers) == "successful"
    return job_id


@pytest.fixture(scope="module")
def scenario_job(module_http, keys):
    http, headers = module_http, _as(keys, "environment")
    r = http.post("/processes/flood-scenario/execution", headers=headers,
                  json={"inputs": {**RUN, "name": "owned", "hours": 1}})
    assert r.status_code == 201, r.text
    job_id = _job_id(r)
    assert _wait(http, job_id, headers) == "successful"
    return job_id


def _listed(http, headers) -> set[str]:
    doc = http.get("/jobs", params={"f": "json", "limit": 1000}, headers=headers).json()
    return {j["jobID"] for j in doc["jobs"]}


def test_jobs_list_only_the_callers_own(http, keys, report_job, scenario_job):
    assert {report_job, scenario_job} <= _listed(http, _as(keys, "environment"))
    assert not {report_job, scenario_job} & _listed(http, _as(keys, "environment-2"))
    assert not {report_job, scenario_job} & _listed(http, {})
    assert {report_job, scenario_job} <= _listed(http, _as(keys, "admin"))
    doc = http.get("/jobs", params={"f": "json"}, headers=_as(keys, "environment-2")).json()
    assert doc.get("numberMatched", len(doc["jobs"])) == len(doc["jobs"])


def test_job_status_and_results_by_owner_or_public(http, keys, report_job, scenario_job):
    owner, other = _as(keys, "environment"), _as(keys, "environment-2")
    for headers in (owner, _as(keys, "admin")):
        assert http.get(f"/jobs/{scenario_job}", headers=headers).status_code == 200
        assert http.get(f"/jobs/{scenario_job}/results", params={"f": "json"},
                        headers=headers).status_code == 200
    # flood-scenario is not public: others may not read its job.
    assert http.get(f"/jobs/{scenario_job}", headers=other).status_code == 403
    assert http.get(f"/jobs/{scenario_job}/results", headers=other).status_code == 403
    r = http.get(f"/jobs/{scenario_job}")
    assert r.status_code == 401 and r.json()["code"] == "AuthenticationRequired"
    # map-report is public: anyone may read its job.
    assert http.get(f"/jobs/{report_job}").status_code == 200
    assert http.get(f"/jobs/{report_job}", headers=other).status_code == 200
    assert http.get(f"/jobs/{uuid.uuid1()}").status_code == 404


def test_dismissing_needs_the_owner_or_an_admin(http, keys, report_job, scenario_job):
    assert http.delete(f"/jobs/{report_job}").status_code == 401
    assert http.delete(f"/jobs/{report_job}",
                       headers=_as(keys, "environment-2")).status_code == 403
    assert http.get(f"/jobs/{report_job}").status_code == 200     # still there
    assert http.delete(f"/jobs/{report_job}",
                       headers=_as(keys, "environment")).status_code == 200
    assert http.get(f"/jobs/{report_job}", headers=_as(keys, "admin")).status_code == 404
    assert http.delete(f"/jobs/{scenario_job}", headers=_as(keys, "admin")).status_code == 200


# --- limits -------------------------------------------------------------------------

@pytest.fixture()
def elsewhere(server):
    """A client on its own loopback address: an anonymous caller of its own."""
    address = f"127.0.{uuid.uuid4().int % 200 + 20}.{uuid.uuid4().int % 250 + 2}"
    transport = httpx.HTTPTransport(local_address=address)
    with httpx.Client(base_url=server, transport=transport, timeout=60) as client:
        yield client, address


def _ledger_rows(engine, key: str, n: int, finished: bool, asynchronous: bool = True):
    with engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO process_jobs (ticket, process_id, subject, roles, method, client, "
            "caller_key, asynchronous, public, finished_at) SELECT gen_random_uuid(), "
            "'map-report', 'anonymous', ARRAY['public'], 'anonymous', NULL, :k, :a, true, "
            "CASE WHEN :f THEN now() END FROM generate_series(1, :n)"),
            {"k": key, "n": n, "f": finished, "a": asynchronous})


def _clear(engine, key: str):
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM process_jobs WHERE caller_key = :k"), {"k": key})


def _limit_hits(engine) -> dict[str, int]:
    with engine.connect() as conn:
        return dict(conn.execute(text("SELECT name, hits FROM limit_hits")).all())


def test_running_jobs_per_caller_are_bounded(elsewhere, city_engine):
    client, address = elsewhere
    key = f"anonymous@{address}"
    _ledger_rows(city_engine, key, 2, finished=False)
    hits = _limit_hits(city_engine).get("process_concurrent", 0)
    try:
        r = client.post("/processes/map-report/execution", json={"inputs": REPORT},
                        headers={"Prefer": "respond-async"})
        assert r.status_code == 429 and r.json()["code"] == "TooManyRequests"
        assert int(r.headers["retry-after"]) > 0 and "at once" in r.json()["description"]
        assert _limit_hits(city_engine)["process_concurrent"] == hits + 1
    finally:
        _clear(city_engine, key)


def test_executions_a_minute_are_bounded(elsewhere, city_engine):
    client, address = elsewhere
    key = f"anonymous@{address}"
    _ledger_rows(city_engine, key, 10, finished=True)
    try:
        r = client.post("/processes/map-report/execution", json={"inputs": REPORT})
        assert r.status_code == 429 and r.headers["retry-after"] == "60"
        assert "a minute" in r.json()["description"]
        # A signed-in caller is another caller: not refused by the anonymous one's count.
    finally:
        _clear(city_engine, key)


def test_the_queue_is_bounded(elsewhere, city_engine, keys, http):
    client, address = elsewhere
    others = f"anonymous@queue-{uuid.uuid4().hex[:6]}"
    _ledger_rows(city_engine, others, 16, finished=False)
    try:
        r = client.post("/processes/map-report/execution", json={"inputs": REPORT},
                        headers={"Prefer": "respond-async"})
        assert r.status_code == 429 and "queue" in r.json()["description"]
        # A synchronous run does not queue: it is not refused by the queue's bound.
        r = client.post("/processes/map-report/execution", json={"inputs": REPORT})
        assert r.status_code == 200, r.text
    finally:
        _clear(city_engine, others)
        _clear(city_engine, f"anonymous@{address}")


def test_limit_hits_are_in_metrics(http, city_engine):
    _ledger_rows(city_engine, "anonymous@metrics-probe", 0, finished=True)
    body = http.get("/metrics").text
    assert "twin_limit_hits_total" in body
