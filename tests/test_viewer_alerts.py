"""Alerts in the web viewer (issue 18, point 5), in headless Chromium against the real
server and the demo city's PostGIS: alerts stored after the page opened reach it through
``/alerts/stream`` (SSE) and are listed with their CAP severity colours and highlighted on
the map; the time slider replays them (an alert resolved before the slider's hour is gone,
one opened after it is not there yet); an agency acknowledges one with its API key, and a
missing, unknown or wrong key and an alert already resolved are refused with readable
words, in Vietnamese and then in English; no console errors on the way.

The alerts are written with their transitions into ``alerts`` and ``alert_events`` (the
trigger on the latter notifies the stream, as the engine's writes do), at hours of the
slider's own range, so which alerts each hour shows is known by construction."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import psycopg
import pytest
from psycopg.types.json import Jsonb

from tests.chromium import GL_ARGS, launched
from tests.test_viewer_i18n import ENGLISH
from twin.server.auth.keys import create_key
from twin.server.db import libpq_url

AGENCY = "Sở Tài nguyên và Môi trường Hà Nội"
RULE = "viewer-alerts-test"
VIEWPORT = {"width": 1400, "height": 900}
COLOURS = {"minor": (242, 197, 0), "moderate": (245, 124, 0), "severe": (211, 47, 47),
           "extreme": (106, 27, 154)}
ACK = re.compile(r"/alerts/\d+/acknowledge$")


@pytest.fixture(scope="module")
def pg(city_url):
    with psycopg.connect(libpq_url(city_url), autocommit=True) as conn:
        conn.execute("INSERT INTO alert_rules (id, spec, source, enabled) VALUES "
                     "(%s, %s, 'api', false)", (RULE, Jsonb({"ack_roles": ["environment"]})))
        yield conn
        ids = [r[0] for r in conn.execute("SELECT id FROM alerts WHERE rule_id = %s", (RULE,))]
        conn.execute("DELETE FROM alert_events WHERE alert_id = ANY(%s)", (ids,))
        conn.execute("DELETE FROM alerts WHERE rule_id = %s", (RULE,))
        conn.execute("DELETE FROM alert_rules WHERE id = %s", (RULE,))


@pytest.fixture(scope="module")
def keys(city_engine) -> dict[str, str]:
    return {"right": create_key(city_engine, AGENCY, "environment")[0],
            "wrong": create_key(city_engine, AGENCY, "transport")[0]}


class Console:
    """Console errors and failed responses, but for the refusals the test asks for (a
    refused acknowledgement is a 4xx the page shows as words, which Chromium also logs)."""

    def __init__(self, page):
        self.errors: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda e: self.errors.append(f"uncaught: {e}"))
        page.on("response", lambda r: r.status >= 400 and not ACK.search(r.url)
                and self.errors.append(f"{r.status} {r.url}"))

    def _console(self, message):
        if message.type != "error":
            return
        if ACK.search(message.location.get("url", "")):
            return
        self.errors.append(message.text)


@pytest.fixture(scope="module")
def viewer(server, pg):
    # Alerts other modules left open in the shared city would be listed too: they are
    # resolved (with their event) before the page opens, so the list holds this module's.
    pg.execute("INSERT INTO alert_events (alert_id, at, transition, severity, value) "
               "SELECT id, greatest(now(), opened_at), 'resolved', severity, value "
               "FROM alerts WHERE state <> 'resolved'")
    pg.execute("UPDATE alerts SET state = 'resolved', updated_at = greatest(now(), opened_at),"
               " resolved_at = greatest(now(), opened_at) WHERE state <> 'resolved'")
    with launched(GL_ARGS) as browser:
        page = browser.new_page(viewport=VIEWPORT, locale="vi-VN")
        console = Console(page)
        page.goto(server + "/viewer?lang=vi")
        page.wait_for_function("() => window.twinViewer && window.twinViewer.map "
                               "&& window.twinViewer.map.loaded() && window.twinViewer.ctx "
                               "&& window.twinViewer.ctx.alerts", timeout=120_000)
        yield page, console
        page.close()


def store(pg, subject: str, severity: str, geom_sql: str, opened: datetime,
          resolved: datetime | None = None, acked: datetime | None = None) -> int:
    """One alert and its transitions, each in its own statement (the stream is notified
    of every event)."""
    state = "resolved" if resolved else ("acknowledged" if acked else "open")
    aid = pg.execute(
        f"INSERT INTO alerts (rule_id, subject, subject_kind, kind, severity, state, value, "
        f"unit, title, description, geom, opened_at, updated_at, acknowledged_at, resolved_at) "
        f"SELECT %s, %s, 'station', 'threshold', %s, %s, 61.5, 'µg/m³', %s, '{{}}', "
        f"({geom_sql}), %s, %s, %s, %s RETURNING id",
        (RULE, subject, severity, state,
         Jsonb({"vi": f"Bụi mịn tại {subject}", "en": f"Fine dust at {subject}"}),
         opened, resolved or acked or opened, acked, resolved)).fetchone()[0]
    for transition, at in (("opened", opened), ("acknowledged", acked), ("resolved", resolved)):
        if at is not None:
            pg.execute("INSERT INTO alert_events (alert_id, at, transition, severity, value) "
                       "VALUES (%s, %s, %s, %s, 61.5)", (aid, at, transition, severity))
    return aid


STATION = "SELECT ST_Transform(geom, 4326) FROM sensor_stations ORDER BY code LIMIT 1 OFFSET {}"
ROAD = "SELECT ST_Transform(geom, 4326) FROM road_segments ORDER BY id LIMIT 1"
WARD = ("SELECT ST_Buffer(ST_Transform(geom, 4326), 0.01) FROM sensor_stations "
        "ORDER BY code LIMIT 1 OFFSET 2")


@pytest.fixture(scope="module")
def alerts(viewer, pg):
    """Stored after the page opened: four alerts at the slider's first hours."""
    page, _ = viewer
    hours = [datetime.fromtimestamp(ms / 1000, UTC)
             for ms in page.evaluate("window.twinViewer.ctx.hours")]
    assert len(hours) > 8
    ids = {"open_severe": store(pg, "AQ-VA-1", "severe", STATION.format(0), hours[2]),
           "early": store(pg, "AQ-VA-2", "moderate", WARD, hours[1], resolved=hours[5]),
           "acked": store(pg, "AQ-VA-3", "extreme", ROAD, hours[3], acked=hours[4]),
           "open_minor": store(pg, "AQ-VA-4", "minor", STATION.format(1), hours[0])}
    return hours, ids


