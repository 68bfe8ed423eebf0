"""A bilingual twin (issue 17): layers, JSON documents, error descriptions and the QGIS
project in Vietnamese and English.

``lang=`` over ``Accept-Language`` over the city profile's default (Vietnamese). A client
that names no language (httpx sends no ``Accept-Language``) or none twin speaks
(``Accept-Language: *``) gets Vietnamese.
"""

from __future__ import annotations

import html
import io
import re
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import pytest

from twin.i18n import negotiate, request_language
from twin.registry import RegistryError, load_layer
from twin.server.auth.keys import create_key
from twin.server.messages import RULES, localise, translate

NONE = {"Accept-Language": "*"}  # asks for no language twin speaks: the city's default
ROADS = "/collections/road_segments"

# Common English words that have no place in a Vietnamese text (data values, codes,
# parameter names and quoted values are left out before the check). Words that are also
# Vietnamese written without diacritics (an, to, do, in, can, con, tin …), loanwords
# Vietnamese GIS writes as they are (vector, raster, camera) and words that are field
# names messages quote bare (name) are not listed.
ENGLISH = set(re.findall(r"[a-z]+", """
the and of with is are was not must this that from for which found unknown invalid only
may needs should page previous next document items item collection collections schema
queryables station stations road roads segments segment stops stop parcels parcel land
flood traffic signals signal signs sign parking sites site readings reading latest index
quality number date code type value values outside within larger than retry later
already exists credentials forbidden required allowed supported given without between
after before edited read please error internal database unavailable order box latitudes
longitudes interval integer string geometry feature features description title tiles
styles style tilesets definition landing server conformance processes jobs here
by or as at per when where has have been be it its your you use used
"""))
QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")
VIETNAMESE = re.compile("[ăâđêôơưàáảãạằắẳẵặầấẩẫậèéẻẽẹềếểễệìíỉĩịòóỏõọồốổỗộờớởỡợùúủũụừứửữựỳýỷỹỵ]",
                        re.IGNORECASE)


def english_words(text: str) -> set[str]:
    """The common English words in ``text``, quoted values and identifiers left out."""
    words = set()
    for token in re.split(r"[\s,;:()\[\]{}]+", QUOTED.sub(" ", text)):
        token = token.strip(".?!")
        if re.fullmatch(r"[A-Za-z]+", token) and token.lower() in ENGLISH:
            words.add(token)
    return words


def texts(node, keys=("title", "description", "keywords")) -> list[str]:
    """Every human-facing string of a JSON document: under title, description, keywords."""
    out: list[str] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key in keys and isinstance(value, str):
                out.append(value)
            elif key in keys and isinstance(value, list):
                out += [v for v in value if isinstance(v, str)]
            else:
                out += texts(value, keys)
    elif isinstance(node, list):
        for value in node:
            out += texts(value, keys)
    return out


# --- negotiation -------------------------------------------------------------------------

@pytest.mark.parametrize(("lang", "accept", "expected"), [
    (None, None, "vi"), (None, "*", "vi"), (None, "fr-FR,fr;q=0.9", "vi"),
    (None, "en-US,en;q=0.9", "en"), (None, "fr, en;q=0.5, vi;q=0.8", "vi"),
    ("en", "vi-VN", "en"), ("vi", "en", "vi"), ("EN_us", None, "en"), ("de", "en", "en"),
    (None, "en;q=0", "vi"),
])
def test_negotiation_lang_wins_then_accept_language_then_vietnamese(lang, accept, expected):
    assert negotiate(lang, accept) == expected
    assert request_language({"lang": lang} if lang else {},
                            {"accept-language": accept} if accept else {}) == expected


# --- layer files -------------------------------------------------------------------------

