"""Issue 13, finding 14: CSV exports do not carry spreadsheet formulas.

An editor (an ``environment`` API key) creates, over HTTP, an air station whose name is
``=HYPERLINK("http://evil","x")``, whose other text starts with ``@``, ``-``, ``+``, a tab
and a carriage return, and whose elevation is -3.5; readings of it with such a unit are
written to the readings table. The features CSV (``f=csv``) and the EDR CSV then give
every such text cell a leading ``'`` (OWASP), and leave numbers as numbers.
"""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from psycopg import sql
from sqlalchemy import text

from twin.server.auth.keys import create_key
from twin.server.db import libpq_url
from twin.server.params.csvsafe import TRIGGERS, sql_text, text_cell

FORMULA = '=HYPERLINK("http://evil","x")'
X, Y = 105.8507, 21.0281      # central Hà Nội
SAMPLES = [FORMULA, "+1+1", "-2+3", "@SUM(A1:A9)", "\t=1+1", "\r=1+1", "plain", "", "a=b",
           " =1", "'=already"]


def risky(cell: str) -> bool:
    return cell.startswith(TRIGGERS)


@pytest.mark.parametrize("value", SAMPLES)
def test_python_and_sql_rules_agree(city_url, value):
    """One rule: text_cell in Python and sql_text in PostgreSQL give the same cell."""
    expected = "'" + value if risky(value) else value
    assert text_cell(value) == expected
    with psycopg.connect(libpq_url(city_url)) as conn:
        got = conn.execute(sql.SQL("SELECT {}").format(sql_text(sql.Literal(value)))).fetchone()
        null = conn.execute(sql.SQL("SELECT {}").format(sql_text(sql.SQL("NULL::text")))).fetchone()
    assert got[0] == expected and null[0] is None


@pytest.fixture(scope="module")
def environment(city_engine) -> dict[str, str]:
    # An admin's key: sensor stations are edited per agency (access.edit_scope), and this
    # station's agency is itself one of the formula-looking values under test.
    key, _ = create_key(city_engine, "test security csv", "admin")
    return {"X-API-Key": key}


@pytest.fixture(scope="module")
def station(server, environment, city_engine):
    """The editor's station over HTTP, and three readings of it written to the table;
    all removed afterwards (deleting a station deletes its readings)."""
    import httpx

    code = f"T-CSV-{uuid.uuid4().hex[:8]}"
    body = {"type": "Feature", "id": code,
            "geometry": {"type": "Point", "coordinates": [X, Y]},
            "properties": {"code": code, "name": FORMULA, "kind": "air",
                           "agency": "@SUM(A1:A9)", "properties": ["-2+3", "\tpm25"],
                           "elevation_m": -3.5}}
    with httpx.Client(base_url=server, timeout=60) as client:
        r = client.post("/collections/sensor_stations/items", json=body, headers=environment)
        assert r.status_code == 201, r.text
        try:
            with city_engine.begin() as conn:
                # Inside the EDR collection's temporal extent as the server read it at
                # start (other tests may have added readings before or after it since).
                interval = client.get("/collections/sensor_readings",
                                      params={"f": "json"}).json()["extent"]["temporal"]
                start = datetime.fromisoformat(
                    interval["interval"][0][0].replace("Z", "+00:00"))
                conn.execute(text(
                    "INSERT INTO sensor_readings (station_id, observed_at, property, value, "
                    "unit, quality) SELECT s.id, :t + h * interval '1 hour', 'temperature', :v, "
                    ":unit, 'good' FROM sensor_stations s, generate_series(0, 2) h "
                    "WHERE s.code = :code"),
                    {"t": start, "v": -3.5, "unit": "=1+2", "code": code})
            yield code, start
        finally:
            client.delete(f"/collections/sensor_stations/items/{code}", headers=environment)


def rows_of(response) -> list[dict[str, str]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.text, newline="")))


def test_features_csv_neutralises_text_and_keeps_numbers(http, station):
    code, _ = station
    rows = rows_of(http.get("/collections/sensor_stations/items",
                            params={"f": "csv", "bbox": f"{X - 1e-4},{Y - 1e-4},{X + 1e-4},"
                                                        f"{Y + 1e-4}", "limit": 1000}))
    mine = [r for r in rows if r["id"] == code]
    assert len(mine) == 1, rows
    row = mine[0]
    assert row["name"] == "'" + FORMULA
    assert row["agency"] == "'@SUM(A1:A9)"
    assert row["properties"] == "'-2+3;\tpm25"
    assert row["elevation_m"] == "-3.5"                       # a number stays a number
    assert float(row["elevation_m"]) == -3.5
    assert row["kind"] == "air" and row["code"] == code       # plain text as it was
    for r in rows:
        for name, cell in r.items():
            assert name == "elevation_m" or not risky(cell), (name, cell)


def test_edr_csv_neutralises_text_and_keeps_numbers(http, station):
    code, start = station
    window = "/".join(t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
                      for t in (start, start + timedelta(hours=3)))
    rows = rows_of(http.get("/collections/sensor_readings/cube", params={
        "bbox": f"{X - 1e-4},{Y - 1e-4},{X + 1e-4},{Y + 1e-4}", "datetime": window,
        "parameter-name": "temperature", "f": "csv"}))
    mine = [r for r in rows if r["station_code"] == code]
    assert len(mine) == 3, rows
    for r in mine:
        assert r["unit"] == "'=1+2"
        assert r["value"] == "-3.5"                            # numeric column as it was
        assert r["property"] == "temperature" and r["quality"] == "good"
        assert datetime.fromisoformat(r["observed_at"]) >= start
    for r in rows:
        for name, cell in r.items():
            assert name == "value" or not risky(cell), (name, cell)
