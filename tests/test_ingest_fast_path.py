"""The fast path for the stations' own payload shape decides exactly as the full rules:
the same readings, and every refusal with the same reason."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from twin.ingest.observations import Refused, parse_payload, reading_from

NOW = datetime(2026, 10, 2, tzinfo=UTC)
T = "2026-10-01T07:00:00+07:00"
GOOD = {"property": "pm25", "time": T, "value": 12.5, "unit": "µg/m³", "quality": "good"}
VARIANTS = [
    {}, {"value": 3}, {"value": None, "quality": "missing"}, {"value": None},
    {"value": None, "quality": "good"}, {"value": True}, {"value": "1"},
    {"value": float("inf")}, {"quality": "GOOD"}, {"quality": ""}, {"quality": 0},
    {"quality": False}, {"quality": "great"}, {"unit": ""}, {"unit": None}, {"unit": 5},
    {"unit": "x" * 40}, {"time": "1800-01-01T00:00:00Z"}, {"time": "2030-01-01T00:00:00Z"},
    {"time": ["a"]}, {"property": ["pm25"]}, {"property": "PM25"}, {"station": "OTHER"},
    {"extra": 1}]


def expected(item: dict) -> tuple:
    try:
        r = reading_from(item, NOW, "AQ-1", None)
    except Refused as exc:
        return ("dead", str(exc))
    return ("ok", r.row())


def test_every_variant_parses_as_the_full_rules_do():
    items = [{**GOOD, **v} for v in VARIANTS] + [
        {k: v for k, v in GOOD.items() if k != "value"}, {"property": "pm25", "time": T,
                                                           "value": 1}]
    payload = json.dumps(items, ensure_ascii=False, allow_nan=True).encode()
    for _ in range(2):  # the second time, names and times are known: the fast path
        parsed = parse_payload(payload, "t/AQ-1", "AQ-1", None, NOW)
        got = {r.index: ("ok", r.row()) for r in parsed.readings}
        got.update({d.index: ("dead", d.reason) for d in parsed.dead})
        assert [got[i] for i in range(len(items))] == [expected(i) for i in items]
        assert all(r.raw is items[r.index] or r.raw == items[r.index]
                   for r in parsed.readings)
    assert expected({**GOOD, "value": 3}) == ("ok", ("AQ-1", datetime.fromisoformat(T), "pm25",
                                                     3.0, "µg/m³", "good"))
