"""Load a vector file into a layer table: one transaction, all or nothing."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import numpy as np
import psycopg
import shapely
from sqlalchemy import Engine

from twin.ingest import geometry as geo
from twin.ingest.analyze import vacuum_analyze
from twin.ingest.area_check import DEFAULT_TOLERANCE, area_mismatches
from twin.ingest.errors import LoadError
from twin.ingest.fields import ID_COLUMNS, coerce_rows, external_ids, match_columns
from twin.ingest.readers import SourceData, parse_crs
from twin.ingest.sources import SourceOptions, open_source
from twin.ingest.validity import check_validity
from twin.registry import Layer, Registry

Mode = Literal["append", "upsert", "replace"]
Progress = Callable[[int], None]  # called with the number of rows just written


@dataclass
class LoadSummary:
    layer: str
    source: str
    mode: str
    loaded: int = 0
    deleted: int = 0
    repaired: list[str] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    mapping: dict | None = None     # the mapping file's text, to load the same way again
    run_id: int | None = None       # its row in load_runs

    def line(self) -> str:
        text = (f"{self.layer}: {self.loaded} loaded, {len(self.repaired)} repaired, "
                f"{len(self.rejected)} rejected")
        return text + (f", {self.deleted} removed" if self.deleted else "")

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class Prepared:
    """Rows ready for COPY: external ids, field values, EWKB geometries."""

    layer: Layer
    ids: list[str]
    values: list[list]
    wkb: list[bytes]
    summary: LoadSummary
    labels: list[str] = field(default_factory=list)   # each row's place in the source


def prepare(layer: Layer, data: SourceData, *, crs: str | None, extent, strict: bool,
            mapping: dict[str, str] | None = None, id_column: str | None = None,
            mode: str = "append", area_tolerance: float = DEFAULT_TOLERANCE) -> Prepared:
    """Validate and convert a source to the layer's schema; raise LoadError on any problem."""
    summary = LoadSummary(layer.name, data.label, mode, notes=list(data.notes))
    if len(data) == 0:
        raise LoadError(f"{data.label}: holds no features", data.rejected)
    if strict and data.rejected:
        raise LoadError(f"{data.label}: features that cannot be read (--strict)",
                        data.rejected)
    source_crs = _source_crs(data, crs, summary)
    target = parse_crs(layer.storage_crs)
    geoms = geo.to_crs(data.geometries, source_crs, target)
    geo.check_types(geoms, layer.geometry, data.row_labels)
    fixed = geo.repair(geoms, layer.geometry, data.row_labels, strict)
    summary.repaired, summary.rejected = fixed.repaired, data.rejected + fixed.rejected
    rows = np.flatnonzero(fixed.keep)
    kept = fixed.geometries[rows]
    kept84 = geo.to_crs(kept, target, geo.CRS84)
    geo.check_extent(kept84, extent, [data.row_labels[i] for i in rows])
    summary.notes += area_mismatches(data, rows, kept84, area_tolerance)
    cols = match_columns(layer, list(data.columns), mapping or {})
    ignored = set(data.columns) - set(cols.values()) - {id_column}
    summary.ignored_columns = sorted(c for c in ignored if c.lower() not in ID_COLUMNS)
    values, problems = coerce_rows(layer, data.columns, cols, data.row_labels, rows)
    if problems:
        raise LoadError(f"{len(problems)} value(s) do not fit layer {layer.name}", problems)
    wkb = list(shapely.to_wkb(shapely.set_srid(kept, layer.srid), include_srid=True, hex=False))
    ids = external_ids(layer, data.columns, id_column, wkb, rows, cols)
    _ids_are_id_field(layer, ids, values, [data.row_labels[i] for i in rows])
    dupes = [f"id {k!r} appears {n} times" for k, n in Counter(ids).items() if n > 1]
    if dupes:
        raise LoadError("duplicate feature ids in the source", dupes)
    return Prepared(layer, ids, values, wkb, summary, [data.row_labels[i] for i in rows])