def listed(page) -> dict[int, dict]:
    return {int(i["id"]): i for i in page.evaluate("""() => [...document.querySelectorAll(
        '#alerts-list li.alert')].map(li => ({id: li.dataset.alert, severity: li.dataset.severity,
        state: li.dataset.state, border: getComputedStyle(li).borderLeftColor,
        badge: getComputedStyle(li.querySelector('.alert-severity')).backgroundColor,
        text: li.innerText, button: !!li.querySelector('button.alert-ack')}))""")}


def wait_listed(page, ids: set[int]) -> dict[int, dict]:
    page.wait_for_function("""(want) => {
        const got = [...document.querySelectorAll('#alerts-list li.alert')]
            .map(li => Number(li.dataset.alert)).sort((a, b) => a - b);
        return JSON.stringify(got) === JSON.stringify(want);
    }""", arg=sorted(ids), timeout=60_000)
    return listed(page)


def highlighted(page) -> set[int]:
    page.wait_for_function("() => window.twinViewer.map.loaded()", timeout=60_000)
    return set(page.evaluate("""() => window.twinViewer.map.queryRenderedFeatures({layers:
        ['twin-alerts-fill', 'twin-alerts-line', 'twin-alerts-circle']})
        .map(f => f.properties.id)"""))


def press(page, selector: str) -> None:
    """Click the element the selector finds, as soon as it is there: the list is drawn
    anew on every event of the stream, so an element can be replaced between Playwright's
    actionability checks, or between finding it and clicking it in two calls (a busy
    server sends events from other modules' alerts); one page-side function does both."""
    page.wait_for_function("""(s) => {
        const element = document.querySelector(s);
        if (element) element.click();   // found and clicked in one turn of the page's loop
        return element !== null;
    }""", arg=selector, timeout=60_000)


def go_to(page, index: int) -> None:
    page.evaluate("(i) => window.twinViewer.timeline.goTo(i)", index)


def message(page, key: str) -> str:
    page.wait_for_function("(k) => document.getElementById('alerts-message').dataset.key === k",
                           arg=key, timeout=60_000)
    return page.inner_text("#alerts-message")


def rgb(colour: tuple[int, int, int]) -> str:
    return "rgb({}, {}, {})".format(*colour)


def test_live_list_colours_and_highlights(viewer, alerts):
    page, _ = viewer
    _hours, ids = alerts
    live = {ids["open_severe"], ids["acked"], ids["open_minor"]}   # the early one resolved
    shown = wait_listed(page, live)         # through the stream: the page was already open
    for item in shown.values():
        assert item["border"] == rgb(COLOURS[item["severity"]])
        assert item["badge"] == rgb(COLOURS[item["severity"]])
    assert shown[ids["acked"]]["severity"] == "extreme" and not shown[ids["acked"]]["button"]
    severe = shown[ids["open_severe"]]
    assert severe["button"] and "Nghiêm trọng" in severe["text"]
    assert "đang hiệu lực" in page.text_content("#alerts-when")
    order = [int(i) for i in page.evaluate(
        "[...document.querySelectorAll('#alerts-list li.alert')].map(li => li.dataset.alert)")]
    assert order == [ids["acked"], ids["open_severe"], ids["open_minor"]]   # gravest first
    page.wait_for_function("""(n) => window.twinViewer.map.queryRenderedFeatures({layers:
        ['twin-alerts-line', 'twin-alerts-circle']}).length >= n""", arg=3, timeout=60_000)
    assert live <= highlighted(page)


