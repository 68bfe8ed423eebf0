"""The layer registry: ``layers/*.yaml`` is the one place a layer is described.

The schema, the loaders' field mapping, the pygeoapi configuration, the
styles and the reports are all derived from these objects.
"""

from __future__ import annotations

import re
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pyproj import CRS
from pyproj.exceptions import CRSError

from twin.catalogue_model import CatalogueSpec
from twin.i18n import Text
from twin.layer_text import pick_list, split_keywords, split_text
from twin.osm_mapping import OsmMapping, check_layer
from twin.style_model import Style

IDENT = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
RESERVED = {"id", "external_id", "geom", "created_at", "updated_at", "length_m", "area_m2"}


class RegistryError(ValueError):
    """A layer file is missing, unreadable or invalid; the message names file and field."""


class FieldType(str, Enum):  # noqa: UP042 - StrEnum would change str() of members
    string = "string"
    integer = "integer"
    number = "number"
    boolean = "boolean"
    date = "date"
    datetime = "datetime"
    string_list = "string_list"


JSON_SCHEMA: dict[FieldType, dict[str, Any]] = {
    FieldType.string: {"type": "string"}, FieldType.integer: {"type": "integer"},
    FieldType.number: {"type": "number"}, FieldType.boolean: {"type": "boolean"},
    FieldType.date: {"type": "string", "format": "date"},
    FieldType.datetime: {"type": "string", "format": "date-time"},
    FieldType.string_list: {"type": "array"},
}


class FieldSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = ""
    type: FieldType
    description: str = ""   # in the default language; description_in(lang) for another
    description_text: Text = Text()
    required: bool = False
    private: bool = False
    visible_to: tuple[str, ...] = ()
    enum: tuple[Any, ...] | None = None
    min: float | None = None
    max: float | None = None
    pattern: str | None = None
    max_length: int | None = Field(None, ge=1)
    aliases: tuple[str, ...] = ()
    index: bool = False  # a b-tree index: for fields clients filter on (and counts of them)

    @model_validator(mode="before")
    @classmethod
    def _bilingual(cls, data: Any) -> Any:
        return split_text(data, "description", "description_text")

    def description_in(self, lang: str) -> str:
        return self.description_text.pick(lang) if self.description_text else self.description

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            re.compile(value)
        return value

    @model_validator(mode="after")
    def _consistent(self) -> FieldSpec:
        if self.visible_to and not self.private:
            raise ValueError("visible_to is only meaningful on a private field")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError("min is greater than max")
        return self

    def json_schema(self, lists_as_text: bool = False,
                    lang: str | None = None) -> dict[str, Any]:
        """This field as a JSON Schema property (queryables, pygeoapi's schema, tile
        attributes). ``lists_as_text``: a string list as the JSON text it is encoded
        as where a value cannot be an array (vector tiles). ``lang``: the description
        in that language, also as the title (without: the name as title, the default
        language's description)."""
        description = self.description_in(lang) if lang else self.description
        title = description if lang and description else self.name
        out: dict[str, Any] = {"title": title, **JSON_SCHEMA[self.type]}
        if self.type == FieldType.string_list:
            out.update({"type": "string", "contentMediaType": "application/json"}
                       if lists_as_text else {"items": {"type": "string"}})
        if description:
            out["description"] = description
        if self.enum is not None:
            out["enum"] = list(self.enum)
        if self.min is not None:
            out["minimum"] = self.min
        if self.max is not None:
            out["maximum"] = self.max
        if self.pattern:
            out["pattern"] = self.pattern
        return out


class Access(BaseModel):
    """Who reads and edits a layer. ``edit_scope`` names a field (e.g. ``agency``): an
    editor other than admin may create, change and delete only features whose value of
    that field is the editor's own agency, and may not change it."""
    model_config = ConfigDict(extra="forbid", frozen=True)
    read: tuple[str, ...] = ("public",)
    edit: tuple[str, ...] = ()
    edit_scope: str | None = None


class MinZoomBy(BaseModel):
    """Features whose ``field`` holds one of ``values`` appear in tiles only from that zoom
    on, e.g. ``{field: road_class, values: {service: 15, residential: 14}}``."""
    model_config = ConfigDict(extra="forbid", frozen=True)
    field: str
    values: dict[str, Annotated[int, Field(ge=0, le=24)]] = Field(min_length=1)


