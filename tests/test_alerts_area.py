"""AQI over a share of a ward's surface (issue 18, ``aqi_area``): hourly PM2.5 surfaces
written as real COGs by the real surface store (``store_surface``), a ward loaded by the
real vector loader, the rule evaluated by the hook of stored surfaces; exact shares."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
import xarray as xr
from pyproj import Transformer

from tests.test_alerts_engine import add_rule, alerts, city, events, pg  # noqa: F401
from twin.alerts import loader
from twin.alerts.rules import RuleError, parse_rule
from twin.alerts.surface import after_surfaces, class_share
from twin.ingest.vector import load_vector
from twin.rasters.catalogue import store_surface
from twin.surfaces.store import PsycopgCatalogue

T0 = datetime(2026, 12, 20, 0, tzinfo=UTC)
H = timedelta(hours=1)
X0, Y0, RES = 585_000.0, 2_330_000.0, 100.0          # EPSG:3405, north-up, 10 x 10 cells
TRANSFORM = (RES, 0.0, X0, 0.0, -RES, Y0)
# The ward: columns 0-4, rows 0-3 (20 cells); one of them has no value (19 valid).
WARD_BOX = (X0, Y0 - 4 * RES, X0 + 5 * RES, Y0)
POOR, CLEAN = 100.0, 10.0          # VN_AQI PM2.5: 100 µg/m³ -> AQI 167 (class 4, Xấu)
POOR_CELLS = [3, 5, 8, 3, 2]       # poor cells in the ward, hour by hour


def _surface(poor: int) -> xr.DataArray:
    data = np.full((10, 10), POOR, dtype="float32")    # outside the ward: all poor
    ward = np.full(20, CLEAN, dtype="float32")
    ward[:poor] = POOR
    ward[19] = np.nan
    data[0:4, 0:5] = ward.reshape(4, 5)
    return xr.DataArray(data, dims=("y", "x"),
                        attrs={"crs": "EPSG:3405", "transform": TRANSFORM})


@pytest.fixture()
def ward(city, settings, registry, tmp_path):  # noqa: F811
    to_lonlat = Transformer.from_crs("EPSG:3405", "EPSG:4326", always_xy=True)
    x0, y0, x1, y1 = WARD_BOX
    ring = [list(to_lonlat.transform(x, y)) for x, y in
            ((x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0))]
    path = tmp_path / "ward.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"code": "00001", "name": "Phường Thử",
                                           "level": "ward"},
         "geometry": {"type": "MultiPolygon", "coordinates": [[ring]]}}]}), encoding="utf-8")
    load_vector(city, registry, "admin_areas", path, extent=settings.plausible_extent)
    return city


def _store(pg, tmp_path, hours: list[int]) -> list[str]:  # noqa: F811
    catalogue, stored = PsycopgCatalogue(pg), []
    with pg.transaction():
        for k in hours:
            store_surface(catalogue, _surface(POOR_CELLS[k]), kind="air_quality",
                          variable="pm25", valid_time=T0 + k * H,
                          raster_dir=tmp_path / "rasters")
            stored.append((T0 + k * H).isoformat())
    return stored


RULE = {"id": "ward-poor", "subject": {"wards": ["Phường Thử"]},
        "condition": {"kind": "aqi_area", "scale": "vn", "pollutant": "pm25", "at_least": 4,
                      "share_pct": 20, "clear_minutes": 120}, "severity": "moderate"}


def test_class_share_is_exact():
    inside = np.zeros((10, 10), dtype=bool)
    inside[0:4, 0:5] = True
    for poor in POOR_CELLS:
        assert class_share(_surface(poor).values, inside, "pm25", "vn", 4) == \
            pytest.approx(100.0 * poor / 19)
    # the class boundary: 80 µg/m³ is AQI 150 (class 3), 81 is 150.7, rounded 151 (class 4)
    edge = np.array([80.0, 81.0, np.nan, -1.0])   # NaN and negative: no value
    assert class_share(edge, np.ones(4, dtype=bool), "pm25", "vn", 4) == 50.0
    assert class_share(np.array([np.nan]), np.ones(1, dtype=bool), "pm25", "vn", 4) is None


def test_a_ward_share_opens_and_resolves_as_hours_are_stored(ward, pg, settings,  # noqa: F811
                                                              tmp_path):
    add_rule(pg, settings, RULE)
    after_surfaces(pg, "pm25", _store(pg, tmp_path, [0, 1]))    # 15.8 %, then 26.3 %: opens
    (a,) = alerts(pg, "ward-poor")
    assert (a[1], a[2], a[5]) == ("Phường Thử", "open", T0 + 2 * H)
    value, unit, kind, geom = pg.execute(
        "SELECT value, unit, subject_kind, ST_GeometryType(geom) FROM alerts WHERE id = %s",
        (a[0],)).fetchone()
    assert (value, unit, kind, geom) == (26.3, "%", "area", "ST_MultiPolygon")
    after_surfaces(pg, "pm25", _store(pg, tmp_path, [2, 3]))    # 42.1 %, 15.8 % (clearing)
    assert alerts(pg, "ward-poor")[0][2] == "open"
    after_surfaces(pg, "pm25", _store(pg, tmp_path, [4]))       # 10.5 %: clear for 2 h
    (a,) = alerts(pg, "ward-poor")
    assert (a[2], a[6]) == ("resolved", T0 + 5 * H)
    assert pg.execute("SELECT value FROM alerts WHERE id = %s", (a[0],)).fetchone()[0] == 10.5
    after_surfaces(pg, "pm25", _store(pg, tmp_path, [0, 1, 2, 3, 4]))   # stored again
    assert [e[0] for e in events(pg, "ward-poor")] == ["opened", "resolved"]


def test_area_rules_refused(ward, pg):  # noqa: F811
    rule = parse_rule({**RULE, "subject": {"wards": ["Phường Không Có"]}})
    with pg.cursor() as cur, pytest.raises(RuleError) as err:
        loader.check(cur, rule)
    assert (err.value.rule, err.value.field) == ("ward-poor", "subject.wards")
    for raw, field in (({**RULE, "subject": {"stations": {"kind": "air"}}}, "subject"),
                       ({**RULE, "condition": {**RULE["condition"], "clear_share_pct": 30}},
                        "clear_share_pct"),
                       ({**RULE, "condition": {**RULE["condition"], "at_least": 7}},
                        "condition.at_least")):
        with pytest.raises(RuleError) as err:
            parse_rule(raw)
        assert err.value.rule == "ward-poor" and field in str(err.value), err.value
