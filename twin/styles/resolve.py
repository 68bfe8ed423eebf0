"""A layer's style made concrete: every colour decided, categories listed in order.

The writers (QML, SLD, MapLibre) and the legend all draw from this one object, so the
four encodings of a layer cannot disagree. The checks that need the layer's fields are
made here, naming the layer file, because ``twin.style_model`` may not see the registry.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from twin.registry import FieldType, Layer, RegistryError
from twin.style_model import NONE, LabelSpec
from twin.styles import ramps

Kind = Literal["point", "line", "polygon"]
KINDS: dict[str, Kind] = {
    "Point": "point", "MultiPoint": "point", "LineString": "line",
    "MultiLineString": "line", "Polygon": "polygon", "MultiPolygon": "polygon",
}
DEFAULT_FILL = "#3388ff"
DEFAULT_LINE = "#555555"
POINT_OUTLINE = "#ffffff"
# Scale denominator of zoom 0 for 256-px tiles at the OGC standard 0.28 mm pixel.
Z0_SCALE = 559_082_264.028_717_8


@dataclass(frozen=True)
class Category:
    value: str
    colour: str
    label: str
    width: float = 1.0   # line width relative to the layer's (ramps.WIDTHS)


@dataclass(frozen=True)
class Resolved:
    """Everything a writer needs. ``fill`` is None for lines and unfilled polygons;
    ``stroke`` None for polygons without outline. With ``by``, the category colour
    replaces ``fill`` when the layer is filled and ``stroke`` otherwise."""
    name: str
    title: str
    kind: Kind
    fill: str | None
    stroke: str | None
    width: float
    radius: float
    opacity: float
    by: str | None
    categories: tuple[Category, ...]
    label: LabelSpec | None
    minzoom: int | None
    maxzoom: int | None
    order: int = 0

    @property
    def draw_rank(self) -> tuple[int, int]:
        """Sort key, bottom first: filled areas, outlines, lines, points; then ``order``."""
        rank = {"polygon": 0 if self.fill else 1, "line": 2, "point": 3}[self.kind]
        return rank, self.order

    @property
    def colours_fill(self) -> bool:
        """Whether category colours go to the fill (else to the stroke)."""
        return self.fill is not None

    def symbol(self, colour: str | None = None) -> tuple[str | None, str | None]:
        """(fill, stroke) of one symbol, with a category colour applied."""
        if colour is None:
            return self.fill, self.stroke
        return (colour, self.stroke) if self.colours_fill else (None, colour)


def zoom_to_scale(zoom: float) -> float:
    """Map scale denominator at a WebMercatorQuad zoom level (QGIS and SLD use scales)."""
    return Z0_SCALE / 2 ** zoom


def _public_field(layer: Layer, name: str, what: str) -> None:
    spec = layer.fields.get(name)
    if spec is None or spec.private:
        raise RegistryError(f"{layer.source_file or layer.name}: style.{what} {name!r} "
                            "must be a public field of the layer")
    if what == "by" and spec.type not in (FieldType.string, FieldType.integer,
                                          FieldType.boolean):
        raise RegistryError(f"{layer.source_file or layer.name}: style.by {name!r} must be "
                            "a string, integer or boolean field")


def _values(layer: Layer, by: str) -> list[str]:
    """The values of the category field, in order: its enum, a small integer range, or
    else the keys of the layer's colours or of the field's default palette."""
    spec = layer.fields[by]
    if spec.enum:
        return [str(v) for v in spec.enum]
    if spec.type is FieldType.boolean:
        return ["true", "false"]
    if (spec.type is FieldType.integer and spec.min is not None and spec.max is not None
            and spec.max - spec.min < 64):
        return [str(v) for v in range(int(spec.min), int(spec.max) + 1)]
    return list(layer.style.colours or ramps.PALETTES.get(by, {}))


def _categories(layer: Layer, by: str) -> tuple[Category, ...]:
    values = _values(layer, by)
    if not values:
        raise RegistryError(f"{layer.source_file or layer.name}: style.by {by!r} has no "
                            "enum and no colours: list the values' colours in style.colours")
    own, palette = layer.style.colours, ramps.PALETTES.get(by, {})
    labels = ramps.LABELS.get(by, {})
    return tuple(
        Category(value, own.get(value) or palette.get(value)
                 or ramps.CYCLE[i % len(ramps.CYCLE)],
                 labels.get(value, value.replace("_", " ")),
                 ramps.WIDTHS.get(by, {}).get(value, 1.0))
        for i, value in enumerate(values))


def resolve(layer: Layer) -> Resolved:
    """The concrete style of ``layer``; raises RegistryError naming the file when the
    style names a field the layer lacks (or one it keeps private)."""
    style = layer.style
    kind = KINDS[layer.geometry]
    if style.by:
        _public_field(layer, style.by, "by")
    if style.label:
        _public_field(layer, style.label.field, "label.field")
    if kind == "line":
        fill, stroke = None, style.stroke or style.fill or DEFAULT_LINE
    elif kind == "point":
        fill = style.fill if style.fill not in (None, NONE) else DEFAULT_FILL
        stroke = style.stroke if style.stroke not in (None, NONE) else POINT_OUTLINE
    else:
        fill = None if style.fill == NONE else (style.fill or DEFAULT_FILL)
        stroke = None if style.stroke in (None, NONE) else style.stroke
        if fill is None and stroke is None:
            stroke = DEFAULT_LINE
    return Resolved(
        name=layer.name, title=layer.title, kind=kind, fill=fill, stroke=stroke,
        width=style.width, radius=style.radius, opacity=style.opacity, by=style.by,
        categories=_categories(layer, style.by) if style.by else (),
        label=style.label, minzoom=style.minzoom, maxzoom=style.maxzoom, order=style.order)
