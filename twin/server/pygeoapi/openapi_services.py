"""The later services of twin in the OpenAPI document: alerts, their delivery,
subscriptions, the DCAT catalogue and the change feeds, and the smaller routes around
them (who am I, the viewer's configuration, the COG files, the map tileset, the tile
matrix sets' capitalised aliases, dismissing a job, one EDR station).

:func:`add_service_paths` adds them to the document :mod:`.openapi_twin` builds; each
operation lists the media types the route sends (SSE ``text/event-stream``, CAP
``application/cap+xml``, Atom ``application/atom+xml``, DCAT as ``application/ld+json``),
every status it gives and its security: a route any caller may use with or without
credentials has the empty requirement ``{}`` beside the schemes (credentials widen what
it shows); a guarded one only the schemes. tests/test_openapi_routes.py fails on a route
of the router that the document lacks.
"""

from __future__ import annotations

from typing import Any

from twin.notify.outbox import CHANNELS, STATUSES
from twin.registry import Registry
from twin.server.alerts.routes import VALUES as ALERT_VALUES
from twin.server.auth.policy import can_read
from twin.server.auth.principal import ANONYMOUS
from twin.server.pygeoapi.openapi_twin import (
    _BINARY,
    _DATETIME,
    _OBJECT,
    _TMS,
    GEOTIFF,
    JSON,
    SECURED,
    _errors,
    _format,
    _ok,
    _path,
    _query,
)

GEOJSON = "application/geo+json"
JSONLD = "application/ld+json"
CAP = "application/cap+xml"
ATOM = "application/atom+xml"
SSE = "text/event-stream"
HTML = "text/html"
OPTIONAL = [{}, *SECURED]  # anonymous allowed; credentials show more
_TEXT = {"type": "string"}
_LANG = {"$ref": "#/components/parameters/lang"}
_NOT_MODIFIED = {"304": {"description": "Not modified (If-None-Match)."}}
TAGS = {"alerts": "Alert rules, alerts and their acknowledgement",
        "notify": "Alert delivery: live stream, CAP messages, the delivery outbox",
        "subscriptions": "Subscriptions to a layer's changes (webhook or MQTT)",
        "records": "The catalogue as DCAT and the layers' change feeds"}


def _op(summary: str, tag: str, op_id: str, responses: dict, params: list | None = None,
        security: list | None = None, body: dict | None = None) -> dict:
    op: dict[str, Any] = {"summary": summary, "tags": [tag], "operationId": op_id,
                          "parameters": params or [], "responses": responses}
    if security is not None:
        op["security"] = security
    if body is not None:
        op["requestBody"] = body
    return op


def _json_body(schema: dict, required: bool = True) -> dict:
    return {"required": required, "content": {JSON: {"schema": schema}}}


def _listed(*values: str) -> dict:
    """A comma-separated list of ``values`` as the server reads it: each part, stripped of
    spaces, is one of them or empty."""
    one = "(?:" + "|".join(values) + r")\s*"
    return {"type": "string", "pattern": rf"^\s*(?:{one})?(?:,\s*(?:{one})?)*$"}


def _limit(most: int, default: int) -> dict:
    return _query("limit", {"type": "integer", "minimum": 1, "maximum": most,
                            "default": default},
                  f"The number of entries, at most {most} (a larger value is refused).")


# --- alerts (twin/server/alerts/routes.py) -------------------------------------------

_ALERT_ID = _path("id", {"type": "integer", "minimum": 0}, "The alert's id.")
_RULE_ID = _path("id", {"type": "string"}, "The rule's id.")
_RULE = {"type": "object", "description": "An alert rule (see README, alerts)."}


