"""The web viewer: ``/viewer`` (the page), ``/viewer/config.json`` (what it starts from)
and ``/viewer/static/...`` (its scripts, styles and the vendored MapLibre GL JS).

Everything the page loads comes from this server: no CDN, no basemap, no glyphs, so it
works with no internet access. Unknown assets are 404 and paths that try to leave the
static folder (``..``) are 400, both as OGC exception documents.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from twin.server.errors import InvalidParameter, NotFound
from twin.server.params.negotiate import JSON, negotiate
from twin.server.state import ServerState
from twin.server.viewer.config import viewer_config

STATIC_DIR = Path(__file__).parent / "static"
# Revalidated on every load (ETag / Last-Modified answer 304), so an upgrade shows at once.
CACHE_CONTROL = "public, no-cache"


class ViewerAssets(StaticFiles):
    """Starlette's static files (ETag, 304, content types, realpath containment check),
    with twin's errors: a refused or unknown path is an OGC exception document."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        # ``path`` is already normalised (os.path.normpath): a leading ``..`` escapes.
        parts = PurePosixPath(path.replace("\\", "/")).parts
        if ".." in parts or path.startswith(("/", "\\")):
            raise InvalidParameter("a viewer asset path may not leave the static folder")
        try:
            return await super().get_response(path, scope)
        except HTTPException as exc:
            if exc.status_code == 404:
                raise NotFound(f"the viewer has no asset {path!r}") from None
            raise

    def file_response(self, *args, **kwargs) -> Response:
        response = super().file_response(*args, **kwargs)
        response.headers["Cache-Control"] = CACHE_CONTROL
        return response


def _base_url(state: ServerState, request: Request) -> str:
    """Where the page's API calls go: the configured public URL, else the origin the
    browser used (so the viewer works under any host name the server answers to)."""
    return state.settings.public_url or str(request.base_url)


def routes(state: ServerState) -> list[BaseRoute]:
    async def page(_request: Request) -> Response:
        return FileResponse(STATIC_DIR / "index.html", media_type="text/html; charset=utf-8",
                            headers={"Cache-Control": CACHE_CONTROL})

    async def config(request: Request) -> Response:
        negotiate(request.query_params, request.headers.get("accept"), (JSON,))
        return JSONResponse(viewer_config(state, _base_url(state, request)),
                            headers={"Cache-Control": CACHE_CONTROL})

    async def slash(_request: Request) -> Response:
        # The page links its assets relative to /viewer; /viewer/ would resolve them wrong.
        return RedirectResponse("../viewer", status_code=308)

    if not (STATIC_DIR / "index.html").is_file():
        raise RuntimeError(f"the viewer's files are missing from {STATIC_DIR}: the package "
                           "was installed without its package data")
    return [
        Route("/viewer", page, methods=["GET"]),
        Route("/viewer/", slash, methods=["GET"]),
        Route("/viewer/config.json", config, methods=["GET"]),
        Mount("/viewer/static", app=ViewerAssets(directory=STATIC_DIR), name="viewer-static"),
    ]
