"""Harvested features into a local layer: one transaction per run, through the loaders.

The features of a run (GeoJSON dicts in CRS84, as a remote serves them) become a
:class:`~twin.ingest.readers.SourceData` whose id column is the remote id; the mapping
file (the same as ``twin load --mapping``) is applied, then the loader's own checks
(:func:`twin.ingest.vector.prepare`) and writer (:func:`write_in`, always an upsert:
unchanged features left alone, so history and the change log see only real changes).

A source owns only the features it harvested (its ``harvest_features`` rows): a full
compare removes those of them the remote no longer has, a tombstone removes its feature
only if this source put it there, and a remote feature whose id the layer holds from
elsewhere (an editor, ``twin load``, another source) is left alone and reported as a
conflict. Everything else in the layer stays.

Provenance: the run is a ``load_runs`` row (``source``: the remote items URL, ``mode``:
``harvest-compare`` for a full read, ``harvest-changes`` or ``harvest-updated`` for an
incremental one, ``report.harvest``: URL, collection, cursor, counts: received,
written, deleted, conflicts), and each harvested feature has a ``harvest_features``
row: its source, its remote id, the run that last wrote it and when.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
import psycopg
import shapely

from twin.ingest import geometry as geo
from twin.ingest.errors import LoadError
from twin.ingest.mapping import Mapping, apply_mapping
from twin.ingest.readers import SourceData
from twin.ingest.vector import LoadSummary, prepare, write_in
from twin.registry import Layer, Registry

ID = "__remote_id"


@dataclass
class Batch:
    """What one run writes: features to put (by remote id), ids to delete."""

    puts: dict[str, dict] = field(default_factory=dict)
    deletes: set[str] = field(default_factory=set)
    full: bool = False   # puts are every remote feature: delete what is not among them

    def put(self, feature: dict) -> None:
        fid = str(feature["id"])
        self.deletes.discard(fid)
        self.puts[fid] = feature

    def delete(self, fid: str) -> None:
        self.puts.pop(fid, None)
        self.deletes.add(fid)


def source_data(features: list[dict], label: str) -> SourceData:
    """GeoJSON features as a loader source (CRS84, the remote id as a column)."""
    names: list[str] = []
    for feature in features:
        for key in feature.get("properties") or {}:
            if key not in names and key != ID:
                names.append(key)
    columns = {name: [(f.get("properties") or {}).get(name) for f in features]
               for name in names}
    columns[ID] = [str(f["id"]) for f in features]
    try:
        geoms = np.array([shapely.geometry.shape(f["geometry"]) if f.get("geometry")
                          else None for f in features], dtype=object)
    except (TypeError, ValueError, KeyError, AttributeError, shapely.errors.ShapelyError):
        raise LoadError(f"{label}: a feature's geometry is not valid GeoJSON") from None
    if any(g is None for g in geoms):
        raise LoadError(f"{label}: a feature has no geometry")
    return SourceData(label, columns, geoms, geo.CRS84,
                      [f"remote id {f['id']!r}" for f in features])


def _prepared(layer: Layer, batch: Batch, mapping: Mapping | None, label: str, extent):
    data = source_data(list(batch.puts.values()), label)
    if mapping is not None:
        data = apply_mapping(mapping, layer, data)
    if layer.id_field and layer.id_field not in data.columns:  # the remote id is the id
        data.columns[layer.id_field] = list(data.columns[ID])
    # always an upsert: a full compare removes only this source's features (_deleted),
    # never the layer's others (created locally, loaded, or another source's)
    prepared = prepare(layer, data, crs=None, extent=extent, strict=False, id_column=ID,
                       mode="upsert")
    if mapping is not None:
        prepared.summary.mapping = mapping.as_report()
    return prepared


def taken(cur: psycopg.Cursor, layer: Layer, ids: list[str], source_id: int) -> list[str]:
    """Those of ``ids`` the layer holds but this source did not put there: created
    locally, loaded, or harvested from another source. A run leaves them alone."""
    if not ids:
        return []
    cur.execute(f"SELECT t.external_id FROM {layer.table} t LEFT JOIN harvest_features h "
                "ON h.layer = %s AND h.external_id = t.external_id "
                "WHERE t.external_id = ANY(%s) AND h.source_id IS DISTINCT FROM %s "
                "ORDER BY t.external_id", (layer.name, ids, source_id))
    return [row[0] for row in cur.fetchall()]


def _deleted(cur: psycopg.Cursor, layer: Layer, batch: Batch, source_id: int) -> int:
    """Remove what the remote no longer has, but only features this source harvested:
    a full compare removes this source's features absent from the remote; a tombstone
    removes its feature only if this source put it there."""
    if batch.full:
        keep = sorted(batch.puts)
        cur.execute(f"DELETE FROM {layer.table} t USING harvest_features h "
                    "WHERE h.layer = %s AND h.source_id = %s AND h.external_id = "
                    "t.external_id AND NOT (t.external_id = ANY(%s))",
                    (layer.name, source_id, keep))
        return cur.rowcount
    if not batch.deletes:
        return 0
    cur.execute(f"DELETE FROM {layer.table} t USING harvest_features h "
                "WHERE h.layer = %s AND h.source_id = %s AND h.external_id = "
                "t.external_id AND t.external_id = ANY(%s)",
                (layer.name, source_id, sorted(batch.deletes)))
    return cur.rowcount


def _run_row(cur: psycopg.Cursor, layer: Layer, summary: LoadSummary | None, source: str,
             mode: str, started: datetime, harvest: dict) -> int:
    report = {**(summary.as_dict() if summary else {}), "harvest": harvest}
    if summary is not None and summary.run_id is not None:
        cur.execute("UPDATE load_runs SET mode = %s, report = %s WHERE id = %s",
                    (mode, json.dumps(report, default=str), summary.run_id))
        return summary.run_id
    cur.execute("INSERT INTO load_runs (layer, source, mode, loaded, repaired, rejected, "
                "report, started_at) VALUES (%s, %s, %s, 0, 0, 0, %s, %s) RETURNING id",
                (layer.name, source, mode, json.dumps(report, default=str), started))
    return cur.fetchone()[0]


def _provenance(cur: psycopg.Cursor, layer: Layer, ids: list[str], batch: Batch,
                source_id: int, run_id: int) -> None:
    if batch.full:  # as _deleted: this source's features the remote no longer has
        cur.execute("DELETE FROM harvest_features h WHERE h.layer = %s AND h.source_id = %s "
                    "AND NOT (h.external_id = ANY(%s))",
                    (layer.name, source_id, sorted(batch.puts)))
    elif batch.deletes:
        cur.execute("DELETE FROM harvest_features WHERE layer = %s AND source_id = %s "
                    "AND external_id = ANY(%s)",
                    (layer.name, source_id, sorted(batch.deletes)))
    if ids:
        cur.execute(
            "INSERT INTO harvest_features (layer, external_id, source_id, remote_id, run_id) "
            "SELECT %s, l, %s, r, %s FROM unnest(%s::text[], %s::text[]) AS u(l, r) "
            "ON CONFLICT (layer, external_id) DO UPDATE SET source_id = EXCLUDED.source_id, "
            "remote_id = EXCLUDED.remote_id, run_id = EXCLUDED.run_id, "
            "harvested_at = clock_timestamp()",
            (layer.name, source_id, run_id, ids, ids))


def write_batch(cur: psycopg.Cursor, registry: Registry, layer: Layer, batch: Batch, *,
                source_id: int, source: str, harvest: dict, mapping: Mapping | None,
                extent) -> dict:
    """Write ``batch`` inside the caller's transaction; the run's counts. A remote
    feature whose id the layer already holds from elsewhere (created locally, loaded,
    another source) is not written: it is counted and named in the report."""
    started = datetime.now(UTC)
    conflicts = taken(cur, layer, list(batch.puts), source_id)
    elsewhere = set(conflicts)
    ours = Batch({k: v for k, v in batch.puts.items() if k not in elsewhere},
                 batch.deletes, batch.full)
    summary, ids = None, []
    if ours.puts:
        prepared = _prepared(layer, ours, mapping, source, extent)
        summary = write_in(cur, prepared, registry, "upsert")
        ids = prepared.ids  # the remote ids (the id column); refused ones are reported
    deleted = _deleted(cur, layer, batch, source_id)
    if summary is not None:
        summary.deleted = deleted
    counts = {"received": len(batch.puts), "written": summary.loaded if summary else 0,
              "deleted": deleted, "conflicts": len(conflicts)}
    mode = "harvest-compare" if batch.full else f"harvest-{harvest.get('mode', 'changes')}"
    report = {**harvest, **counts, **({"conflict_ids": conflicts[:50]} if conflicts else {})}
    run_id = _run_row(cur, layer, summary, source, mode, started, report)
    _provenance(cur, layer, ids, batch, source_id, run_id)
    return {**counts, "run_id": run_id}
