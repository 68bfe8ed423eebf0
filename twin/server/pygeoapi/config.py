"""pygeoapi's configuration and OpenAPI document, generated at start-up.

Nothing here reads the environment or a pygeoapi YAML file: the configuration is
built from the layer registry, the settings, the extents in the database and
``config/server.yaml`` (server metadata), validated against pygeoapi's own JSON
schema, and handed to :class:`pygeoapi.api.API` by the bridge. The OpenAPI
document is generated from that configuration with :func:`pygeoapi.openapi.get_oas`,
then trimmed to what twin actually serves.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from copy import deepcopy
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

import yaml
from jsonschema.exceptions import ValidationError
from pydantic import BaseModel
from pydantic import ValidationError as ModelError

from twin.config import REPO_ROOT
from twin.registry import Layer, Registry
from twin.server import blocks
from twin.server.auth.policy import can_read
from twin.server.auth.principal import ANONYMOUS
from twin.server.features.extents import load_extents_with
from twin.server.features.params import ITEM_FORMATS
from twin.server.params.crs import CRS84_URI, crs_uri, supported_uris
from twin.server.params.values import DEFAULT_LIMIT, MAX_LIMIT
from twin.server.pygeoapi.languages import languages_section, layer_texts, link_title
from twin.server.state import ServerState

log = logging.getLogger("twin.server")

DEFAULT_SERVER_FILE = REPO_ROOT / "config" / "server.yaml"
# twin's own HTML pages: its templates over pygeoapi's, its static files (twin's CSS and
# script, the vendored Leaflet): nothing a page loads comes from outside the server.
TEMPLATES = {"path": str(Path(__file__).parent / "templates"),
             "static": str(Path(__file__).parent / "static")}
PROVIDER = "twin.server.pygeoapi.provider.TwinProvider"
OGC_REL = "http://www.opengis.net/def/rel/ogc/1.0"
GREGORIAN = "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"
# No basemap unless config/server.yaml names a tile server (the pages' maps draw their
# features on a plain background, so they work offline and on an intranet).
DEFAULT_MAP = {"url": "", "attribution": ""}
# twin's OGC routes are read-only: pygeoapi also documents POST (CQL2 JSON) and OPTIONS
# on items, and PUT/DELETE for editable collections, which twin does not serve (yet).
UNSERVED_METHODS = {"post", "put", "patch", "delete", "options"}
UNSERVED_PATHS = ("/admin", "/stac", "/asyncapi")


class ConfigError(ValueError):
    """The generated pygeoapi configuration or config/server.yaml is invalid; the
    message names the file or the configuration path and what is wrong."""


# --- config/server.yaml ------------------------------------------------------------

def load_server_file(path: Path = DEFAULT_SERVER_FILE) -> dict[str, Any]:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: cannot read the server configuration: {exc}") from exc
    if not isinstance(raw, dict) or not isinstance(raw.get("metadata"), dict):
        raise ConfigError(f"{path}: must be a YAML mapping with a 'metadata' section")
    return raw


def server_options[Options: BaseModel](state: ServerState, section: str,
                                       model: type[Options]) -> Options:
    """The optional ``section`` of config/server.yaml (``coverages:``, ``edr:``) as
    ``model``, its defaults where the file says nothing; a ConfigError names the file,
    the section and what is wrong."""
    path = state.settings.server_config
    try:
        return model(**(load_server_file(path).get(section) or {}))
    except (ModelError, TypeError) as exc:
        raise ConfigError(f"{path}: invalid {section} section: {exc}") from None


def _limits(server: dict, path: Path) -> dict[str, Any]:
    limits = {"default_items": DEFAULT_LIMIT, "max_items": MAX_LIMIT, "on_exceed": "throttle",
              **(server.get("limits") or {})}
    if not isinstance(limits["max_items"], int) or not 1 <= limits["max_items"] <= MAX_LIMIT:
        raise ConfigError(f"{path}: limits.max_items must be an integer in 1..{MAX_LIMIT} "
                          "(twin's own maximum page size)")
    if not isinstance(limits["default_items"], int) or \
            not 1 <= limits["default_items"] <= limits["max_items"]:
        raise ConfigError(f"{path}: limits.default_items must be an integer in "
                          f"1..limits.max_items")
    return limits


# --- extents -----------------------------------------------------------------------

def load_extents_sync(state: ServerState, timeout: float = 10.0) -> dict[str, dict]:
    """Each layer's CRS84 bbox and time interval, as
    :func:`twin.server.features.extents.load_extents` computes them, read with the sync
    pool (the bridge needs them before the lifespan runs). If the database cannot be
    reached, the plausible extent stands in and the server still starts; the message
    says so."""
    import psycopg
    from psycopg_pool import PoolTimeout

    try:
        with state.db.sync.connection(timeout=timeout) as conn, conn.cursor() as cur:
            out = load_extents_with(cur, state)
    except (psycopg.OperationalError, PoolTimeout) as exc:
        log.warning("extents not read (%s); collections advertise the plausible extent", exc)
        return {layer.name: {"bbox": list(state.settings.plausible_extent),
                             "interval": [None, None]} for layer in state.registry}
    return out


def _moment(value: str | None, end: bool = False) -> datetime | None:
    """An extent bound as pygeoapi needs it: a timezone-aware datetime (it rejects a
    ``datetime`` parameter outside these), or None for an open end. A date covers its
    whole day, as in twin's ``datetime`` filter."""
    if value is None:
        return None
    if len(value) <= 10:
        return datetime.combine(date.fromisoformat(value), time(23, 59, 59) if end else time.min,
                                tzinfo=UTC)
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def extents_section(layer: Layer, extent: dict) -> dict[str, Any]:
    out: dict[str, Any] = {"spatial": {"bbox": [float(v) for v in extent["bbox"]],
                                       "crs": CRS84_URI}}
    if layer.time_field or layer.history or layer.validity:
        begin, end = extent.get("interval") or [None, None]
        out["temporal"] = {"begin": _moment(begin), "end": _moment(end, end=True),
                           "trs": GREGORIAN}
    return out


