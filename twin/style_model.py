"""The typed ``style:`` block of a layer file.

It sits outside ``twin.styles`` and imports nothing from twin: the registry imports it,
and every module of ``twin.styles`` imports the registry. So the checks that need the
layer's fields (is ``by`` a field? which values does it take?) live in
``twin.styles.resolve``; here only what a style can say on its own is validated.

A layer file writes, for example::

    style: {fill: "#f2e6c9", stroke: "#a08a5b", by: land_use,
            label: {field: name, minzoom: 16}, minzoom: 12}
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

HEX_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
NONE = "none"


def _colour(value: str) -> str:
    """``#rrggbb`` (lower-cased, so generated files are stable) or ``none``."""
    if value == NONE:
        return value
    if not HEX_COLOUR.match(value):
        raise ValueError(f"{value!r} is not a colour; write #rrggbb or none")
    return value.lower()


def _solid(value: str) -> str:
    value = _colour(value)
    if value == NONE:
        raise ValueError("a category colour cannot be none")
    return value


Colour = Annotated[str, AfterValidator(_colour)]
SolidColour = Annotated[str, AfterValidator(_solid)]
Zoom = Annotated[int, Field(ge=0, le=24)]


class LabelSpec(BaseModel):
    """Label features with ``field`` from ``minzoom`` on (QGIS and SLD; the offline web
    viewer shows no text, since MapLibre text needs a glyph server)."""
    model_config = ConfigDict(extra="forbid", frozen=True)

    field: str
    minzoom: Zoom = 15
    colour: SolidColour = "#222222"
    size: float = Field(8.0, gt=0, le=72, description="point size")


class Style(BaseModel):
    """How a layer is drawn: one symbol, or one per value of the field ``by``.

    ``fill`` is the colour of points and polygons, ``stroke`` the colour of lines and
    outlines; ``width`` the line width in pixels, ``radius`` the point radius in pixels.
    With ``by``, each value gets the colour from ``colours`` or, failing that, from the
    default palette of that field (``twin.styles.ramps.PALETTES``); the category colour
    replaces ``fill`` (or ``stroke`` on lines and unfilled polygons).
    """
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    fill: Colour | None = None
    stroke: Colour | None = None
    width: float = Field(1.0, gt=0, le=50, alias="stroke_width")
    radius: float = Field(4.0, gt=0, le=50)
    opacity: float = Field(1.0, ge=0, le=1)
    by: str | None = None
    colours: dict[str, SolidColour] = {}
    label: LabelSpec | None = None
    minzoom: Zoom | None = None
    maxzoom: Zoom | None = None
    # Draw order among layers of the same geometry kind (higher on top); areas are
    # always drawn under lines and lines under points.
    order: int = Field(0, ge=-100, le=100)

    @model_validator(mode="after")
    def _consistent(self) -> Style:
        if self.colours and not self.by:
            raise ValueError("colours needs by: the field whose values they colour")
        if (self.minzoom is not None and self.maxzoom is not None
                and self.minzoom > self.maxzoom):
            raise ValueError("minzoom is greater than maxzoom")
        return self