def _ids_are_id_field(layer: Layer, ids: list[str], values: list[list], labels: list[str]
                      ) -> None:
    """A layer's id field is its feature id (twin.db.id_fields): an --id-column must
    agree with it row by row."""
    if not layer.id_field:
        return
    at = list(layer.fields).index(layer.id_field)
    bad = [f"{label}: id {fid!r} but {layer.id_field} {row[at]!r}"
           for label, fid, row in zip(labels, ids, values, strict=True) if row[at] != fid]
    if bad:
        raise LoadError(f"{layer.name} features are identified by their {layer.id_field}: "
                        f"the id column must hold the same values (or leave --id-column out)",
                        bad[:50])


def _source_crs(data: SourceData, crs: str | None, summary: LoadSummary):
    if crs:
        given = parse_crs(crs)
        if data.crs is not None and not data.crs.equals(given):
            summary.notes.append(f"--crs {crs} overrides the file's {data.crs.to_string()}")
        return given
    if data.crs is None:
        summary.notes.append("no CRS in the source: read as EPSG:4326 (lon/lat)")
        return parse_crs("EPSG:4326")
    return data.crs


def staging_table(cur: psycopg.Cursor, layer: Layer) -> list[str]:
    """A temp table shaped like the layer's writable columns; returns the column names."""
    names = ["external_id", *layer.fields, "geom"]
    cur.execute(f'CREATE TEMP TABLE _twin_stage ON COMMIT DROP AS '
                f'SELECT {", ".join(names)} FROM {layer.table} WITH NO DATA')
    return names


def copy_rows(cur: psycopg.Cursor, prepared: Prepared, names: list[str],
              progress: Progress | None = None) -> None:
    with cur.copy(f"COPY _twin_stage ({', '.join(names)}) FROM STDIN") as copy:
        for n, (ident, values, wkb) in enumerate(zip(prepared.ids, prepared.values,
                                                     prepared.wkb, strict=False)):
            copy.write_row([ident, *values, wkb.hex()])
            if progress and n % 5000 == 4999:
                progress(5000)
    if progress:
        progress(len(prepared.ids) % 5000)


def merge(cur: psycopg.Cursor, layer: Layer, names: list[str], mode: Mode) -> tuple[int, int]:
    """Move staged rows into the layer table; returns (written, deleted)."""
    cols = ", ".join(names)
    deleted = 0
    if mode == "replace":
        cur.execute(f"DELETE FROM {layer.table} t WHERE NOT EXISTS "
                    f"(SELECT 1 FROM _twin_stage s WHERE s.external_id = t.external_id)")
        deleted = cur.rowcount
    conflict = ""
    if mode in ("upsert", "replace"):
        changed = [c for c in names if c != "external_id"]
        sets = ", ".join(f"{c} = EXCLUDED.{c}" for c in changed)
        # Unchanged features are left alone: no new version, no history row, same ETag.
        old = ", ".join(f"{layer.table}.{c}" for c in changed)
        new = ", ".join(f"EXCLUDED.{c}" for c in changed)
        conflict = (f" ON CONFLICT (external_id) DO UPDATE SET {sets} "
                    f"WHERE ({old}) IS DISTINCT FROM ({new})")
    cur.execute(f"INSERT INTO {layer.table} ({cols}) SELECT {cols} FROM _twin_stage{conflict}")
    return cur.rowcount, deleted


def link_nearest(cur: psycopg.Cursor, layer: Layer, registry: Registry) -> int:
    """Fill an empty 'nearest feature' field (e.g. a sign's road segment) by KNN."""
    if layer.nearest is None:
        return 0
    other = registry.get(layer.nearest.layer)
    fld = layer.nearest.field
    cur.execute(
        f"UPDATE {layer.table} t SET {fld} = ("
        f"  SELECT o.external_id FROM {other.table} o"
        f"  ORDER BY o.geom <-> ST_Transform(t.geom, {other.srid}) LIMIT 1)"
        f" WHERE t.{fld} IS NULL AND t.external_id IN (SELECT external_id FROM _twin_stage)")
    return cur.rowcount


