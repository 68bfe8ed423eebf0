"""What an import did: counts per layer, and every refusal, repair and skip with its OSM id.

- **refused**: the object was not written (a required value missing or unusable, a ring that
  does not close, a node without a location, outside the plausible extent); with
  ``--strict`` any refusal fails the whole import. A refused object's earlier features stay.
- **repaired**: written, with a fix: a value that breaks its field left empty
  (``lanes=two``), an invalid geometry made valid, a route's missing member left out.
- **skipped**: not written, on purpose: outside the ``--clip`` extent, a change file
  deleting an object twin never imported.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Literal

Kind = Literal["refused", "repaired", "skipped"]
KINDS: tuple[Kind, ...] = ("refused", "repaired", "skipped")
LISTED = 1000   # issues of each kind kept in the load_runs report (all are counted)


@dataclass
class LayerCounts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    refused: int = 0
    repaired: int = 0
    skipped: int = 0


@dataclass(frozen=True)
class Issue:
    kind: Kind
    layer: str
    osm_id: str       # n123, w45, r6 (the OSM object), or a file-level label
    reason: str

    def line(self) -> str:
        return f"{self.osm_id} ({self.layer}): {self.reason}"


@dataclass
class ImportReport:
    source: str
    mode: Literal["import", "change"]
    layers: dict[str, LayerCounts] = field(default_factory=dict)
    issues: list[Issue] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    objects: int = 0          # OSM objects read
    seconds: float = 0.0

    def counts(self, layer: str) -> LayerCounts:
        return self.layers.setdefault(layer, LayerCounts())

    def add(self, kind: Kind, layer: str, osm_id: str, reason: str) -> None:
        self.issues.append(Issue(kind, layer, osm_id, reason))
        counts = self.counts(layer)
        setattr(counts, kind, getattr(counts, kind) + 1)

    def of(self, kind: Kind) -> list[Issue]:
        return [i for i in self.issues if i.kind == kind]

    @property
    def refused(self) -> int:
        return sum(c.refused for c in self.layers.values())

    def table(self) -> list[str]:
        """The summary table, one row per layer, and a total."""
        cols = ("created", "updated", "unchanged", "deleted", "refused", "repaired", "skipped")
        rows = [(name, *(getattr(c, k) for k in cols)) for name, c in self.layers.items()]
        rows.append(("total", *(sum(r[i + 1] for r in rows) for i in range(len(cols)))))
        width = max(len(r[0]) for r in rows)
        head = f"{'layer':<{width}}  " + "  ".join(f"{c:>9}" for c in cols)
        lines = [head, "-" * len(head)]
        lines += [f"{r[0]:<{width}}  " + "  ".join(f"{v:>9,}" for v in r[1:]) for r in rows]
        return lines

    def listing(self, per_kind: int = 20) -> list[str]:
        """The first issues of each kind, and how many more by reason."""
        lines = []
        for kind in KINDS:
            found = self.of(kind)
            if not found:
                continue
            lines.append(f"{kind} ({len(found)}):")
            lines += [f"  {i.line()}" for i in found[:per_kind]]
            if len(found) > per_kind:
                reasons = Counter(_short(i.reason) for i in found[per_kind:])
                lines += [f"  ... and {n} more: {r}" for r, n in reasons.most_common(5)]
        return lines

    def as_dict(self) -> dict:
        listed = {k: [vars(i) for i in self.of(k)[:LISTED]] for k in KINDS}
        return {"source": self.source, "mode": self.mode, "objects": self.objects,
                "seconds": round(self.seconds, 2), "notes": self.notes,
                "layers": {n: vars(c) for n, c in self.layers.items()}, "issues": listed}


def _short(reason: str) -> str:
    """A reason without its values, to group issues of one kind."""
    return reason.split(":")[0][:80]