def test_the_slider_replays_them(viewer, alerts):
    page, _ = viewer
    hours, ids = alerts
    go_to(page, 1)          # only the minor one (hour 0) and the early one (hour 1)
    wait_listed(page, {ids["open_minor"], ids["early"]})
    assert re.search(r"\d\d/\d\d/\d{4} \d\d:\d\d", page.text_content("#alerts-when"))
    assert ids["early"] in highlighted(page)        # the ward's buffer, filled
    go_to(page, 3)
    wait_listed(page, set(ids.values()))
    go_to(page, 6)          # the early one was resolved at hour 5: gone
    wait_listed(page, {ids["open_severe"], ids["acked"], ids["open_minor"]})
    assert ids["early"] not in highlighted(page)
    go_to(page, len(hours) - 1)
    wait_listed(page, {ids["open_severe"], ids["acked"], ids["open_minor"]})


def test_acknowledge_with_the_right_key_and_refusals_in_vietnamese(viewer, alerts, keys, pg):
    page, _ = viewer
    _hours, ids = alerts
    button = f"#alerts-list li[data-alert='{ids['open_severe']}'] button.alert-ack"
    press(page, button)
    assert "Nhập khóa API" in message(page, "alerts.needKey")
    page.fill("#alerts-api-key", "not-a-key")
    press(page, button)
    assert "không hợp lệ" in message(page, "alerts.ack401")
    page.fill("#alerts-api-key", keys["wrong"])
    press(page, button)
    assert "không có quyền" in message(page, "alerts.ack403")
    page.fill("#alerts-api-key", keys["right"])
    press(page, button)
    assert "Đã xác nhận" in message(page, "alerts.acknowledged")
    shown = wait_listed(page, {ids["open_severe"], ids["acked"], ids["open_minor"]})
    page.wait_for_function("(i) => document.querySelector(`#alerts-list li[data-alert='${i}']`)"
                           ".dataset.state === 'acknowledged'", arg=ids["open_severe"])
    state = pg.execute("SELECT state, acknowledged_by FROM alerts WHERE id = %s",
                       (ids["open_severe"],)).fetchone()
    assert state == ("acknowledged", AGENCY)
    # resolved behind the page's back (no event: the list is stale): 409, in words
    pg.execute("UPDATE alerts SET state = 'resolved', resolved_at = now() WHERE id = %s",
               (ids["open_minor"],))
    assert shown[ids["open_minor"]]["button"]
    press(page, f"#alerts-list li[data-alert='{ids['open_minor']}'] button.alert-ack")
    assert "đã kết thúc" in message(page, "alerts.ack409")
    words = page.evaluate("""() => {
        const out = [];
        const walker = document.createTreeWalker(document.getElementById('alerts'),
                                                 NodeFilter.SHOW_TEXT);
        for (let n = walker.nextNode(); n; n = walker.nextNode()) {
            if (!n.parentElement.closest('[data-server-text]')) out.push(n.textContent);
        }
        return out.join(' ');
    }""")
    english = {w for w in re.findall(r"[A-Za-z]+", words) if w.lower() in ENGLISH}
    assert not english, (english, words)


def test_in_english_and_no_console_errors(viewer, alerts, keys, pg):
    page, console = viewer
    hours, ids = alerts
    page.click("#lang-switch button[data-lang='en']")
    page.wait_for_function("() => document.getElementById('alerts-when').textContent "
                           "=== 'active now'", timeout=60_000)
    assert "already acknowledged or resolved" in page.inner_text("#alerts-message")
    fresh = store(pg, "AQ-VA-5", "moderate", STATION.format(3), hours[-2])
    shown = wait_listed(page, {ids["open_severe"], ids["acked"], fresh})
    assert "Moderate" in shown[fresh]["text"] and "Fine dust at AQ-VA-5" in shown[fresh]["text"]
    assert "not acknowledged" in shown[fresh]["text"]
    page.fill("#alerts-api-key", keys["wrong"])
    press(page, f"#alerts-list li[data-alert='{fresh}'] button.alert-ack")
    assert "may not acknowledge" in message(page, "alerts.ack403")
    page.fill("#alerts-api-key", keys["right"])
    press(page, f"#alerts-list li[data-alert='{fresh}'] button.alert-ack")
    assert f"Alert {fresh} acknowledged" in message(page, "alerts.acknowledged")
    assert not console.errors, console.errors