class TileSpec(BaseModel):
    """Vector tiles of a layer: zoom range and per-zoom generalisation (all optional).

    ``simplify_below``: below this zoom, geometries are simplified in the storage CRS with
    a tolerance of ``simplify_px`` pixels of a 256-px tile before they are transformed;
    ``min_area_px``: polygons smaller than this many square pixels (by ``area_m2``) are
    left out; ``min_zoom_by``: per-value minimum zooms of one field."""
    model_config = ConfigDict(extra="forbid", frozen=True)
    minzoom: int = Field(0, ge=0, le=24)
    maxzoom: int = Field(22, ge=0, le=24)
    simplify_below: int | None = Field(None, ge=1, le=24)
    simplify_px: float = Field(1.0, gt=0, le=16)
    min_area_px: float | None = Field(None, gt=0, le=256)
    min_zoom_by: MinZoomBy | None = None

    @model_validator(mode="after")
    def _ordered(self) -> TileSpec:
        if self.minzoom > self.maxzoom:
            raise ValueError("minzoom is greater than maxzoom")
        return self


class Validity(BaseModel):
    """When each feature is in force, as two fields of the layer: ``from`` (the first day
    it is in force; empty: since before the records) and ``to`` (the first day it no
    longer is, an exclusive end; empty: still in force). ``datetime`` on such a layer
    selects the features in force then, e.g. the administrative map of a day."""
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    start: str = Field(alias="from")
    end: str = Field(alias="to")


class NearestSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    field: str
    layer: str


GeometryType = Literal[
    "Point", "LineString", "Polygon", "MultiPoint", "MultiLineString", "MultiPolygon"
]


