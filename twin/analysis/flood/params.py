"""Scenario inputs as validated models (bounded fields, defaults, descriptions): the
same models describe the inputs of the OGC API flood processes."""

from __future__ import annotations

from pydantic import BaseModel, Field, model_validator

from .vectorise import MIN_DEPTH_M


class Rainfall(BaseModel):
    """A rainfall depth spread evenly over a duration, or an explicit hyetograph."""

    total_mm: float = Field(350.0, ge=0, le=2000,
                            description="rain over the event (2008: >350 mm in two days)")
    duration_h: float = Field(48.0, gt=0, le=240)
    hyetograph_mm: list[float] | None = Field(
        None, min_length=1, max_length=720,
        description="rain per step (mm); overrides total and duration")
    step_h: float = Field(1.0, gt=0, le=24, description="length of one step (h)")

    @model_validator(mode="after")
    def _check(self) -> Rainfall:
        if self.hyetograph_mm is not None and any(not 0 <= v <= 500 for v in self.hyetograph_mm):
            raise ValueError("hyetograph values must lie between 0 and 500 mm per step")
        steps = self.duration_h / self.step_h
        if self.hyetograph_mm is None and abs(steps - round(steps)) > 1e-9:
            raise ValueError("duration_h must be a whole number of steps")
        return self

    def per_step(self) -> list[float]:
        """Rain (mm) in each step."""
        if self.hyetograph_mm is not None:
            return list(self.hyetograph_mm)
        n = round(self.duration_h / self.step_h)
        return [self.total_mm / n] * n


class PluvialScenario(BaseModel):
    rainfall: Rainfall = Field(default_factory=Rainfall)
    drainage_mm_h: float = Field(50.0, ge=0, le=500, description="what the drains take (mm/h)")


class RiverScenario(BaseModel):
    """A river stage applied as a flat water surface from the river cells."""

    stage_m: float = Field(..., ge=-10, le=40, description="water-surface elevation (m, DEM datum)")


class FloodScenario(BaseModel):
    name: str = Field(..., min_length=1, max_length=100, pattern=r"^[\w .:-]+$")
    pluvial: PluvialScenario | None = None
    river: RiverScenario | None = None
    min_depth_m: float = Field(MIN_DEPTH_M, ge=0, le=1, description="shallower cells are dry")
    fill_dem: bool = Field(False, description="fill depressions of the DEM first (priority-flood)")

    @model_validator(mode="after")
    def _needs_water(self) -> FloodScenario:
        if self.pluvial is None and self.river is None:
            raise ValueError("a scenario needs rainfall, a river stage or both")
        return self
