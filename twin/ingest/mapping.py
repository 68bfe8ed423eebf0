"""Mapping files: how an agency's columns and values become a layer's fields.

A mapping is YAML (``twin load --check`` writes a template)::

    layer: road_segments
    columns:              # source column: layer field ('' leaves the column out)
      LOAI: road_class
      RONG_CM: width_m
    values:               # layer field: {source value: layer value}
      road_class: {unclassified: service, "Đường tỉnh": secondary}
    units:                # layer field: the source's unit (or {from: cm, to: m})
      width_m: cm
    constants:            # layer field: one value for every feature
      agency: Sở Giao thông Vận tải
    defaults:             # layer field: the value where the source's is empty
      surface: asphalt

Every scalar is read as text (YAML's ``yes`` stays "yes") and converted like a source
value. A key that names no field, a value the field refuses or an unknown unit is an
error naming the mapping file and the key. The text is stored with the load in
``load_runs`` (``report.mapping``) so that ``--mapping-from-run`` loads a file again the
same way.
"""

from __future__ import annotations

import math
import unicodedata
from dataclasses import dataclass, field, replace
from pathlib import Path

import yaml

from twin.ingest.errors import LoadError
from twin.ingest.fields import _blank, coerce, field_columns
from twin.ingest.readers import SourceData
from twin.registry import FieldType, Layer

SECTIONS = ("layer", "columns", "values", "units", "constants", "defaults", "crs",
            "encoding", "id_column")
UNITS = {
    "length": {"mm": 0.001, "cm": 0.01, "dm": 0.1, "m": 1.0, "km": 1000.0},
    "area": {"cm2": 1e-4, "dm2": 0.01, "m2": 1.0, "m²": 1.0, "ha": 1e4, "km2": 1e6},
    "speed": {"km/h": 1.0, "kmh": 1.0, "m/s": 3.6, "mph": 1.609344},
}
SUFFIX_UNITS = {"_m": "m", "_m2": "m2", "_kmh": "km/h", "_mm": "mm", "_km": "km", "_ha": "ha"}
BLANK = ("", "~", "null")
NUMERIC = (FieldType.integer, FieldType.number)


def _text(value) -> str:
    return unicodedata.normalize("NFC", str(value)).strip()


def _key(value) -> str:
    """A source value as a value map compares it ("3.0" read as a number is "3")."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return _text(value)


@dataclass
class Mapping:
    source: str                                   # the file (or load run) it came from
    text: str
    layer: str | None = None
    columns: dict[str, str] = field(default_factory=dict)       # source column -> field
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    units: dict[str, float] = field(default_factory=dict)       # field -> factor
    constants: dict[str, str] = field(default_factory=dict)
    defaults: dict[str, str] = field(default_factory=dict)
    crs: str | None = None
    encoding: str | None = None
    id_column: str | None = None

    def error(self, key: str, problem: str) -> LoadError:
        return LoadError(f"{self.source}: {key}: {problem}")

    def as_report(self) -> dict:
        return {"source": self.source, "text": self.text}


def read_mapping(path: Path) -> Mapping:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise LoadError(f"{path}: no such mapping file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise LoadError(f"{path}: cannot read the mapping file ({exc})") from None
    return parse_mapping(text, str(path))


def parse_mapping(text: str, source: str) -> Mapping:
    """The mapping in ``text``; errors name ``source`` and the key."""
    try:
        doc = yaml.load(text, Loader=yaml.BaseLoader)
    except yaml.YAMLError as exc:
        raise LoadError(f"{source}: not valid YAML: {exc}") from None
    doc = {} if doc in (None, "") else doc
    if not isinstance(doc, dict):
        raise LoadError(f"{source}: a mapping file is a YAML mapping of sections "
                        f"({', '.join(SECTIONS)})")
    unknown = [k for k in doc if k not in SECTIONS]
    if unknown:
        raise LoadError(f"{source}: {unknown[0]}: unknown section (sections: "
                        f"{', '.join(SECTIONS)})")
    out = Mapping(source, text)
    for name in ("layer", "crs", "encoding", "id_column"):
        value = doc.get(name)
        if isinstance(value, (dict, list)):
            raise out.error(name, "must be a single value")
        setattr(out, name, None if value is None or _text(value) in BLANK else _text(value))
    out.columns = {_text(k): _text(v) for k, v in _section(out, doc, "columns").items()}
    for name in ("constants", "defaults"):
        setattr(out, name, {_text(k): _text(v) for k, v in _section(out, doc, name).items()
                            if _text(v) not in BLANK})
    for fld, table in _section(out, doc, "values").items():
        if not isinstance(table, dict):
            raise out.error(f"values.{fld}", "must map source values to layer values")
        out.values[_text(fld)] = {_text(k): _text(v) for k, v in table.items()}
    out.units = {_text(k): _factor(out, _text(k), v)
                 for k, v in _section(out, doc, "units").items()}
    return out


def _section(mapping: Mapping, doc: dict, name: str) -> dict:
    value = doc.get(name) or {}
    if not isinstance(value, dict):
        raise mapping.error(name, "must be a mapping of keys to values")
    return value


def _unit(mapping: Mapping, key: str, name: str) -> tuple[str, float]:
    for kind, table in UNITS.items():
        if name.lower() in table:
            return kind, table[name.lower()]
    known = ", ".join(u for table in UNITS.values() for u in table)
    raise mapping.error(key, f"unknown unit {name!r} (units: {known})")


def _factor(mapping: Mapping, fld: str, spec) -> float:
    """The factor from a source unit to the field's unit."""
    key = f"units.{fld}"
    if isinstance(spec, dict):
        source, target = spec.get("from"), spec.get("to")
        if not source or not target:
            raise mapping.error(key, "give the units as {from: cm, to: m}")
    else:
        source = _text(spec)
        target = next((u for s, u in sorted(SUFFIX_UNITS.items(), key=lambda kv: -len(kv[0]))
                       if fld.endswith(s)), None)
        if target is None:
            raise mapping.error(key, f"the unit of field {fld!r} is not in its name: write "
                                     f"{{from: {source}, to: UNIT}}")
    (kind_from, f_from), (kind_to, f_to) = _unit(mapping, key, _text(source)), \
        _unit(mapping, key, _text(target))
    if kind_from != kind_to:
        raise mapping.error(key, f"cannot convert {kind_from} ({source}) to {kind_to} "
                                 f"({target})")
    return f_from / f_to


