"""Cross-origin reads and writes (CORS) for every route, web maps on other origins
included (MapLibre, OpenLayers, a developer's localhost).

Starlette's CORSMiddleware, placed outside authentication: a preflight (``OPTIONS`` with
``Origin`` and ``Access-Control-Request-Method``) is answered here, before any route, so
the edit routes' own ``OPTIONS`` (an ``Allow`` header for QGIS) still answers plain
``OPTIONS`` and a browser's preflight alike works. With the default ``*`` no credentials
(cookies) are allowed; API keys and bearer tokens travel as allowed request headers.
"""

from __future__ import annotations

from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware

from twin.server.errors import RETRY_AFTER
from twin.server.replicas import LSN_HEADER

METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
REQUEST_HEADERS = ("X-API-Key", "Authorization", "Content-Type", "If-Match", "If-None-Match",
                   "Prefer", "Accept", "Accept-Language", "Content-Crs", LSN_HEADER)
EXPOSED = ("ETag", "Location", "Content-Crs", "Link", "OGC-NumberMatched", RETRY_AFTER,
           "Preference-Applied", "Content-Disposition",
           LSN_HEADER)   # read-your-writes for pages on other origins (replicas)


def origins(setting: str) -> list[str]:
    """The ``cors_origins`` setting as a list: ``*`` or comma-separated origins."""
    return [o.strip().rstrip("/") for o in setting.split(",") if o.strip()]


def cors_middleware(setting: str, api_key_header: str = "X-API-Key") -> Middleware:
    allowed = origins(setting)
    anyone = "*" in allowed
    headers = list(dict.fromkeys((api_key_header, *REQUEST_HEADERS)))
    return Middleware(CORSMiddleware, allow_origins=["*"] if anyone else allowed,
                      allow_credentials=not anyone, allow_methods=list(METHODS),
                      allow_headers=headers, expose_headers=list(EXPOSED), max_age=600)
