"""The HTML pages work offline, look like twin and speak Vietnamese and English (issue 17,
point 7 and "A bilingual twin").

Chromium loads the landing, collections, collection, items and item pages in both
languages with every request that leaves 127.0.0.1 aborted: each map draws its features,
nothing is asked of another host, the console stays clean and no pygeoapi logo shows.
Every template of twin's set is rendered in both languages, and every page the server
serves is fetched in Vietnamese: no English UI word may be left in a Vietnamese page.
Data (titles from the layer files, ids, field names, values, codes, URLs) is marked
``translate="no"`` by the templates and is not checked here.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml
from babel import Locale

from tests.chromium import launched
from twin.server.pygeoapi.bridge import forget_translated_config
from twin.server.pygeoapi.config import DEFAULT_SERVER_FILE, TEMPLATES

TEMPLATE_DIR = Path(TEMPLATES["path"])
STATIC_DIR = Path(TEMPLATES["static"])
LANGS = ("vi", "en")

# Common English words of a web page's furniture; none is Vietnamese, a code or a name.
ENGLISH_WORDS = """
home collections collection items item browse queryables queryable schema conformance
processes process jobs job links link license licence contact description name title
type next previous prev limit default showing search back status started finished
duration progress message results result inputs outputs parameters parameter value
values property properties extent period other formats format language powered view
display tiles coverage data definition document reference systems storage error
exception page terms provider address email telephone hours query queries unit relation
media summary method path the and of with this these service services map viewer styles
style project open details kind features observations records zoom in out no yes
documentation warning recommended higher available bounding box temporal spatial
execution synchronous asynchronous run first see every layer layers draws dashed frame
"""
ENGLISH = frozenset(ENGLISH_WORDS.split())
WORD = re.compile(r"[A-Za-z]+")
# pygeoapi's templates twin does not render (their routes are twin's own, or not served):
# a missing one here would fall back to pygeoapi's, with its CDN assets.
UNSERVED = {
    "admin/index.html",                       # no /admin (server.admin is false)
    "asyncapi.html",                          # no /asyncapi
    "stac/catalog.html", "stac/collection.html", "stac/collection_base.html",
    "stac/item.html",                         # no /stac
    "collections/tiles/index.html", "collections/tiles/metadata.html",
    "tilematrixsets/index.html", "tilematrixsets/tilematrixset.html",  # twin's tiles routes
    "collections/map/metadata.html",          # twin's Maps routes
    "collections/coverage/index.html",        # twin's coverage routes
    "collections/edr/instances.html", "collections/edr/instance.html",  # no EDR instances
}


class Texts(HTMLParser):
    """The human-facing text of a page: text nodes and the title/alt/aria-label/
    placeholder attributes, outside ``translate="no"``, scripts, styles and code. The
    ``<title>`` is left out: it joins the page's data title to texts the page shows (and
    this checks) elsewhere, and an element there cannot be marked."""

    SKIP = frozenset({"script", "style", "code", "pre", "title"})
    VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link",
                      "meta", "source", "track", "wbr"})

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack: list[bool] = []  # per open element: is its content skipped?
        self.texts: list[str] = []

    def skipping(self) -> bool:
        return bool(self.stack) and self.stack[-1]

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        skip = self.skipping() or tag in self.SKIP or attrs.get("translate") == "no"
        if not skip:
            self.texts += [attrs[a] or "" for a in ("title", "alt", "aria-label",
                                                    "placeholder") if a in attrs]
            self.texts += [v or "" for k, v in attrs.items() if k.startswith("data-msg-")]
        if tag not in self.VOID:
            self.stack.append(skip)

    def handle_endtag(self, tag):
        if tag not in self.VOID and self.stack:
            self.stack.pop()

    def handle_data(self, data):
        if not self.skipping():
            self.texts.append(data)


def english_words(html: str) -> set[str]:
    parser = Texts()
    parser.feed(html)
    return {w for text in parser.texts for w in WORD.findall(text) if w.lower() in ENGLISH}


# --- every template, both languages --------------------------------------------------

def sample_config() -> dict:
    metadata = yaml.safe_load(DEFAULT_SERVER_FILE.read_text(encoding="utf-8"))["metadata"]
    return {"server": {"url": "http://127.0.0.1:9", "encoding": "utf-8",
                       "languages": ["vi-VN", "en-US"], "map": {"url": "", "attribution": ""},
                       "limits": {"default_items": 10, "max_items": 10000},
                       "templates": TEMPLATES},
            "metadata": metadata, "resources": {}}


FEATURE = {"type": "Feature", "id": "bs-1", "geometry": {"type": "Point",
                                                        "coordinates": [105.85, 21.03]},
           "properties": {"name": "Bến xe Kim Mã", "shelter": True, "routes": ["09", "34"]}}
LINKS = [{"rel": "alternate", "type": "application/geo+json", "title": "This document as GeoJSON",
          "href": "http://127.0.0.1:9/x?f=json"},
         {"rel": "collection", "type": "application/json", "title": "Bus stops",
          "href": "http://127.0.0.1:9/collections/bus_stops"},
         {"rel": "next", "type": "text/html", "title": "Items (next)",
          "href": "http://127.0.0.1:9/collections/bus_stops/items?offset=10"}]
COLLECTION = {"id": "bus_stops", "title": "Bus stops", "description": "Bus stops.",
              "keywords": ["bus"], "links": LINKS, "itemType": "feature",
              "extent": {"spatial": {"bbox": [[105.7, 20.9, 105.9, 21.1]]},
                         "temporal": {"interval": [["2024-01-01T00:00:00Z", None]]}},
              "crs": ["http://www.opengis.net/def/crs/OGC/1.3/CRS84"],
              "storageCrs": "http://www.opengis.net/def/crs/EPSG/0/4326",
              "collections_path": "http://127.0.0.1:9/collections",
              "data_queries": {"locations": {"link": {"href": "http://127.0.0.1:9/l"}}},
              "parameter_names": {"pm25": {"id": "pm25", "type": "Parameter",
                                           "observedProperty": {"label": {"en": "PM2.5"}},
                                           "unit": {"symbol": {"value": "µg/m³"}}}}}
PATHS = {"collections_path": "http://127.0.0.1:9/collections",
         "dataset_path": "http://127.0.0.1:9/collections/bus_stops",
         "items_path": "http://127.0.0.1:9/collections/bus_stops/items"}
JOB = {"jobID": "j-1", "processID": "flood-exposure", "status": "successful",
       "message": "Job complete", "progress": 100, "started": "2026-01-01T00:00:00Z",
       "finished": "2026-01-01T00:01:00Z", "parameters": '{"a": 1}', "links": LINKS}
PROPS = {"name": {"type": "string", "title": "Tên"}, "geometry": {"$ref": "https://g/p"},
         "kind": {"type": "string", "enum": ["a", "b"], "x-ogc-unit": "m"}}
SAMPLES = {
    "landing_page.html": {"links": LINKS, "collection": True, "process": True, "jobs": True},
    "collections/index.html": {"links": LINKS, "collections": [COLLECTION],
                               "collections_path": PATHS["collections_path"]},
    "collections/collection.html": COLLECTION,
    "collections/items/index.html": {"type": "FeatureCollection", "features": [FEATURE],
                                     "links": LINKS, "numberMatched": 12345,
                                     "numberReturned": 1, "offset": 0, "title_field": "name",
                                     "id_field": "id", **PATHS},
    "collections/items/item.html": {**FEATURE, "links": LINKS, "title_field": "name",
                                    "id_field": "id", **PATHS},
    "collections/queryables.html": {"title": "Bus stops", "properties": PROPS, **PATHS},
    "collections/schema.html": {"title": "Bus stops", "description": "x", "properties": PROPS,
                                **PATHS},
    "collections/edr/query.html": {"type": "FeatureCollection", "features": [FEATURE],
                                   "links": LINKS, "query_type": "locations",
                                   "query_path": "http://127.0.0.1:9/l", **PATHS},
    "conformance.html": {"conformsTo": ["http://www.opengis.net/spec/x/1.0/conf/core"]},
    "exception.html": {"code": "InvalidParameterValue", "description": "bad"},
    "processes/index.html": {"processes": [{"id": "p", "title": "P", "description": "d"}],
                             "links": LINKS},
    "processes/process.html": {"id": "p", "title": "P", "description": "d", "keywords": [],
                               "inputs": {"a": {"title": "A", "description": "d",
                                                "schema": {"type": "string"}}},
                               "outputs": {"o": {"title": "O", "description": "d"}},
                               "jobControlOptions": ["sync-execute", "async-execute"],
                               "links": LINKS},
    "jobs/index.html": {"jobs": {"jobs": [JOB], "links": []}, "offset": 0,
                        "now": "2026-01-01T00:02:00Z"},
    "jobs/job.html": {"jobs": JOB, "now": "2026-01-01T00:02:00Z"},
    "jobs/results/index.html": {"job": {"id": "j-1"}, "result": {"value": 1}},
    "openapi/swagger.html": {"openapi-document-path": "http://127.0.0.1:9/openapi"},
    "openapi/redoc.html": {"openapi-document-path": "http://127.0.0.1:9/openapi"},
}


def pages_of_twin() -> list[str]:
    return sorted(str(p.relative_to(TEMPLATE_DIR)) for p in TEMPLATE_DIR.rglob("*.html")
                  if not p.name.startswith("_"))


def test_twin_overrides_every_template_it_renders():
    import pygeoapi

    theirs = Path(pygeoapi.__file__).parent / "templates"
    rendered = {str(p.relative_to(theirs)) for p in theirs.rglob("*.html")} - UNSERVED
    assert rendered - set(pages_of_twin()) == {"_base.html"}
    assert (TEMPLATE_DIR / "_base.html").is_file()  # every page's frame is twin's
    assert set(pages_of_twin()) == set(SAMPLES)  # each page has a sample below


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_every_template_renders_in_each_language(name, lang):
    from pygeoapi.util import render_j2_template

    forget_translated_config()  # pygeoapi caches the translated configuration per locale
    try:
        html = render_j2_template(sample_config(), TEMPLATES, name, SAMPLES[name],
                                  Locale.parse({"vi": "vi_VN", "en": "en_US"}[lang]))
    finally:
        forget_translated_config()
    assert f'<html lang="{lang}">' in html
    assert "pygeoapi" not in html.lower() and "unpkg" not in html and "cdn" not in html
    assert "<script>" not in html and " on" + "click=" not in html  # no inline script
    if lang == "vi":
        assert english_words(html) == set(), name
    else:
        assert "Trang chủ" not in html


def test_the_text_table_is_complete():
    source = (TEMPLATE_DIR / "_i18n.html").read_text(encoding="utf-8")
    entries = re.findall(r"'(\w+)': \{'vi': '([^']*)', 'en': '([^']*)'\}", source)
    assert len(entries) > 100
    assert all(vi.strip() and en.strip() for _, vi, en in entries)
    used = {k for p in TEMPLATE_DIR.rglob("*.html")
            for k in re.findall(r"\bt\('(\w+)'\)", p.read_text(encoding="utf-8"))}
    assert used <= {k for k, _, _ in entries}


def test_vendored_assets_carry_licence_and_version(http):
    leaflet = STATIC_DIR / "vendor" / "leaflet"
    assert (leaflet / "LICENSE").is_file() and (leaflet / "VERSION").is_file()
    assert "1.9.4" in (leaflet / "VERSION").read_text(encoding="utf-8")
    for asset in ("vendor/leaflet/leaflet.js", "vendor/leaflet/leaflet.css", "css/twin.css",
                  "js/twin-pages.js", "img/icon.svg"):
        response = http.get(f"/static/{asset}")
        assert response.status_code == 200, asset
        assert response.content == (STATIC_DIR / asset).read_bytes()


# --- the pages the server serves, in Vietnamese ------------------------------------------

def served_pages(http) -> list[str]:
    collections = http.get("/collections", params={"f": "json"}).json()["collections"]
    features = [c["id"] for c in collections if c.get("itemType") == "feature"]
    first = http.get(f"/collections/{features[0]}/items",
                     params={"f": "json", "limit": 1}).json()["features"][0]["id"]
    processes = http.get("/processes", params={"f": "json"}).json()["processes"]
    edr = [c["id"] for c in collections  # EDR collections: those with a locations query
           if any(link["href"].split("?")[0].endswith(f"/{c['id']}/locations")
                  for link in c["links"])]
    assert edr
    return ["/", "/collections", "/conformance", "/processes", "/jobs", "/openapi",
            *(f"/collections/{c['id']}" for c in collections),
            f"/collections/{features[0]}/items", f"/collections/{features[0]}/items/{first}",
            f"/collections/{features[0]}/queryables", f"/collections/{features[0]}/schema",
            *(f"/processes/{p['id']}" for p in processes),
            *(f"/collections/{c}/locations" for c in edr)]


def test_no_english_left_in_the_vietnamese_pages(http):
    for path in served_pages(http):
        page = http.get(path, headers={"Accept": "text/html", "Accept-Language": "vi"})
        assert page.status_code == 200, (path, page.text[:300])
        assert page.headers["content-type"].startswith("text/html"), path
        assert '<html lang="vi">' in page.text, path
        assert english_words(page.text) == set(), path
        english = http.get(path, params={"lang": "en"}, headers={"Accept": "text/html"})
        assert '<html lang="en">' in english.text and "Trang chủ" not in english.text, path


def test_the_default_language_is_vietnamese(http):
    page = http.get("/collections", headers={"Accept": "text/html"})
    assert '<html lang="vi">' in page.text and "Lớp dữ liệu" in page.text
    assert page.headers["content-language"].startswith("vi")
    english = http.get("/collections", headers={"Accept": "text/html",
                                                "Accept-Language": "en-GB,en;q=0.8"})
    assert '<html lang="en">' in english.text and "Collections" in english.text
    # lang= wins over Accept-Language
    assert '<html lang="vi">' in http.get("/collections", params={"lang": "vi"}, headers={
        "Accept": "text/html", "Accept-Language": "en"}).text


# --- in a browser, offline ----------------------------------------------------------------

@pytest.fixture(scope="module")
def browser():
    with launched() as chromium:
        yield chromium


def visit(browser, url: str, lang: str) -> tuple[object, list[str], list[str]]:
    """(page, console errors, requests to other hosts) of ``url`` loaded with every
    request outside 127.0.0.1 aborted; the page is left open for the caller to close."""
    context = browser.new_context(locale={"vi": "vi-VN", "en": "en-US"}[lang])
    page = context.new_page()
    errors: list[str] = []
    outside: list[str] = []

    def route(r):
        if r.request.url.startswith("http://127.0.0.1:"):
            r.continue_()
        else:
            outside.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url, wait_until="load")
    return page, errors, outside


@pytest.mark.parametrize("lang", LANGS)
def test_pages_work_offline_with_their_maps(browser, server, http, lang):
    item = http.get("/collections/land_parcels/items",
                    params={"f": "json", "limit": 1}).json()["features"][0]["id"]
    pages = {"/": None, "/collections": None, "/collections/land_parcels": "features",
             "/collections/bus_stops": "features", "/collections/land_parcels/items": "features",
             "/collections/bus_stops/items": "features",
             f"/collections/land_parcels/items/{item}": "features",
             "/collections/dem": "picture"}  # a coverage: its OGC API - Maps PNG
    for path, drawing in pages.items():
        page, errors, outside = visit(browser, server + path, lang)
        try:
            if drawing == "picture":
                page.wait_for_selector(".twin-map[data-pictured='true']", state="attached",
                                       timeout=120_000)
                assert page.locator("img.leaflet-image-layer").evaluate(
                    "img => img.naturalWidth") > 0
            if drawing == "features":
                page.wait_for_selector(".twin-map[data-drawn]", state="attached",
                                       timeout=120_000)
                drawn = int(page.get_attribute(".twin-map", "data-drawn"))
                shapes = page.locator(".leaflet-overlay-pane path.leaflet-interactive").count()
                assert drawn > 0 and shapes >= drawn, (path, drawn, shapes)
                zoom = page.get_attribute(".leaflet-control-zoom-in", "title")
                assert zoom == {"vi": "Phóng to", "en": "Zoom in"}[lang]
            page.wait_for_load_state("networkidle")
            assert errors == [], (path, errors)
            assert outside == [], (path, outside)
            assert page.locator(f'html[lang="{lang}"]').count() == 1
            assert page.locator("img[src*='pygeoapi'], img[src*='logo.png']").count() == 0
            assert page.locator(".brand img[src$='/static/img/icon.svg']").count() == 1
            nav = page.locator("header nav").inner_text()
            assert {"vi": "Bản đồ trực tuyến", "en": "Web viewer"}[lang] in nav
            assert "Contact" not in page.locator("header").inner_text()
            if lang == "vi":  # the page as drawn, its scripts' texts included
                assert english_words(page.content()) == set(), path
        finally:
            page.context.close()


def test_the_items_page_follows_its_links(browser, server):
    """The viewer, the QGIS project and the styles are one click away, and the page-size
    picker keeps the page's language."""
    page, errors, outside = visit(browser, server + "/collections/bus_stops/items?lang=en",
                                  "vi")
    try:
        hrefs = page.eval_on_selector_all("header nav a", "els => els.map(a => a.href)")
        assert {server + "/viewer", server + "/styles", server + "/qgis/project.qgz"} <= set(
            hrefs)
        page.select_option("#limit", "100")
        page.wait_for_url("**limit=100**")
        page.wait_for_selector(".twin-map[data-drawn]", state="attached", timeout=120_000)
        assert page.locator("#items-table tbody tr").count() > 10
        assert page.locator('html[lang="en"]').count() == 1
        switch = page.get_attribute("a[data-lang='vi']", "href")
        assert "lang=vi" in switch and "limit=100" in switch
        assert errors == [] and outside == []
    finally:
        page.context.close()


@pytest.mark.parametrize("lang", LANGS)
def test_collection_titles_follow_the_language(http, lang):
    """The layer files' titles in the page's language, as the JSON documents give them."""
    import html

    titles = [c["title"] for c in http.get("/collections", params={
        "f": "json", "lang": lang}).json()["collections"]]
    page = html.unescape(http.get("/collections", params={"lang": lang},
                                  headers={"Accept": "text/html"}).text)
    assert titles and all(title in page for title in titles)
    items = html.unescape(http.get("/collections/bus_stops/items", params={"lang": lang},
                                   headers={"Accept": "text/html"}).text)
    bus_stops = http.get("/collections/bus_stops", params={"f": "json", "lang": lang}).json()
    assert bus_stops["title"] in items
