"""The typed ``osm:`` block of a layer file: which OpenStreetMap objects become features of
the layer, and which tags fill which fields.

Like :mod:`twin.style_model`, it sits outside its package and imports nothing from twin:
the registry imports it, and :mod:`twin.osm` (which imports the registry) reads it. The
checks that need the layer (are the fields the layer's? is every required field filled?)
are :func:`check_layer`, which the registry calls with the layer. A layer file writes::

    osm:
      objects: [way]                          # node, way, relation
      match: [{highway: [primary, residential]}]   # any rule; a rule's keys all ("*": any value)
      exclude: [{area: "yes"}]
      split: true                             # ways split at nodes shared with other ways
      reverse: {oneway: ["-1"]}               # ways drawn against their direction
      fields:
        name: {tags: ["name:vi", name], default: "(không tên)"}
        lanes: lanes                          # one tag: shorthand
        speed_limit_kmh: {tags: [maxspeed], parse: speed_kmh}
        code: {tags: ["@id"]}

A field's value is the first tag of ``tags`` that is set (``@id``: the feature's id,
``@parent``: the id of the relation that lists it as a ``subarea``, ``@source`` /
``@target``: the end nodes of a split segment); then ``extract`` (a regular expression
whose first group is kept, when it matches), ``values`` (a value map; ``null`` maps to
empty), ``parse`` (a unit parser) and ``default`` (when nothing is set) apply in turn.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

ANY = "*"
PSEUDO_TAGS = ("@id", "@parent", "@source", "@target")
PARSERS = ("speed_kmh", "metres", "minutes")
ObjectKind = Literal["node", "way", "relation"]


def _text(value: Any) -> str:
    """A YAML scalar as OSM writes it: ``yes``/``no`` for YAML's booleans."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _rule(value: Any) -> Any:
    """A match rule: {key: value | [values] | "*"} -> {key: (values...) | "*"}."""
    if not isinstance(value, dict) or not value:
        raise ValueError("a match rule is a non-empty mapping of tag key -> value(s) or '*'")
    out = {}
    for key, wanted in value.items():
        if wanted == ANY:
            out[str(key)] = ANY
        elif isinstance(wanted, (list, tuple)) and wanted:
            out[str(key)] = tuple(_text(v) for v in wanted)
        elif isinstance(wanted, (str, int, float, bool)):
            out[str(key)] = (_text(wanted),)
        else:
            raise ValueError(f"match value of {key!r} must be a string, a list of strings "
                             "or '*'")
    return out


class FieldRule(BaseModel):
    """Where one field's value comes from."""
    model_config = ConfigDict(extra="forbid", frozen=True)

    tags: tuple[str, ...] = Field(min_length=1)
    extract: str | None = None
    values: dict[str, Any] = {}
    parse: Literal["speed_kmh", "metres", "minutes"] | None = None
    default: Any = None

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        if isinstance(value, str):
            return {"tags": [value]}
        if isinstance(value, list):
            return {"tags": value}
        return value

    @field_validator("values", mode="before")
    @classmethod
    def _value_keys(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            raise ValueError("values is a mapping of tag value -> field value")
        return {_text(k): v for k, v in value.items()}

    @field_validator("tags")
    @classmethod
    def _known_pseudo(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for tag in value:
            if not tag:
                raise ValueError("an empty tag key")
            if tag.startswith("@") and tag not in PSEUDO_TAGS:
                raise ValueError(f"unknown pseudo tag {tag!r}: one of {', '.join(PSEUDO_TAGS)}")
        return value

    @field_validator("extract")
    @classmethod
    def _one_group(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                groups = re.compile(value).groups
            except re.error as exc:
                raise ValueError(f"extract {value!r} is not a regular expression: {exc}") \
                    from None
            if groups < 1:
                raise ValueError("extract needs a group: (...) marks the part kept")
        return value


class OsmMapping(BaseModel):
    """The ``osm:`` block of one layer."""
    model_config = ConfigDict(extra="forbid", frozen=True)

    objects: tuple[ObjectKind, ...] = Field(min_length=1)
    match: tuple[dict[str, Any], ...] = Field(min_length=1)
    exclude: tuple[dict[str, Any], ...] = ()
    split: bool = False
    reverse: dict[str, Any] | None = None
    group: Literal["route_master"] | None = None
    fields: dict[str, FieldRule] = Field(min_length=1)

    @field_validator("match", "exclude", mode="before")
    @classmethod
    def _rules(cls, value: Any) -> Any:
        if isinstance(value, dict):
            value = [value]
        if not isinstance(value, (list, tuple)):
            raise ValueError("a list of rules ({key: value(s)})")
        return tuple(_rule(v) for v in value)

    @field_validator("reverse", mode="before")
    @classmethod
    def _reverse(cls, value: Any) -> Any:
        return None if value is None else _rule(value)

    def keys(self) -> list[str]:
        """Every real tag key the block reads, in a stable order."""
        seen: dict[str, None] = {}
        for rule in (*self.match, *self.exclude, *([self.reverse] if self.reverse else [])):
            seen.update(dict.fromkeys(rule))
        for spec in self.fields.values():
            seen.update(dict.fromkeys(t for t in spec.tags if not t.startswith("@")))
        return list(seen)


GEOMETRIES = {  # which objects can make which geometry
    "node": {"Point"},
    "way": {"Point", "LineString", "MultiLineString", "Polygon", "MultiPolygon"},
    "relation": {"MultiLineString", "MultiPolygon"},
}


def check_layer(mapping: OsmMapping, layer: Any) -> None:
    """Check the block against its layer (``fields``, ``id_field``, ``geometry``); raise
    ValueError naming the key (``osm.fields.lanes``...)."""
    for name in mapping.fields:
        if name not in layer.fields:
            raise ValueError(f"osm.fields.{name}: {name!r} is not a field of the layer")
    missing = [n for n, f in layer.fields.items() if f.required and n not in mapping.fields]
    if missing:
        raise ValueError(f"osm.fields: required field(s) {', '.join(missing)} not mapped")
    if layer.id_field and mapping.fields[layer.id_field].tags != ("@id",):
        raise ValueError(f"osm.fields.{layer.id_field}: the layer's id field is its feature "
                         "id: map it as {tags: ['@id']}")
    for kind in mapping.objects:
        if layer.geometry not in GEOMETRIES[kind]:
            raise ValueError(f"osm.objects: {kind} objects cannot make {layer.geometry} "
                             "features")
    if mapping.split and (mapping.objects != ("way",) or layer.geometry != "LineString"):
        raise ValueError("osm.split: only ways, into a LineString layer, are split")
    if mapping.group and (mapping.objects != ("relation",)
                          or layer.geometry != "MultiLineString"):
        raise ValueError("osm.group: only relations, into a MultiLineString layer, are grouped")
    for name, spec in mapping.fields.items():
        if {"@source", "@target"} & set(spec.tags) and not mapping.split:
            raise ValueError(f"osm.fields.{name}: @source and @target need split: true")
        if "@parent" in spec.tags and "relation" not in mapping.objects:
            raise ValueError(f"osm.fields.{name}: @parent is only known for relations")
        if spec.parse and layer.fields[name].type.value not in ("integer", "number"):
            raise ValueError(f"osm.fields.{name}.parse: parsers make numbers, but the field "
                             f"is {layer.fields[name].type.value}")