def test_every_layer_and_field_has_both_languages(registry):
    for layer in registry:
        where = layer.source_file
        assert layer.title_text.vi and layer.title_text.en, where
        assert layer.title_text.vi != layer.title_text.en, where
        assert layer.description_text.vi and layer.description_text.en, where
        assert layer.keywords_in("vi") and layer.keywords_in("en"), where
        assert layer.title == layer.title_in("vi")  # older users: the default language
        assert not english_words(layer.title_in("vi") + " " + layer.description_in("vi")), \
            (where, english_words(layer.description_in("vi")))
        for spec in layer.fields.values():
            assert spec.description_text.vi and spec.description_text.en, (where, spec.name)
            assert not english_words(spec.description_in("vi")), (where, spec.name)
            assert spec.json_schema(lang="vi")["title"] == spec.description_text.vi


def test_plain_strings_are_both_languages_and_unknown_languages_are_refused(tmp_path):
    path = tmp_path / "wells.yaml"
    path.write_text("title: Giếng\nkeywords: [water, nước]\ngeometry: Point\nfields:\n"
                    "  depth_m: {type: number, description: Độ sâu}\n", encoding="utf-8")
    layer = load_layer(path)
    assert layer.title_in("en") == layer.title_in("vi") == layer.title == "Giếng"
    assert layer.fields["depth_m"].description_in("en") == "Độ sâu"
    assert layer.keywords_in("vi") == ["water", "nước"] and layer.keywords == ("water", "nước")
    path.write_text("title: {vi: Giếng, fr: Puits}\ngeometry: Point\nfields:\n"
                    "  depth_m: {type: number}\n", encoding="utf-8")
    with pytest.raises(RegistryError, match=r"title.*unknown language 'fr'"):
        load_layer(path)


# --- JSON documents ----------------------------------------------------------------------

def test_collections_follow_lang_and_accept_language(http, registry):
    cases = [({"lang": "vi"}, {}, "vi"), ({}, {"Accept-Language": "en-GB"}, "en"),
             ({"lang": "en"}, {"Accept-Language": "vi"}, "en"), ({}, NONE, "vi"),
             ({}, {"Accept-Language": "vi-VN,vi;q=0.9,en;q=0.8"}, "vi")]
    for params, headers, lang in cases:
        r = http.get("/collections", params=params, headers=headers)
        assert r.status_code == 200, r.text
        assert r.headers["content-language"].startswith(lang), (params, headers)
        assert "accept-language" in r.headers["vary"].lower()
        by_id = {c["id"]: c for c in r.json()["collections"]}
        for layer in registry:
            if layer.name in by_id:
                assert by_id[layer.name]["title"] == layer.title_in(lang), (params, headers)
                # pygeoapi writes its configuration's texts HTML-escaped (as before)
                assert html.unescape(by_id[layer.name]["description"]) == \
                    layer.description_in(lang)
                assert by_id[layer.name]["keywords"] == layer.keywords_in(lang)


def test_collection_queryables_schema_styles_and_items_in_both_languages(http, registry):
    roads = registry.get("road_segments")
    for lang, street in (("vi", "Tên đường"), ("en", "Street name")):
        doc = http.get(ROADS, params={"lang": lang}).json()
        assert doc["title"] == roads.title_in(lang)
        tiles = [x for x in doc["links"] if x["rel"].endswith("/tilesets-vector")]
        assert tiles and tiles[0]["title"].startswith(roads.title_in(lang))
        for path in ("queryables", "schema"):
            r = http.get(f"{ROADS}/{path}", params={"lang": lang})
            assert r.status_code == 200 and r.headers["content-language"].startswith(lang)
            props = r.json()["properties"]
            assert r.json()["title"] == roads.title_in(lang), path
            assert props["name"]["title"] == props["name"]["description"] == street, path
            assert props["length_m"]["title"].startswith(
                "Chiều dài" if lang == "vi" else "Length"), path
        styles = http.get(f"{ROADS}/styles", headers={"Accept-Language": lang}).json()
        assert styles["styles"][0]["title"] == roads.title_in(lang) + (
            " (kiểu mặc định của twin)" if lang == "vi" else " (twin default)")
        items = http.get(f"{ROADS}/items", params={"lang": lang, "limit": 1})
        assert items.headers["content-language"].startswith(lang)
        titles = {x["rel"]: x["title"] for x in items.json()["links"]}
        assert titles["self"] == ("trang này" if lang == "vi" else "this page")
        assert titles["collection"] == roads.title_in(lang)