def write_in(cur: psycopg.Cursor, prepared: Prepared, registry: Registry, mode: Mode,
             progress: Progress | None = None) -> LoadSummary:
    """Write prepared rows inside the caller's transaction and log the run."""
    layer, summary = prepared.layer, prepared.summary
    started = datetime.now(UTC)
    check_validity(cur, layer, prepared.ids, prepared.values, prepared.labels or
                   [f"id {i!r}" for i in prepared.ids], summary.source)
    names = staging_table(cur, layer)
    copy_rows(cur, prepared, names, progress)
    try:
        summary.loaded, summary.deleted = merge(cur, layer, names, mode)
    except psycopg.errors.UniqueViolation:
        raise LoadError(f"some feature ids already exist in {layer.name}: use "
                        "--mode upsert to update them or --mode replace") from None
    except psycopg.errors.ForeignKeyViolation as exc:
        raise LoadError(f"{layer.name}: features that other tables refer to would "
                        f"be removed ({exc.diag.message_detail})") from None
    except psycopg.errors.CheckViolation as exc:
        raise LoadError(f"{layer.name}: a row breaks the constraint "
                        f"{exc.diag.constraint_name}") from None
    linked = link_nearest(cur, layer, registry)
    if linked:
        summary.notes.append(f"{layer.nearest.field} filled by nearest "
                             f"{layer.nearest.layer} for {linked} feature(s)")
    cur.execute("DROP TABLE _twin_stage")
    cur.execute(
        "INSERT INTO load_runs (layer, source, mode, loaded, repaired, rejected, "
        "report, started_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
        (layer.name, summary.source, mode, summary.loaded, len(summary.repaired),
         len(summary.rejected), json.dumps(summary.as_dict(), default=str), started))
    summary.run_id = cur.fetchone()[0]
    return summary


def touched_tables(layer: Layer) -> list[str]:
    """The tables a load into ``layer`` writes (its history table too)."""
    from twin.db.history import history_table

    return [layer.table, *([history_table(layer)] if layer.history else [])]


def write(engine: Engine, prepared: Prepared, registry: Registry, mode: Mode,
          progress: Progress | None = None) -> LoadSummary:
    """Write prepared rows in one transaction, then VACUUM (ANALYZE) what it wrote."""
    with engine.begin() as conn, conn.connection.driver_connection.cursor() as cur:
        summary = write_in(cur, prepared, registry, mode, progress)
    vacuum_analyze(engine, touched_tables(prepared.layer))
    return summary


def load_vector(engine: Engine, registry: Registry, layer_name: str, path: Path, *,
                extent, crs: str | None = None, mode: Mode = "append", strict: bool = False,
                source_layer: str | None = None, mapping: dict[str, str] | None = None,
                id_column: str | None = None, progress: Progress | None = None,
                options: SourceOptions | None = None,
                area_tolerance: float = DEFAULT_TOLERANCE) -> LoadSummary:
    """Read, validate and load one file into one layer; ``mapping`` is ``--map``'s
    SOURCE=FIELD pairs, ``options`` the rest of how to read it (encoding, a mapping
    file, DGN levels). The layer's tables are vacuumed and analysed after the commit."""
    layer = registry.get(layer_name)
    if layer.is_view:
        raise LoadError(f"{layer.name} is derived from other tables (a view): load its "
                        "sources instead")
    if mode not in ("append", "upsert", "replace"):
        raise LoadError(f"unknown mode {mode!r}: append, upsert or replace")
    options = replace(options or SourceOptions(), crs=crs or (options and options.crs),
                      source_layer=source_layer or (options and options.source_layer))
    data = open_source(Path(path), layer, options)
    file_mapping = options.mapping
    prepared = prepare(layer, data, crs=options.effective_crs(), extent=extent,
                       strict=strict, mapping=mapping, mode=mode,
                       id_column=id_column or (file_mapping.id_column if file_mapping
                                               else None),
                       area_tolerance=area_tolerance)
    if file_mapping is not None:
        prepared.summary.mapping = file_mapping.as_report()
    return write(engine, prepared, registry, mode, progress)
