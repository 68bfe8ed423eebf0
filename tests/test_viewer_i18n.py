"""The web viewer in Vietnamese and in English (issue 17, "A bilingual twin").

Over HTTP: ``/viewer`` is served in the negotiated language (``lang=`` over
``Accept-Language`` over the city's default, Vietnamese). In headless Chromium: the page
renders in each language with no UI text of the other one left (all visible text, and the
title / aria-label / placeholder attributes, are checked against a list of common English
UI words, or for Vietnamese letters); dates and numbers follow each language's
conventions; the AQI classes are named in the page's language; the VI | EN switch rewrites
the page in place and is remembered; nothing fails and nothing is fetched from elsewhere.

Texts that come from the server (collection titles and descriptions, field titles, feature
values and names) are marked ``data-server-text`` and are not the viewer's to translate;
the tests check instead that they are the server's own texts in the page's language.
"""

from __future__ import annotations

import re
from datetime import datetime
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest

from tests.chromium import GL_ARGS, launched
from tests.test_viewer import Recorder, settle

VIEWPORT = {"width": 1400, "height": 900}
ZONE = ZoneInfo("Asia/Ho_Chi_Minh")

# Common English words of map UIs; none is also a Vietnamese word written without marks.
ENGLISH = frozenset((
    "the", "of", "and", "with", "for", "from", "this", "that", "these", "data", "map", "maps",
    "layer", "layers", "legend", "loading", "load", "loaded", "zoom", "play", "pause", "hour",
    "hours", "time", "air", "quality", "good", "moderate", "unhealthy", "hazardous", "very",
    "poor", "bad", "could", "not", "properties", "property", "surface", "interpolated", "off",
    "frame", "frames", "median", "wait", "cached", "stations", "station", "chart", "series",
    "readings", "reading", "unavailable", "error", "close", "popup", "toggle", "attribution",
    "language", "scale", "back", "forward", "one", "land", "transport", "environment",
    "administrative", "areas", "area", "city", "model", "live", "flood", "extents",
    "synthetic", "demo", "period", "pollutant", "pollutants", "concentrations", "sensitive",
    "groups", "residential", "road", "roads", "primary", "secondary", "motorway", "level",
    "ward", "commune", "district", "province", "parking", "camera", "cameras", "sign", "signs",
    "bus", "stops", "routes", "segments", "parcels", "sensor", "sensors", "signals", "traffic",
    "index", "latest", "yet", "start", "feedback", "rotate", "north", "reset", "click", "drag",
    "marker", "other", "sport", "health", "education", "culture", "commerce", "services",
    "production", "business", "defence", "security", "religious", "cemeteries", "recreation",
    "rivers", "water", "unused", "crops", "rice", "aquaculture", "irrigation", "rural",
    "urban",
))
# Letters only Vietnamese uses (the vowels with marks, and đ).
VIETNAMESE = re.compile("[àáảãạăằắẳẵặâầấẩẫậđèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụư"
                        "ừứửữựỳýỷỹỵ]", re.IGNORECASE)

# Every UI text of the page: the visible text nodes and the labels people and screen
# readers get, with where each came from; server texts and parts written in another
# language on purpose (the switch's "English" / "Tiếng Việt") are left out.
UI_TEXTS = """() => {
    const page = document.documentElement.lang;
    const skip = (node) => node.closest('[data-server-text], script, style')
        || (node.closest('[lang]') && node.closest('[lang]').lang !== page);
    const out = [['document.title', document.title]];
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
        const host = n.parentElement;
        if (!n.textContent.trim() || skip(host)) continue;
        const shown = host.checkVisibility() || host.tagName === 'OPTION';
        if (shown) out.push([host.tagName.toLowerCase() + (host.id ? '#' + host.id : ''),
                             n.textContent.trim()]);
    }
    for (const host of document.querySelectorAll('[title], [aria-label], [placeholder]')) {
        if (skip(host)) continue;
        for (const attr of ['title', 'aria-label', 'placeholder']) {
            const value = host.getAttribute(attr);
            if (value) out.push([host.tagName.toLowerCase() + '@' + attr, value]);
        }
    }
    return out;
}"""