def test_no_english_left_in_vietnamese_collection_documents(http, registry):
    """Every layer's collection, queryables, schema and styles documents in Vietnamese:
    titles, descriptions, keywords and link titles hold no common English word."""
    left: dict[str, set[str]] = {}
    docs = {"/collections": http.get("/collections", params={"lang": "vi"}).json()}
    layers = {c["id"] for c in docs["/collections"]["collections"]}
    for layer in registry:
        if layer.name not in layers:  # not public: pygeoapi does not list it
            continue
        for path in ("", "/queryables", "/schema", "/styles"):
            url = f"/collections/{layer.name}{path}"
            docs[url] = http.get(url, params={"lang": "vi"}).json()
    for url, doc in docs.items():
        if url == "/collections":  # the layers' entries (other blocks have their own)
            doc = [c for c in doc["collections"] if c["id"] in registry]
        for text in texts(doc):
            found = english_words(text)
            if found:
                left.setdefault(url, set()).update(found)
    assert not left, left


# --- error descriptions ------------------------------------------------------------------

@pytest.fixture(scope="module")
def keys(city_engine) -> dict[str, dict[str, str]]:
    return {role: {"X-API-Key": create_key(city_engine, f"i18n {role}", role)[0]}
            for role in ("transport", "land_office")}


def error_requests(keys) -> list[tuple[str, str, dict]]:
    """(method, url, request options) of the errors a user meets most."""
    big = b'{"type": "Feature", "properties": {}, "geometry": null, "x": "' + \
        b"x" * (3 * 1024 * 1024) + b'"}'
    geo = {"Content-Type": "application/geo+json"}
    return [
        ("GET", "/collections/no_such_layer", {}),
        ("GET", "/collections/no_such_layer/items", {}),
        ("GET", f"{ROADS}/items/no-such-feature", {}),
        ("GET", f"{ROADS}/items?colour=red", {}),
        ("GET", f"{ROADS}/items?bbox=1,2,3", {}),
        ("GET", f"{ROADS}/items?bbox=0,100,1,101", {}),
        ("GET", f"{ROADS}/items?bbox=106,21,105,20", {}),
        ("GET", f"{ROADS}/items?datetime=yesterday", {}),
        ("GET", f"{ROADS}/items?datetime=2024-02-01/2024-01-01", {}),
        ("GET", f"{ROADS}/items?crs=EPSG:2000", {}),
        ("GET", f"{ROADS}/items?crs=http://www.opengis.net/def/crs/EPSG/0/32648", {}),
        ("GET", f"{ROADS}/items?limit=abc", {}),
        ("GET", f"{ROADS}/items?limit=0", {}),
        ("GET", f"{ROADS}/items?filter=lanes%20%3D%20'two'", {}),
        ("GET", f"{ROADS}/items?filter=name%20%3D%203", {}),
        ("GET", f"{ROADS}/items?filter=colour%20%3D%201", {}),
        ("GET", f"{ROADS}/items?filter=lanes%20%3D%20%3D%201", {}),
        ("GET", f"{ROADS}/items?sortby=colour", {}),
        ("GET", f"{ROADS}/items?f=xml", {}),
        ("POST", f"{ROADS}/items", {"content": b"{}", "headers": geo}),
        ("POST", f"{ROADS}/items", {"content": b"{}",
                                     "headers": {**geo, **keys["land_office"]}}),
        ("POST", f"{ROADS}/items", {"content": big,
                                     "headers": {**geo, **keys["transport"]}}),
        ("GET", "/collections", {"headers": {"X-API-Key": "twin_abc_wrong"}}),
    ]


