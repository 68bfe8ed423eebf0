"""QGIS can edit (issue 17, point 10): PATCH is a JSON Merge Patch, an API key is accepted
as the password of HTTP Basic.

QGIS's OAPIF provider edits (QGIS 3.32 and later, OGC API – Features Part 4) with
``POST /items`` (a GeoJSON Feature), ``PATCH /items/{id}`` with
``Content-Type: application/merge-patch+json`` and only ``{"properties": {...}}`` or only
``{"geometry": {...}}`` (no ``type``, no ``If-Match``), and ``DELETE``; it sends
credentials as HTTP Basic. Debian's QGIS 3.22 opens OAPIF layers read-only (its provider
has no Part 4 support), so QGIS itself is used here for what 3.22 does: it opens layers
with Basic credentials from a throwaway authentication database (and from ``username=``/
``password=`` in the URI), and its network stack, with that authentication configuration
applied, sends the requests the newer provider sends. Each change is then checked
through the API and in ``audit_log``.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess

import pytest
from sqlalchemy import text

from tests.test_edit import GEOMETRY, feature
from tests.test_qgis_project import SYSTEM_PYTHON, _has_qgis
from twin.server.auth.keys import create_key

pytestmark = pytest.mark.api_language("en")  # its assertions quote English descriptions

MERGE_PATCH = "application/merge-patch+json"
ROADS = "/collections/road_segments/items"


def basic(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


@pytest.fixture(scope="module")
def agency_keys(city_engine) -> dict[str, str]:
    return {role: create_key(city_engine, f"qgis {role}", role)[0]
            for role in ("transport", "land_office")}


def prefix(key: str) -> str:
    return key.split("_")[1]


def audit(engine, fid: str) -> list[tuple]:
    with engine.connect() as conn:
        return list(conn.execute(text(
            "SELECT action, actor, method, after -> 'properties' ->> 'lanes', "
            "after -> 'geometry' FROM audit_log WHERE layer = 'road_segments' AND "
            "external_id = :fid ORDER BY id"), {"fid": fid}))


def moved(geometry: dict, dx: float) -> dict:
    return {"type": geometry["type"],
            "coordinates": [[x + dx, y] for x, y in geometry["coordinates"]]}


# --- over HTTP, as QGIS's provider sends it ---------------------------------------------

def test_qgis_style_edit_with_basic_and_merge_patches(http, agency_keys, city_engine):
    key = agency_keys["transport"]
    creds = basic(prefix(key), key)
    allow = http.options(ROADS, headers=creds).headers["allow"]
    assert "POST" in allow
    body = feature("road_segments", lanes=2)
    r = http.post(ROADS, json=body, headers={**creds, "Content-Type": "application/geo+json"})
    assert r.status_code == 201, r.text
    fid = r.json()["id"]
    url = f"{ROADS}/{fid}"
    try:
        assert "PATCH" in http.options(url, headers=creds).headers["allow"]
        r = http.patch(url, content=json.dumps({"properties": {"lanes": 3}}),
                       headers={**creds, "Content-Type": MERGE_PATCH})
        assert r.status_code == 200, r.text
        assert r.json()["properties"]["lanes"] == 3
        assert r.json()["properties"]["name"] == body["properties"]["name"]  # merged
        new_line = moved(GEOMETRY["LineString"], 0.0005)
        r = http.patch(url, content=json.dumps({"geometry": new_line}),
                       headers={**basic("anyone", key), "Content-Type": MERGE_PATCH})
        assert r.status_code == 200, r.text
        got = http.get(url).json()
        assert got["properties"]["lanes"] == 3
        assert abs(got["geometry"]["coordinates"][0][0] - new_line["coordinates"][0][0]) < 1e-7
        # with If-Match, a stale version is refused (412); without, the last write wins
        stale = http.patch(url, content=json.dumps({"properties": {"lanes": 1}}),
                           headers={**creds, "Content-Type": MERGE_PATCH,
                                    "If-Match": '"1-1"'})
        assert stale.status_code == 412, stale.text
        current = http.get(url).headers["etag"]
        ok = http.patch(url, content=json.dumps({"properties": {"lanes": 4}}),
                        headers={**creds, "Content-Type": MERGE_PATCH, "If-Match": current})
        assert ok.status_code == 200 and ok.json()["properties"]["lanes"] == 4
    finally:
        assert http.delete(url, headers=creds).status_code == 204
    assert http.get(url).status_code == 404
    rows = audit(city_engine, fid)
    assert [(a, actor, method) for a, actor, method, *_ in rows] == [
        ("insert", prefix(key), "api_key"), ("update", prefix(key), "api_key"),
        ("update", prefix(key), "api_key"), ("update", prefix(key), "api_key"),
        ("delete", prefix(key), "api_key")]
    assert [r[3] for r in rows[:4]] == ["2", "3", "3", "4"]
    assert rows[2][4]["coordinates"] != rows[1][4]["coordinates"]


@pytest.mark.parametrize("patch, words", [
    ([1, 2], "a JSON object"),
    ({"type": "FeatureCollection", "features": []}, "cannot change the feature's type"),
    ({"properties": {"lanes": 2}, "style": "red"}, "not style"),
    ({"properties": None}, "set single properties to null"),
    ({"geometry": {"coordinates": [[1, 2], [3, 4]]}}, "whole GeoJSON geometry"),
    ({"geometry": None}, "geometry may not be null"),
    ({"properties": {"no_such_field": 1}}, "unknown properties no_such_field"),
])
def test_bad_merge_patches_are_400_saying_why(http, agency_keys, made_road, patch, words):
    key = agency_keys["transport"]
    r = http.patch(f"{ROADS}/{made_road}", content=json.dumps(patch),
                   headers={**basic(prefix(key), key), "Content-Type": MERGE_PATCH})
    assert r.status_code == 400, r.text
    assert r.json()["code"] == "InvalidParameterValue" and words in r.json()["description"]


@pytest.fixture()
def made_road(http, agency_keys):
    key = agency_keys["transport"]
    r = http.post(ROADS, json=feature("road_segments"), headers=basic(prefix(key), key))
    assert r.status_code == 201, r.text
    yield r.json()["id"]
    http.delete(f"{ROADS}/{r.json()['id']}", headers=basic(prefix(key), key))


def test_basic_refusals_challenge_basic(http, agency_keys, made_road):
    url = f"{ROADS}/{made_road}"
    anonymous = http.patch(url, content=b'{"properties": {"lanes": 9}}',
                           headers={"Content-Type": MERGE_PATCH})
    assert anonymous.status_code == 401
    assert anonymous.json() == {"code": "AuthenticationRequired", "description": (
        "editing road_segments needs credentials: an API key (X-API-Key, or as the "
        "password of HTTP Basic) or a bearer token")}
    assert 'Basic realm="twin"' in anonymous.headers.get_list("www-authenticate")[-1]
    key = agency_keys["transport"]
    wrong = key[:-4] + ("aaaa" if not key.endswith("aaaa") else "bbbb")
    r = http.patch(url, content=b'{"properties": {"lanes": 9}}',
                   headers={**basic(prefix(key), wrong), "Content-Type": MERGE_PATCH})
    assert r.status_code == 401
    assert r.json() == {"code": "Unauthorized", "description": "unknown or revoked API key"}
    challenges = r.headers.get_list("www-authenticate")
    assert challenges[0].startswith('Bearer realm="twin"')
    assert challenges[-1].startswith('Basic realm="twin"')
    # a key client (X-API-Key) is not asked for Basic: no browser login dialog
    r = http.get("/collections", headers={"X-API-Key": wrong})
    assert r.status_code == 401 and len(r.headers.get_list("www-authenticate")) == 1
    # another agency's key is a 403 whichever way it is sent
    land = agency_keys["land_office"]
    r = http.patch(url, content=b'{"properties": {"lanes": 9}}',
                   headers={**basic("x", land), "Content-Type": MERGE_PATCH})
    assert r.status_code == 403 and "road_segments may be edited by transport" in \
        r.json()["description"]
    assert http.get(url).json()["properties"]["lanes"] is None


# --- with QGIS ----------------------------------------------------------------------------

QGIS_SCRIPT = r'''
import json, sys
from qgis.core import (QgsApplication, QgsAuthMethodConfig, QgsNetworkAccessManager,
                       QgsVectorDataProvider, QgsVectorLayer)
from qgis.PyQt.QtCore import QByteArray, QEventLoop, QUrl
from qgis.PyQt.QtNetwork import QNetworkRequest

base, land_key, road_key, body_path = sys.argv[1:5]
app = QgsApplication([], False); app.initQgis()
am = QgsApplication.authManager()
assert am.setMasterPassword("throwaway master password", True)

def authcfg(user, password):
    cfg = QgsAuthMethodConfig(); cfg.setMethod("Basic"); cfg.setName(user)
    cfg.setConfig("username", user); cfg.setConfig("password", password)
    done = am.storeAuthenticationConfig(cfg)
    assert done if isinstance(done, bool) else done[0]
    return cfg.id()

land_cfg = authcfg(land_key.split("_")[1], land_key)
road_cfg = authcfg("qgis-user", road_key)
out = {}

def fields(uri):
    layer = QgsVectorLayer(uri, "t", "OAPIF")
    caps = layer.dataProvider().capabilities() if layer.isValid() else 0
    return {"valid": layer.isValid(), "fields": [f.name() for f in layer.fields()],
            "provider_edits": bool(caps & QgsVectorDataProvider.ChangeAttributeValues)}

parcels = f"url='{base}' typename='land_parcels' pagingEnabled='true' pageSize='10'"
out["anonymous"] = fields(parcels)
out["authcfg"] = fields(parcels + f" authcfg='{land_cfg}'")
out["uri_password"] = fields(parcels + f" username='anyone' password='{land_key}'")

def send(method, path, body=None, media=None, cfg=road_cfg):
    request = QNetworkRequest(QUrl(base + path))
    if cfg:
        ok = am.updateNetworkRequest(request, cfg)
        assert ok if isinstance(ok, bool) else ok[0]
    if media:
        request.setHeader(QNetworkRequest.ContentTypeHeader, media)
    nam = QgsNetworkAccessManager.instance()
    data = QByteArray(json.dumps(body).encode()) if body is not None else QByteArray()
    reply = nam.sendCustomRequest(request, method.encode(), data)
    loop = QEventLoop(); reply.finished.connect(loop.quit); loop.exec_()
    status = reply.attribute(QNetworkRequest.HttpStatusCodeAttribute)
    text = bytes(reply.readAll()).decode()
    location = bytes(reply.rawHeader(b"Location")).decode()
    return {"status": status, "body": json.loads(text) if text else None,
            "location": location}

with open(body_path) as fh:
    plan = json.load(fh)
created = send("POST", "/collections/road_segments/items", plan["create"],
               "application/geo+json")
out["create"] = created
item = "/collections/road_segments/items/" + created["body"]["id"]
out["attribute"] = send("PATCH", item, {"properties": plan["properties"]},
                        "application/merge-patch+json")
out["geometry"] = send("PATCH", item, {"geometry": plan["geometry"]},
                       "application/merge-patch+json")
out["anonymous_patch"] = send("PATCH", item, {"properties": {"lanes": 9}},
                              "application/merge-patch+json", cfg=None)
out["delete"] = send("DELETE", item)
print(json.dumps(out))
app.exitQgis()
'''


@pytest.mark.skipif(not _has_qgis(), reason=f"{SYSTEM_PYTHON} cannot import qgis.core "
                    "(install Debian's python3-qgis)")
def test_qgis_reads_and_edits_with_basic_credentials(server, http, agency_keys,
                                                     city_engine, tmp_path):
    line = GEOMETRY["LineString"]
    create = feature("road_segments", lanes=2)
    plan = {"create": create, "properties": {"lanes": 5, "surface": "concrete"},
            "geometry": moved(line, 0.0007)}
    (tmp_path / "plan.json").write_text(json.dumps(plan))
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_RUNTIME_DIR": str(tmp_path),
           "HOME": str(tmp_path), "QGIS_AUTH_DB_DIR_PATH": str(tmp_path) + "/"}
    done = subprocess.run([SYSTEM_PYTHON, "-c", QGIS_SCRIPT, server,
                           agency_keys["land_office"], agency_keys["transport"],
                           str(tmp_path / "plan.json")],
                          capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    print(json.dumps(out, indent=1))  # what QGIS saw, kept in the test log

    # reading: the private fields come with the land office's key, however QGIS sends it
    assert out["anonymous"]["valid"] and "owner_name" not in out["anonymous"]["fields"]
    assert out["authcfg"]["valid"] and "owner_name" in out["authcfg"]["fields"]
    assert out["uri_password"]["valid"] and "owner_name" in out["uri_password"]["fields"]

    # editing: each change through the API and in the audit log
    assert out["create"]["status"] == 201, out["create"]
    fid = out["create"]["body"]["id"]
    assert out["create"]["location"].endswith(f"/items/{fid}")
    assert out["attribute"]["status"] == 200, out["attribute"]
    props = out["attribute"]["body"]["properties"]
    assert (props["lanes"], props["surface"], props["name"]) == (
        5, "concrete", create["properties"]["name"])
    assert out["geometry"]["status"] == 200, out["geometry"]
    assert out["geometry"]["body"]["properties"]["lanes"] == 5
    assert abs(out["geometry"]["body"]["geometry"]["coordinates"][0][0]
               - plan["geometry"]["coordinates"][0][0]) < 1e-7
    assert out["anonymous_patch"]["status"] == 401
    assert "needs credentials" in out["anonymous_patch"]["body"]["description"]
    assert out["delete"]["status"] == 204
    assert http.get(f"{ROADS}/{fid}").status_code == 404
    transport = prefix(agency_keys["transport"])
    rows = audit(city_engine, fid)
    assert [(a, actor) for a, actor, *_ in rows] == [
        ("insert", transport), ("update", transport), ("update", transport),
        ("delete", transport)]
    assert [r[3] for r in rows[:3]] == ["2", "5", "5"]
    assert rows[2][4]["coordinates"] != rows[1][4]["coordinates"]