def english_words(texts: list[list[str]]) -> list[tuple[str, str, str]]:
    found = []
    for where, text in texts:
        for word in re.findall(r"[A-Za-z]+", text):
            if word.lower() in ENGLISH:
                found.append((where, word, text))
    return found


def vietnamese_texts(texts: list[list[str]]) -> list[tuple[str, str]]:
    return [(where, text) for where, text in texts if VIETNAMESE.search(text)]


@pytest.fixture(scope="module")
def http(server):
    import httpx

    with httpx.Client(base_url=server, timeout=30) as client:
        yield client


# --- the page over HTTP ------------------------------------------------------------

@pytest.mark.parametrize(("query", "accept", "lang"), [
    ({}, None, "vi"),                          # the city's default
    ({}, "en-GB,en;q=0.9", "en"),
    ({}, "fr-FR, de;q=0.5", "vi"),             # neither language: the default
    ({"lang": "en"}, "vi-VN", "en"),           # lang= beats Accept-Language
    ({"lang": "vi"}, "en-US", "vi"),
    ({"lang": "xx"}, "en-US", "en"),           # an unknown lang= falls back like none
])
def test_page_is_served_in_the_negotiated_language(http, query, accept, lang):
    headers = {"Accept-Language": accept} if accept else {}
    resp = http.get("/viewer", params=query, headers=headers)
    assert resp.status_code == 200
    assert resp.headers["content-language"] == {"vi": "vi-VN", "en": "en-US"}[lang]
    assert "accept-language" in resp.headers["vary"].lower()
    root = re.search(r"<html[^>]*>", resp.text).group(0)
    assert f'lang="{lang}"' in root and f'data-negotiated="{lang}"' in root
    assert 'data-city-vi="Hà Nội"' in root and 'data-city-en="Hanoi"' in root
    assert ("Hà Nội" if lang == "vi" else "Hanoi") in resp.text.split("<title>")[1]
    assert "%CITY%" not in resp.text
    # Still no inline script: the page's policy allows only this server's files.
    assert re.findall(r"<script(?![^>]*\bsrc=)", resp.text) == []
    assert "script-src 'self'" in resp.headers["content-security-policy"]


# --- the page in Chromium ----------------------------------------------------------

@pytest.fixture(scope="module")
def browser():
    with launched(GL_ARGS) as chromium:
        yield chromium


def open_viewer(browser, url: str, locale: str):
    """A new page (its own storage) at ``url`` with the browser set to ``locale``, once the
    viewer has started."""
    context = browser.new_context(viewport=VIEWPORT, locale=locale)
    page = context.new_page()
    recorder = Recorder(page)
    page.goto(url)
    wait_ready(page)
    return context, page, recorder


def wait_ready(page):
    page.wait_for_function("() => window.twinViewer && window.twinViewer.languages "
                           "&& window.twinViewer.map.loaded()", timeout=120_000)
    settle(page)


@pytest.fixture(scope="module")
def vi_page(browser, server):
    context, page, recorder = open_viewer(browser, server + "/viewer", "vi-VN")
    yield page, recorder
    context.close()


@pytest.fixture(scope="module")
def en_page(browser, server):
    context, page, recorder = open_viewer(browser, server + "/viewer", "en-US")
    yield page, recorder
    context.close()