def test_errors_in_vietnamese_and_english(http, keys):
    """The same error in both languages: the OGC code the same, the Vietnamese
    description free of English sentences, the English one as it always was."""
    for method, url, options in error_requests(keys):
        headers = options.get("headers", {})
        rest = {k: v for k, v in options.items() if k != "headers"}
        vi = http.request(method, url, headers={**headers, "Accept-Language": "vi"}, **rest)
        en = http.request(method, url + ("&" if "?" in url else "?") + "lang=en",
                          headers={**headers, "Accept-Language": "vi"}, **rest)
        default = http.request(method, url, headers={**headers, **NONE}, **rest)
        assert 400 <= vi.status_code < 500, (url, vi.text)
        assert vi.status_code == en.status_code == default.status_code, url
        assert vi.json()["code"] == en.json()["code"], url
        assert vi.json() == default.json(), url  # Vietnamese is the default
        assert vi.headers["content-language"] == "vi-VN"
        assert en.headers["content-language"] == "en-US"
        said = vi.json()["description"]
        assert said != en.json()["description"], (url, said)
        assert not english_words(said), (url, said, english_words(said))
        english = http.request(method, url, headers={**headers, "Accept-Language": "en-US"},
                               **rest)
        assert en.json() == english.json(), url
        assert not VIETNAMESE.search(en.json()["description"]), (url, en.json())


