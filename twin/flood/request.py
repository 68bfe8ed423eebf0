"""What a flood run is asked for, as validated models: the same models parse the CLI
options and the OGC process inputs, so both refuse the same things with the same words.

Times: a date alone is a local day of the city's time zone (given to :func:`parse` as
``tz``, the city profile's; UTC otherwise), ``from`` its start and ``to`` inclusive (to
the end of that day), as ``twin report`` reads them; a date-time without an offset is
local time; a date-time with one is taken as given. Runs step hourly, and each
step's valid time is the start of its hour (the hour whose mean level and rain sum
drove it, matching the ``reading_rollups`` hour buckets).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from pydantic import (
    BaseModel,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from twin.analysis.flood import FloodScenario, PluvialScenario, Rainfall, RiverScenario
from twin.analysis.flood.vectorise import MIN_DEPTH_M
from twin.errors import TwinInputError, validation_text

STEP = timedelta(hours=1)
MAX_STEPS = 240
NAME_PATTERN = r"^[\w .:-]+$"


class FloodInputError(TwinInputError):
    """A run's inputs cannot be used (unknown scenario, no DEM, bad window...); the
    message is safe to show a client and names what to fix."""


def parse_time(value: str | date | datetime, end: bool = False, tz: str = "UTC") -> datetime:
    """A UTC datetime from a date (local day start in zone ``tz``, or the next day's
    start when ``end``) or a date-time (local when naive)."""
    local = ZoneInfo(tz)
    if isinstance(value, str):
        text = value.strip()
        try:
            value = date.fromisoformat(text) if len(text) == 10 else \
                datetime.fromisoformat(text)
        except ValueError:
            raise FloodInputError(f"{value!r} is not an ISO date or date-time") from None
    try:
        if not isinstance(value, datetime):
            day = value + timedelta(days=1) if end else value
            return datetime.combine(day, time(0), local).astimezone(UTC)
        return (value.replace(tzinfo=local) if value.tzinfo is None else value).astimezone(UTC)
    except OverflowError:  # the first or last representable day, moved across midnight
        raise FloodInputError(f"{str(value)!r} is out of range") from None


def _tz(info: ValidationInfo) -> str:
    """The city's zone that :func:`parse` passed in the validation context (else UTC)."""
    return (info.context or {}).get("tz", "UTC")


def _whole_hours(start: datetime, end: datetime) -> int:
    if end <= start:
        raise FloodInputError("'to' must be after 'from'")
    span = (end - start) / STEP
    if abs(span - round(span)) > 1e-9 or start.minute or start.second or start.microsecond:
        raise FloodInputError("'from' and 'to' must fall on whole hours")
    if round(span) > MAX_STEPS:
        raise FloodInputError(f"a run has at most {MAX_STEPS} hourly steps; got {round(span)}")
    return round(span)


class RunGrid(BaseModel):
    """The grid options every run shares."""

    resolution_m: float | None = Field(None, ge=5, le=500, description=(
        "cell size of the model grid (m); unset = the DEM's own"))
    min_depth_m: float = Field(MIN_DEPTH_M, ge=0, le=1, description=(
        "shallower cells are dry (left out of the grids and the extents)"))
    fill_dem: bool = Field(False, description=(
        "fill the DEM's depressions first (priority-flood): no ponding, river only"))


class ScenarioRequest(RunGrid):
    """A "what if": a rainfall over the city, a drainage capacity and a river stage."""

    name: str = Field(..., min_length=1, max_length=100, pattern=NAME_PATTERN)
    rain_mm: float = Field(0.0, ge=0, le=2000, description="rain over 'hours' (mm), evenly")
    hours: int = Field(48, ge=1, le=MAX_STEPS, description="duration of the rain (h)")
    drainage_mm_h: float = Field(50.0, ge=0, le=500, description="what the drains take (mm/h)")
    stage_m: float | None = Field(None, ge=-10, le=40, description=(
        "main river's water level (m, DEM datum), flat from its channel"))
    start: datetime = Field(default_factory=lambda: datetime.now(UTC).replace(
        minute=0, second=0, microsecond=0), description="valid time of the first step")
    end: datetime | None = Field(None, description="end of the run (default: start + hours)")

    @field_validator("start", mode="before")
    @classmethod
    def _start(cls, v, info: ValidationInfo):
        return parse_time(v, tz=_tz(info)) if isinstance(v, (str, date)) else v

    @field_validator("end", mode="before")
    @classmethod
    def _end(cls, v, info: ValidationInfo):
        return parse_time(v, end=True, tz=_tz(info)) if isinstance(v, (str, date)) and v else v

    @model_validator(mode="after")
    def _check(self, info: ValidationInfo) -> ScenarioRequest:
        if self.rain_mm <= 0 and self.stage_m is None:
            raise FloodInputError("a scenario needs rain_mm > 0, a stage_m or both")
        self.start = parse_time(self.start, tz=_tz(info))
        self.end = parse_time(self.end, tz=_tz(info)) if self.end is not None else None
        _whole_hours(self.start, self.stop)
        return self

    @property
    def stop(self) -> datetime:
        return self.end or self.start + self.hours * STEP

    @property
    def steps(self) -> int:
        return _whole_hours(self.start, self.stop)

    def hyetograph(self) -> list[float]:
        """Rain per hourly step (mm): the total spread evenly over ``hours``, then dry."""
        wet = min(self.hours, self.steps)
        return [self.rain_mm / self.hours] * wet + [0.0] * (self.steps - wet)

    def analysis(self) -> FloodScenario:
        """The analysis module's scenario model (its own checks run too)."""
        pluvial = PluvialScenario(rainfall=Rainfall(hyetograph_mm=self.hyetograph()),
                                  drainage_mm_h=self.drainage_mm_h) if self.rain_mm > 0 else None
        river = RiverScenario(stage_m=self.stage_m) if self.stage_m is not None else None
        return FloodScenario(name=self.name, pluvial=pluvial, river=river,
                             min_depth_m=self.min_depth_m, fill_dem=self.fill_dem)


class EventRequest(RunGrid):
    """A recorded event: the gauges' hourly levels and the rain gauges' hourly sums."""

    name: str | None = Field(None, min_length=1, max_length=100, pattern=NAME_PATTERN,
                             description="scenario name (default: event-<from>)")
    start: datetime
    end: datetime
    drainage_mm_h: float = Field(50.0, ge=0, le=500)

    @field_validator("start", mode="before")
    @classmethod
    def _start(cls, v, info: ValidationInfo):
        return parse_time(v, tz=_tz(info))

    @field_validator("end", mode="before")
    @classmethod
    def _end(cls, v, info: ValidationInfo):
        return parse_time(v, end=True, tz=_tz(info))

    @model_validator(mode="after")
    def _check(self, info: ValidationInfo) -> EventRequest:
        _whole_hours(self.start, self.end)
        if self.name is None:
            self.name = f"event-{self.start.astimezone(ZoneInfo(_tz(info))):%Y%m%d}"
        return self

    @property
    def steps(self) -> int:
        return _whole_hours(self.start, self.end)


def parse(model: type[BaseModel], values: dict, tz: str = "UTC") -> BaseModel:
    """``model`` from ``values``, dates and naive times read in the city's zone ``tz``; a
    pydantic error becomes one FloodInputError that names each bad field (in words safe
    for a client: :func:`validation_text`)."""
    try:
        return model.model_validate(values, context={"tz": tz})
    except ValidationError as exc:
        raise FloodInputError(validation_text(exc.errors())) from None
