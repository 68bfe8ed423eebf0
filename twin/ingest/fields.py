"""Map source columns to a layer's fields and coerce values to the field types."""

from __future__ import annotations

import json
import math
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, datetime, tzinfo
from functools import cache
from typing import Any

from twin.feature_ids import RULE, unsafe_id
from twin.ingest.errors import LoadError
from twin.registry import FieldSpec, FieldType, Layer

ID_COLUMNS = ("external_id", "id", "uuid", "gml_id", "fid")
TRUE = {"true", "t", "yes", "y", "1", "có", "co"}
FALSE = {"false", "f", "no", "n", "0", "không", "khong"}
# Naive times in a source are the city's local time: the zone of the load under way
# (``local_zone``), else the zone of the city profile the environment names.
_ZONE: ContextVar[tzinfo | None] = ContextVar("twin_local_zone", default=None)
NAMESPACE = uuid.UUID("6f1c1d5e-7b7a-4c59-9d36-1b2f3c2a9e10")


def field_columns(layer: Layer, columns: list[str], overrides: dict[str, str],
                  how: dict[str, str] | None = None) -> dict[str, str]:
    """layer field -> source column, by explicit override, name, then alias (any case);
    ``how`` (when given) is filled with field -> "--map", "name" or "alias"."""
    lower = {c.lower(): c for c in columns}
    unknown = [f for f in overrides.values() if f not in layer.fields]
    if unknown:
        raise LoadError(f"--map names fields that {layer.name} does not have: {unknown}")
    mapping = {dst: src for src, dst in overrides.items()}
    how = {} if how is None else how
    how.update(dict.fromkeys(mapping, "--map"))
    for name, spec in layer.fields.items():
        if name in mapping:
            continue
        for candidate in (name, *spec.aliases):
            if candidate.lower() in lower:
                mapping[name] = lower[candidate.lower()]
                how[name] = "name" if candidate == name else "alias"
                break
    return mapping


def match_columns(layer: Layer, columns: list[str], overrides: dict[str, str]) -> dict[str, str]:
    """layer field -> source column, by explicit override, name, then alias (any case);
    every required field must be found."""
    mapping = field_columns(layer, columns, overrides)
    missing = [n for n, s in layer.fields.items() if s.required and n not in mapping]
    if missing:
        raise LoadError(f"required field(s) {', '.join(missing)} of layer {layer.name} not in "
                        f"the source (columns: {', '.join(columns)}); map them with --map "
                        "SOURCE=FIELD or a --mapping file (twin load --check writes one), "
                        "or add an alias in the layer file")
    return mapping


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or \
        (isinstance(value, str) and not value.strip())


def _to_bool(value: Any) -> bool:
    if isinstance(value, (bool, int)) and value in (0, 1):
        return bool(value)
    text = str(value).strip().lower()
    if text in TRUE:
        return True
    if text in FALSE:
        return False
    raise ValueError(f"{value!r} is not a boolean")


def _to_int(value: Any) -> int:
    number = float(value)
    if not number.is_integer():
        raise ValueError(f"{value!r} is not a whole number")
    return int(number)


def _to_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value).strip()[:10])


@contextmanager
def local_zone(zone: tzinfo) -> Iterator[None]:
    """Read naive times as ``zone`` (the city profile's) inside the block."""
    token = _ZONE.set(zone)
    try:
        yield
    finally:
        _ZONE.reset(token)


@cache
def _profile_zone() -> tzinfo:
    from twin.config import Settings

    return Settings().city.zone


def _to_datetime(value: Any) -> datetime:
    stamp = value if isinstance(value, datetime) else datetime.fromisoformat(
        str(value).strip().replace("Z", "+00:00").replace("/", "-"))
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=_ZONE.get() or _profile_zone())


def _to_list(value: Any) -> list[str]:
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value]
    text = str(value).strip()
    if text.startswith("["):
        return [str(v) for v in json.loads(text)]
    return [part.strip() for part in re.split(r"[;,|]", text) if part.strip()]


CONVERT = {
    FieldType.string: lambda v: str(v).strip(), FieldType.integer: _to_int,
    FieldType.number: float, FieldType.boolean: _to_bool, FieldType.date: _to_date,
    FieldType.datetime: _to_datetime, FieldType.string_list: _to_list,
}


def coerce(spec: FieldSpec, value: Any) -> Any:
    """Convert one value; raise ValueError with a message naming the constraint."""
    if _blank(value):
        if spec.required:
            raise ValueError("is required but empty")
        return None
    try:
        out = CONVERT[spec.type](value)
    except (ValueError, TypeError, json.JSONDecodeError):
        raise ValueError(f"{value!r} is not a valid {spec.type.value}") from None
    if isinstance(out, float) and not math.isfinite(out):
        raise ValueError(f"{value!r} is not a finite number")
    if spec.enum is not None and out not in spec.enum:
        raise ValueError(f"{out!r} is not one of {', '.join(map(str, spec.enum))}")
    if spec.min is not None and out < spec.min:
        raise ValueError(f"{out!r} is below the minimum {spec.min:g}")
    if spec.max is not None and out > spec.max:
        raise ValueError(f"{out!r} is above the maximum {spec.max:g}")
    if spec.pattern is not None and not re.search(spec.pattern, out):
        raise ValueError(f"{out!r} does not match {spec.pattern}")
    if spec.max_length is not None and len(out) > spec.max_length:
        raise ValueError(f"is longer than {spec.max_length} characters")
    return out


def coerce_rows(layer: Layer, columns: dict[str, list], mapping: dict[str, str],
                labels: list[str], rows) -> tuple[list[list], list[str]]:
    """Coerced values per kept row (in ``layer.fields`` order) and the problems found."""
    specs = list(layer.fields.values())
    sources = [columns.get(mapping.get(s.name)) for s in specs]
    out, problems = [], []
    for i in rows:
        values = []
        for spec, src in zip(specs, sources, strict=False):
            try:
                values.append(coerce(spec, src[i] if src is not None else None))
            except ValueError as exc:
                problems.append(f"{labels[i]}: field {spec.name}: {exc}")
                values.append(None)
        out.append(values)
    return out, problems


def external_ids(layer: Layer, columns: dict[str, list], id_column: str | None,
                 wkb: list[bytes], rows, mapping: dict[str, str]) -> list[str]:
    """Stable ids: --id-column, the layer's id_field, the source's id column, else a
    UUID5 of the layer and the geometry."""
    lower = {c.lower(): c for c in columns}
    name = id_column or (mapping[layer.id_field] if layer.id_field else None) or next(
        (lower[c] for c in ID_COLUMNS if c in lower), None)
    if id_column and id_column not in columns:
        raise LoadError(f"--id-column {id_column!r} is not a column of the source")
    if name is not None:
        ids = [columns[name][i] for i in rows]
        blank = [str(k) for k, v in zip(rows, ids, strict=False) if _blank(v)]
        if blank:
            raise LoadError(f"id column {name!r} is empty in {len(blank)} row(s)", blank)
        out = [str(int(v)) if isinstance(v, float) and v.is_integer() else str(v).strip()
               for v in ids]
        unsafe = [str(k) for k, v in zip(rows, out, strict=False) if unsafe_id(v)]
        if unsafe:
            raise LoadError(f"id column {name!r}: {RULE} (a URL path segment); "
                            f"{len(unsafe)} row(s) do", unsafe)
        return out
    return [str(uuid.uuid5(NAMESPACE, layer.name + bytes(w).hex())) for w in wkb]