# --- sections ----------------------------------------------------------------------

def server_section(state: ServerState, server: dict, path: Path) -> dict[str, Any]:
    out = {
        "bind": {"host": state.settings.host, "port": state.settings.port},
        "url": state.base_url.rstrip("/"),
        "mimetype": "application/json; charset=UTF-8",
        "encoding": "utf-8",
        "languages": languages_section(state, server),
        "limits": _limits(server, path),
        "map": {**DEFAULT_MAP, **(server.get("map") or {})},
        "pretty_print": bool(server.get("pretty_print", False)),
        "admin": False,
    }
    # config/server.yaml may point either at other templates or static files
    out["templates"] = {**TEMPLATES, **(server.get("templates") or {})}
    return out


def metadata_section(state: ServerState, server: dict) -> dict[str, Any]:
    meta = deepcopy(server["metadata"])
    ident = meta.setdefault("identification", {})
    ident.setdefault("url", state.base_url.rstrip("/") + "/")
    ident.setdefault("keywords", [])
    ident.setdefault("description", ident.get("title", ""))
    meta.setdefault("provider", {"name": ident.get("title", "twin")})
    meta.setdefault("contact", {"name": meta["provider"].get("name", "twin")})
    meta.setdefault("license", {"name": "unspecified"})
    return meta


def tile_links(state: ServerState, layer: Layer) -> list[dict]:
    """pygeoapi links to tiles only for a ``tile`` provider it can load; twin's tiles
    routes serve every layer regardless, so the collection document links to them."""
    return [{
        "type": "application/json", "rel": f"{OGC_REL}/tilesets-vector",
        "title": link_title(layer, "tilesets-vector"),
        "href": state.url(f"collections/{layer.name}/tiles"),
    }, {
        "type": "application/json", "rel": f"{OGC_REL}/styles",
        "title": link_title(layer, "styles"),
        "href": state.url(f"collections/{layer.name}/styles"),
    }]


