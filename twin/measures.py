"""The length or area PostGIS computes for a layer (``length_m``/``area_m2``), as the
read-only number field the API, the schema and the QGIS project show."""

from __future__ import annotations

from twin.registry import FieldSpec, FieldType, Layer


def measure_field(layer: Layer) -> FieldSpec | None:
    """The computed length or area column, as a read-only number field (None: none)."""
    if not layer.measure_column:
        return None
    unit = "metres" if layer.measure == "length" else "square metres"
    vi = "Chiều dài (mét)" if layer.measure == "length" else "Diện tích (mét vuông)"
    return FieldSpec(name=layer.measure_column, type=FieldType.number, description={
        "en": f"{layer.measure.capitalize()} in {unit}, computed by PostGIS",
        "vi": f"{vi}, do PostGIS tính"})
