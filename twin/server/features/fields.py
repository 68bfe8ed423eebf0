"""Which fields of a layer a caller sees, filters and sorts on: the one answer the items,
item, queryables and edit responses and the pygeoapi provider share."""

from __future__ import annotations

from twin.measures import measure_field
from twin.registry import FieldSpec, Layer
from twin.server.auth.policy import visible_fields
from twin.server.auth.principal import ANONYMOUS, Principal


def queryable_fields(layer: Layer, who: Principal = ANONYMOUS) -> dict[str, FieldSpec]:
    """Fields ``who`` may see, filter and sort on (a private field only for the roles it
    is visible to: filtering on it would leak it), and the computed measure."""
    fields = {f.name: f for f in visible_fields(layer, who)}
    measure = measure_field(layer)
    if measure is not None:
        fields[measure.name] = measure
    return fields


def output_names(layer: Layer, who: Principal = ANONYMOUS) -> list[str]:
    names = [f.name for f in visible_fields(layer, who)]
    return names + ([layer.measure_column] if layer.measure_column else [])
