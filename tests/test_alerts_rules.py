"""Alert rules refused with the rule's name and the field (issue 18, bad input), and the
rules file loaded into ``alert_rules`` in one transaction."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from tests.test_alerts_engine import city, pg  # noqa: F401 - fixtures
from twin.alerts import loader
from twin.alerts.rules import RuleError, parse_rule, read_file
from twin.config import REPO_ROOT

GAUGES = {"WL-LB-01": (9.5, 10.5, 11.5)}


def rule(**condition) -> dict:
    return {"id": "r1", "subject": {"stations": {"kind": "air"}},
            "condition": {"kind": "threshold", "property": "pm25", "above": 55.4,
                          **condition}}


@pytest.mark.parametrize(("raw", "field", "words"), [
    (rule(above=5000), "condition", "outside what pm25 can read"),
    (rule(above=-1), "condition", "outside"),
    (rule(clear_below=60), "condition", "clear_below must not exceed above"),
    (rule(clear_below=0), "condition", "never clear"),
    (rule(clear_above=60), "condition", "clear_below"),
    (rule(for_minutes=-5), "condition.for_minutes", "greater than or equal"),
    ({"id": "r1", "condition": {"kind": "nonsense"}}, "condition", "kind"),
    ({"id": "r1", "condition": {"kind": "river_level", "gauge": "WL-XX-99"}},
     "condition.gauge", "not a gauge of the city profile"),
    ({"id": "r1", "condition": {"kind": "rain", "above_mm": 0}}, "condition.above_mm",
     "greater than 0"),
    ({**rule(), "severity": "apocalyptic"}, "severity", "minor"),
    ({**rule(), "ack_roles": ["boss"]}, "(rule)", "unknown role 'boss'"),
    ({**rule(), "notify": {"webhooks": ["nowhere"]}}, "notify.webhooks", "no webhook"),
    ({**rule(), "id": "Bad Id!"}, "id", "pattern"),
])
def test_a_refused_rule_names_itself_and_the_field(raw, field, words):
    with pytest.raises(RuleError) as err:
        parse_rule(raw, webhooks=set(), gauges=GAUGES)
    assert err.value.field == field, str(err.value)
    assert words in str(err.value)
    assert str(err.value).startswith(f"rule {raw['id']!r}")


@pytest.mark.parametrize(("subject", "condition", "field", "words"), [
    ({"stations": {"ids": ["AQ-A-01", "AQ-NOPE"]}}, None, "subject.stations.ids",
     "unknown station 'AQ-NOPE'"),
    ({"stations": {"area": "Phường Không Có"}}, None, "subject.stations.area",
     "unknown area"),
    ({}, {"kind": "stuck", "property": "radon", "times": 5}, "condition.property",
     "unknown property 'radon'"),
])
def test_what_the_database_knows_is_checked(pg, subject, condition, field, words):  # noqa: F811
    raw = {**rule(), "subject": subject}
    if condition:
        raw["condition"] = condition
    parsed = parse_rule(raw, webhooks=set(), gauges=GAUGES)
    with pg.cursor() as cur, pytest.raises(RuleError) as err:
        loader.check(cur, parsed)
    assert err.value.field == field and words in str(err.value)


def test_the_repository_rules_file_is_valid():
    rules = read_file(REPO_ROOT / "config" / "alerts.yaml", GAUGES)
    kinds = {r.condition.kind for r in rules}
    assert {"threshold", "aqi_class", "river_level", "rain", "silence", "stuck"} <= kinds
    river = next(r for r in rules if r.condition.kind == "river_level")
    assert river.condition.levels_m == GAUGES["WL-LB-01"]   # from the city profile


def test_loading_the_file_is_all_or_nothing(pg, tmp_path: Path):  # noqa: F811
    good = {"id": "ok", "subject": {"stations": {"kind": "air"}},
            "condition": {"kind": "silence", "minutes": 30}}
    path = tmp_path / "alerts.yaml"
    path.write_text(yaml.safe_dump({"rules": [good]}), encoding="utf-8")
    assert [r.id for r in loader.load_file(pg, path, GAUGES)] == ["ok"]
    bad = {**good, "id": "bad", "subject": {"stations": {"ids": ["AQ-NOPE"]}}}
    path.write_text(yaml.safe_dump({"rules": [{**good, "severity": "severe"}, bad]}),
                    encoding="utf-8")
    with pytest.raises(RuleError, match=re.escape("rule 'bad', field subject.stations.ids")):
        loader.load_file(pg, path, GAUGES)
    spec = pg.execute("SELECT spec ->> 'severity' FROM alert_rules WHERE id = 'ok'").fetchone()
    assert spec == ("moderate",)                       # unchanged: nothing was stored
    path.write_text(yaml.safe_dump({"rules": []}), encoding="utf-8")
    loader.load_file(pg, path, GAUGES)                 # gone from the file: disabled
    assert pg.execute("SELECT source, enabled FROM alert_rules").fetchall() == [
        ("config", False)]