class Layer(BaseModel):
    """One vector layer of the city model."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    title: str                    # in the default language (Vietnamese): title_in(lang)
    description: str = ""         # likewise: description_in(lang)
    keywords: tuple[str, ...] = ()  # the English words: theme keys (keywords_in(lang))
    title_text: Text = Text()
    description_text: Text = Text()
    keyword_texts: dict[str, tuple[str, ...]] = {}
    table: str = ""
    geometry: GeometryType
    storage_crs: str = "EPSG:4326"
    time_field: str | None = None
    id_field: str | None = None   # a field that IS the feature id: unique, never changes
    # Keep past versions: ``datetime`` then selects the versions valid at that time
    # ("the city as it was"), so such a layer has no separate time_field.
    history: bool = False
    validity: Validity | None = None   # when each feature is in force (datetime selects)
    measure: Literal["length", "area"] | None = None
    nearest: NearestSpec | None = None
    access: Access = Access()
    tiles: TileSpec = TileSpec()
    style: Style = Style()
    # A read-only layer derived from other tables: the SELECT of a view that twin creates
    # (``CREATE OR REPLACE VIEW``) after the migrations. It must yield ``id`` (bigint,
    # unique; pages are keyed on it), ``external_id`` (text), ``geom``, ``updated_at``
    # and every field.
    view: str | None = None
    fields: dict[str, FieldSpec]
    osm: OsmMapping | None = None   # features from OpenStreetMap (twin.osm_mapping)
    catalogue: CatalogueSpec | None = None  # as a published dataset (twin.catalogue_model)
    source_file: Path | None = None

    @model_validator(mode="before")
    @classmethod
    def _bilingual(cls, data: Any) -> Any:
        data = split_text(data, "title", "title_text")
        return split_keywords(split_text(data, "description", "description_text"))

    def title_in(self, lang: str) -> str:
        return self.title_text.pick(lang) or self.title

    def description_in(self, lang: str) -> str:
        return self.description_text.pick(lang) if self.description_text else self.description

    def keywords_in(self, lang: str) -> list[str]:
        return pick_list(self.keyword_texts, lang) or list(self.keywords)

    @field_validator("name", "table")
    @classmethod
    def _identifier(cls, value: str) -> str:
        if value and not IDENT.match(value):
            raise ValueError(f"{value!r} is not a lower-case SQL identifier")
        return value

    @field_validator("storage_crs")
    @classmethod
    def _known_crs(cls, value: str) -> str:
        try:
            crs = CRS.from_user_input(value)
        except CRSError:
            raise ValueError(f"unknown CRS {value!r}") from None
        if crs.to_epsg() is None:
            raise ValueError(f"storage_crs {value!r} has no EPSG code")
        return f"EPSG:{crs.to_epsg()}"

    @field_validator("fields", mode="before")
    @classmethod
    def _named(cls, value: Any) -> Any:
        if not isinstance(value, dict) or not value:
            raise ValueError("fields must be a non-empty mapping of name -> definition")
        return {k: {**v, "name": k} if isinstance(v, dict) else v for k, v in value.items()}

    @model_validator(mode="after")
    def _check(self) -> Layer:
        if not self.table:
            object.__setattr__(self, "table", self.name)
        for fname in self.fields:
            if not IDENT.match(fname) or fname in RESERVED:
                raise ValueError(f"field name {fname!r} is invalid or reserved")
        if self.history and self.time_field:
            raise ValueError("a layer with history uses datetime for its versions; "
                             "drop time_field (filter that field with CQL2 instead)")
        if self.validity is not None:
            self._check_validity(self.validity)
        if self.time_field and self.time_field not in self.fields:
            raise ValueError(f"time_field {self.time_field!r} is not one of the fields")
        if self.time_field and self.fields[self.time_field].type not in (
            FieldType.date, FieldType.datetime
        ):
            raise ValueError(f"time_field {self.time_field!r} must be a date or datetime")
        if self.id_field and (self.id_field not in self.fields
                              or not self.fields[self.id_field].required):
            raise ValueError(f"id_field {self.id_field!r} must be a required field")
        if self.id_field and (self.fields[self.id_field].type is not FieldType.string
                              or self.fields[self.id_field].private):
            # it is the feature id (external_id, text), equal and unique in the database
            raise ValueError(f"id_field {self.id_field!r} must be a public string field")
        if self.access.edit_scope is not None and self.access.edit_scope not in self.fields:
            raise ValueError(f"access.edit_scope: {self.access.edit_scope!r} is not a field "
                             "of this layer")
        if self.view is not None and (self.access.edit or self.history or self.nearest):
            raise ValueError("a view layer is read-only: no access.edit, history or nearest")
        if self.nearest and self.nearest.field not in self.fields:
            raise ValueError(f"nearest.field {self.nearest.field!r} is not one of the fields")
        if self.osm is not None:
            check_layer(self.osm, self)
        return self

    def _check_validity(self, validity: Validity) -> None:
        if self.history or self.time_field:
            raise ValueError("validity: datetime selects the features in force, so the layer "
                             "can have no history and no time_field")
        types = set()
        for key, name in (("from", validity.start), ("to", validity.end)):
            if name not in self.fields:
                raise ValueError(f"validity.{key}: {name!r} is not one of the fields")
            types.add(self.fields[name].type)
        if len(types) != 1 or not types <= {FieldType.date, FieldType.datetime}:
            raise ValueError("validity: from and to must both be dates or both datetimes")
        if validity.start == validity.end:
            raise ValueError("validity: from and to must be two fields")

    @property
    def srid(self) -> int:
        return int(self.storage_crs.split(":")[1])

    @property
    def measure_column(self) -> str | None:
        return {"length": "length_m", "area": "area_m2", None: None}[self.measure]

    @property
    def is_view(self) -> bool:
        return self.view is not None

    def public_fields(self) -> list[FieldSpec]:
        return [f for f in self.fields.values() if not f.private]

    def visible_fields(self, roles: set[str] | frozenset[str] = frozenset()) -> list[FieldSpec]:
        return [
            f for f in self.fields.values()
            if not f.private or roles.intersection(f.visible_to)
        ]


class Registry:
    """All layers, by name, in file order."""

    def __init__(self, layers: list[Layer]):
        self._layers = {layer.name: layer for layer in layers}

    def __iter__(self):
        return iter(self._layers.values())

    def __len__(self) -> int:
        return len(self._layers)

    def __contains__(self, name: str) -> bool:
        return name in self._layers

    def get(self, name: str) -> Layer:
        try:
            return self._layers[name]
        except KeyError:
            known = ", ".join(sorted(self._layers))
            raise RegistryError(f"unknown layer {name!r}; known layers: {known}") from None

    def names(self) -> list[str]:
        return list(self._layers)

    def tables(self) -> list[Layer]:
        """The layers stored in tables of their own (not views), in file order."""
        return [layer for layer in self if not layer.is_view]


def _describe(exc: ValidationError, path: Path) -> str:
    lines = [f"{path}: invalid layer definition"]
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"] if p != "name") or "(file)"
        lines.append(f"  {where}: {err['msg']}")
    return "\n".join(lines)


def load_layer(path: Path) -> Layer:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise RegistryError(f"{path}: cannot read layer file: {exc}") from exc
    if not isinstance(raw, dict):
        raise RegistryError(f"{path}: a layer file must be a YAML mapping")
    raw.setdefault("name", path.stem)
    try:
        return Layer(**raw, source_file=path)
    except ValidationError as exc:
        raise RegistryError(_describe(exc, path)) from None


def load_registry(layers_dir: Path) -> Registry:
    """Read and validate every ``*.yaml`` in ``layers_dir``."""
    files = sorted(layers_dir.glob("*.yaml"))
    if not files:
        raise RegistryError(f"{layers_dir}: no layer files (*.yaml)")
    layers = [load_layer(p) for p in files]
    registry = Registry(layers)
    if len(registry) != len(layers):
        raise RegistryError(f"{layers_dir}: two layer files declare the same name")
    tables = [layer.table for layer in layers]
    if len(set(tables)) != len(tables):
        raise RegistryError(f"{layers_dir}: two layer files use the same table")
    for layer in layers:
        if layer.nearest and layer.nearest.layer not in registry:
            raise RegistryError(
                f"{layer.source_file}: nearest.layer {layer.nearest.layer!r} is not a layer"
            )
    return registry
