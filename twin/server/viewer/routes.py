"""The web viewer: ``/viewer`` (the page), ``/viewer/config.json`` (what it starts from)
and ``/viewer/static/...`` (its scripts, styles and the vendored MapLibre GL JS).

Everything the page loads comes from this server: no CDN, no basemap, no glyphs, so it
works with no internet access. The page is served in the language the request negotiates
(``lang=`` over ``Accept-Language`` over the city's default, ``twin.i18n.
request_language``): ``<html lang>`` and the city's names are written into it, and its
scripts (``static/js/i18n.js``) take the texts from there. Unknown assets are 404 and
paths that try to leave the static folder (``..``) are 400, both as OGC exception
documents.
"""

from __future__ import annotations

import html
from pathlib import Path, PurePosixPath

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from twin.i18n import content_language, request_language
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


def page_html(template: str, state: ServerState, lang: str) -> str:
    """The page in ``lang``: ``<html lang>``, the negotiated language and the city's names
    (the scripts switch languages without asking the server again)."""
    city = state.settings.city
    names = {code: html.escape(city.title(code), quote=True) for code in ("vi", "en")}
    root = (f'<html lang="{lang}" data-negotiated="{lang}" data-city-vi="{names["vi"]}" '
            f'data-city-en="{names["en"]}">')
    return template.replace('<html lang="vi">', root, 1).replace("%CITY%", names[lang])


def routes(state: ServerState) -> list[BaseRoute]:
    if not (STATIC_DIR / "index.html").is_file():
        raise RuntimeError(f"the viewer's files are missing from {STATIC_DIR}: the package "
                           "was installed without its package data")
    template = (STATIC_DIR / "index.html").read_text(encoding="utf-8")

    async def page(request: Request) -> Response:
        lang = request_language(request.query_params, request.headers,
                                state.settings.city.language)
        return HTMLResponse(page_html(template, state, lang), headers={
            "Cache-Control": CACHE_CONTROL, "Content-Language": content_language(lang),
            "Vary": "Accept-Language"})

    async def config(request: Request) -> Response:
        negotiate(request.query_params, request.headers.get("accept"), (JSON,))
        return JSONResponse(viewer_config(state, _base_url(state, request)),
                            headers={"Cache-Control": CACHE_CONTROL})

    async def slash(_request: Request) -> Response:
        # The page links its assets relative to /viewer; /viewer/ would resolve them wrong.
        return RedirectResponse("../viewer", status_code=308)

    return [
        Route("/viewer", page, methods=["GET"]),
        Route("/viewer/", slash, methods=["GET"]),
        Route("/viewer/config.json", config, methods=["GET"]),
        Mount("/viewer/static", app=ViewerAssets(directory=STATIC_DIR), name="viewer-static"),
    ]