def open_station_popup(page):
    """Click a station of the AQI frame and wait for its charts."""
    point = page.evaluate("""() => {
        const v = window.twinViewer;
        const fs = v.map.queryRenderedFeatures({layers: [v.config.time.aqi.source + '-circle']});
        const clear = fs.map(f => v.map.project(f.geometry.coordinates))
                        .filter(p => p.x > 360 && p.x < 1320 && p.y > 60 && p.y < 780);
        return clear.length ? [clear[0].x, clear[0].y] : null;
    }""")
    assert point, "no station is drawn in the open part of the map"
    page.mouse.click(*point)
    page.wait_for_selector(".maplibregl-popup svg.chart path.series", timeout=60_000)
    page.click(".maplibregl-popup details summary")  # the properties table, open
    settle(page)


def expand_everything(page):
    for summary in page.locator("details.layer-legend summary").all():
        summary.click()


def collection_titles(http, lang: str) -> dict[str, str]:
    doc = http.get("/collections", params={"f": "json", "lang": lang}).json()
    return {c["id"]: c["title"] for c in doc["collections"]}


def page_titles(page) -> dict[str, str]:
    return page.evaluate("""() => Object.fromEntries([...document.querySelectorAll('li.layer')]
        .map(li => [li.dataset.layer, li.querySelector('.layer-title').textContent]))""")


def test_vietnamese_page_has_no_english_ui_text(vi_page, http, tmp_path_factory):
    page, _ = vi_page
    assert page.evaluate("document.documentElement.lang") == "vi"
    expand_everything(page)
    open_station_popup(page)
    shot = tmp_path_factory.mktemp("viewer-i18n") / "vi.png"
    page.screenshot(path=str(shot))
    print(f"\nscreenshot: {shot}")
    texts = page.evaluate(UI_TEXTS)
    assert len(texts) > 60, texts  # the check saw the page, legends and popup
    print(f"\nVietnamese page: {len(texts)} UI texts checked")
    assert english_words(texts) == []
    assert page.inner_text("#layers h2").upper() == "LỚP BẢN ĐỒ"
    titles = collection_titles(http, "vi")
    assert all(titles[k] == v for k, v in page_titles(page).items()), page_titles(page)
    page.evaluate("window.twinViewer.ctx.popup.remove()")  # its button may be off screen now


def test_english_page_has_no_vietnamese_ui_text(en_page, http, tmp_path_factory):
    page, _ = en_page
    assert page.evaluate("document.documentElement.lang") == "en"
    expand_everything(page)
    open_station_popup(page)
    shot = tmp_path_factory.mktemp("viewer-i18n") / "en.png"
    page.screenshot(path=str(shot))
    print(f"\nscreenshot: {shot}")
    texts = page.evaluate(UI_TEXTS)
    assert len(texts) > 60, texts
    print(f"\nEnglish page: {len(texts)} UI texts checked")
    assert vietnamese_texts(texts) == []
    assert page.inner_text("h1") == "twin Hanoi"
    titles = collection_titles(http, "en")
    assert all(titles[k] == v for k, v in page_titles(page).items()), page_titles(page)
    page.evaluate("window.twinViewer.ctx.popup.remove()")  # its button may be off screen now


def _current_local(page) -> datetime:
    ms = page.evaluate("window.twinViewer.timeline.current")
    return datetime.fromtimestamp(ms / 1000, ZONE)


def test_dates_and_numbers_follow_each_language(vi_page, en_page):
    vi, _ = vi_page
    en, _ = en_page
    at = _current_local(vi)
    assert vi.inner_text("#time-label").endswith(at.strftime("%d/%m/%Y %H:%M"))
    at = _current_local(en)
    assert en.inner_text("#time-label").endswith(at.strftime("%Y-%m-%d %H:%M"))
    assert vi.inner_text("#time-zone") == "Giờ Hà Nội (UTC+7)"
    assert en.inner_text("#time-zone") == "Hanoi time (UTC+7)"
    flood = 'li.layer[data-layer="flood_extents"] ul.legend li'
    assert "0–0,2 m" in vi.locator(flood).all_inner_texts()  # decimal comma
    assert "0–0.2 m" in en.locator(flood).all_inner_texts()
    # The charts' value axis: 2.5 is 2,5 in Vietnamese (numbers from i18n.formatNumber).
    number = "import('./viewer/static/js/i18n.js').then(m => m.formatNumber(12345.5, 1))"
    assert vi.evaluate(number) == "12.345,5" and en.evaluate(number) == "12,345.5"