def provider_entry(layer: Layer, source: str, offered: Sequence[int] = ()) -> dict[str, Any]:
    """pygeoapi's provider of ``layer``; ``offered``: the city's CRS codes."""
    entry: dict[str, Any] = {
        "type": "feature",
        "name": PROVIDER,
        "data": {"layer": layer.name, "source": source},
        "id_field": "external_id",
        "editable": False,
        "crs": supported_uris(layer.srid, offered),
        "storage_crs": crs_uri(layer.srid),
    }
    if layer.time_field:
        entry["time_field"] = layer.time_field
    if any(f.name == "name" for f in layer.public_fields()):
        entry["title_field"] = "name"
    return entry


def resource(state: ServerState, layer: Layer, source: str) -> dict[str, Any]:
    return {
        "type": "collection",
        **layer_texts(layer),
        "links": tile_links(state, layer),
        "extents": extents_section(layer, state.extents[layer.name]),
        "providers": [provider_entry(layer, source, state.settings.city.offered_epsg)],
    }


def logging_section(server: dict) -> dict[str, Any]:
    return {"level": "ERROR", **(server.get("logging") or {})}


# --- the whole configuration -------------------------------------------------------

def build_config(state: ServerState, source: str,
                 server_file: Path = DEFAULT_SERVER_FILE) -> dict[str, Any]:
    """The pygeoapi configuration dict for this registry and database, validated.

    ``source`` is the key under which the bridge registered the database and registry
    with :mod:`twin.server.pygeoapi.provider` (the configuration never holds a DSN: pygeoapi
    hands its configuration to every HTML template)."""
    server = load_server_file(server_file)
    if not state.extents:
        state.extents = load_extents_sync(state)
    config = {
        "server": server_section(state, server, server_file),
        "logging": logging_section(server),
        "metadata": metadata_section(state, server),
        # pygeoapi serves the anonymous view: layers the public may not read are left out
        # (twin's own routes serve them to the roles that may).
        "resources": {layer.name: resource(state, layer, source) for layer in state.registry
                      if can_read(layer, ANONYMOUS)},
    }
    # Beyond the layers, the resources of the building blocks pygeoapi describes (EDR
    # collections, processes, coverages): twin.server.blocks, ``resources``.
    for module in blocks.modules("resources"):
        added = module.resources(state, source)
        config["resources"].update(added)
        manager = getattr(module, "manager", None)  # the processes' job manager
        if manager is not None and any(r.get("type") == "process" for r in added.values()):
            config["server"]["manager"] = manager(state)  # runs processes and keeps jobs
    validate(config, server_file)
    return config


def validate(config: dict, origin: Path | str = "generated configuration") -> None:
    """Check ``config`` against pygeoapi's configuration schema; a ConfigError names the
    offending path, e.g. ``resources/land_parcels/extents/spatial/bbox``."""
    from pygeoapi.config import validate_config
    from pygeoapi.l10n import LocaleError, get_locales

    try:
        validate_config(config)
    except ValidationError as exc:
        where = "/".join(str(p) for p in exc.absolute_path) or "(top level)"
        raise ConfigError(f"pygeoapi configuration (from {origin} and layers/*.yaml) is "
                          f"invalid at {where}: {exc.message}") from None
    try:
        get_locales(config)
    except LocaleError:
        raise ConfigError(f"{origin}: languages must be locale codes such as en-US, vi-VN; "
                          f"got {config['server'].get('languages')}") from None


# --- OpenAPI -----------------------------------------------------------------------

def openapi_document(config: dict, registry: Registry) -> dict[str, Any]:
    """pygeoapi's OpenAPI 3.0 document for ``config``, trimmed to what twin serves (no
    POST/OPTIONS on items, no processes/jobs/admin) and completed with twin's item
    formats and filter parameters."""
    from pygeoapi.openapi import get_oas

    doc = get_oas(deepcopy(config), fail_on_invalid_collection=True)
    doc["paths"] = oas30_schemas(served_paths(doc.get("paths", {})))
    for layer in registry:
        items = doc["paths"].get(f"/collections/{layer.name}/items", {}).get("get")
        if items:
            providers = config["resources"].get(layer.name, {}).get("providers", [{}])
            items["parameters"] = items_parameters(items["parameters"], layer,
                                                   providers[0].get("crs"))
    used = {tag for ops in doc["paths"].values() for op in ops.values()
            if isinstance(op, dict) for tag in op.get("tags", [])}
    doc["tags"] = [t for t in doc.get("tags", []) if t["name"] in used]
    from twin.server.pygeoapi.openapi_answers import answers_of
    from twin.server.pygeoapi.openapi_components import localise
    from twin.server.pygeoapi.openapi_services import add_service_paths
    from twin.server.pygeoapi.openapi_twin import add_twin_paths

    # self-contained (no $ref to schemas.opengis.net), then twin's own routes added, then
    # every answer described as twin gives it (formats, media types, error statuses)
    return answers_of(add_service_paths(add_twin_paths(localise(doc), config, registry),
                                        config, registry), config)