def alert_paths() -> dict[str, dict]:
    texts = {"state": "Comma-separated states.", "severity": "Comma-separated CAP "
             "severities.", "kind": "Comma-separated rule kinds."}
    filters = [*[_query(n, _listed(*values), texts.get(n, f"Comma-separated {n} values."))
                 for n, values in ALERT_VALUES.items()],
               *[_query(n, _TEXT, f"Comma-separated {n} values.")
                 for n in ("rule_id", "area", "agency", "subject")],
               {**_DATETIME, "description": "Alerts active at some moment of it."},
               _limit(1000, 100)]
    listing = {"type": "object", "required": ["alerts", "numberReturned"],
               "properties": {"alerts": {"type": "array", "items": _OBJECT},
                              "numberReturned": {"type": "integer", "minimum": 0}}}
    writes = _errors(400, 401, 403, 404, 409, 413, 415, 503)
    rule_writes = {k: v for k, v in writes.items() if k != "404"}
    return {
        "/alerts": {"get": _op("Alerts, newest first", "alerts", "listAlerts",
                               {"200": _ok("The alerts.", JSON, listing),
                                **_errors(400, 503)}, filters)},
        "/alerts/{id}": {"get": _op("An alert with its transitions", "alerts", "getAlert",
                                    {"200": _ok("The alert.", JSON), **_errors(404, 503)},
                                    [_ALERT_ID])},
        "/alerts/{id}/acknowledge": {"post": _op(
            "Acknowledge an alert (a role the rule names, or an admin)", "alerts",
            "acknowledgeAlert", {"200": _ok("The acknowledged alert.", JSON), **writes},
            [_ALERT_ID], SECURED,
            _json_body({"type": "object", "properties": {"note": _TEXT}}, required=False))},
        "/alerts/rules": {
            "get": _op("Alert rules", "alerts", "listAlertRules",
                       {"200": _ok("The rules.", JSON, {
                           "type": "object", "required": ["rules"],
                           "properties": {"rules": {"type": "array", "items": _OBJECT}}}),
                        **_errors(503)}),
            "post": _op("Create an alert rule (an admin, or for an agency's own rules)",
                        "alerts", "createAlertRule",
                        {"201": _ok("The rule as stored.", JSON), **rule_writes},
                        security=SECURED, body=_json_body(_RULE))},
        "/alerts/rules/{id}": {
            "get": _op("An alert rule", "alerts", "getAlertRule",
                       {"200": _ok("The rule.", JSON), **_errors(404, 503)}, [_RULE_ID]),
            "put": _op("Replace an alert rule", "alerts", "replaceAlertRule",
                       {"200": _ok("The rule as stored.", JSON), **writes}, [_RULE_ID],
                       SECURED, _json_body(_RULE)),
            "patch": _op("Change an alert rule (JSON merge patch)", "alerts",
                         "updateAlertRule", {"200": _ok("The rule as stored.", JSON),
                                             **writes}, [_RULE_ID], SECURED,
                         {"required": True, "content": {
                             "application/merge-patch+json": {"schema": _OBJECT},
                             JSON: {"schema": _OBJECT}}}),
            "delete": _op("Delete an alert rule (disabled when it raised alerts)",
                          "alerts", "deleteAlertRule",
                          {"200": _ok("The rule deleted or disabled.", JSON),
                           **_errors(401, 403, 404, 409, 503)}, [_RULE_ID], SECURED)},
    }


# --- delivery (twin/server/notify/) --------------------------------------------------

def notify_paths() -> dict[str, dict]:
    readable = _errors(401, 403, 503)  # the alerts layer's access.read decides
    cap_id = _path("id", {"type": "integer", "minimum": 0, "maximum": 10**18 - 1},
                   "The alert's id.")
    admin = _errors(400, 401, 403, 503)
    return {
        "/alerts/stream": {"get": _op(
            "Alert transitions as they happen (Server-Sent Events)", "notify",
            "alertStream",
            {"200": {"description": "An endless event stream: one 'alert' event per "
                                    "transition, its id the transition's id; heartbeat "
                                    "comments in between.",
                     "content": {SSE: {"schema": _TEXT}}},
             **readable, **_errors(400)},
            [{"name": "Last-Event-ID", "in": "header", "required": False,
              "schema": {"type": "string", "pattern": "^[0-9]*$"},
              "description": "Resume after this event (as EventSource sends it)."}],
            OPTIONAL)},
        "/alerts/cap": {"get": _op(
            "The active alerts as an Atom feed of CAP 1.2 messages", "notify", "alertFeed",
            {"200": _ok("An Atom feed; each entry carries a CAP message.", ATOM, _TEXT),
             **readable}, security=OPTIONAL)},
        "/alerts/{id}/cap": {"get": _op(
            "An alert as a CAP 1.2 message", "notify", "alertCap",
            {"200": _ok("The CAP message of the alert's latest transition.", CAP, _TEXT),
             **readable, **_errors(400, 404)}, [cap_id], OPTIONAL)},
        "/admin/deliveries": {"get": _op(
            "Deliveries of alerts and subscriptions, newest first (admin)", "notify",
            "listDeliveries",
            {"200": _ok("The deliveries with their last attempts.", JSON, {
                "type": "object", "required": ["deliveries", "numberReturned"],
                "properties": {"deliveries": {"type": "array", "items": _OBJECT},
                               "numberReturned": {"type": "integer", "minimum": 0},
                               "numberMatched": {"type": "integer", "minimum": 0}}}),
             **admin},
            [_query("status", {"type": "string", "enum": list(STATUSES)}, "Status."),
             _query("channel", {"type": "string", "enum": list(CHANNELS)}, "Channel."),
             _limit(1000, 100),
             _query("offset", {"type": "integer", "minimum": 0, "maximum": 10_000_000},
                    "Entries skipped.")], SECURED)},
        "/admin/deliveries/{id}/retry": {"post": _op(
            "Retry a dead letter now (admin)", "notify", "retryDelivery",
            {"202": _ok("The delivery, pending again.", JSON),
             **admin, **_errors(404, 409)},
            [_path("id", {"type": "integer", "minimum": 0, "maximum": 10**18 - 1},
                   "The delivery's id.")], SECURED)},
    }


