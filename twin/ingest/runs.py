"""Loads as they were run: the mapping stored with a load in ``load_runs``."""

from __future__ import annotations

from sqlalchemy import Engine, text

from twin.ingest.errors import LoadError
from twin.ingest.mapping import Mapping, parse_mapping


def mapping_of_run(engine: Engine, run_id: int) -> Mapping:
    """The mapping file a load used (``--mapping-from-run``), parsed again."""
    with engine.connect() as conn:
        row = conn.execute(text("SELECT layer, report -> 'mapping' FROM load_runs "
                                "WHERE id = :id"), {"id": run_id}).first()
    if row is None:
        raise LoadError(f"--mapping-from-run: there is no load run {run_id}")
    layer, stored = row
    if not isinstance(stored, dict) or not isinstance(stored.get("text"), str):
        raise LoadError(f"--mapping-from-run: load run {run_id} (into {layer}) was made "
                        "without a mapping file")
    mapping = parse_mapping(stored["text"], f"the mapping of load run {run_id} "
                                            f"({stored.get('source') or 'no file name'})")
    mapping.layer = mapping.layer or layer
    return mapping
