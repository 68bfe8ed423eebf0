"""Authorisation, read straight from the layer files: who may read a layer, edit it,
and see each of its fields. ``admin`` may do everything."""

from __future__ import annotations

from twin.registry import FieldSpec, Layer
from twin.server.auth.principal import Principal

ADMIN = "admin"


def can_read(layer: Layer, who: Principal) -> bool:
    return ADMIN in who.roles or bool(who.roles & set(layer.access.read))


def can_edit(layer: Layer, who: Principal) -> bool:
    if layer.is_view:  # derived from other tables: nobody edits it directly
        return False
    return ADMIN in who.roles or bool(who.roles & set(layer.access.edit))


def visible_fields(layer: Layer, who: Principal) -> list[FieldSpec]:
    """Fields ``who`` may see: public ones, and private ones visible to one of its roles."""
    if ADMIN in who.roles:
        return list(layer.fields.values())
    return layer.visible_fields(who.roles)

