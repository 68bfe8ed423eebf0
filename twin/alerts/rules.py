"""Alert rules: one pydantic model per kind of condition, and the file that declares them.

A rule is ``{id, title?, agency?, subject, condition, severity, ack_roles, notify,
enabled}``. What a model can check alone (thresholds a property can reach, a hysteresis
that clears, a gauge of the city profile, webhook names) is checked here; what needs the
database (stations, areas) by :mod:`twin.alerts.loader`. Every refusal names the rule
and the field: :class:`RuleError`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from twin.errors import TwinInputError

SEVERITIES = ("minor", "moderate", "severe", "extreme")   # CAP 1.2
Severity = Literal["minor", "moderate", "severe", "extreme"]
ROLES = ("transport", "environment", "land_office", "admin")

# The values a property can physically take: a threshold outside can never be crossed.
RANGES = {"pm25": (0, 1000), "pm10": (0, 2000), "no2": (0, 2000), "o3": (0, 1000),
          "co": (0, 100_000), "so2": (0, 2000), "temperature": (-20, 60),
          "humidity": (0, 100), "water_level_m": (-50, 100), "rain_mm": (0, 500)}


class RuleError(TwinInputError):
    """A rule refused: which rule, which field, why."""

    def __init__(self, rule: str, field: str, message: str):
        super().__init__(f"rule {rule!r}, field {field}: {message}")
        self.rule, self.field, self.reason = rule, field, message


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _in_range(prop: str, value: float, field: str) -> None:
    lo, hi = RANGES.get(prop, (float("-inf"), float("inf")))
    if not lo <= value <= hi:
        raise ValueError(f"{field}: {value} is outside what {prop} can read ({lo} to {hi})")


class Threshold(_Strict):
    """The hourly mean of ``property`` above (or below) a value for ``for_minutes``;
    resolved once beyond ``clear_below`` (``clear_above``) for ``clear_minutes``."""
    kind: Literal["threshold"]
    property: str
    above: float | None = None
    below: float | None = None
    for_minutes: int = Field(0, ge=0, le=7 * 1440)
    clear_below: float | None = None
    clear_above: float | None = None
    clear_minutes: int = Field(0, ge=0, le=7 * 1440)

    @model_validator(mode="after")
    def _check(self) -> Threshold:
        if (self.above is None) == (self.below is None):
            raise ValueError("give exactly one of above and below")
        p = self.property
        if self.above is not None:
            _in_range(p, self.above, "above")
            if self.clear_above is not None:
                raise ValueError("clear_above: a rule on above clears with clear_below")
            if self.clear_below is not None:
                _in_range(p, self.clear_below, "clear_below")
                if self.clear_below > self.above:
                    raise ValueError("clear_below must not exceed above")
                if self.clear_below <= RANGES.get(p, (float("-inf"),))[0]:
                    raise ValueError(f"clear_below: {p} never reads below "
                                     f"{self.clear_below}, so the alert would never clear")
        else:
            _in_range(p, self.below, "below")
            if self.clear_below is not None:
                raise ValueError("clear_below: a rule on below clears with clear_above")
            if self.clear_above is not None:
                _in_range(p, self.clear_above, "clear_above")
                if self.clear_above < self.below:
                    raise ValueError("clear_above must not be under below")
                if self.clear_above >= RANGES.get(p, (0, float("inf")))[1]:
                    raise ValueError(f"clear_above: {p} never reads above "
                                     f"{self.clear_above}, so the alert would never clear")
        return self


class AqiClass(_Strict):
    """The hourly AQI class (1 best .. 6 worst) at a station at least ``at_least``."""
    kind: Literal["aqi_class"]
    scale: Literal["vn", "us"] = "vn"
    at_least: int = Field(ge=2, le=6)
    for_minutes: int = Field(0, ge=0, le=7 * 1440)
    clear_minutes: int = Field(0, ge=0, le=7 * 1440)
    severities: dict[int, Severity] = Field(default_factory=dict)  # class -> severity


class RiverLevel(_Strict):
    """A gauge of the city profile past its alarm levels I, II, III (hourly maximum)."""
    kind: Literal["river_level"]
    gauge: str
    severities: tuple[Severity, Severity, Severity] = ("moderate", "severe", "extreme")
    levels_m: tuple[float, float, float] | None = None  # from the city profile, at load
    clear_margin_m: float = Field(0.1, ge=0, le=5)
    clear_minutes: int = Field(0, ge=0, le=7 * 1440)


class Rain(_Strict):
    """Rain in the last 1 or 3 hours (sum of ``rain_mm``) above ``above_mm``."""
    kind: Literal["rain"]
    hours: Literal[1, 3] = 1
    above_mm: float = Field(gt=0, le=500)
    clear_minutes: int = Field(0, ge=0, le=7 * 1440)


class Silence(_Strict):
    """No reading with a value from the station for ``minutes``. The timer leaves alone
    a station silent for longer than ``live_minutes`` when first seen (an archive, not an
    outage); gaps in the stored series are alerts whatever their age."""
    kind: Literal["silence"]
    minutes: int = Field(ge=5, le=30 * 1440)
    live_minutes: int = Field(1440, ge=5, le=365 * 1440)


class Stuck(_Strict):
    """The same value of ``property`` ``times`` readings in a row."""
    kind: Literal["stuck"]
    property: str
    times: int = Field(ge=3, le=10_000)


class FloodDepth(_Strict):
    """Water deeper than ``above_m`` on named roads, bus routes or wards in the steps of a
    stored flood run (``scenario``): the deepest water of the flood polygons it crosses."""
    kind: Literal["flood_depth"]
    scenario: str = Field(min_length=1, max_length=200)
    above_m: float = Field(gt=0, le=30)
    clear_minutes: int = Field(0, ge=0, le=7 * 1440)


class AqiArea(_Strict):
    """More than ``share_pct`` % of a ward's valid surface cells in AQI class ``at_least``
    or worse, on the stored hourly surfaces of ``pollutant`` (:mod:`twin.alerts.surface`);
    cleared at or under ``clear_share_pct`` (default: ``share_pct``)."""
    kind: Literal["aqi_area"]
    scale: Literal["vn", "us"] = "vn"
    pollutant: Literal["pm25", "pm10", "no2"] = "pm25"
    at_least: int = Field(ge=2, le=6)
    share_pct: float = Field(20.0, ge=0, lt=100)
    clear_share_pct: float | None = Field(None, ge=0, lt=100)
    for_minutes: int = Field(0, ge=0, le=7 * 1440)
    clear_minutes: int = Field(0, ge=0, le=7 * 1440)

    @model_validator(mode="after")
    def _check(self) -> AqiArea:
        if self.clear_share_pct is not None and self.clear_share_pct > self.share_pct:
            raise ValueError("clear_share_pct must not exceed share_pct")
        return self


Condition = Annotated[Threshold | AqiClass | RiverLevel | Rain | Silence | Stuck | FloodDepth
                      | AqiArea, Field(discriminator="kind")]


class Stations(_Strict):
    """Stations by code, kind or area (an ``admin_areas`` name or code); all given must hold."""
    ids: tuple[str, ...] = ()
    kind: Literal["air", "water_level", "rain"] | None = None
    area: str | None = None


class Subject(_Strict):
    stations: Stations = Stations()
    roads: tuple[str, ...] = ()    # road_segments names (flood_depth)
    routes: tuple[str, ...] = ()   # bus_routes route numbers (flood_depth)
    wards: tuple[str, ...] = ()    # admin_areas names or codes in force (flood, aqi_area)

    @property
    def places(self) -> tuple[tuple[str, str], ...]:
        return tuple([("road", r) for r in self.roads] + [("route", r) for r in self.routes]
                     + [("area", w) for w in self.wards])


class Notify(_Strict):
    webhooks: tuple[str, ...] = ()
    mqtt: bool = True
    languages: tuple[Literal["vi", "en"], ...] = ("vi", "en")


class Rule(_Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]{0,62}$")
    title: dict[str, str] = Field(default_factory=dict)
    agency: str | None = None
    subject: Subject = Subject()
    condition: Condition
    severity: Severity = "moderate"
    ack_roles: tuple[str, ...] = ("admin",)
    notify: Notify = Notify()
    enabled: bool = True

    @model_validator(mode="after")
    def _check(self) -> Rule:
        unknown = [r for r in self.ack_roles if r not in ROLES]
        if unknown:
            raise ValueError(f"ack_roles: unknown role {unknown[0]!r} (one of {', '.join(ROLES)})")
        if self.condition.kind == "river_level" and self.subject.stations != Stations():
            raise ValueError("subject: a river_level rule's subject is its gauge")
        flood = self.condition.kind == "flood_depth"
        if flood and (not self.subject.places or self.subject.stations != Stations()):
            raise ValueError("subject: a flood_depth rule names roads, routes or wards")
        area = self.condition.kind == "aqi_area"
        if area and (not self.subject.wards or self.subject.roads or self.subject.routes
                     or self.subject.stations != Stations()):
            raise ValueError("subject: an aqi_area rule names wards")
        if not flood and not area and self.subject.places:
            raise ValueError("subject: roads, routes and wards are for flood_depth rules")
        return self

    @property
    def prop(self) -> str | None:
        """The property the condition reads (None: any, for silence)."""
        c = self.condition
        return {"threshold": getattr(c, "property", None), "stuck": getattr(c, "property", None),
                "rain": "rain_mm", "river_level": "water_level_m", "aqi_class": None,
                "silence": None, "flood_depth": None, "aqi_area": None}[c.kind]


def _field(loc: tuple) -> str:
    parts = [str(p) for p in loc if p not in ("threshold", "aqi_class", "river_level", "rain",
                                               "silence", "stuck", "flood_depth", "aqi_area")]
    return ".".join(parts) or "(rule)"


Levels = dict[str, tuple[float, float, float]]


def parse_rule(raw: Any, *, webhooks: set[str] | None = None, gauges: Levels | None = None,
               name: str | None = None) -> Rule:
    """A rule from its mapping, or :class:`RuleError` naming the rule and field. ``gauges``:
    the city profile's, code -> alarm levels I, II, III (copied into river rules)."""
    gauges = gauges or {}
    rid = str((raw.get("id") if isinstance(raw, dict) else None) or name or "?")
    if not isinstance(raw, dict):
        raise RuleError(rid, "(rule)", "a rule is a mapping")
    try:
        rule = Rule.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        msg = err["msg"].removeprefix("Value error, ")
        raise RuleError(rid, _field(err["loc"]), msg) from None
    if webhooks is not None:
        for hook in rule.notify.webhooks:
            if hook not in webhooks:
                raise RuleError(rule.id, "notify.webhooks",
                                f"no webhook {hook!r} in config/alerts.yaml's webhooks")
    if rule.condition.kind == "river_level":
        if rule.condition.gauge not in gauges:
            raise RuleError(rule.id, "condition.gauge", f"{rule.condition.gauge!r} is not a "
                            "gauge of the city profile")
        condition = rule.condition.model_copy(update={"levels_m": gauges[rule.condition.gauge]})
        rule = rule.model_copy(update={"condition": condition})
    return rule


def read_file(path: Path, gauges: Levels) -> list[Rule]:
    """The rules of ``config/alerts.yaml`` (its ``rules:``), checked; an absent file: none."""
    if not path.exists():
        return []
    doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    webhooks = set((doc.get("webhooks") or {}).keys())
    rules, seen = [], set()
    for i, raw in enumerate(doc.get("rules") or []):
        rule = parse_rule(raw, webhooks=webhooks, gauges=gauges, name=f"#{i + 1}")
        if rule.id in seen:
            raise RuleError(rule.id, "id", "two rules have this id")
        seen.add(rule.id)
        rules.append(rule)
    return rules


def webhook_names(path: Path) -> set[str]:
    if not path.exists():
        return set()
    doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return set((doc.get("webhooks") or {}).keys())