def aqi_legend(page) -> list[str]:
    return page.locator("#aqi-classes li").all_inner_texts()


def choose_scale(page, scale: str):
    page.check(f'input[name="scale"][value="{scale}"]')
    page.wait_for_function("(s) => document.querySelector('#aqi-scale-name').textContent "
                           "=== s", arg={"vn": "VN_AQI", "us": "US AQI"}[scale])


def test_aqi_classes_are_named_in_the_page_language(vi_page, en_page):
    vi, _ = vi_page
    en, _ = en_page
    assert aqi_legend(vi) == ["Tốt (0–50)", "Trung bình (51–100)", "Kém (101–150)",
                              "Xấu (151–200)", "Rất xấu (201–300)", "Nguy hại (301–500)"]
    assert aqi_legend(en) == ["Good (0–50)", "Moderate (51–100)", "Poor (101–150)",
                              "Bad (151–200)", "Very bad (201–300)", "Hazardous (301–500)"]
    choose_scale(vi, "us")
    choose_scale(en, "us")
    assert aqi_legend(vi)[2] == "Không lành mạnh cho nhóm nhạy cảm (101–150)"
    assert aqi_legend(vi)[5] == "Nguy hiểm (301+)"
    assert aqi_legend(en)[2] == "Unhealthy for Sensitive Groups (101–150)"
    choose_scale(vi, "vn")
    choose_scale(en, "vn")


def test_switch_rewrites_the_page_and_is_remembered(vi_page, http, server):
    page, _ = vi_page
    box = 'li.layer[data-layer="road_segments"] input[type=checkbox]'
    page.uncheck(box)
    label = page.inner_text("#time-label")
    took = page.evaluate("""async () => {  // resolves when everything is rewritten
        const t0 = performance.now();
        await window.twinViewer.languages.switchTo('en');
        return performance.now() - t0;
    }""")
    print(f"\nswitch to English rewrote the page in {took:.0f} ms")
    page.click('#lang-switch button[data-lang="en"]')            # and by the button itself
    page.wait_for_function("() => document.documentElement.lang === 'en'")
    assert page.get_attribute('#lang-switch button[data-lang="en"]', "aria-pressed") == "true"
    assert page.inner_text("#layers h2").upper() == "LAYERS"
    assert aqi_legend(page)[0] == "Good (0–50)"
    assert page.inner_text("#time-label") != label  # the same hour, written in English
    assert page.title().startswith("twin — Hanoi")
    assert page.get_attribute(".maplibregl-ctrl-zoom-in", "title") == "Zoom in"
    texts = page.evaluate(UI_TEXTS)
    assert vietnamese_texts(texts) == []
    assert all(collection_titles(http, "en")[k] == v for k, v in page_titles(page).items())
    assert not page.is_checked(box)  # what was switched off stays off
    assert page.evaluate("localStorage.getItem('twin.viewer.lang')") == "en"

    page.reload()  # the browser still asks for Vietnamese: the kept choice wins
    wait_ready(page)
    assert page.evaluate("document.documentElement.lang") == "en"
    assert page.inner_text("#layers h2").upper() == "LAYERS"

    page.click('#lang-switch button[data-lang="vi"]')
    page.wait_for_function("() => document.querySelector('#aqi-classes li') "
                           "&& document.querySelector('#aqi-classes li').textContent "
                           "=== 'Tốt (0–50)'")
    assert page.evaluate("document.documentElement.lang") == "vi"
    assert page.get_attribute(".maplibregl-ctrl-zoom-in", "title") == "Phóng to"
    assert english_words(page.evaluate(UI_TEXTS)) == []


