"""Flood-depth rules (issue 18): a stored flood run's steps raise, deepen and resolve an
alert on a named road and on a ward; the roads and flood extents are loaded by the real
vector loader, the alert carries the road's geometry."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from tests.test_alerts_engine import add_rule, alerts, city, events, pg  # noqa: F401
from twin.alerts import loader
from twin.alerts.flood import evaluate_flood
from twin.alerts.rules import RuleError, parse_rule
from twin.ingest.vector import load_vector

T0 = datetime(2026, 10, 20, 12, tzinfo=UTC)
H = timedelta(hours=1)
ROAD = [[105.800, 21.030], [105.810, 21.030]]
# the flood polygon under the road, deepest water by step: dry, 0.1, 0.4, 0.6, 0.2, dry
DEPTHS = [None, 0.1, 0.4, 0.6, 0.2, None, None]


def _geojson(path, features) -> None:
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}),
                    encoding="utf-8")


@pytest.fixture()
def flooded(city, settings, registry, tmp_path):  # noqa: F811
    roads = tmp_path / "roads.geojson"
    _geojson(roads, [{"type": "Feature", "properties": {"name": "Phố Huế",
                                                         "road_class": "primary"},
                      "geometry": {"type": "LineString", "coordinates": ROAD}},
                     {"type": "Feature", "properties": {"name": "Phố Khô",
                                                         "road_class": "primary"},
                      "geometry": {"type": "LineString",
                                   "coordinates": [[105.9, 21.1], [105.91, 21.1]]}}])
    load_vector(city, registry, "road_segments", roads, extent=settings.plausible_extent)
    box = [[[105.805, 21.025], [105.815, 21.025], [105.815, 21.035], [105.805, 21.035],
            [105.805, 21.025]]]
    extents = tmp_path / "extents.geojson"
    _geojson(extents, [
        {"type": "Feature", "properties": {
            "id": f"storm-{k}", "scenario": "storm", "valid_time": (T0 + k * H).isoformat(),
            "depth_class": "0.2-0.5", "depth_max_m": d if d is not None else 0.0},
         "geometry": {"type": "MultiPolygon", "coordinates": [box if d is not None else
                                                              [[[106.0, 21.14], [106.0, 21.145],
                                                                [105.995, 21.145],
                                                                [106.0, 21.14]]]]}}
        for k, d in enumerate(DEPTHS)])
    load_vector(city, registry, "flood_extents", extents, extent=settings.plausible_extent)
    return city


def test_a_flooded_road_opens_deepens_and_resolves(flooded, pg, settings):  # noqa: F811
    add_rule(pg, settings, {"id": "flood-hue", "subject": {"roads": ["Phố Huế", "Phố Khô"]},
                            "condition": {"kind": "flood_depth", "scenario": "storm",
                                          "above_m": 0.3}, "severity": "severe"})
    summary = evaluate_flood(pg, "storm")
    assert summary.count("opened") == 1 and summary.count("resolved") == 1
    (a,) = alerts(pg, "flood-hue")
    assert (a[1], a[2], a[5], a[6]) == ("Phố Huế", "resolved", T0 + 2 * H, T0 + 4 * H)
    kind, geom = pg.execute("SELECT subject_kind, ST_AsText(geom) FROM alerts WHERE "
                            "rule_id = 'flood-hue'").fetchone()
    assert kind == "road" and geom.startswith("MULTILINESTRING")
    evaluate_flood(pg, "storm")                      # a second run changes nothing
    assert [e[0] for e in events(pg, "flood-hue")] == ["opened", "resolved"]


def test_unknown_places_are_refused(flooded, pg, settings, registry, tmp_path):  # noqa: F811
    """A name is refused once its layer holds places; while the layer is empty (a fresh
    database: ``twin db upgrade`` before the city is loaded) it is accepted and resolved
    at evaluation, which logs it (here: no bus routes, no wards yet)."""
    def check(subject):
        rule = parse_rule({"id": "f", "subject": subject, "condition": {
            "kind": "flood_depth", "scenario": "storm", "above_m": 0.3}})
        with pg.cursor() as cur:
            loader.check(cur, rule)

    check({"routes": ["99X"]})
    check({"wards": ["Phường Không Có"]})
    ward = tmp_path / "ward.geojson"
    _geojson(ward, [{"type": "Feature", "properties": {"code": "1", "name": "Phường Có",
                                                        "level": "ward"},
                     "geometry": {"type": "MultiPolygon", "coordinates": [[[
                         [105.8, 21.0], [105.81, 21.0], [105.81, 21.01], [105.8, 21.0]]]]}}])
    load_vector(flooded, registry, "admin_areas", ward, extent=settings.plausible_extent)
    for subject, field in (({"roads": ["Phố Không Có"]}, "subject.roads"),
                           ({"wards": ["Phường Không Có"]}, "subject.wards")):
        with pytest.raises(RuleError) as err:
            check(subject)
        assert (err.value.rule, err.value.field) == ("f", field)
    with pytest.raises(RuleError, match="flood_depth rule names roads"):
        parse_rule({"id": "f", "condition": {"kind": "flood_depth", "scenario": "storm",
                                             "above_m": 0.3}})