# --- subscriptions (twin/server/subscriptions/routes.py) ------------------------------
SUBSCRIPTION_MESSAGES = (
    "Each delivery (a signed webhook POST, or an MQTT message on the topic) is JSON "
    "{type: layer.changes, subscription, layer, cursor, features}: the change feed's "
    "features, each with change.action created / updated (put the feature: an update "
    "that enters the bbox or filter comes as created), deleted (a tombstone: remove it) "
    "or left (a tombstone: the feature no longer matches the bbox or filter; remove it "
    "from the copy, it still exists in the layer). An update that stays outside sends "
    "nothing. {type: layer.pruned, pruned_before, cursor} says changes were removed by "
    "the change log's retention before they were delivered: copy the layer again.")


def subscription_paths() -> dict[str, dict]:
    sub_id = _path("id", {"type": "string"}, "The subscription's id.")
    body = {"type": "object", "required": ["layer"],
            "properties": {"layer": _TEXT,
                           "bbox": {"type": "array", "minItems": 4, "maxItems": 4,
                                    "items": {"type": "number"}},
                           "filter": {}, "filter-lang": {"type": "string",
                                                         "enum": ["cql2-text", "cql2-json"]},
                           "webhook": _TEXT, "mqtt": {"type": "boolean"}}}
    return {
        "/subscriptions": {
            "post": {"description": SUBSCRIPTION_MESSAGES, **_op(
                        "Subscribe to a layer's changes", "subscriptions",
                        "createSubscription",
                        {"201": {**_ok("The subscription, with its webhook secret (shown "
                                       "this once) or MQTT topic.", JSON),
                                 "headers": {"Location": {"schema": _TEXT}}},
                         **_errors(400, 401, 404, 413, 415, 503)},
                        security=SECURED, body=_json_body(body))},
            "get": _op("The caller's subscriptions (an admin's: all)", "subscriptions",
                       "listSubscriptions",
                       {"200": _ok("The subscriptions.", JSON), **_errors(401, 503)},
                       security=SECURED)},
        "/subscriptions/{id}": {
            "get": _op("A subscription (its owner or an admin)", "subscriptions",
                       "getSubscription", {"200": _ok("The subscription.", JSON),
                                           **_errors(401, 404, 503)}, [sub_id], SECURED),
            "delete": _op("End a subscription (its owner or an admin)", "subscriptions",
                          "deleteSubscription", {"204": {"description": "Deleted."},
                                                 **_errors(401, 404, 503)},
                          [sub_id], SECURED)},
    }


# --- records: DCAT and change feeds (twin/server/records/) ----------------------------

def dcat_path() -> dict[str, dict]:
    return {"/catalogue/dcat": {"get": _op(
        "The catalogue as DCAT-AP (JSON-LD)", "records", "dcatCatalogue",
        {"200": _ok("A DCAT catalogue of the datasets the caller may see.", JSONLD),
         **_NOT_MODIFIED, **_errors(400, 503)}, [_format("jsonld", "json"), _LANG],
        OPTIONAL)}}


def changes_path(name: str) -> dict[str, dict]:
    return {f"/collections/{name}/changes": {"get": _op(
        f"Changes of {name} in commit order", "records", f"{name}.changes",
        {"200": {"description": "The changes as GeoJSON features (a deletion: its id "
                                "only), a cursor to resume from, a next link while full.",
                 "content": {GEOJSON: {"schema": {
                     "type": "object", "required": ["type", "features", "cursor"],
                     "properties": {"type": {"type": "string", "enum": ["FeatureCollection"]},
                                    "features": {"type": "array", "items": _OBJECT},
                                    "cursor": _TEXT}}},
                             HTML: {"schema": _TEXT}}},
         **_NOT_MODIFIED, **_errors(400, 404, 503), "410": {
             **_errors(404)["404"], "description": (
                 "The changes after this cursor or since were removed by the change "
                 "log's retention "
                 "(TWIN_CHANGES_KEEP_DAYS): copy the layer again from its items, then "
                 "follow the feed since the copy.")}},
        [_query("since", _TEXT, "Changes after this RFC 3339 instant (not with cursor)."),
         _query("cursor", _TEXT, "Changes after this cursor of an earlier page."),
         _query("bbox", {"type": "array", "minItems": 4, "maxItems": 6,
                         "items": {"type": "number"}}, "Only changes inside (CRS84)."),
         _query("limit", {"type": "integer", "minimum": 1},
                "The page size; a larger one than the maximum is capped."),
         _format("json", "geojson", "html"), _LANG], OPTIONAL)}}


