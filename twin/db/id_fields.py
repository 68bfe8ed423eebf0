"""A layer's ``id_field`` is its feature id: unique and equal to ``external_id``, in the
database as in the loaders and edits.

``twin db upgrade`` gives each such layer table a check ``ck_<table>_<field>_is_id``
(``<field> = external_id``) and a unique index ``ux_<table>_<field>_is_id`` (lookups by
code, e.g. EDR's stations, find one feature). A table whose rows do not agree yet is
reported (the drift list names a few of them) and left as it is until they do; the
constraints of a field that is no longer the id field are dropped.
"""

from __future__ import annotations

from sqlalchemy import Connection, text

from twin.registry import Layer, Registry


def _names(layer: Layer, field: str) -> tuple[str, str]:
    return f"ck_{layer.table}_{field}_is_id", f"ux_{layer.table}_{field}_is_id"


def _q(connection: Connection, name: str) -> str:
    return connection.dialect.identifier_preparer.quote(name)


def _existing(connection: Connection, table: str) -> set[str]:
    """Names of the table's constraints and indexes made here (``..._is_id``)."""
    rows = connection.execute(text(
        "SELECT conname FROM pg_constraint WHERE conrelid = to_regclass(:t) "
        "UNION SELECT indexname FROM pg_indexes WHERE tablename = :t "
        "AND schemaname = current_schema()"), {"t": table}).scalars()
    return {name for name in rows if name.endswith("_is_id")}


def _disagreeing(connection: Connection, layer: Layer) -> list[str]:
    """Up to 5 descriptions of rows whose id field is not their id, or is shared."""
    table, field = _q(connection, layer.table), _q(connection, layer.id_field)
    rows = connection.execute(text(
        f"SELECT external_id, {field} FROM {table} WHERE {field} IS DISTINCT FROM external_id "
        "LIMIT 5")).all()
    return [f"id {fid!r} has {layer.id_field} {value!r}" for fid, value in rows]


def sync_id_fields(connection: Connection, registry: Registry) -> tuple[list[str], list[str]]:
    """Add the missing id-field constraints; (names added, drift lines)."""
    added, drift = [], []
    for layer in registry.tables():
        have = _existing(connection, layer.table)
        wanted = set(_names(layer, layer.id_field)) if layer.id_field else set()
        for stale in sorted(have - wanted):  # the layer's id field changed or went away
            kind = "INDEX" if stale.startswith("ux_") else "CONSTRAINT"
            statement = (f"DROP INDEX {_q(connection, stale)}" if kind == "INDEX" else
                         f"ALTER TABLE {_q(connection, layer.table)} DROP CONSTRAINT "
                         f"{_q(connection, stale)}")
            connection.execute(text(statement))
        if not wanted or wanted <= have:
            continue
        bad = _disagreeing(connection, layer)
        if bad:
            drift.append(f"{layer.table}: {layer.id_field} must equal the feature id, but "
                         f"{'; '.join(bad)}; the check and unique index on {layer.id_field} "
                         "are added once they agree")
            continue
        check, index = _names(layer, layer.id_field)
        table, field = _q(connection, layer.table), _q(connection, layer.id_field)
        if check not in have:
            connection.execute(text(f"ALTER TABLE {table} ADD CONSTRAINT "
                                    f"{_q(connection, check)} CHECK ({field} = external_id)"))
            added.append(check)
        if index not in have:
            connection.execute(text(f"CREATE UNIQUE INDEX {_q(connection, index)} "
                                    f"ON {table} ({field})"))
            added.append(index)
    return added, drift
