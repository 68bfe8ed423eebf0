"""OGC API – Processes over real HTTP: the map-report process, sync and async."""

from __future__ import annotations

import time

import pytest

from tests.reports_data import ensure_daily_aqi

INPUTS = {"area": "hoan kiem", "from": "2026-10-01", "to": "2026-10-02", "topics": ["air"]}


@pytest.fixture(scope="module", autouse=True)
def _aqi(city_engine):
    ensure_daily_aqi(city_engine)


def test_processes_list_map_report(http):
    doc = http.get("/processes").json()
    ids = [p["id"] for p in doc["processes"]]
    assert "map-report" in ids
    one = http.get("/processes/map-report").json()
    assert set(one["inputs"]) == {"area", "from", "to", "topics", "format", "paper", "lang"}
    assert one["inputs"]["lang"]["schema"]["enum"] == ["vi", "en"]
    assert "async-execute" in one["jobControlOptions"]


def test_landing_page_links_processes(http):
    rels = [link["rel"] for link in http.get("/").json()["links"]]
    assert any(rel.endswith("/processes") for rel in rels)


def test_execute_sync_returns_the_pdf(http):
    r = http.post("/processes/map-report/execution", json={"inputs": INPUTS})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/pdf")
    assert r.content.startswith(b"%PDF")


def test_execute_sync_html(http):
    r = http.post("/processes/map-report/execution",
                  json={"inputs": {**INPUTS, "format": "html"}})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/html")
    assert "Quận Hoàn Kiếm" in r.content.decode()


def test_execute_in_either_language(http):
    """``lang`` picks the report's language; without it the city's (Vietnamese)."""
    pages = {}
    for lang in (None, "vi", "en"):
        inputs = {**INPUTS, "format": "html", **({"lang": lang} if lang else {})}
        r = http.post("/processes/map-report/execution", json={"inputs": inputs})
        assert r.status_code == 200, r.text
        pages[lang] = r.content.decode()
    for page in (pages[None], pages["vi"]):
        assert '<html lang="vi">' in page and "Chú giải" in page and "Legend" not in page
        assert "Bản sao số Hà Nội" in page          # the city's name from its profile
    assert '<html lang="en">' in pages["en"] and "Legend" in pages["en"]
    assert "Hanoi digital twin" in pages["en"] and "Chú giải" not in pages["en"]
    bad = http.post("/processes/map-report/execution",
                    json={"inputs": {**INPUTS, "lang": "fr"}})
    assert bad.status_code == 400 and "lang" in bad.json()["description"]


def test_execute_async_job_completes_and_result_downloads(http):
    r = http.post("/processes/map-report/execution", json={"inputs": INPUTS},
                  headers={"Prefer": "respond-async"})
    assert r.status_code == 201, r.text
    job_url = r.headers["location"]
    job_id = job_url.rstrip("/").rsplit("/", 1)[-1]
    for _ in range(600):   # polls until the job is done, as a client does
        status = http.get(f"/jobs/{job_id}").json()["status"]
        if status not in ("accepted", "running"):
            break
        time.sleep(0.1)
    assert status == "successful"
    result = http.get(f"/jobs/{job_id}/results")
    assert result.status_code == 200
    assert result.headers["content-type"].startswith("application/pdf")
    assert result.content.startswith(b"%PDF")
    listed = http.get("/jobs", params={"limit": 10000}).json()["jobs"]
    assert any(j["jobID"] == job_id for j in listed)


@pytest.mark.parametrize("body, words", [
    ({"inputs": {**INPUTS, "area": "Nowhere"}}, "no district or ward is named 'Nowhere'"),
    ({"inputs": {**INPUTS, "to": "2026-09-01"}}, "before from"),
    ({"inputs": {**INPUTS, "from": "yesterday"}}, "from:"),
    ({"inputs": {**INPUTS, "topics": ["weather"]}}, "topics"),
    ({"inputs": {**INPUTS, "format": "docx"}}, "format"),
    ({"inputs": {**INPUTS, "colour": "red"}}, "colour"),
    ({"input": INPUTS}, "inputs"),
])
@pytest.mark.parametrize("prefer", [None, "respond-async"])
def test_invalid_inputs_are_400(http, body, words, prefer):
    headers = {"Prefer": prefer} if prefer else {}
    r = http.post("/processes/map-report/execution", json=body, headers=headers)
    assert r.status_code == 400, r.text
    doc = r.json()
    assert doc["code"] == "InvalidParameterValue" and words in doc["description"]


def test_body_not_json_is_400(http):
    r = http.post("/processes/map-report/execution", content=b"area=x",
                  headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and r.json()["code"] == "InvalidParameterValue"


def test_unknown_process_and_job_are_404(http):
    assert http.post("/processes/nope/execution", json={"inputs": {}}).status_code == 404
    assert http.get("/jobs/00000000-0000-0000-0000-000000000000").status_code == 404


def test_openapi_lists_process_paths(http):
    paths = http.get("/openapi").json()["paths"]
    assert "/processes" in paths
    assert any(p.startswith("/processes/map-report") for p in paths)
    assert "/jobs" in paths