def check_mapping(mapping: Mapping, layer: Layer, columns: list[str]) -> None:
    """Every key names a field of ``layer`` (or a column of the source) and every target
    value fits its field; raises a LoadError naming the mapping file and the key."""
    if mapping.layer and mapping.layer != layer.name:
        raise mapping.error("layer", f"the mapping is for {mapping.layer}, not {layer.name}")
    fields = ", ".join(layer.fields)
    for src, fld in mapping.columns.items():
        if src not in columns:
            raise mapping.error(f"columns.{src}", f"the source has no column {src!r} "
                                                  f"(columns: {', '.join(columns)})")
        if fld not in BLANK and fld not in layer.fields:
            raise mapping.error(f"columns.{src}", f"{layer.name} has no field {fld!r} "
                                                  f"(fields: {fields})")
    for section in ("values", "units", "constants", "defaults"):
        for fld in getattr(mapping, section):
            if fld not in layer.fields:
                raise mapping.error(f"{section}.{fld}", f"{layer.name} has no field {fld!r} "
                                                        f"(fields: {fields})")
    for fld, table in mapping.values.items():
        for src, dst in table.items():
            _fits(mapping, layer, f"values.{fld}.{src}", fld, dst)
    for section in ("constants", "defaults"):
        for fld, value in getattr(mapping, section).items():
            _fits(mapping, layer, f"{section}.{fld}", fld, value)
    for fld in mapping.units:
        if layer.fields[fld].type not in NUMERIC:
            raise mapping.error(f"units.{fld}", f"field {fld!r} is not a number")


def _fits(mapping: Mapping, layer: Layer, key: str, fld: str, value: str) -> None:
    if value in BLANK:
        raise mapping.error(key, f"no value given: write the {fld} it stands for")
    try:
        coerce(layer.fields[fld], value)
    except ValueError as exc:
        raise mapping.error(key, f"{layer.name}.{fld}: {exc}") from None


def apply_mapping(mapping: Mapping, layer: Layer, data: SourceData) -> SourceData:
    """The source with the mapping applied: mapped columns under their field names,
    values mapped, units converted, constants and defaults filled in."""
    check_mapping(mapping, layer, list(data.columns))
    renames = {src: fld for src, fld in mapping.columns.items() if fld not in BLANK}
    dropped = {src for src, fld in mapping.columns.items() if fld in BLANK}
    columns = {c: v for c, v in data.columns.items() if c not in dropped}
    fields = field_columns(layer, [c for c in columns if c not in renames], {})
    fields.update({fld: src for src, fld in renames.items()})
    out, renamed = {}, {}
    for fld, src in fields.items():
        out[fld] = _convert(mapping, fld, columns[src], len(data))
        renamed[fld] = src
    for fld in (*mapping.constants, *mapping.defaults):
        if fld not in out:
            out[fld] = _convert(mapping, fld, [None] * len(data), len(data))
    used = set(fields.values())
    out.update({c: v for c, v in columns.items() if c not in used and c not in out})
    return replace(data, columns=out, renamed={**data.renamed, **renamed},
                   notes=[*data.notes, f"mapping {mapping.source} applied"])


def _convert(mapping: Mapping, fld: str, values: list, n: int) -> list:
    if fld in mapping.constants:
        return [mapping.constants[fld]] * n
    table, factor = mapping.values.get(fld) or {}, mapping.units.get(fld)
    folded = {k.casefold(): v for k, v in table.items()}
    default = mapping.defaults.get(fld)
    out = []
    for value in values:
        if table and not _blank(value):
            key = _key(value)
            value = table.get(key, folded.get(key.casefold(), value))
        if factor is not None and not _blank(value):
            value = _scaled(value, factor)
        out.append(default if default is not None and _blank(value) else value)
    return out


def _scaled(value, factor: float):
    try:
        number = float(value)
    except (TypeError, ValueError):
        return value  # left for the field's own check to name the row
    result = number * factor
    return round(result, 9) if math.isfinite(result) else value
