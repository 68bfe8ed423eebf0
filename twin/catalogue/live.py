"""What the catalogue reads live from the database for each layer: its feature count (the
O(1) ``layer_counts``), its last loads (``load_runs``: sources, counts, refusals) and
its last change (the change log's last commit, a view's newest ``updated_at``), and from
those whether it is overdue against its declared update frequency.

Every query is bounded by the number of layers, not of features: the change log is
read through its (layer, id) index, one row per layer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import PurePath

from psycopg import sql

from twin.catalogue_model import frequency_period
from twin.registry import Layer

LOADS_KEPT = 3

COUNTS_SQL = "SELECT layer, n FROM layer_counts"
LOADS_SQL = """
SELECT layer, source, mode, loaded, repaired, rejected, started_at, finished_at FROM (
  SELECT r.*, row_number() OVER (PARTITION BY layer ORDER BY finished_at DESC, id DESC) AS k
  FROM load_runs r) r
WHERE k <= %(kept)s ORDER BY layer, finished_at DESC, id DESC"""
CHANGED_SQL = """
SELECT t.layer, (SELECT c.at FROM change_log l JOIN change_commits c ON c.xid = l.xid
                 WHERE l.layer = t.layer ORDER BY l.id DESC LIMIT 1)
FROM unnest(%(tables)s::text[]) AS t(layer)"""


def views_changed_sql(views: list[Layer]) -> sql.Composable | None:
    """(table, newest updated_at) of each view layer (derived rows carry their time)."""
    if not views:
        return None
    return sql.SQL(" UNION ALL ").join(
        sql.SQL("SELECT {}, (SELECT max(updated_at) FROM {})").format(
            sql.Literal(v.table), sql.Identifier(v.table)) for v in views)


@dataclass
class Load:
    source: str
    mode: str
    loaded: int
    repaired: int
    refused: int
    started: datetime
    finished: datetime

    def as_dict(self) -> dict:
        return {"source": public_source(self.source), "mode": self.mode, "loaded": self.loaded,
                "repaired": self.repaired, "refused": self.refused,
                "started": _iso(self.started), "finished": _iso(self.finished)}


@dataclass
class LayerFacts:
    count: int | None = None
    loads: list[Load] = field(default_factory=list)
    changed: datetime | None = None   # the last change committed (log or view)

    @property
    def last_change(self) -> datetime | None:
        """The last change or load, whichever is later (a load that changed nothing
        still says the data was confirmed current)."""
        moments = [m for m in (self.changed, self.loads[0].finished if self.loads else None)
                   if m is not None]
        return max(moments) if moments else None


def public_source(source: str) -> str:
    """A load's source as the catalogue shows it: a URL as it is, a file by its name only
    (the server's folders are not published)."""
    if "://" in source:
        return source
    return PurePath(source.replace("\\", "/")).name or source


def _iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def freshness(last: datetime | None, frequency: str, now: datetime) -> dict:
    """``lastChange``, the declared frequency, when the next change is due and whether
    it is overdue (no promise, ``irregular`` / ``never``: never overdue)."""
    period = frequency_period(frequency)
    out: dict = {"lastChange": _iso(last), "frequency": frequency}
    if period is None:
        out["overdue"] = False
        return out
    due = last + period if last is not None else None
    out["dueBy"] = _iso(due)
    out["overdue"] = due is None or now > due
    return out


def rows_to_facts(tables: list[str], counts, changed) -> dict[str, LayerFacts]:
    facts = {t: LayerFacts() for t in tables}
    for table, n in counts:
        if table in facts:
            facts[table].count = int(n)
    for table, at in changed:
        if table in facts:
            facts[table].changed = at
    return facts


def attach_loads(facts: dict[str, LayerFacts], loads, table_of: dict[str, str]) -> None:
    """load_runs rows (keyed by layer name) onto the facts (keyed by table)."""
    for name, source, mode, loaded, repaired, rejected, started, finished in loads:
        table = table_of.get(name)
        if table in facts:
            facts[table].loads.append(Load(source, mode, loaded, repaired, rejected,
                                           started, finished))


async def read_facts(db, layers: list[Layer]) -> dict[str, LayerFacts]:
    """The facts of ``layers`` (keyed by table) through the server's database pools."""
    tables = [layer.table for layer in layers if not layer.is_view]
    views = [layer for layer in layers if layer.is_view]
    counts = await db.fetchall(COUNTS_SQL)
    changed = list(await db.fetchall(CHANGED_SQL, {"tables": tables}))
    query = views_changed_sql(views)
    if query is not None:
        changed += await db.fetchall(query)
    facts = rows_to_facts([layer.table for layer in layers], counts, changed)
    attach_loads(facts, await db.fetchall(LOADS_SQL, {"kept": LOADS_KEPT}),
                 {layer.name: layer.table for layer in layers})
    return facts