def oas30_schemas(node: Any) -> Any:
    """Process descriptions use JSON Schema's ``contentMediaType``/``contentEncoding`` for
    file outputs; OpenAPI 3.0 schemas know neither, so they become ``format: binary``."""
    if isinstance(node, list):
        return [oas30_schemas(v) for v in node]
    if not isinstance(node, dict):
        return node
    out = {k: oas30_schemas(v) for k, v in node.items()
           if k not in ("contentMediaType", "contentEncoding")}
    if "contentMediaType" in node and out.get("type") == "string":
        out["format"] = "binary"
    return out


def served_paths(paths: dict[str, dict]) -> dict[str, dict]:
    out = {}
    for path, ops in paths.items():
        kept = {m: op for m, op in ops.items() if m not in UNSERVED_METHODS
                or (m == "post" and path.endswith("/execution"))}
        if kept and not path.startswith(UNSERVED_PATHS):
            out[path] = kept
    return out


def items_parameters(params: list[dict], layer: Layer,
                     crs_uris: list[str] | None = None) -> list[dict]:
    """twin's items route: its formats, the CQL2 filter parameters, no free-form vendor
    parameters (an unknown parameter is a 400) and no filter on computed columns."""
    out = []
    for p in params:
        if p.get("$ref", "").endswith("/vendorSpecificParameters"):
            continue
        if p.get("name") == layer.measure_column:
            continue
        if p.get("name") == "f":
            p = deepcopy(p)
            p["schema"]["enum"] = sorted(name for fmt in ITEM_FORMATS for name in fmt.names)
        out.append(p)
    return [*out,
            _query_param("filter", "A CQL2 filter on the queryables "
                         "(see /collections/{collectionId}/queryables).", {"type": "string"}),
            _query_param("filter-lang", "The language of the filter.",
                         {"type": "string", "enum": ["cql2-text", "cql2-json"],
                          "default": "cql2-text"}),
            _query_param("filter-crs", "The CRS of geometry literals in the filter.",
                         {"type": "string", "format": "uri",
                          "enum": crs_uris or supported_uris(layer.srid)})]


def _query_param(name: str, description: str, schema: dict) -> dict:
    return {"name": name, "in": "query", "required": False, "description": description,
            "schema": schema, "style": "form", "explode": False}


# --- logging -----------------------------------------------------------------------

@contextmanager
def root_logging_untouched() -> Iterator[None]:
    """pygeoapi's API() calls logging.basicConfig, which would give the root logger a
    handler and level of pygeoapi's choosing; twin's CLI owns the root logger."""
    root = logging.getLogger()
    level, guard = root.level, logging.NullHandler()
    root.addHandler(guard)
    try:
        yield
    finally:
        root.removeHandler(guard)
        root.setLevel(level)


def configure_pygeoapi_logging(section: dict) -> None:
    """Apply the ``logging`` section to pygeoapi's own loggers only."""
    logger = logging.getLogger("pygeoapi")
    logger.setLevel(section.get("level", "ERROR"))
    if section.get("logfile") and not any(isinstance(h, logging.FileHandler)
                                          for h in logger.handlers):
        handler = logging.FileHandler(section["logfile"], encoding="utf-8")
        handler.setFormatter(logging.Formatter(section.get(
            "logformat", "[%(asctime)s] %(name)s %(levelname)s - %(message)s")))
        logger.addHandler(handler)
