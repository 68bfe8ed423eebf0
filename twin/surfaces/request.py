"""A surface run's parameters as one validated model: pollutant, hours, method, grid.

The CLI, the ``interpolate`` process, the pending queue and the demo all build one of
these, so "pm25 from 05:00 to 08:00 by kriging at 100 m" means the same everywhere.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from twin.analysis.interpolate import InterpolationParams, KrigingParams, VariogramParams
from twin.errors import TwinInputError

from .source import POLLUTANTS

# One grid for every surface of the city: 150 m cells put the demo's 30 days of three
# pollutants well under a minute on two cores, and a collection's hours share a grid.
DEFAULT_RESOLUTION = 150.0
HOUR = timedelta(hours=1)


def floor_hour(when: datetime) -> datetime:
    """The UTC hour ``when`` falls in (naive times are UTC)."""
    try:
        when = when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
    except OverflowError:  # year 1 or 9999 moved across midnight by its offset
        raise TwinInputError(f"{when.isoformat()} is out of range") from None
    return when.replace(minute=0, second=0, microsecond=0)


class SurfaceRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    pollutant: Literal[POLLUTANTS]  # type: ignore[valid-type]
    start: datetime = Field(description="first hour (floored to the UTC hour)")
    end: datetime = Field(description="last hour, inclusive (floored to the UTC hour)")
    method: Literal["auto", "idw", "kriging"] = "auto"
    model: Literal["spherical", "exponential", "gaussian"] = Field(
        "spherical", description="variogram model when method is kriging")
    weighting: Literal["auto", "cressie", "npairs", "none"] = Field(
        "auto", description="variogram least-squares weights; auto tries each by LOOCV")
    resolution: float = Field(DEFAULT_RESOLUTION, ge=20, le=5000, description="cell size, m")
    bbox: tuple[float, float, float, float] | None = Field(
        None, description="minlon,minlat,maxlon,maxlat (CRS84); default the whole city")

    @field_validator("start", "end")
    @classmethod
    def _hour(cls, value: datetime) -> datetime:
        return floor_hour(value)

    @model_validator(mode="after")
    def _ordered(self) -> SurfaceRequest:
        if self.end < self.start:
            raise TwinInputError("the end of the period is before its start")
        return self

    @property
    def hours(self) -> int:
        return int((self.end - self.start) / HOUR) + 1

    @property
    def stop(self) -> datetime:
        """The exclusive end: the hour after the last one."""
        return self.end + HOUR

    def params(self) -> InterpolationParams:
        """The analysis parameters; kriging variance is not computed (surfaces store the
        prediction and its cross-validation)."""
        kriging = KrigingParams(variogram=VariogramParams(model=self.model,
                                                          weighting=self.weighting))
        return InterpolationParams(method=self.method, resolution=self.resolution,
                                   kriging=kriging, variance=False)