# --- smaller routes ------------------------------------------------------------------

def misc_paths() -> dict[str, dict]:
    return {
        "/auth/whoami": {"get": _op(
            "Who the server takes the caller to be", "operations", "whoami",
            {"200": _ok("The caller's subject, agency, roles and how they signed in.", JSON,
                        {"type": "object", "required": ["roles", "authenticated"],
                         "properties": {"subject": {**_TEXT, "nullable": True},
                                        "agency": {**_TEXT, "nullable": True},
                                        "roles": {"type": "array", "items": _TEXT},
                                        "method": {**_TEXT, "nullable": True},
                                        "authenticated": {"type": "boolean"}}})},
            security=OPTIONAL)},
        "/viewer/": {"get": _op(
            "The viewer's page without the slash", "viewer", "viewerSlash",
            {"308": {"description": "Permanent redirect to /viewer.",
                     "headers": {"Location": {"schema": _TEXT}}}})},
        "/viewer/config.json": {"get": _op(
            "The viewer's configuration", "viewer", "viewerConfig",
            {"200": _ok("Layers, series, styles and URLs the viewer uses.", JSON),
             **_errors(400)}, [_format("json")])},
        "/rasters/{externalId}.tif": {"get": _op(
            "A raster step as a Cloud-Optimized GeoTIFF", "maps", "rasterCog",
            {"200": _ok("The COG (HTTP range requests supported).",
                        f"{GEOTIFF}; profile=cloud-optimized", _BINARY),
             "206": _ok("A byte range of the COG.", f"{GEOTIFF}; profile=cloud-optimized",
                        _BINARY),
             **_errors(404, 503)},
            [_path("externalId", _TEXT, "The raster step's id (from the coverage's "
                                        "links).")])},
    }


def map_tileset_path(name: str) -> dict[str, dict]:
    return {f"/collections/{name}/map/tiles/{{tms}}": {"get": _op(
        f"Map tileset metadata of {name}", "maps", f"{name}.maptileset",
        {"200": _ok("Tileset metadata.", JSON), **_errors(400, 404)},
        [_TMS, _format("json")])}}


def job_dismissal() -> dict:
    """DELETE /jobs/{jobId} (twin/server/processes/routes.py): its owner (an API key, a
    token or the anonymous client that started it) or an admin."""
    return _op("Dismiss a job (its owner or an admin)", "server", "dismissJob",
               {"200": _ok("The job's status, dismissed.", JSON),
                **_errors(401, 403, 404, 503)},
               [_path("jobId", _TEXT, "The job's id.")], OPTIONAL)


def edr_item(name: str) -> dict:
    """One station of an EDR collection as a GeoJSON feature (twin/server/edr/routes.py)."""
    return _op(f"A location of {name} as a feature", "edr", f"{name}.item",
               {"200": _ok("The station.", GEOJSON), **_errors(400, 404, 503)},
               [_path("featureId", _TEXT, "The station's id."),
                _format("geojson", "covjson", "coveragejson", "json"), _LANG])


def add_service_paths(doc: dict[str, Any], config: dict, registry: Registry
                      ) -> dict[str, Any]:
    """``doc`` (with :mod:`.openapi_twin`'s paths) with the operations above (in place)."""
    paths = doc.setdefault("paths", {})
    for block in (alert_paths, notify_paths, subscription_paths, dcat_path, misc_paths):
        paths.update(block())
    for alias in ("/tileMatrixSets", "/tileMatrixSets/{tms}"):
        if alias in paths:
            get = paths[alias]["get"]
            paths["/T" + alias[2:]] = {"get": {**get, "operationId": get["operationId"] + "Alias",
                                               "summary": get["summary"] + " (alias)"}}
    for layer in registry.tables():
        if can_read(layer, ANONYMOUS) and f"/collections/{layer.name}" in paths:
            paths.update(changes_path(layer.name))
    for name, res in config.get("resources", {}).items():
        types = {p.get("type") for p in res.get("providers", [])}
        if "coverage" in types:
            paths.update(map_tileset_path(name))
        if "edr" in types and f"/collections/{name}/items" in paths:
            paths.setdefault(f"/collections/{name}/items/{{featureId}}", {})["get"] = \
                edr_item(name)
    if "/jobs/{jobId}" in paths:
        paths["/jobs/{jobId}"]["delete"] = job_dismissal()
    tags = doc.setdefault("tags", [])
    tags.extend({"name": t, "description": d} for t, d in TAGS.items()
                if t not in {tag["name"] for tag in tags})
    return doc