def test_lang_parameter_beats_the_browser_and_the_kept_choice(browser, server):
    context, page, recorder = open_viewer(browser, server + "/viewer?lang=en", "vi-VN")
    try:
        assert page.evaluate("document.documentElement.lang") == "en"
        page.evaluate("window.twinViewer.languages.switchTo('vi')")
        page.wait_for_function("() => document.documentElement.lang === 'vi'")
        assert "lang=vi" in page.url  # the address follows the switch
        assert recorder.errors == [] and recorder.failed == []
    finally:
        context.close()


def test_no_console_errors_and_nothing_from_elsewhere(vi_page, en_page):
    for page, recorder in (vi_page, en_page):
        assert recorder.errors == []
        assert recorder.failed == []
        hosts = {urlsplit(u).hostname for u in recorder.requests
                 if not u.startswith(("blob:", "data:"))}
        assert hosts == {"127.0.0.1"}, hosts
        # Texts from the server are asked for in the page's language.
        lang = page.evaluate("document.documentElement.lang")
        assert any("/collections?" in u and f"lang={lang}" in u for u in recorder.requests)


def test_the_scans_catch_untranslated_text():
    assert english_words([["h2", "Lớp bản đồ"], ["button@title", "Phóng to"]]) == []
    assert english_words([["span#status", "Loading…"]]) == [("span#status", "Loading",
                                                             "Loading…")]
    assert vietnamese_texts([["h2", "Layers"]]) == []
    assert vietnamese_texts([["summary", "Chú giải"]]) == [("summary", "Chú giải")]


def test_dictionary_has_every_text_in_both_languages(en_page):
    page, _ = en_page
    keys = page.evaluate("""() => import('./viewer/static/js/i18n.js').then(m => ({
        vi: Object.keys(m.STRINGS.vi).sort(), en: Object.keys(m.STRINGS.en).sort(),
        same: Object.keys(m.STRINGS.vi).filter(k => m.STRINGS.vi[k] === m.STRINGS.en[k]),
        aqi: Object.values(m.AQI_NAMES).flatMap(s => [s.vi.length, s.en.length])}))""")
    assert keys["vi"] == keys["en"]
    # Only unit symbols read the same in both languages.
    assert sorted(keys["same"]) == ["map.ScaleControl.Kilometers", "map.ScaleControl.Meters"]
    assert keys["aqi"] == [6, 6, 6, 6]


def test_api_requests_ask_for_the_page_language(en_page):
    """The page's requests carry its language (Accept-Language), so what the server writes
    for people (error descriptions among it) comes in the language the page shows."""
    page, _ = en_page
    with page.expect_request(lambda r: "/conformance" in r.url) as request:
        page.evaluate("import('./viewer/static/js/util.js')"
                      ".then(m => m.fetchJson('./conformance?f=json'))")
    assert request.value.headers["accept-language"] == "en"


def test_switch_while_the_page_starts(browser, server, http):
    """A click on EN before the map is up still gives a wholly English page (what is built
    from data afterwards, the layer titles among it, is in English too)."""
    context = browser.new_context(viewport=VIEWPORT, locale="vi-VN")
    page = context.new_page()
    recorder = Recorder(page)
    try:
        page.goto(server + "/viewer", wait_until="domcontentloaded")
        page.click('#lang-switch button[data-lang="en"]')
        wait_ready(page)
        page.wait_for_function("() => document.querySelector('#aqi-classes li') "
                               "&& document.querySelector('#aqi-classes li').textContent "
                               "=== 'Good (0–50)'")
        titles = collection_titles(http, "en")
        page.wait_for_function("(want) => [...document.querySelectorAll('li.layer')].every("
                               "li => li.querySelector('.layer-title').textContent "
                               "=== want[li.dataset.layer])", arg=titles, timeout=60_000)
        assert vietnamese_texts(page.evaluate(UI_TEXTS)) == []
        assert recorder.errors == [] and recorder.failed == []
    finally:
        context.close()