def test_english_descriptions_keep_their_wording(http):
    r = http.get("/collections/no_such_layer/items", params={"lang": "en"})
    assert r.json() == {"code": "NotFound", "description": "collection 'no_such_layer' not found"}
    r = http.get(f"{ROADS}/items", params={"bbox": "0,100,1,101"},
                 headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert "latitudes must be within ±90" in r.json()["description"]
    r = http.get(f"{ROADS}/items", params={"bbox": "0,100,1,101", "lang": "vi"})
    assert r.json()["description"].startswith("bbox: 0,100,1,101 không phải")


@pytest.mark.parametrize("english", [
    "you have 3 process executions running; at most 2 at once: wait for one to finish",
    "at most 10 process executions a minute; retry in a minute",
    "the job queue is full (40 jobs waiting or running); retry later",
    "a feature with id 'r-1' already exists in road_segments; leave id out to have one "
    "assigned",
    "a feature with this id already exists in road_segments",
    "If-Match \"v1\" is not the current version \"v2\": the feature was changed since you "
    "read it; GET it again, re-apply your change and send its new ETag",
    "the feature is referenced by other data (bus_route_stops) and cannot be deleted or "
    "changed that way",
    "editing road_segments needs credentials: an API key (X-API-Key, or as the password of "
    "HTTP Basic) or a bearer token",
    "road_segments may be edited by transport; land_office may only read it",
    "process 'flood-run' needs the role hydrology; you have transport",
    "the body is larger than 2048 KiB; send fewer features per request",
    "the database is unavailable; retry shortly",
    "internal error; it has been logged",
    "expired token",
])
def test_the_catalogue_covers_rate_limits_conflicts_and_the_server(english):
    """Errors the HTTP test above cannot provoke cheaply (429, 409, 412, 503, 500)."""
    said = localise(english, "vi")
    assert said != english, said
    assert not english_words(said), (said, english_words(said))
    assert localise(english, "en") == english


def test_every_rule_compiles_and_an_unknown_message_stays_as_raised():
    for pattern, _ in RULES:
        re.compile(pattern)
    assert translate("something nobody wrote") is None
    assert localise("something nobody wrote; retry later", "vi") == \
        "something nobody wrote; retry later"


# --- the QGIS project --------------------------------------------------------------------

def project(http, **params) -> ET.Element:
    r = http.get("/qgis/project.qgz", params=params)
    assert r.status_code == 200, r.text
    assert r.headers["content-language"] == {"en": "en-US"}.get(params.get("lang"), "vi-VN")
    assert "accept-language" in r.headers["vary"].lower()
    with zipfile.ZipFile(io.BytesIO(r.content)) as archive:
        return ET.fromstring(archive.read(archive.namelist()[0]))


def names(root: ET.Element) -> tuple[list[str], dict[str, str], dict[str, dict[str, str]]]:
    groups = [g.get("name") for g in root.iter("layer-tree-group") if g.get("name")]
    layers = {n.findtext("id"): n.findtext("layername") for n in root.iter("maplayer")}
    aliases = {n.findtext("id"): {a.get("field"): a.get("name") for a in n.iter("alias")}
               for n in root.iter("maplayer")}
    return groups, layers, aliases


def test_qgis_project_names_and_aliases_in_both_languages(http, registry):
    roads = registry.get("road_segments")
    vi = names(project(http, lang="vi"))
    en = names(project(http, lang="en"))
    assert names(project(http)) == names(project_with(http, NONE)) == vi  # the default
    assert names(project_with(http, {"Accept-Language": "en-US,en"})) == en
    assert {"Giao thông", "Môi trường", "Hành chính", "Đất đai"} <= set(vi[0])
    assert {"Transport", "Environment", "Administration", "Land"} <= set(en[0])
    assert vi[1]["twin_road_segments"] == roads.title_in("vi") == "Đoạn đường"
    assert en[1]["twin_road_segments"] == "Road segments"
    assert vi[1]["twin_road_segments_tiles"] == "Đoạn đường (ô bản đồ)"
    assert vi[2]["twin_road_segments"]["name"] == "Tên đường"
    assert en[2]["twin_road_segments"]["name"] == "Street name"
    assert vi[2]["twin_road_segments"]["length_m"].startswith("Chiều dài")
    for lid, aliases in vi[2].items():
        for field, alias in aliases.items():
            assert not english_words(alias), (lid, field, alias)
    for group in vi[0]:
        assert not english_words(group), group


def project_with(http, headers: dict) -> ET.Element:
    r = http.get("/qgis/project.qgz", headers=headers)
    assert r.status_code == 200
    with zipfile.ZipFile(io.BytesIO(r.content)) as archive:
        return ET.fromstring(archive.read(archive.namelist()[0]))


def test_qgis_reads_the_vietnamese_aliases(http, tmp_path):
    """QGIS itself (python3-qgis) opens the Vietnamese project: layer names and field
    aliases as written."""
    from tests.test_qgis_project import SYSTEM_PYTHON, _has_qgis

    if not _has_qgis():
        pytest.skip(f"{SYSTEM_PYTHON} cannot import qgis.core")
    import json
    import os
    import subprocess

    r = http.get("/qgis/project.qgz", params={"lang": "vi"})
    path = Path(tmp_path) / "vi.qgz"
    path.write_bytes(r.content)
    script = (
        "import json\n"
        "from qgis.core import QgsApplication, QgsProject\n"
        "app = QgsApplication([], False); app.initQgis()\n"
        f"p = QgsProject.instance(); assert p.read({str(path)!r})\n"
        "lyr = p.mapLayer('twin_road_segments')\n"
        "print(json.dumps({'name': lyr.name(), 'alias': lyr.attributeAlias("
        "lyr.fields().indexOf('name')) if lyr.fields().indexOf('name') >= 0 else "
        "lyr.attributeAliases().get('name'), 'group': "
        "p.layerTreeRoot().findLayer('twin_road_segments').parent().name()}))\n")
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_RUNTIME_DIR": str(tmp_path),
           "HOME": str(tmp_path)}
    tmp_path.chmod(0o700)
    done = subprocess.run([SYSTEM_PYTHON, "-c", script], capture_output=True, text=True,
                          env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    said = json.loads(done.stdout.strip().splitlines()[-1])
    assert said == {"name": "Đoạn đường", "alias": "Tên đường", "group": "Giao thông"}, said


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_edr_and_bridged_documents_name_the_request_language(http, lang):
    """pygeoapi labels its EDR answers with its default locale whatever was asked; twin
    labels every text response with the request's language."""
    for path, params in (("/collections/sensor_readings/locations", {}),
                         ("/collections/sensor_readings", {}), ("/", {}),
                         ("/conformance", {})):
        r = http.get(path, params={**params, "lang": lang})
        assert r.status_code == 200, (path, r.text[:200])
        assert r.headers["content-language"] == {"vi": "vi-VN", "en": "en-US"}[lang], path
